/** Paths and helpers shared by the check tests: the student programs and the real python3. */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { createLabs } from "../../src/check/labs/index.js";
import { checkSubmission } from "../../src/check/session.js";
import type { CheckReport } from "../../src/check/requirement.js";

/** test/check/students in the source tree (the .py files are not compiled into dist). */
export const STUDENTS = fileURLToPath(new URL("../../../test/check/students/", import.meta.url));

/** The interpreter itself, not a pyenv shim (which costs half a second per start). */
export const PYTHON = ((): string => {
  try {
    return execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
  } catch {
    return "python3";
  }
})();

export const LABS = createLabs({ browser: false });

/** Check the student program `lab/variant/script` with the library (no CLI). */
export function checkStudent(lab: string, variant: string, script: string, args: string[], o: { timeoutMs?: number; seed?: number } = {}): Promise<CheckReport> {
  const l = LABS.find((x) => x.name === lab);
  if (l === undefined) throw new Error(`no lab ${lab}`);
  return checkSubmission(l, { command: [PYTHON, script, ...args], dir: join(STUDENTS, lab, variant), copy: true, timeoutMs: o.timeoutMs ?? l.defaultTimeoutMs, seed: o.seed ?? 1 });
}

/** "✓✓✗–": one mark per requirement, in the lab's order. */
export function marks(r: CheckReport): string {
  return r.outcomes.map((o) => (o.verdict.pass ? "✓" : o.verdict.skipped === true ? "–" : "✗")).join("");
}

/** The marks with the requirement ids, for a readable assertion message. */
export function explain(r: CheckReport): string {
  return r.outcomes.map((o) => `${o.verdict.pass ? "✓" : o.verdict.skipped === true ? "–" : "✗"} ${o.id}: ${o.verdict.evidence}`).join("\n");
}

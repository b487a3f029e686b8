/** Paths and helpers shared by the check tests: the student programs and the real python3. */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { createLabs, type LabOptions } from "../../src/check/labs/index.js";
import { checkSubmission } from "../../src/check/session.js";
import { test } from "node:test";
import assert from "node:assert/strict";
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
export function checkStudent(lab: string, variant: string, script: string, args: string[], o: { timeoutMs?: number; seed?: number; options?: LabOptions } = {}): Promise<CheckReport> {
  const l = (o.options === undefined ? LABS : createLabs({ browser: false, ...o.options })).find((x) => x.name === lab);
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

/** One student program and the verdicts it must get. */
export interface Case {
  lab: string;
  variant: string;
  script: string;
  args: string[];
  /** One mark per requirement, in the order of `wirekit check --list`. */
  want: string;
  ok: boolean;
  timeoutMs?: number;
  seed?: number;
  /** The command line's lab options (`--starttls` ...). */
  options?: LabOptions;
}

/**
 * Start every case's check at once (each on its own ports) and register one test per case that
 * awaits its own; returns the running checks for extra assertions.
 */
export function runCases(cases: readonly Case[]): Map<Case, Promise<CheckReport>> {
  const running = new Map<Case, Promise<CheckReport>>(cases.map((c) => [c, checkStudent(c.lab, c.variant, c.script, c.args, { ...(c.timeoutMs === undefined ? {} : { timeoutMs: c.timeoutMs }), ...(c.seed === undefined ? {} : { seed: c.seed }), ...(c.options === undefined ? {} : { options: c.options }) })]));
  for (const c of cases) {
    test(`${c.lab}: the '${c.variant}' student gets ${c.want}`, async () => {
      const report = await running.get(c);
      assert.ok(report !== undefined);
      assert.equal(marks(report), c.want, explain(report));
      assert.equal(report.ok, c.ok);
      for (const o of report.outcomes) if (!o.verdict.pass && !o.verdict.skipped) assert.ok((o.verdict.hint ?? "") !== "", `${o.id} failed without a hint`);
    });
  }
  return running;
}

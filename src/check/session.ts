/**
 * Grading one submission, or a class of them: each run gets a fresh temporary working
 * directory (a copy of the submission folder in batch mode), removed afterwards; a batch runs at
 * most `jobs` submissions at once, each on its own ports.
 */
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { LabCheck } from "./lab.js";
import type { CheckReport } from "./requirement.js";
import { absolutize } from "./runner.js";

export interface SubmissionOptions {
  command: readonly string[];
  /** The submission folder: `{dir}`, and what is copied in batch mode. */
  dir: string;
  /** Copy `dir` into the working directory (batch mode); otherwise relative file words of the command are made absolute. */
  copy: boolean;
  timeoutMs: number;
  seed: number;
}

/** Check one submission in a fresh working directory. */
export async function checkSubmission(lab: LabCheck, o: SubmissionOptions): Promise<CheckReport> {
  const workdir = await mkdtemp(join(tmpdir(), `wirekit-check-${lab.name}-`));
  const dir = resolve(o.dir);
  try {
    if (o.copy) await cp(dir, workdir, { recursive: true });
    const command = o.copy ? o.command : absolutize(o.command, dir);
    return await lab.check({ command, workdir, dir, timeoutMs: o.timeoutMs, seed: o.seed });
  } finally {
    await rm(workdir, { recursive: true, force: true });
  }
}

/** One row of the class table. */
export interface BatchRow {
  student: string;
  report: CheckReport;
}

/** The submission folders `DIR/*` (directories only, sorted, hidden ones left out). */
export async function submissionsIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name).sort();
}

/** Check every submission folder of `dir`, at most `jobs` at once; rows in folder order. */
export async function checkBatch(lab: LabCheck, dir: string, o: Omit<SubmissionOptions, "dir" | "copy"> & { jobs: number; onDone?: (row: BatchRow) => void }): Promise<BatchRow[]> {
  const names = await submissionsIn(dir);
  const rows: BatchRow[] = new Array<BatchRow>(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const name = names[i];
      if (name === undefined) return;
      const report = await checkSubmission(lab, { ...o, dir: join(dir, name), copy: true });
      rows[i] = { student: name, report };
      o.onDone?.(rows[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs, names.length)) }, worker));
  return rows;
}

/**
 * Grading one submission, or a class of them: each run gets a fresh temporary working
 * directory (a copy of the submission folder in batch mode), removed afterwards; a batch runs at
 * most `jobs` submissions at once, each on its own ports.
 */
import { cp, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { usageError, WirekitError } from "../core/errors.js";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { LabCheck } from "./lab.js";
import type { CheckReport } from "./requirement.js";
import { absolutize } from "./runner.js";
import { createStudentNamespace, type StudentNamespace } from "./netns.js";

export interface SubmissionOptions {
  command: readonly string[];
  /** The submission folder: `{dir}`, and what is copied in batch mode. */
  dir: string;
  /**
   * Copy `dir` into the working directory, so the program finds its own files (the page it
   * serves, the image it attaches) and can write beside them without touching the original.
   */
  copy: boolean;
  timeoutMs: number;
  seed: number;
  /** Run the program in a network namespace of its own where only the counterpart is reachable. */
  netns?: boolean;
}

/** Check one submission in a fresh working directory. */
export async function checkSubmission(lab: LabCheck, o: SubmissionOptions): Promise<CheckReport> {
  const workdir = await mkdtemp(join(tmpdir(), `wirekit-check-${lab.name}-`));
  const dir = resolve(o.dir);
  let netns: StudentNamespace | undefined;
  try {
    if (o.copy) {
      if (`${workdir}/`.startsWith(`${dir.replace(/\/$/, "")}/`)) throw usageError(`'${dir}' holds the check's own temporary folder (${tmpdir()}): run from the student's folder or give --dir`);
      await checkSize(dir);
      await cp(dir, workdir, { recursive: true });
    }
    const command = o.copy ? o.command : absolutize(o.command, dir);
    if (o.netns === true) {
      netns = await createStudentNamespace().catch((err: unknown) => {
        throw new WirekitError("ERR_LOCAL", `--netns: could not build the namespace: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
    }
    return await lab.check({ command, workdir, dir, timeoutMs: o.timeoutMs, seed: o.seed, ...(netns === undefined ? {} : { netns }) });
  } finally {
    await netns?.destroy();
    await rm(workdir, { recursive: true, force: true });
  }
}

/** A submission folder is small: refuse to copy a home directory by mistake. */
async function checkSize(dir: string): Promise<void> {
  let files = 0;
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (++files > MAX_FILES) break;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) bytes += (await stat(p)).size;
    }
  };
  await walk(dir);
  if (files > MAX_FILES || bytes > MAX_BYTES) throw usageError(`'${dir}' is too big to be a submission folder (more than ${MAX_FILES} files or ${MAX_BYTES >> 20} MiB): run from the student's folder or give --dir`);
}

const MAX_FILES = 2000;
const MAX_BYTES = 100 * 1024 * 1024;

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

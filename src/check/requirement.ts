/**
 * The grading vocabulary: a requirement of an assignment, the verdict on it, and the report on
 * one submission. Pure: a lab collects a record of what the student's program did, and each
 * requirement's `judge` turns that record into a verdict, so judging is testable without any
 * process or socket.
 */

/** Required tasks decide the exit status; optional ones (the assignment's starred tasks) do not. */
export type RequirementLevel = "required" | "optional";

/** The verdict on one requirement. */
export interface Verdict {
  pass: boolean;
  /** What it was judged by: the output line, the request, the datagram (raw student text; the renderer escapes it). */
  evidence: string;
  /** On a fail: the usual mistake behind it. */
  hint?: string;
  /** Not judged at all (a browser that is not installed); `evidence` says why. Never counts as a pass. */
  skipped?: boolean;
}

/** One requirement of an assignment, in the assignment's sense. */
export interface Requirement<R> {
  /** Short stable name, used as the column of the class table: "get-200". */
  id: string;
  /** What the assignment asks, in one line. */
  text: string;
  level: RequirementLevel;
  judge(record: R): Verdict;
}

/** How the student's program ran. */
export interface RunSummary {
  /** Exit code, or null when killed. */
  exitCode: number | null;
  signal: string | null;
  /** True when wirekit killed it at the time limit (or at the end of a server check). */
  killed: boolean;
  timedOut: boolean;
  durationMs: number;
  /** The program could not be started at all (ENOENT ...). */
  spawnError?: string;
}

/** One requirement with its verdict. */
export interface Outcome {
  id: string;
  text: string;
  level: RequirementLevel;
  verdict: Verdict;
}

/** The report on one submission. */
export interface CheckReport {
  lab: string;
  /** The seed of the impairments, so the run can be repeated. */
  seed: number;
  /** The command as run (after substitution), once per run of the program. */
  commands: string[];
  runs: RunSummary[];
  outcomes: Outcome[];
  /** Every required requirement passed. */
  ok: boolean;
}

export const pass = (evidence: string): Verdict => ({ pass: true, evidence });
export const fail = (evidence: string, hint: string): Verdict => ({ pass: false, evidence, hint });
export const skip = (reason: string): Verdict => ({ pass: false, evidence: reason, skipped: true });

/** Judge a record against every requirement; a judge that throws is a failed requirement, not a crash. */
export function judgeAll<R>(requirements: readonly Requirement<R>[], record: R): Outcome[] {
  return requirements.map((r) => {
    let verdict: Verdict;
    try {
      verdict = r.judge(record);
    } catch (err) {
      verdict = fail(`the check could not judge this: ${err instanceof Error ? err.message : String(err)}`, "this is a wirekit bug; please report it");
    }
    return { id: r.id, text: r.text, level: r.level, verdict };
  });
}

/** True when every required outcome passed. */
export function allRequiredPass(outcomes: readonly Outcome[]): boolean {
  return outcomes.every((o) => o.level !== "required" || o.verdict.pass);
}

/** Shorten one piece of evidence to a line: the first `max` characters, newlines shown as ⏎. */
export function clip(text: string, max = 100): string {
  const one = text.replace(/\r?\n/g, "⏎");
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

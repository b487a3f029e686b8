/**
 * Starting a student's server: a free port as `{port}`, the program started, and a wait until
 * it listens (or exits, or the time runs out). Shared by every lab where the student writes the
 * server.
 */
import { freePort, waitBound } from "./ports.js";
import { StudentProcess, type Placeholders } from "./runner.js";
import type { LabEnv } from "./lab.js";

export interface StartedServer {
  proc: StudentProcess;
  port: number;
  /** It bound its port before the deadline. */
  listening: boolean;
  /** ms until it listened. */
  startMs: number;
  /** performance.now() at the deadline of the whole run. */
  deadline: number;
}

/** Start the student's server on a fresh port and wait until it is bound (at most 5 s). */
export async function startServer(env: LabEnv, kind: "tcp" | "udp", vars: Placeholders = {}): Promise<StartedServer> {
  const port = await freePort(kind);
  const started = performance.now();
  const proc = new StudentProcess({ command: env.command, vars: { host: "127.0.0.1", port: String(port), dir: env.dir, ...vars }, cwd: env.workdir, timeoutMs: env.timeoutMs });
  const listening = await waitBound(kind, port, Math.min(5000, env.timeoutMs), () => proc.exited);
  return { proc, port, listening, startMs: performance.now() - started, deadline: started + env.timeoutMs };
}

/** ms left before `deadline`, at least `floor`. */
export function remaining(deadline: number, floor = 200): number {
  return Math.max(floor, deadline - performance.now());
}

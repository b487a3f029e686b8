/**
 * Starting a student's server: a free port as `{port}`, the program started, and a wait until
 * it listens (or exits, or the time runs out). Shared by every lab where the student writes the
 * server. A TCP server is known to listen when a connection is accepted; that connection is kept
 * and carries the lab's first request, because the lab's skeleton server crashes on a connection
 * that closes without one (`message.split()[1]` of an empty message).
 */
import type { Socket } from "node:net";
import { boundToLoopback, freePort, waitBound } from "./ports.js";
import { connectWhenListening } from "./tcp-fetch.js";
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
  /** TCP: the connection that showed it listens, for the first request; taken once. */
  first?: Socket;
}

/** The connection the first request goes on: the readiness connection, else the port. */
export function takeConnection(srv: StartedServer): Socket | number {
  const s = srv.first;
  if (s === undefined || s.destroyed) return srv.port;
  delete srv.first;
  return s;
}

/**
 * Start the student's server on a fresh port and wait until it is bound (at most 5 s). A port
 * the OS gave to some outgoing connection between our probe and the program's bind() fails
 * with EADDRINUSE; that is our race, not the student's mistake, so it is retried on another port.
 */
export async function startServer(env: LabEnv, kind: "tcp" | "udp", vars: Placeholders = {}): Promise<StartedServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(kind);
    // --netns: the check's 127.0.0.1:port goes to the namespace; TCP is translated to its 127.0.0.1 at once (an accepted
    // connection answers from the address it was made to), UDP only once the program is seen bound to 127.0.0.1.
    if (env.netns !== undefined) {
      await env.netns.expose(port);
      if (kind === "tcp") await env.netns.loopback(port);
    }
    const prefix = env.netns?.prefix ?? [];
    const started = performance.now();
    const proc = new StudentProcess({ command: env.command, prefix, vars: { host: "127.0.0.1", port: String(port), dir: env.dir, ...vars }, cwd: env.workdir, timeoutMs: env.timeoutMs });
    const wait = Math.min(5000, env.timeoutMs);
    // UDP has no accept to wait for: the socket table says when it is bound (a probe datagram could be "lost").
    const first = kind === "tcp" ? await connectWhenListening(port, wait, () => proc.exited) : undefined;
    // Under --netns the socket table that counts is the program's own namespace's.
    const pid = env.netns === undefined ? undefined : proc.pgid;
    const listening = kind === "tcp" ? first !== undefined : await waitBound(kind, port, wait, () => proc.exited, pid);
    if (listening && kind === "udp" && env.netns !== undefined && (await boundToLoopback(kind, port, pid))) await env.netns.loopback(port);
    if (!listening && attempt < 3 && proc.exited && /Address already in use|EADDRINUSE|Errno 98/.test((await proc.done).stderr)) continue;
    return { proc, port, listening, startMs: performance.now() - started, deadline: started + env.timeoutMs, ...(first === undefined ? {} : { first }) };
  }
}

/** ms left before `deadline`, at least `floor`. */
export function remaining(deadline: number, floor = 200): number {
  return Math.max(floor, deadline - performance.now());
}

/**
 * `wirekit <argv>` inside a namespace for the topology helpers (netns.ts, netns-chain.ts): one
 * resident cli-server.js per namespace, started on the first command and ended by close(), in
 * place of an `ip netns exec ... node main.js` per command.
 *
 * A command that has not answered within its time limit resolves with code -1, as a killed
 * process did; if the server process dies, every command waiting on it (and any later one)
 * resolves with code -1 and the server's stderr, so the test fails on it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ExecResult } from "./netns.js";

const SERVER = fileURLToPath(new URL("./cli-server.js", import.meta.url));

export interface NamespaceCli {
  /** Run `wirekit <argv>` in the namespace. @default timeoutMs 60 s */
  run(argv: string[], timeoutMs?: number): Promise<ExecResult>;
  /** End the server (idempotent); commands still running resolve with code -1. */
  close(): void;
}

interface Pending {
  resolve(r: ExecResult): void;
  timer: NodeJS.Timeout;
}

/** A lazily started command server in namespace `ns`. */
export function namespaceCli(ns: string): NamespaceCli {
  let child: ChildProcessWithoutNullStreams | undefined;
  let ready: Promise<void> | undefined;
  let ended: string | undefined;
  let stderr = "";
  let nextId = 0;
  const pending = new Map<number, Pending>();
  const failAll = (why: string): void => {
    ended = why;
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      pending.delete(id);
      p.resolve({ code: -1, stdout: "", stderr: `${why}\n${stderr}` });
    }
  };
  const start = (): Promise<void> => {
    const c = spawn("ip", ["netns", "exec", ns, process.execPath, SERVER], { stdio: ["pipe", "pipe", "pipe"] });
    child = c;
    c.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    c.on("exit", (code, signal) => failAll(`cli-server in ${ns} exited (${signal ?? code})`));
    c.on("error", (err) => failAll(`cli-server in ${ns} did not start: ${err.message}`));
    return new Promise((resolve) => {
      const lines = createInterface({ input: c.stdout });
      lines.once("line", () => {
        lines.on("line", (line) => {
          const r = JSON.parse(line) as ExecResult & { id: number };
          const p = pending.get(r.id);
          if (p === undefined) return; // it timed out
          clearTimeout(p.timer);
          pending.delete(r.id);
          p.resolve({ code: r.code, stdout: r.stdout, stderr: r.stderr });
        });
        resolve();
      });
      c.on("exit", () => resolve());
    });
  };
  return {
    async run(argv, timeoutMs = 60_000) {
      ready ??= start();
      await ready;
      if (ended !== undefined || child === undefined) return { code: -1, stdout: "", stderr: `${ended ?? "no cli-server"}\n${stderr}` };
      const c = child;
      const id = nextId++;
      return new Promise<ExecResult>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve({ code: -1, stdout: "", stderr: `wirekit ${argv.join(" ")}: no result within ${timeoutMs} ms` });
        }, timeoutMs);
        pending.set(id, { resolve, timer });
        c.stdin.write(`${JSON.stringify({ id, argv })}\n`);
      });
    },
    close() {
      if (child !== undefined && ended === undefined) {
        failAll(`cli-server in ${ns} closed`);
        child.stdin.end();
        child.kill();
      }
    },
  };
}

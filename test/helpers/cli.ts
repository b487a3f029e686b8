/**
 * Run the CLI in-process with injected argv, output, clock and signal, and capture what it
 * prints. Also a subprocess runner for golden tests of the real binary.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli/main.js";
import type { CliContext } from "../../src/cli/context.js";
import { systemClock, type Clock } from "../../src/core/clock.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  clock?: Clock;
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
  /** Called with the stdout text so far after every write (e.g. to abort when a line appears). */
  onStdout?: (soFar: string) => void;
}

/** Run `wirekit <argv>` in this process. */
export async function runCliCapture(argv: string[], options: CliRunOptions = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const ctx: CliContext = {
    stdout: {
      write(s: string) {
        stdout += s;
        options.onStdout?.(stdout);
        return true;
      },
    },
    stderr: {
      write(s: string) {
        stderr += s;
        return true;
      },
    },
    env: options.env ?? {},
    clock: options.clock ?? systemClock,
    signal: options.signal ?? new AbortController().signal,
    debug: false,
    onStatusRequest: () => () => {},
  };
  const code = await runCli(argv, ctx);
  return { code, stdout, stderr };
}

/** Path of the built binary (dist/src/cli/main.js). */
export const BIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface Spawned {
  /** Resolves when the process exits. */
  done: Promise<CliRun>;
  /** Resolves with stdout so far once `pattern` appears in it. */
  waitFor(pattern: RegExp): Promise<string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Start `node dist/src/cli/main.js <argv>` as a subprocess. */
export function spawnCli(argv: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, [BIN, ...argv], { env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters: Array<{ re: RegExp; resolve: (s: string) => void }> = [];
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    for (const w of [...waiters]) {
      if (w.re.test(stdout)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(stdout);
      }
    }
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const done = new Promise<CliRun>((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return {
    done,
    waitFor(re) {
      if (re.test(stdout)) return Promise.resolve(stdout);
      return new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        void done.then((r) => reject(new Error(`process exited (${r.code}) before ${re}: ${r.stdout}${r.stderr}`)));
      });
    },
    kill(signal = "SIGINT") {
      child.kill(signal);
    },
  };
}

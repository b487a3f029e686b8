/**
 * Runs a student's program: `{host}`, `{port}`, `{file}` and `{dir}` substituted into the
 * command, started in its own process group (`detached`) in a working directory of its own,
 * stdout and stderr captured up to a bound, and the whole group killed at the time limit or when
 * the check is done with it (SIGTERM, then SIGKILL), so nothing a student forks outlives the check.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { RunSummary } from "./requirement.js";

/** Values for the placeholders; a placeholder with no value is left as written. */
export type Placeholders = Partial<Record<"host" | "port" | "file" | "dir", string>>;

export interface StudentOptions {
  /** The command and its arguments, with placeholders. */
  command: readonly string[];
  vars: Placeholders;
  /** Working directory of the program. */
  cwd: string;
  /** Killed after this long. */
  timeoutMs: number;
  /** Bytes kept of each of stdout and stderr. @default 1 MiB */
  maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL. @default 300 */
  graceMs?: number;
  /** Called with each chunk of stdout. */
  onStdout?: (chunk: Buffer) => void;
  /** Words run before the command, not substituted: `ip netns exec NS` with --netns. @default [] */
  prefix?: readonly string[];
}

/** What a finished run left behind. */
export interface StudentResult extends RunSummary {
  /** The command as run. */
  command: string[];
  stdout: string;
  stderr: string;
  /** The process group id (= the leader's pid), for leftover checks. */
  pgid: number | undefined;
}

/** Replace `{host}` ... in every word. */
export function substitute(command: readonly string[], vars: Placeholders): string[] {
  return command.map((w) => w.replace(/\{(host|port|file|dir)\}/g, (m, k: keyof Placeholders) => vars[k] ?? m));
}

/**
 * Words of the command that name an existing file relative to `base` become absolute, so
 * `python3 client.py` still finds its script when run from a fresh working directory.
 */
export function absolutize(command: readonly string[], base: string): string[] {
  return command.map((w, i) => (i > 0 || w.includes("/")) && w !== "" && !w.startsWith("-") && !isAbsolute(w) && existsSync(resolve(base, w)) ? resolve(base, w) : w);
}

/** Process groups still running, killed on exit: a check ended by process.exit (a second Ctrl-C) leaves none behind. */
const running = new Set<number>();
let exitHook = false;

function trackGroup(pgid: number): void {
  running.add(pgid);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const g of running) {
      try {
        process.kill(-g, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

/** A running student program. */
export class StudentProcess {
  readonly command: string[];
  readonly done: Promise<StudentResult>;
  readonly #pgid: number | undefined;
  readonly #grace: number;
  #stopping = false;
  #timedOut = false;
  #exited = false;
  #out: Buffer[] = [];
  #outBytes = 0;

  constructor(options: StudentOptions) {
    this.command = [...(options.prefix ?? []), ...substitute(options.command, options.vars)];
    const max = options.maxOutputBytes ?? 1024 * 1024;
    const grace = options.graceMs ?? 300;
    const started = performance.now();
    const [file = "", ...args] = this.command;
    const child = spawn(file, args, {
      cwd: options.cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      // Python buffers a pipe's output in blocks: a program killed at its time limit would lose what it printed.
      env: { ...process.env, PYTHONUNBUFFERED: "1", PYTHONIOENCODING: "utf-8" },
    });
    this.#pgid = child.pid;
    if (child.pid !== undefined) trackGroup(child.pid);
    const errBufs: Buffer[] = [];
    let errBytes = 0;
    child.stdout.on("data", (b: Buffer) => {
      if (this.#outBytes < max) this.#out.push(b.subarray(0, max - this.#outBytes));
      this.#outBytes += b.length;
      options.onStdout?.(b);
    });
    child.stderr.on("data", (b: Buffer) => {
      if (errBytes < max) errBufs.push(b.subarray(0, max - errBytes));
      errBytes += b.length;
    });
    const timer = setTimeout(() => {
      this.#timedOut = true;
      void this.stop();
    }, options.timeoutMs);
    this.#grace = grace;
    this.done = new Promise<StudentResult>((resolveDone) => {
      let spawnError: string | undefined;
      child.on("error", (e: NodeJS.ErrnoException) => {
        spawnError = `${file}: ${e.code ?? e.message}`;
      });
      child.on("exit", () => {
        this.#exited = true;
        clearTimeout(timer);
        // The leader is gone; whatever it forked into the group goes with it (and lets go of the pipes).
        this.#signalGroup("SIGKILL");
      });
      child.on("close", (code, signal) => {
        this.#exited = true;
        clearTimeout(timer);
        void this.#groupGone().then(() => {
          if (this.#pgid !== undefined) running.delete(this.#pgid);
          resolveDone({
            command: this.command,
            exitCode: code,
            signal,
            killed: this.#stopping,
            timedOut: this.#timedOut,
            durationMs: performance.now() - started,
            stdout: Buffer.concat(this.#out).toString("utf8"),
            stderr: Buffer.concat(errBufs).toString("utf8"),
            pgid: this.#pgid,
            ...(spawnError === undefined ? {} : { spawnError }),
          });
        });
      });
    });
  }

  /** The process group id. */
  get pgid(): number | undefined {
    return this.#pgid;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** Stdout so far. */
  stdoutText(): string {
    return Buffer.concat(this.#out).toString("utf8");
  }

  /** Kill the whole group (SIGTERM, then SIGKILL after the grace time); resolves when it is gone. */
  async stop(): Promise<StudentResult> {
    if (!this.#exited && !this.#stopping) {
      this.#stopping = true;
      this.#signalGroup("SIGTERM");
      const t = setTimeout(() => this.#signalGroup("SIGKILL"), this.#grace);
      void this.done.then(() => clearTimeout(t));
    }
    return this.done;
  }

  /** Resolves once no process of the group is left (a kill is delivered asynchronously), at most ~2 s. */
  async #groupGone(): Promise<void> {
    if (this.#pgid === undefined) return;
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(-this.#pgid, i === 0 ? 0 : "SIGKILL");
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  #signalGroup(sig: NodeJS.Signals): void {
    if (this.#pgid === undefined) return;
    try {
      process.kill(-this.#pgid, sig);
    } catch {
      // ESRCH: the group is already gone.
    }
  }
}

/** The summary of a result, without the captured output. */
export function summarize(r: StudentResult): RunSummary {
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    killed: r.killed,
    timedOut: r.timedOut,
    durationMs: Math.round(r.durationMs),
    ...(r.spawnError === undefined ? {} : { spawnError: r.spawnError }),
  };
}

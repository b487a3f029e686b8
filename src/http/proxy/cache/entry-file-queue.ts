/**
 * The disk side of the cache store: one directory of entry files and the queue of operations on
 * them. Operations on one id run in order (a write, a head rewrite and an unlink never overtake
 * each other), every operation in progress is tracked so `flush()` can wait for it, temporary
 * files are named by process and sequence, and the crash scan at start drops temporary files
 * left by a dead writer and files that are not whole. It decides nothing about entries: which
 * entry is current, what to evict and what to keep in memory are the store's (store.ts, with
 * entry-index.ts); the file format is entry-codec.ts and entry-files.ts.
 */
import { mkdir, readdir, stat, unlink } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { WirekitError } from "../../../core/errors.js";
import type { PolicyOptions } from "./policy.js";
import { readEntryHead } from "./entry-files.js";
import type { StoredEntry } from "./store.js";
import { PendingWork } from "./pending-work.js";

/**
 * The files of one cache directory. Open with `EntryFileQueue.open()`.
 *
 * @example
 * const files = await EntryFileQueue.open("/var/cache/wirekit");
 * const { entries } = await files.scan({});
 * void files.run(id, () => unlink(files.path(id)));
 * await files.flush();
 */
export class EntryFileQueue {
  readonly dir: string;
  /** `dir` joined and normalized once, with its separator: entry names are appended to it (a path.join per name was a cost of every stored miss). */
  readonly #prefix: string;
  readonly #tmpSuffix = `.${process.pid}.`;
  readonly #work = new PendingWork();
  readonly #chains = new Map<string, Promise<void>>();
  #tmpSeq = 0;

  private constructor(dir: string) {
    this.dir = dir;
    this.#prefix = join(dir, "x").slice(0, -1);
  }

  /** Create the directory (and missing parents) if needed. */
  static async open(dir: string): Promise<EntryFileQueue> {
    await ensureDirectory(dir);
    return new EntryFileQueue(dir);
  }

  /** The file of an entry. */
  path(id: string): string {
    return `${this.#prefix}${id}.wkc`;
  }

  /** A fresh temporary file for an entry (this process's, never reused). */
  tmpPath(id: string): string {
    return `${this.#prefix}${id}${this.#tmpSuffix}${++this.#tmpSeq}.tmp`;
  }

  /** Remember work in progress so `flush()` waits for it. */
  track<T>(p: Promise<T>): Promise<T> {
    return this.#work.track(p);
  }

  /** Wait for every operation in progress (and those they start) to finish. */
  async flush(): Promise<void> {
    await this.#work.flush();
  }

  /** Run `fn` after the operations already queued for `id` (whatever their outcome). */
  run(id: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.#chains.get(id) ?? Promise.resolve();
    const p = prev.then(fn);
    // The chain's tail settles once `fn` has, whatever its outcome, and forgets the chain unless
    // later work was queued on it meanwhile.
    const forget = (): void => {
      if (this.#chains.get(id) === tail) this.#chains.delete(id);
    };
    const tail: Promise<void> = p.then(forget, forget);
    this.#chains.set(id, tail);
    this.track(tail);
    return p;
  }

  /** Resolves once the operations queued for `id` so far are done. */
  async settled(id: string): Promise<void> {
    await this.#chains.get(id);
  }

  /**
   * The crash scan: the entries whose files are whole, oldest first (by mtime, for LRU order),
   * and how many files were thrown away. Temporary files are removed unless the process that
   * writes them (its pid is in the name) is another live one.
   */
  async scan(policy: PolicyOptions): Promise<{ entries: StoredEntry[]; discarded: number }> {
    const found: Array<{ e: StoredEntry; mtime: number }> = [];
    let discarded = 0;
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      if (name.endsWith(".tmp")) {
        const pid = Number(name.split(".")[1]);
        if (pid === process.pid || !isAlive(pid)) await unlink(path).catch(() => undefined);
        continue;
      }
      if (!name.endsWith(".wkc")) continue;
      const e = await readEntryHead(path, name.slice(0, -4), policy).catch(() => undefined);
      if (e === undefined) {
        discarded++;
        await unlink(path).catch(() => undefined);
        continue;
      }
      found.push(e);
    }
    found.sort((a, b) => a.mtime - b.mtime);
    return { entries: found.map((f) => f.e), discarded };
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Create `dir` and its missing parents one component at a time. Not `mkdir(dir, { recursive })`:
 * Node 20's loops forever on paths under /proc; and a component that exists but is not a
 * directory is an ERR_LOCAL error ("not a directory"), not EEXIST.
 */
async function ensureDirectory(dir: string): Promise<void> {
  let path: string = sep;
  for (const part of resolve(dir).split(sep).filter((p) => p !== "")) {
    path = join(path, part);
    try {
      await mkdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (!(await stat(path)).isDirectory()) throw new WirekitError("ERR_LOCAL", `cache directory ${dir}: not a directory`, { context: { path } });
  }
}

/**
 * File-level helpers of the cache store: write an entry file in one go, read and check an
 * entry's head and footer at start-up, and read its body by blocks, each checked against the
 * file's block table before it is used.
 */
import { createHash } from "node:crypto";
import { close, closeSync, open as openFd, openSync, rename, renameSync, unlink, unlinkSync, write, writeFile, writev, writevSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import { systemClock, type Clock } from "../../../core/clock.js";
import { BLOCK, BodyHasher, decodeFooter, decodeHead, DIGEST_LENGTH, expectedFileSize, FOOTER_LENGTH, tableLength } from "./entry-codec.js";
import { entryFacts, storedMeta, type PolicyOptions } from "./policy.js";
import type { StoredEntry } from "./store.js";

/**
 * Write a file in one go (callback fs: cheaper on the event loop than FileHandle objects, which
 * matters because every stored miss does this).
 */
export function writeWhole(path: string, parts: Buffer[]): Promise<void> {
  const data = parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts);
  return new Promise((resolve, reject) => {
    writeFile(path, data, { flag: "wx" }, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Write `parts` to the new file `tmp` and rename it to `path` once complete, or remove it when
 * `keep()` says by then that the entry is no longer wanted (false: nothing stored). One callback
 * chain and one promise (open, writev, close, rename), with no copy of the parts: this is what
 * every stored small miss does in the background, so its cost on the event loop counts.
 */
export function writeEntryFile(tmp: string, path: string, parts: readonly Buffer[], keep: () => boolean): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => unlink(tmp, () => reject(err));
    openFd(tmp, "wx", (err, fd) => {
      if (err) return reject(err);
      const total = parts.reduce((n, b) => n + b.length, 0);
      const closed = (werr: Error | null): void =>
        close(fd, (cerr) => {
          const e = werr ?? cerr;
          if (e) return fail(e);
          if (!keep()) return unlink(tmp, () => resolve(false));
          rename(tmp, path, (rerr) => (rerr ? fail(rerr) : resolve(true)));
        });
      writev(fd, parts as Buffer[], 0, (werr, n) => {
        if (werr || n === total) return closed(werr);
        // A short write (rare on a regular file): the rest in one more write.
        const rest = Buffer.concat(parts as Buffer[], total).subarray(n);
        write(fd, rest, 0, rest.length, n, (e2, m) => closed(e2 ?? (m === rest.length ? null : new Error("short write"))));
      });
    });
  });
}

/**
 * `writeEntryFile` done synchronously, with no `keep()` (the caller asked it already): on the
 * entry-file worker thread (entry-file-worker.ts). Throws, leaving no temporary file, on failure.
 */
export function writeEntryFileSync(tmp: string, path: string, parts: readonly Buffer[]): void {
  const total = parts.reduce((n, b) => n + b.length, 0);
  const fd = openSync(tmp, "wx");
  try {
    try {
      let n = writevSync(fd, parts as Buffer[], 0);
      // A short write (rare on a regular file): the rest as one buffer.
      if (n < total) {
        const rest = Buffer.concat(parts as Buffer[], total).subarray(n);
        n += writevSync(fd, [rest], n);
      }
      if (n !== total) throw new Error("short write");
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
}

/** One batch of files for the worker: their bytes end to end in one transferred buffer. */
export interface FileBatch {
  files: Array<{ tmp: string; path: string; offset: number; length: number }>;
  data: ArrayBuffer;
}

/** The worker's answer for one file of a batch. */
export type FileResult = { ok: true } | { ok: false; message: string };

interface FileJob {
  tmp: string;
  path: string;
  /** Makes the file's bytes, when its batch goes (after the responses). */
  parts: () => readonly Buffer[];
  keep: () => boolean;
  resolve: (renamed: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * The process's one entry-file worker thread, shared by every disk store (a thread each would
 * cost a V8 heap per store). Batches are answered in the order they were sent. Made on first use;
 * it holds the process open only while a batch is unanswered.
 */
class FileThread {
  readonly #worker: Worker;
  /** Batches sent and not answered yet, oldest first. */
  readonly #sent: FileJob[][] = [];
  #alive = true;

  constructor() {
    const w = new Worker(new URL("./entry-file-worker.js", import.meta.url));
    w.on("message", (results: FileResult[]) => {
      const jobs = this.#sent.shift() ?? [];
      if (this.#sent.length === 0) w.unref();
      jobs.forEach((j, i) => {
        const r = results[i];
        if (r?.ok === true) j.resolve(true);
        else j.reject(new Error(r?.message ?? "entry file worker: no result"));
      });
    });
    // The worker is gone: what it had not answered fails (the stores forget those entries), and
    // later files go through the thread pool (a worker that died once is not restarted).
    const gone = (err: Error): void => {
      if (!this.#alive) return;
      this.#alive = false;
      noFileThread = true;
      for (const jobs of this.#sent.splice(0)) for (const j of jobs) j.reject(err);
    };
    w.on("error", gone);
    w.on("exit", (code) => gone(new Error(`entry file worker exited (${code})`)));
    w.unref();
    this.#worker = w;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Send the files of `jobs`, their bytes packed into one transferred buffer. */
  send(jobs: ReadonlyArray<{ job: FileJob; parts: readonly Buffer[] }>): void {
    let total = 0;
    for (const { parts } of jobs) for (const b of parts) total += b.length;
    // A buffer of its own (never the shared pool's), so it can be transferred instead of copied.
    const data = Buffer.allocUnsafeSlow(total);
    const files: FileBatch["files"] = [];
    let at = 0;
    for (const { job: j, parts } of jobs) {
      const offset = at;
      for (const b of parts) at += b.copy(data, at);
      files.push({ tmp: j.tmp, path: j.path, offset, length: at - offset });
    }
    if (this.#sent.push(jobs.map((j) => j.job)) === 1) this.#worker.ref();
    const batch: FileBatch = { files, data: data.buffer as ArrayBuffer };
    this.#worker.postMessage(batch, [batch.data]);
  }
}

let fileThread: FileThread | undefined;
let noFileThread = false;

/** The shared worker, started on first use; undefined when it cannot run (or died). */
function sharedFileThread(): FileThread | undefined {
  if (fileThread?.alive === true) return fileThread;
  if (noFileThread) return undefined;
  try {
    fileThread = new FileThread();
    return fileThread;
  } catch {
    noFileThread = true;
    return undefined;
  }
}

/** Options of an EntryFileWriter. */
export interface EntryFileWriterOptions {
  /** Files go to the worker thread; false: through the thread pool (the fallback). @default true */
  offThread?: boolean;
  /** How long the first file of a batch waits for others to join it, ms. @default 10 */
  batchMs?: number;
  /** Timers (the batch's wait). @default systemClock */
  clock?: Clock;
}

/** A batch this full is sent at once (after the current turn), without waiting out `batchMs`. */
const BATCH_FILES = 64;

/**
 * Small entry files, written off the event loop once the responses have gone out: queued, and
 * sent together, `batchMs` after the first (or once 64 wait), to the worker thread
 * (entry-file-worker.ts), which writes them synchronously and answers once per batch. Creating
 * a file costs some 100 µs of system time on ext4 (open with O_CREAT|O_EXCL, then rename):
 * written on the event loop, even after the response, it held up the next request on the
 * connection (a sequential miss took ~0.3 ms longer than with the memory store); through the
 * thread pool it costs the loop four completions per file. Here the loop's share is one message
 * out and one back per batch: waking a thread costs the loop some 50 µs on this VM, so a
 * message per file would still be felt, and a batch makes it one per many misses. Without the
 * worker (it could not start, or died), files go through the thread pool (`writeEntryFile`).
 * An entry is served from memory meanwhile; only a crash in between loses its file.
 *
 * @example
 * const files = new EntryFileWriter();
 * await files.write(tmp, path, () => [head, body, footer], () => true); // true: renamed into place
 */
export class EntryFileWriter {
  #queue: FileJob[] = [];
  readonly #useWorker: boolean;
  readonly #batchMs: number;
  readonly #clock: Clock;

  constructor(options: EntryFileWriterOptions = {}) {
    this.#useWorker = options.offThread ?? true;
    this.#batchMs = options.batchMs ?? 10;
    this.#clock = options.clock ?? systemClock;
  }

  /** Whether files go to the worker thread (false when not asked for, or once it failed). */
  get offThread(): boolean {
    return this.#useWorker && sharedFileThread() !== undefined;
  }

  /**
   * Write the bytes `parts()` makes to `tmp`, then rename it to `path`, if `keep()` still says
   * so when its batch goes (`parts` is only called then); resolves with whether it did.
   */
  write(tmp: string, path: string, parts: () => readonly Buffer[], keep: () => boolean): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const n = this.#queue.push({ tmp, path, parts, keep, resolve, reject });
      // A timer left from a batch sent early just finds an empty queue (or sends the next one a little early).
      if (n === 1) this.#clock.setTimeout(() => this.#run(), this.#batchMs);
      else if (n === BATCH_FILES) setImmediate(() => this.#run());
    });
  }

  #run(): void {
    const jobs: Array<{ job: FileJob; parts: readonly Buffer[] }> = [];
    const queue = this.#queue;
    this.#queue = [];
    for (const j of queue) {
      if (!j.keep()) {
        j.resolve(false);
        continue;
      }
      try {
        jobs.push({ job: j, parts: j.parts() });
      } catch (err) {
        j.reject(err);
      }
    }
    if (jobs.length === 0) return;
    const t = this.#useWorker ? sharedFileThread() : undefined;
    if (t !== undefined) t.send(jobs);
    else for (const { job: j, parts } of jobs) writeEntryFile(j.tmp, j.path, parts, j.keep).then(j.resolve, j.reject);
  }
}

/**
 * Write `tmp` as a new entry file: `head`, then the body copied from `from` (each piece checked
 * as it is read), then its block table and footer. Used when a 304 changed the stored headers
 * of a body too large for memory.
 */
export async function copyWithNewHead(from: (start: number, length: number) => AsyncIterable<Buffer>, length: number, head: Buffer, tmp: string): Promise<void> {
  const out = await open(tmp, "wx");
  try {
    const h = new BodyHasher(head);
    await out.write(head);
    for await (const piece of from(0, length)) {
      h.update(piece);
      await out.write(piece);
    }
    await out.write(h.tail());
  } finally {
    await out.close();
  }
}

/** Read and check a file's head and footer (size consistency); the blocks are checked when read. */
export async function readEntryHead(path: string, id: string, policy: PolicyOptions): Promise<{ e: StoredEntry; mtime: number } | undefined> {
  const fd = await open(path, "r");
  try {
    const st = await fd.stat();
    const first = Buffer.alloc(Math.min(st.size, 64 * 1024));
    await fd.read(first, 0, first.length, 0);
    let head = decodeHead(first);
    if (!head.ok && head.error.needed !== undefined && head.error.needed <= st.size && head.error.needed > first.length) {
      const more = Buffer.alloc(head.error.needed);
      await fd.read(more, 0, more.length, 0);
      head = decodeHead(more);
    }
    if (!head.ok) return undefined;
    const { headLength } = head.value;
    if (st.size < headLength + FOOTER_LENGTH) return undefined;
    const footBuf = Buffer.alloc(FOOTER_LENGTH);
    await fd.read(footBuf, 0, FOOTER_LENGTH, st.size - FOOTER_LENGTH);
    const foot = decodeFooter(footBuf);
    if (!foot.ok || expectedFileSize(headLength, foot.value.bodyLength) !== st.size) return undefined;
    const bodyLength = foot.value.bodyLength;
    const meta = storedMeta(head.value.meta, bodyLength);
    const e: StoredEntry = { id, meta, facts: entryFacts(meta, policy), headLength, fileSize: st.size, body: undefined, verified: false };
    return { e, mtime: st.mtimeMs };
  } finally {
    await fd.close();
  }
}

/** A stored body failed its check while being read by ranges (the entry is damaged). */
export class DamagedBody extends Error {
  constructor(what: string) {
    super(`cache entry: ${what}`);
    this.name = "DamagedBody";
  }
}

/** Blocks read from disk in one go (4 × 64 KiB). */
const READ_BLOCKS = 4;

/**
 * Read an entry file's block table and check it against the footer (SHA-256 of meta JSON ‖
 * table, so the meta is covered too). Returns `read(start, length)`: the verified bytes of a
 * body range, in pieces of at most 256 KiB; each block a piece touches is read whole and
 * checked against its digest before any of its bytes are yielded. Throws DamagedBody on any
 * mismatch or short read. Only the table (32 bytes per 64 KiB) stays in memory.
 *
 * @example
 * const blocks = await openBlocks(fd, headLength, bodyLength);
 * for await (const piece of blocks(1000, 500)) res.write(piece);
 */
export async function openBlocks(fd: FileHandle, headLength: number, bodyLength: number): Promise<(start: number, length: number) => AsyncGenerator<Buffer>> {
  const tableLen = tableLength(bodyLength);
  const tail = Buffer.alloc(tableLen + FOOTER_LENGTH);
  const meta = Buffer.alloc(headLength - 12);
  await readFully(fd, meta, 12);
  await readFully(fd, tail, headLength + bodyLength);
  const table = tail.subarray(0, tableLen);
  const foot = decodeFooter(tail.subarray(tableLen));
  if (!foot.ok || foot.value.bodyLength !== bodyLength) throw new DamagedBody("bad footer");
  if (!createHash("sha256").update(meta).update(table).digest().equals(foot.value.tableSha256)) throw new DamagedBody("block table hash mismatch");
  return async function* read(start: number, length: number): AsyncGenerator<Buffer> {
    if (length <= 0) return;
    const end = start + length; // exclusive
    if (start < 0 || end > bodyLength) throw new DamagedBody("range outside the body");
    let block = Math.floor(start / BLOCK);
    const lastBlock = Math.floor((end - 1) / BLOCK);
    while (block <= lastBlock) {
      const n = Math.min(READ_BLOCKS, lastBlock - block + 1);
      const from = block * BLOCK;
      const to = Math.min(bodyLength, (block + n) * BLOCK);
      const buf = Buffer.allocUnsafe(to - from);
      await readFully(fd, buf, headLength + from);
      for (let i = 0; i < n; i++) {
        const b = buf.subarray(i * BLOCK, Math.min(buf.length, (i + 1) * BLOCK));
        const want = table.subarray((block + i) * DIGEST_LENGTH, (block + i + 1) * DIGEST_LENGTH);
        if (!createHash("sha256").update(b).digest().equals(want)) throw new DamagedBody(`block ${block + i} hash mismatch`);
      }
      yield buf.subarray(Math.max(0, start - from), Math.min(buf.length, end - from));
      block += n;
    }
  };
}

async function readFully(fd: FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesRead } = await fd.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new DamagedBody("short read");
    done += bytesRead;
  }
}

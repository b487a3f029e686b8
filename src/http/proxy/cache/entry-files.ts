/**
 * File-level helpers of the cache store: write an entry file in one go, read and check an
 * entry's head and footer at start-up, and read its body by blocks, each checked against the
 * file's block table before it is used.
 */
import { createHash } from "node:crypto";
import { close, closeSync, open as openFd, openSync, rename, renameSync, unlink, unlinkSync, write, writeFile, writev, writevSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { BLOCK, BodyHasher, decodeFooter, decodeHead, DIGEST_LENGTH, expectedFileSize, FOOTER_LENGTH, tableLength } from "./entry-codec.js";
import { entryFacts, type PolicyOptions, type StoredMeta } from "./policy.js";
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

/** `writeEntryFile` done synchronously: true when renamed into place, false when no longer wanted. */
function writeEntryFileSync(tmp: string, path: string, parts: readonly Buffer[], keep: () => boolean): boolean {
  if (!keep()) return false;
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
    return true;
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
}

/** Slow files in a row that make `EntryFileWriter` give up writing synchronously. */
const SLOW_IN_A_ROW = 4;

interface FileJob {
  tmp: string;
  path: string;
  parts: readonly Buffer[];
  keep: () => boolean;
  resolve: (renamed: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Small entry files, written once the responses of this turn of the event loop have gone out:
 * queued, then written together in one `setImmediate`, synchronously. On a local disk the four
 * steps (open, writev, close, rename) take some 50 µs of the loop that way; through the thread
 * pool the same file costs the loop about three times as much, in dispatches and wakeups, which
 * lands on the next requests. Files that take longer than `slowMs` several times in a row (a slow
 * or network disk) switch the writer to the asynchronous chain (`writeEntryFile`) for good, so a
 * slow disk holds the loop up only a few times.
 *
 * @example
 * const files = new EntryFileWriter(() => performance.now());
 * await files.write(tmp, path, [head, body, footer], () => true); // true: renamed into place
 */
export class EntryFileWriter {
  readonly #now: () => number;
  readonly #slowMs: number;
  #queue: FileJob[] = [];
  #sync = true;
  #slowInARow = 0;

  /** @param now monotonic ms (the injected clock) @param slowMs files slower than this, several in a row, end synchronous writing */
  constructor(now: () => number, slowMs = 2) {
    this.#now = now;
    this.#slowMs = slowMs;
  }

  /** Whether files are still written synchronously (false once the disk was found slow). */
  get synchronous(): boolean {
    return this.#sync;
  }

  /** Write `parts` to `tmp`, then rename it to `path` if `keep()` still says so; resolves with whether it did. */
  write(tmp: string, path: string, parts: readonly Buffer[], keep: () => boolean): Promise<boolean> {
    if (!this.#sync) return writeEntryFile(tmp, path, parts, keep);
    return new Promise((resolve, reject) => {
      if (this.#queue.push({ tmp, path, parts, keep, resolve, reject }) === 1) setImmediate(() => this.#run());
    });
  }

  #run(): void {
    const jobs = this.#queue;
    this.#queue = [];
    for (const j of jobs) {
      if (!this.#sync) {
        writeEntryFile(j.tmp, j.path, j.parts, j.keep).then(j.resolve, j.reject);
        continue;
      }
      const start = this.#now();
      try {
        j.resolve(writeEntryFileSync(j.tmp, j.path, j.parts, j.keep));
      } catch (err) {
        j.reject(err);
      }
      // One slow file can be the machine, not the disk (a preempted process, a journal commit):
      // several in a row are the disk.
      if (this.#now() - start <= this.#slowMs) this.#slowInARow = 0;
      else if (++this.#slowInARow >= SLOW_IN_A_ROW) this.#sync = false;
    }
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
    const meta: StoredMeta = { ...head.value.meta, bodyLength };
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

/**
 * Writing one cache entry while its body streams through the proxy. Small bodies (up to the
 * hot-layer limit) are collected in memory and handed to the store whole, which publishes the
 * entry at once and writes its file in the background: none of the file format (head, block
 * hashes, footer) is computed for them here, before the response goes out, but by the store
 * when the file is written. Larger ones go to a temporary file as they arrive (head, body
 * chunks hashed by blocks on the way, block table and footer). Either
 * way a file only gets its real name by a rename once complete; anything short of that — the
 * origin dying, the object outgrowing the size limit, a disk error — leaves nothing behind.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { BodyHasher, encodeHead, expectedFileSize } from "./entry-codec.js";
import { storedMeta, type StoredMeta } from "./policy.js";
import type { StoredEntry } from "./store.js";

const NO_BYTES = Buffer.alloc(0);

/** Bytes of a read beyond the body it holds that a stored body may keep alive (the head, mostly). */
const READ_SLACK = 16 * 1024;

/**
 * A body that came as one chunk, kept as it is rather than copied when the memory behind it is
 * not much more than the body. The origin response parser hands out body pieces of their own
 * (client/response.ts copies each), but a writer takes any chunk, and a few bytes viewing a
 * large buffer must not keep all of it alive past what the store counts.
 */
function keepable(chunk: Buffer): Buffer {
  return chunk.buffer.byteLength - chunk.length <= READ_SLACK ? chunk : Buffer.from(chunk);
}

/** What a completed write hands to the store. */
export type CompletedWrite =
  /** The whole body, small enough to stay in memory: no file written, no file format computed yet. */
  | { kind: "memory"; meta: StoredMeta; body: Buffer }
  /** The complete temporary file the body was streamed to, its head's length and its size. */
  | { kind: "file"; meta: StoredMeta; tmp: string; headLength: number; fileSize: number };

/**
 * One entry being written. `write()` returns false when the file wants a pause (call
 * `onDrain`); after `abort()` or an error every write is accepted and dropped.
 *
 * @example
 * const w = store.beginWrite(meta, maxObject); w?.write(chunk); const entry = await w?.commit();
 */
export class EntryWriter {
  /** The temporary file's name, asked for only when the body moves to a file. */
  readonly #tmpOf: () => string;
  #tmp = "";
  readonly #meta: Omit<StoredMeta, "bodyLength">;
  readonly #max: number;
  readonly #memMax: number;
  readonly #onCommit: (done: CompletedWrite) => Promise<StoredEntry | undefined>;
  readonly #track: <T>(p: Promise<T>) => Promise<T>;
  /** Made when the body moves to a temporary file (the file's head and block hashes). */
  #hash: BodyHasher | undefined;
  #head: Buffer = NO_BYTES;
  #out: WriteStream | undefined;
  #length = 0;
  #chunks: Buffer[] | undefined = [];
  #aborted = false;
  #drainWaiters: Array<() => void> = [];

  /**
   * `tmp` names the temporary file (a function: asked only if the body moves to a file).
   * `track` is the store's: `flush()` waits for a commit in progress. An empty `tmp` makes a
   * writer that never writes a file (the memory and Redis stores, whose `memMax` is the size
   * limit): it only collects the body.
   */
  constructor(tmp: string | (() => string), meta: Omit<StoredMeta, "bodyLength">, maxBytes: number, memMax: number, track: <T>(p: Promise<T>) => Promise<T>, onCommit: (done: CompletedWrite) => Promise<StoredEntry | undefined>) {
    this.#tmpOf = typeof tmp === "string" ? () => tmp : tmp;
    this.#track = track;
    this.#meta = meta;
    this.#max = maxBytes;
    this.#memMax = memMax;
    this.#onCommit = onCommit;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /**
   * The body so far is held in memory and the write was not given up: `commit()` now hands
   * the store a whole in-memory body, which every store publishes at once (it cannot fail).
   */
  get inMemory(): boolean {
    return !this.#aborted && this.#chunks !== undefined;
  }

  /** Append a body chunk. */
  write(chunk: Buffer): boolean {
    if (this.#aborted) return true;
    this.#length += chunk.length;
    if (this.#length > this.#max) {
      this.abort();
      return true;
    }
    if (this.#chunks !== undefined) {
      if (this.#length <= this.#memMax) {
        this.#chunks.push(chunk);
        return true;
      }
      // Too big for memory: move to a temporary file, starting with what was collected. The
      // file format (a JSON encoding, SHA-256 by blocks) is only paid from here on.
      this.#head = encodeHead(this.#meta);
      const hash = new BodyHasher(this.#head);
      this.#hash = hash;
      const out = this.#openFile();
      out.write(this.#head);
      for (const c of this.#chunks) {
        hash.update(c);
        out.write(c);
      }
      this.#chunks = undefined;
      hash.update(chunk);
      return out.write(chunk);
    }
    this.#hash?.update(chunk);
    return this.#out?.write(chunk) ?? true;
  }

  /** Call `fn` once the file has taken what was written. */
  onDrain(fn: () => void): void {
    if (this.#aborted || this.#out === undefined) {
      fn();
      return;
    }
    this.#drainWaiters.push(fn);
    if (this.#drainWaiters.length === 1) this.#out.once("drain", () => this.#flushDrain());
  }

  #flushDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const f of waiters) f();
  }

  /** Give up: nothing is stored. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#chunks = undefined;
    this.#flushDrain();
    const out = this.#out;
    if (out !== undefined) {
      out.destroy();
      out.once("close", () => void unlink(this.#tmp).catch(() => undefined));
    }
  }

  /** Finish and hand the entry to the store; undefined when the write was abandoned. The store's `flush()` waits for it. */
  commit(): Promise<StoredEntry | undefined> {
    if (this.#aborted) return Promise.resolve(undefined);
    // A whole body in memory goes to the store at once, without a file's async steps.
    if (this.#chunks !== undefined) {
      const body = this.#chunks.length === 1 ? keepable(this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#length);
      this.#chunks = undefined;
      return this.#track(this.#onCommit({ kind: "memory", meta: storedMeta(this.#meta, this.#length), body }));
    }
    return this.#track(this.#commitFile());
  }

  async #commitFile(): Promise<StoredEntry | undefined> {
    // The body length is only known now (chunked responses): it lives in the footer, and the
    // reader derives it from the file size and checks the two agree.
    const meta = storedMeta(this.#meta, this.#length);
    const out = this.#out;
    if (out === undefined || this.#hash === undefined) return undefined;
    const fileSize = expectedFileSize(this.#head.length, this.#length);
    out.end(this.#hash.tail());
    try {
      await new Promise<void>((resolve, reject) => {
        if (out.closed) resolve();
        out.once("close", () => resolve());
        out.once("error", reject);
      });
      if (this.#aborted) return undefined;
      return await this.#onCommit({ kind: "file", meta, tmp: this.#tmp, headLength: this.#head.length, fileSize });
    } catch {
      this.#aborted = true;
      await unlink(this.#tmp).catch(() => undefined);
      return undefined;
    }
  }

  #openFile(): WriteStream {
    this.#tmp = this.#tmpOf();
    const out = createWriteStream(this.#tmp, { flags: "wx" });
    out.on("error", () => {
      if (!this.#aborted) {
        this.#aborted = true;
        this.#flushDrain();
        void unlink(this.#tmp).catch(() => undefined);
      }
    });
    this.#out = out;
    return out;
  }
}

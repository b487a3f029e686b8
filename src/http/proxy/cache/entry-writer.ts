/**
 * Writing one cache entry while its body streams through the proxy. Small bodies (up to the
 * hot-layer limit) are collected in memory and handed to the store whole, which publishes the
 * entry at once and writes its file in the background; larger ones go to a temporary file as
 * they arrive (head, body chunks hashed by blocks on the way, block table and footer). Either
 * way a file only gets its real name by a rename once complete; anything short of that — the
 * origin dying, the object outgrowing the size limit, a disk error — leaves nothing behind.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { BodyHasher, encodeHead, expectedFileSize } from "./entry-codec.js";
import type { StoredMeta } from "./policy.js";
import type { StoredEntry } from "./store.js";

const NO_BYTES = Buffer.alloc(0);

/** What a completed write hands to the store. */
export interface CompletedWrite {
  meta: StoredMeta;
  head: Buffer;
  fileSize: number;
  /** The block table and the footer (entry-codec.ts). */
  footer: Buffer;
  /** The whole body when it was small enough to stay in memory (no file written yet). */
  body: Buffer | undefined;
  /** The complete temporary file, when the body was streamed to disk. */
  tmp: string | undefined;
}

/**
 * One entry being written. `write()` returns false when the file wants a pause (call
 * `onDrain`); after `abort()` or an error every write is accepted and dropped.
 *
 * @example
 * const w = store.beginWrite(meta, maxObject); w?.write(chunk); const entry = await w?.commit();
 */
export class EntryWriter {
  readonly #tmp: string;
  readonly #meta: Omit<StoredMeta, "bodyLength">;
  readonly #max: number;
  readonly #memMax: number;
  readonly #onCommit: (done: CompletedWrite) => Promise<StoredEntry | undefined>;
  readonly #track: <T>(p: Promise<T>) => Promise<T>;
  /** Undefined for a writer that never makes a file (no file head, footer or hash to compute). */
  readonly #hash: BodyHasher | undefined;
  readonly #head: Buffer;
  #out: WriteStream | undefined;
  #length = 0;
  #chunks: Buffer[] | undefined = [];
  #aborted = false;
  #drainWaiters: Array<() => void> = [];

  /**
   * `track` is the store's: `flush()` waits for a commit in progress. An empty `tmp` makes a
   * writer that never writes a file (the memory and Redis stores, whose `memMax` is the size
   * limit): it only collects the body, and its CompletedWrite has an empty head and footer.
   */
  constructor(tmp: string, meta: Omit<StoredMeta, "bodyLength">, maxBytes: number, memMax: number, track: <T>(p: Promise<T>) => Promise<T>, onCommit: (done: CompletedWrite) => Promise<StoredEntry | undefined>) {
    this.#tmp = tmp;
    this.#track = track;
    this.#meta = meta;
    this.#max = maxBytes;
    this.#memMax = memMax;
    this.#onCommit = onCommit;
    // The file format costs a JSON encoding and two SHA-256 (block, table) on every stored miss: only for files.
    this.#head = tmp === "" ? NO_BYTES : encodeHead(meta);
    this.#hash = tmp === "" ? undefined : new BodyHasher(this.#head);
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Append a body chunk. */
  write(chunk: Buffer): boolean {
    if (this.#aborted) return true;
    this.#length += chunk.length;
    if (this.#length > this.#max) {
      this.abort();
      return true;
    }
    this.#hash?.update(chunk);
    if (this.#chunks !== undefined) {
      if (this.#length <= this.#memMax) {
        this.#chunks.push(chunk);
        return true;
      }
      // Too big for memory: move to a temporary file, starting with what was collected.
      const out = this.#openFile();
      out.write(this.#head);
      for (const c of this.#chunks) out.write(c);
      this.#chunks = undefined;
      return out.write(chunk);
    }
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
    return this.#track(this.#commit());
  }

  async #commit(): Promise<StoredEntry | undefined> {
    if (this.#aborted) return undefined;
    // The body length is only known now (chunked responses): it lives in the footer, and the
    // reader derives it from the file size and checks the two agree.
    const meta: StoredMeta = { ...this.#meta, bodyLength: this.#length };
    const footer = this.#hash === undefined ? NO_BYTES : this.#hash.tail();
    const fileSize = expectedFileSize(this.#head.length, this.#length);
    if (this.#chunks !== undefined) {
      const body = Buffer.concat(this.#chunks, this.#length);
      this.#chunks = undefined;
      return this.#onCommit({ meta, head: this.#head, fileSize, footer, body, tmp: undefined });
    }
    const out = this.#out;
    if (out === undefined) return undefined;
    out.end(footer);
    try {
      await new Promise<void>((resolve, reject) => {
        if (out.closed) resolve();
        out.once("close", () => resolve());
        out.once("error", reject);
      });
      if (this.#aborted) return undefined;
      return await this.#onCommit({ meta, head: this.#head, fileSize, footer, body: undefined, tmp: this.#tmp });
    } catch {
      this.#aborted = true;
      await unlink(this.#tmp).catch(() => undefined);
      return undefined;
    }
  }

  #openFile(): WriteStream {
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

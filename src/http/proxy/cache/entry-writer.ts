/**
 * Writing one cache entry while its body streams through the proxy: head first, body chunks
 * as they arrive (hashing them), then the footer, all into a temporary file that is renamed
 * into place only when the body is complete. Anything short of that — the origin dying, the
 * object outgrowing the size limit, a disk error — just deletes the temporary file.
 */
import { createHash, type Hash } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { encodeFooter, encodeHead, expectedFileSize } from "./entry-codec.js";
import type { StoredMeta } from "./policy.js";
import type { StoredEntry } from "./store.js";

/** What a completed write hands to the store. */
export interface CompletedWrite {
  meta: StoredMeta;
  headLength: number;
  fileSize: number;
  /** The whole body when it was small enough for the hot layer. */
  body: Buffer | undefined;
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
  readonly #hotMax: number;
  readonly #onCommit: (done: CompletedWrite) => Promise<StoredEntry>;
  readonly #hash: Hash;
  #out: WriteStream | undefined;
  #length = 0;
  #chunks: Buffer[] | undefined = [];
  #aborted = false;

  constructor(tmp: string, meta: Omit<StoredMeta, "bodyLength">, maxBytes: number, hotMax: number, onCommit: (done: CompletedWrite) => Promise<StoredEntry>) {
    this.#tmp = tmp;
    this.#meta = meta;
    this.#max = maxBytes;
    this.#hotMax = hotMax;
    this.#onCommit = onCommit;
    this.#hash = createHash("sha256");
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
    if (this.#chunks !== undefined) {
      if (this.#length <= this.#hotMax) this.#chunks.push(chunk);
      else this.#chunks = undefined;
    }
    const out = this.#stream();
    this.#hash.update(chunk);
    return out.write(chunk);
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

  #drainWaiters: Array<() => void> = [];

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

  /** Finish the file and hand it to the store; undefined when the write was abandoned. */
  async commit(): Promise<StoredEntry | undefined> {
    if (this.#aborted) return undefined;
    const out = this.#stream();
    // The body length is only known now (chunked responses): it lives in the footer, and the
    // reader derives it from the file size and checks the two agree.
    const meta: StoredMeta = { ...this.#meta, bodyLength: this.#length };
    const head = this.#head ?? Buffer.alloc(0);
    out.end(encodeFooter(this.#length, this.#hash.digest()));
    try {
      await new Promise<void>((resolve, reject) => {
        out.once("finish", resolve);
        out.once("error", reject);
      });
      await new Promise<void>((resolve) => (out.closed ? resolve() : out.once("close", () => resolve())));
      if (this.#aborted) return undefined;
      const body = this.#chunks === undefined ? undefined : Buffer.concat(this.#chunks, this.#length);
      return await this.#onCommit({ meta, headLength: head.length, fileSize: expectedFileSize(head.length, this.#length), body });
    } catch {
      this.#aborted = true;
      await unlink(this.#tmp).catch(() => undefined);
      return undefined;
    }
  }

  #head: Buffer | undefined;

  #stream(): WriteStream {
    if (this.#out !== undefined) return this.#out;
    const out = createWriteStream(this.#tmp, { flags: "wx" });
    this.#head = encodeHead(this.#meta);
    this.#hash.update(this.#head.subarray(12));
    out.write(this.#head);
    out.on("error", () => {
      if (!this.#aborted) {
        this.#aborted = true;
        this.#chunks = undefined;
        this.#flushDrain();
        void unlink(this.#tmp).catch(() => undefined);
      }
    });
    this.#out = out;
    return out;
  }
}

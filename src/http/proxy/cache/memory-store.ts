/**
 * The in-process cache store (`--store memory`): entries and their bodies in memory, bounded by
 * bytes, least-recently-used first out; gone when the proxy stops. The Redis store uses one as
 * its local hot layer, where an entry may be held by its head alone (the body fetched on use).
 */
import { EntryWriter } from "./entry-writer.js";
import { bufferRanges, type BodyRanges, type EntryStore } from "./entry-store.js";
import { entryFacts, staleFacts, type PolicyOptions, type StoredMeta } from "./policy.js";
import { entryId, type StoredEntry } from "./store.js";
import { EntryIndex } from "./entry-index.js";
import { PendingWork } from "./pending-work.js";

export interface MemoryStoreOptions {
  /** Bound on the bytes held (bodies plus a fixed cost per entry). @default 256 MiB */
  maxBytes?: number;
  /** Bodies up to this size are read whole before the head goes out. @default 256 KiB */
  hotMaxObjectBytes?: number;
  policy?: PolicyOptions;
}

/** What an entry costs besides its body (its head, the index): a flat estimate. */
const ENTRY_COST = 512;

/**
 * A bounded LRU store in memory.
 *
 * @example
 * const store = new MemoryStore({ maxBytes: 64 << 20 });
 */
export class MemoryStore implements EntryStore {
  readonly kind = "memory" as const;
  readonly available = true;
  readonly maxBytes: number;
  readonly hotMaxObjectBytes: number;
  readonly policy: PolicyOptions;
  readonly #index = new EntryIndex();
  readonly #work = new PendingWork();
  #bytes = 0;
  discarded = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.hotMaxObjectBytes = options.hotMaxObjectBytes ?? 256 * 1024;
    this.policy = options.policy ?? {};
  }

  get entries(): number {
    return this.#index.size;
  }

  get diskBytes(): number {
    return this.#bytes;
  }

  /** The entry stored under `id`. */
  get(id: string): StoredEntry | undefined {
    return this.#index.get(id);
  }

  variants(url: string): StoredEntry[] {
    return this.#index.variants(url);
  }

  find(url: string, pred: (e: StoredEntry) => boolean): StoredEntry | undefined {
    return this.#index.find(url, pred);
  }

  touch(e: StoredEntry): void {
    this.#index.touch(e);
  }

  openBody(e: StoredEntry): Promise<Buffer | undefined> {
    return Promise.resolve(this.#index.holds(e) ? e.body : undefined);
  }

  openRanges(e: StoredEntry): Promise<BodyRanges | undefined> {
    return Promise.resolve(this.#index.holds(e) && e.body !== undefined ? bufferRanges(e.body) : undefined);
  }

  discardCorrupt(e: StoredEntry): void {
    if (!this.#index.holds(e)) return;
    this.discarded++;
    this.remove(e);
  }

  makeHot(e: StoredEntry, body: Buffer): void {
    if (!this.#index.holds(e)) return;
    this.#bytes += body.length - (e.body?.length ?? 0);
    e.body = body;
    this.#evict(e);
  }

  beginWrite(meta: Omit<StoredMeta, "bodyLength">, maxObjectBytes: number): EntryWriter | null {
    const max = Math.min(maxObjectBytes, this.maxBytes);
    if (max <= 0) return null;
    // The whole body stays in memory (memory limit = size limit): no file is ever opened.
    return new EntryWriter("", meta, max, max, (p) => this.track(p), (done) => {
      const body = done.kind === "memory" ? done.body : Buffer.alloc(0);
      const e: StoredEntry = { id: entryId(meta.url, meta.varyValues), meta: done.meta, facts: entryFacts(done.meta, this.policy), headLength: 0, fileSize: body.length, body, verified: true };
      this.put(e);
      return Promise.resolve(e);
    });
  }

  /** Make `e` the current entry for its id (replacing an older one) and evict to fit. */
  put(e: StoredEntry): void {
    const old = this.#index.get(e.id);
    if (old !== undefined) this.#forget(old);
    this.#index.add(e);
    this.#bytes += ENTRY_COST + (e.body?.length ?? 0);
    this.#evict(e);
  }

  /** The entry with a 304's freshened meta, in the place of `e` (detached when `e` is no longer current). */
  updateMeta(e: StoredEntry, meta: StoredMeta): StoredEntry {
    const next: StoredEntry = { ...e, meta, facts: entryFacts(meta, this.policy) };
    this.#replace(e, next);
    return next;
  }

  /** Put `next` in the place of `old` (same id and body); false when `old` is not current. */
  #replace(old: StoredEntry, next: StoredEntry): boolean {
    if (!this.#index.replace(old, next)) return false;
    return true;
  }

  remove(e: StoredEntry): void {
    if (this.#index.holds(e)) this.#forget(e);
  }

  removeUrl(url: string): number {
    const vs = this.variants(url);
    for (const e of vs) this.remove(e);
    return vs.length;
  }

  withTag(tag: string): StoredEntry[] {
    return this.#index.withTag(tag);
  }

  markStale(e: StoredEntry): StoredEntry {
    const next: StoredEntry = { ...e, facts: staleFacts(e.facts) };
    this.#replace(e, next);
    return next;
  }

  /** Forget everything (a shared store's hot layer, when the store went away). */
  clear(): void {
    this.#index.clear();
    this.#bytes = 0;
  }

  /** Remember work in progress so `flush()` waits for it (a store layered on this one, Redis, uses it too). */
  track<T>(p: Promise<T>): Promise<T> {
    return this.#work.track(p);
  }

  async flush(): Promise<void> {
    await this.#work.flush();
  }

  #forget(e: StoredEntry): void {
    this.#index.delete(e);
    this.#bytes -= ENTRY_COST + (e.body?.length ?? 0);
  }

  /** Evict the least recently used entries until the bound holds (never `keep`, just stored). */
  #evict(keep: StoredEntry): void {
    for (const e of this.#index.values()) {
      if (this.#bytes <= this.maxBytes) break;
      if (e !== keep) this.#forget(e);
    }
  }
}

/**
 * The on-disk cache store: one file per stored response (entry-codec.ts format), written to a
 * temporary file and renamed into place so a crash never leaves a half-entry under a real
 * name; least-recently-used eviction by total file size; and a hot in-memory layer holding the
 * bodies of small entries, so a hit on a popular small object costs no disk I/O. Truncated or
 * corrupt files are detected (size, footer, and a SHA-256 per 64 KiB block checked as it is
 * read) and discarded, never served. The pure
 * index of immutable entries is entry-index.ts; the directory, the ordered queue of file
 * operations and the crash scan at start are entry-file-queue.ts; this class joins them.
 */
import { EntryIndex } from "./entry-index.js";
import { EntryFileQueue } from "./entry-file-queue.js";
import * as crypto from "node:crypto";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { entryFacts, staleFacts, type EntryFacts, type PolicyOptions, type StoredMeta } from "./policy.js";
import { encodeHead, encodeTail, expectedFileSize } from "./entry-codec.js";
import { EntryWriter } from "./entry-writer.js";
import { copyWithNewHead, EntryFileWriter, openBlocks, writeWhole } from "./entry-files.js";
import { bufferRanges, type BodyRanges, type EntryStore } from "./entry-store.js";
import { isFieldName } from "../../header-list.js";

export interface CacheStoreOptions {
  /** Directory holding the entries (created if missing). */
  dir: string;
  /** Bound on the total size of the entry files, bytes. @default 1 GiB */
  maxBytes?: number;
  /** Bodies up to this size are kept in memory too. @default 256 KiB */
  hotMaxObjectBytes?: number;
  /** Bound on the memory used by hot bodies. @default 64 MiB */
  hotMaxBytes?: number;
  /** Freshness heuristics. */
  policy?: PolicyOptions;
}

/**
 * One stored response. What it says about the response (meta, facts) never changes: a 304
 * that freshens it or a soft purge makes a new entry that replaces it in the index. The rest is
 * the store's bookkeeping of where its bytes are (the file's layout, the hot copy, whether the
 * file was verified), which only the store updates.
 */
export interface StoredEntry {
  /** File name stem: hash of the URL and the Vary secondary key. */
  readonly id: string;
  readonly meta: StoredMeta;
  readonly facts: EntryFacts;
  /** Size of the head on disk (where the body starts) and of the whole file. */
  headLength: number;
  fileSize: number;
  /** The body when the entry is in the hot layer. */
  body: Buffer | undefined;
  /** Every block of the file has been checked (or we wrote the file ourselves). */
  verified: boolean;
  /** A shared store's version of the entry (the head it was read from). */
  version?: string;
}

/** The surrogate keys of a stored response (`Surrogate-Key`, `Cache-Tag`). */
export function surrogateKeys(headers: ReadonlyArray<readonly [string, string]>): string[] {
  const out: string[] = [];
  for (const [k, v] of headers) {
    if (isFieldName(k, "surrogate-key") || isFieldName(k, "cache-tag")) for (const t of v.split(/[\s,]+/)) if (t !== "") out.push(t);
  }
  return out;
}

/** node:crypto's one-shot digest (Node >= 20.12; undefined before): no Hash object per call. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;

/** The stem naming a variant's file. */
export function entryId(url: string, varyValues: ReadonlyArray<string | null>): string {
  const text = `${url}\0${JSON.stringify(varyValues)}`;
  return (oneShotHash === undefined ? crypto.createHash("sha256").update(text).digest("hex") : oneShotHash("sha256", text, "hex")).slice(0, 40);
}

/**
 * The cache store. Open with `CacheStore.open()`.
 *
 * @example
 * const store = await CacheStore.open({ dir: "/tmp/cache", maxBytes: 1 << 30 });
 * const variants = store.variants("http://example.test/");
 */
export class CacheStore implements EntryStore {
  readonly kind = "disk" as const;
  /** A local disk is always there. */
  readonly available = true;
  readonly dir: string;
  readonly maxBytes: number;
  readonly hotMaxObjectBytes: number;
  readonly hotMaxBytes: number;
  readonly policy: PolicyOptions;
  /** Entries in LRU order and by URL. */
  readonly #index = new EntryIndex();
  /** Hot bodies in LRU order. */
  readonly #hot = new Map<string, StoredEntry>();
  /** The hot entry used last (the end of `#hot`), while it is there. */
  #hotNewest: StoredEntry | undefined;
  #diskBytes = 0;
  #hotBytes = 0;
  /** The entry files and the queue of operations on them. */
  readonly #files: EntryFileQueue;
  /** Small entry files, written off the event loop after the responses have gone out. */
  readonly #writer: EntryFileWriter;
  /** Files discarded because they were truncated or corrupt (for stats and tests). */
  discarded = 0;

  private constructor(options: CacheStoreOptions, files: EntryFileQueue) {
    this.#files = files;
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? 1024 ** 3;
    this.hotMaxObjectBytes = options.hotMaxObjectBytes ?? 256 * 1024;
    this.hotMaxBytes = options.hotMaxBytes ?? 64 * 1024 * 1024;
    this.policy = options.policy ?? {};
    this.#writer = new EntryFileWriter();
  }

  /** Open (or create) a store directory and index what it holds. */
  static async open(options: CacheStoreOptions): Promise<CacheStore> {
    const files = await EntryFileQueue.open(options.dir);
    const store = new CacheStore(options, files);
    const scanned = await files.scan(store.policy);
    store.discarded += scanned.discarded;
    store.#load(scanned.entries);
    return store;
  }

  /** Wait for every write in progress (entries, head rewrites, removals) to land on disk. */
  flush(): Promise<void> {
    return this.#files.flush();
  }

  get entries(): number {
    return this.#index.size;
  }

  get diskBytes(): number {
    return this.#diskBytes;
  }

  /** The stored variants of a URL (any Vary secondary key). */
  variants(url: string): StoredEntry[] {
    return this.#index.variants(url);
  }

  /** The first variant of a URL satisfying `pred` (no array built: the hot path). */
  find(url: string, pred: (e: StoredEntry) => boolean): StoredEntry | undefined {
    return this.#index.find(url, pred);
  }

  /** Mark an entry as just used (LRU), on disk and in the hot layer. */
  touch(e: StoredEntry): void {
    // A replaced entry (still held by a request) must not come back into the hot layer.
    if (!this.#index.touch(e)) return;
    if (e.body === undefined || this.#hotNewest === e || !this.#hot.delete(e.id)) return;
    this.#hot.set(e.id, e);
    this.#hotNewest = e;
  }

  /**
   * Open an entry's body on disk to stream it whole: the file must be complete (size) and its
   * block table intact, and the first time (a file found at start) every block is checked
   * before anything is sent; the blocks are checked again as they are read. A bad file is
   * removed and undefined returned: the caller refetches.
   */
  async openBody(e: StoredEntry): Promise<BodyRanges | undefined> {
    await this.#files.settled(e.id);
    return this.#openChecked(e, !e.verified);
  }

  /**
   * An entry's body by ranges: from the hot layer, or from its file, whose block table is read
   * and checked now and whose blocks are checked as they are read (entry-codec.ts), so a range
   * never needs the whole file read. Undefined when the file is gone, of the wrong size or its
   * table fails its hash (discarded).
   */
  async openRanges(e: StoredEntry): Promise<BodyRanges | undefined> {
    if (e.body !== undefined) return bufferRanges(e.body);
    await this.#files.settled(e.id);
    return this.#openChecked(e, false);
  }

  async #openChecked(e: StoredEntry, whole: boolean): Promise<BodyRanges | undefined> {
    let fd: FileHandle | undefined;
    try {
      fd = await open(this.#files.path(e.id), "r");
      const st = await fd.stat();
      if (st.size !== e.fileSize) throw new Error("size");
      const read = await openBlocks(fd, e.headLength, e.meta.bodyLength);
      if (whole) {
        for await (const piece of read(0, e.meta.bodyLength)) void piece;
        e.verified = true;
      }
      const file = fd;
      return { read, close: () => file.close().catch(() => undefined) };
    } catch {
      await fd?.close().catch(() => undefined);
      this.discardCorrupt(e);
      return undefined;
    }
  }

  /** An entry whose file failed its hash while being served: count it and drop it, so the next request refetches. */
  discardCorrupt(e: StoredEntry): void {
    if (!this.#index.holds(e)) return;
    this.discarded++;
    this.remove(e);
  }

  /** Put a body in the hot layer (after a verified read from disk). */
  makeHot(e: StoredEntry, body: Buffer): void {
    if (body.length > this.hotMaxObjectBytes || !this.#index.holds(e)) return;
    if (e.body === undefined) this.#hotBytes += body.length;
    else this.#hotBytes += body.length - e.body.length;
    e.body = body;
    this.#hot.delete(e.id);
    this.#hot.set(e.id, e);
    this.#hotNewest = e;
    this.#trimHot();
  }

  /** Start writing a new variant; `null` when the store could never keep it. */
  beginWrite(meta: Omit<StoredMeta, "bodyLength">, maxObjectBytes: number): EntryWriter | null {
    if (maxObjectBytes <= 0) return null;
    // The id (a SHA-256) and a temporary name are only made when needed: for a small body, at
    // its commit, which comes after its response.
    let known: string | undefined;
    const idOf = (): string => (known ??= entryId(meta.url, meta.varyValues));
    const track = <T>(p: Promise<T>): Promise<T> => this.#files.track(p);
    return new EntryWriter(() => this.#files.tmpPath(idOf()), meta, Math.min(maxObjectBytes, this.maxBytes), this.hotMaxObjectBytes, track, async (done) => {
      const id = idOf();
      const small = done.kind === "memory";
      const e: StoredEntry = {
        id,
        meta: done.meta,
        facts: entryFacts(done.meta, this.policy),
        // A small entry's file layout is known once its file is made (#fileOf).
        headLength: small ? 0 : done.headLength,
        fileSize: small ? 0 : done.fileSize,
        body: undefined,
        verified: true,
      };
      if (small) {
        // Small: serve it from memory at once; the file follows in the background, under its
        // real name only once complete (and only if the entry is still the current one).
        const body = done.body;
        this.#publish(e);
        this.makeHot(e, body);
        const tmp = this.#files.tmpPath(id);
        void this.#files.run(id, async () => {
          if (!this.#index.holds(e)) return;
          await this.#writer.write(tmp, this.#files.path(id), () => this.#fileOf(e, body), () => this.#index.holds(e));
        }).catch(() => {
          void unlink(tmp).catch(() => undefined);
          if (this.#index.holds(e)) this.#forget(e);
        });
        return e;
      }
      await this.#files.run(id, () => rename(done.tmp, this.#files.path(id)));
      this.#publish(e);
      return e;
    });
  }

  /**
   * The file of a small entry, made when its batch is written (after the responses): head,
   * body, block table and footer. Its size now counts against `maxBytes`.
   */
  #fileOf(e: StoredEntry, body: Buffer): Buffer[] {
    const head = encodeHead(e.meta);
    e.headLength = head.length;
    e.fileSize = expectedFileSize(head.length, body.length);
    this.#diskBytes += e.fileSize;
    this.#evict();
    return [head, body, encodeTail(head, body)];
  }

  /** Make `e` the current entry for its id (replacing an older version) and evict to fit. */
  #publish(e: StoredEntry): void {
    const old = this.#index.get(e.id);
    if (old !== undefined) this.#forget(old);
    this.#add(e);
    this.#evict();
  }

  /**
   * A 304 freshened an entry (RFC 9111 §4.3.4): the entry with the new meta, which replaces `e`
   * at once (in the index and the hot layer), its file rewritten in the background through a
   * temporary file and a rename (`flush()` waits for it). When `e` is no longer the current
   * entry the new one is returned detached (it answers this request, and is not stored).
   */
  updateMeta(e: StoredEntry, meta: StoredMeta): StoredEntry {
    const next: StoredEntry = { ...e, meta, facts: entryFacts(meta, this.policy) };
    if (!this.#replace(e, next)) return next;
    void this.#files.run(next.id, () => this.#rewriteHead(next)).catch(() => undefined);
    return next;
  }

  async #rewriteHead(e: StoredEntry): Promise<void> {
    if (!this.#index.holds(e)) return;
    const head = encodeHead(e.meta);
    const tmp = this.#files.tmpPath(e.id);
    const body = e.body;
    if (body !== undefined) {
      await writeWhole(tmp, [head, body, encodeTail(head, body)]);
    } else {
      // A large body is copied through from the current file, never held in memory whole.
      const old = await this.#openChecked(e, false);
      if (old === undefined) return;
      try {
        await copyWithNewHead(old.read, e.meta.bodyLength, head, tmp);
      } catch (err) {
        // A damaged block: the entry goes (the next request refetches).
        await unlink(tmp).catch(() => undefined);
        this.discardCorrupt(e);
        throw err;
      } finally {
        await old.close();
      }
    }
    if (!this.#index.holds(e)) {
      await unlink(tmp).catch(() => undefined);
      return;
    }
    await rename(tmp, this.#files.path(e.id));
    const size = expectedFileSize(head.length, e.meta.bodyLength);
    this.#diskBytes += size - e.fileSize;
    e.headLength = head.length;
    e.fileSize = size;
    e.verified = true;
  }

  /** Put `next` in the place of `old` (same id, same file and body); false when `old` is not current. */
  #replace(old: StoredEntry, next: StoredEntry): boolean {
    if (!this.#index.replace(old, next)) return false;
    if (this.#hot.get(old.id) === old) {
      this.#hot.set(old.id, next);
      if (this.#hotNewest === old) this.#hotNewest = next;
    }
    return true;
  }

  /** Remove one entry (memory and disk). */
  remove(e: StoredEntry): void {
    if (!this.#index.holds(e)) return;
    this.#forget(e);
    void this.#files.run(e.id, () => unlink(this.#files.path(e.id))).catch(() => undefined);
  }

  /** Remove every variant of a URL (invalidation, RFC 9111 §4.4). Returns how many. */
  removeUrl(url: string): number {
    const vs = this.variants(url);
    for (const e of vs) this.remove(e);
    return vs.length;
  }

  /**
   * Entries whose origin tagged them `tag` (surrogate keys: `Surrogate-Key` or `Cache-Tag`,
   * separated by spaces or commas), from the index's by-tag map.
   */
  withTag(tag: string): StoredEntry[] {
    return this.#index.withTag(tag);
  }

  /**
   * Soft purge: the entry stays but is stale from now on, so its next use validates with the
   * origin (no stale-while-revalidate for it). Kept in memory only; a restart forgets it.
   */
  markStale(e: StoredEntry): StoredEntry {
    const next: StoredEntry = { ...e, facts: staleFacts(e.facts) };
    this.#replace(e, next);
    return next;
  }

  #add(e: StoredEntry): void {
    this.#index.add(e);
    this.#diskBytes += e.fileSize;
  }

  #forget(e: StoredEntry): void {
    this.#index.delete(e);
    this.#diskBytes -= e.fileSize;
    if (e.body !== undefined) {
      this.#hot.delete(e.id);
      if (this.#hotNewest === e) this.#hotNewest = undefined;
      this.#hotBytes -= e.body.length;
      e.body = undefined;
    }
  }

  #evict(): void {
    for (const e of this.#index.values()) {
      if (this.#diskBytes <= this.maxBytes) break;
      this.remove(e);
    }
  }

  #trimHot(): void {
    for (const e of this.#hot.values()) {
      if (this.#hotBytes <= this.hotMaxBytes) break;
      this.#hot.delete(e.id);
      if (this.#hotNewest === e) this.#hotNewest = undefined;
      if (e.body !== undefined) this.#hotBytes -= e.body.length;
      e.body = undefined;
    }
  }

  /** Index what the crash scan found, oldest first, and evict to fit. */
  #load(found: StoredEntry[]): void {
    for (const e of found) this.#add(e);
    this.#evict();
  }
}

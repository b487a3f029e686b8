/**
 * The on-disk cache store: one file per stored response (entry-codec.ts format), written to a
 * temporary file and renamed into place so a crash never leaves a half-entry under a real
 * name; an in-memory index rebuilt by scanning the directory at start; least-recently-used
 * eviction by total file size; and a hot in-memory layer holding the bodies of small entries,
 * so a hit on a popular small object costs no disk I/O. Truncated or corrupt files are
 * detected (size and SHA-256 footer) and discarded, never served.
 */
import { createHash } from "node:crypto";
import { mkdir, open, readdir, rename, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { entryFacts, type EntryFacts, type PolicyOptions, type StoredMeta } from "./policy.js";
import { decodeFooter, decodeHead, encodeFooter, encodeHead, expectedFileSize, FOOTER_LENGTH } from "./entry-codec.js";
import { EntryWriter } from "./entry-writer.js";

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

/** One stored response. */
export interface StoredEntry {
  /** File name stem: hash of the URL and the Vary secondary key. */
  readonly id: string;
  meta: StoredMeta;
  facts: EntryFacts;
  /** Size of the head on disk (where the body starts) and of the whole file. */
  headLength: number;
  fileSize: number;
  /** The body when the entry is in the hot layer. */
  body: Buffer | undefined;
  /** The SHA-256 footer has been checked (or we wrote the file ourselves). */
  verified: boolean;
}

/** An open, verified body on disk: read it with `createReadStream({ fd, start, end })`. */
export interface DiskBody {
  fd: FileHandle;
  start: number;
  length: number;
}

/** The stem naming a variant's file. */
export function entryId(url: string, varyValues: ReadonlyArray<string | null>): string {
  return createHash("sha256").update(url).update("\0").update(JSON.stringify(varyValues)).digest("hex").slice(0, 40);
}

/**
 * The cache store. Open with `CacheStore.open()`.
 *
 * @example
 * const store = await CacheStore.open({ dir: "/tmp/cache", maxBytes: 1 << 30 });
 * const variants = store.variants("http://example.test/");
 */
export class CacheStore {
  readonly dir: string;
  readonly maxBytes: number;
  readonly hotMaxObjectBytes: number;
  readonly hotMaxBytes: number;
  readonly policy: PolicyOptions;
  /** LRU order: oldest first (Map keeps insertion order; a touch re-inserts). */
  readonly #entries = new Map<string, StoredEntry>();
  readonly #byUrl = new Map<string, Set<string>>();
  /** Hot bodies in LRU order. */
  readonly #hot = new Map<string, StoredEntry>();
  #diskBytes = 0;
  #hotBytes = 0;
  #tmpSeq = 0;
  /** Files discarded because they were truncated or corrupt (for stats and tests). */
  discarded = 0;

  private constructor(options: CacheStoreOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? 1024 ** 3;
    this.hotMaxObjectBytes = options.hotMaxObjectBytes ?? 256 * 1024;
    this.hotMaxBytes = options.hotMaxBytes ?? 64 * 1024 * 1024;
    this.policy = options.policy ?? {};
  }

  /** Open (or create) a store directory and index what it holds. */
  static async open(options: CacheStoreOptions): Promise<CacheStore> {
    const store = new CacheStore(options);
    await mkdir(store.dir, { recursive: true });
    await store.#scan();
    return store;
  }

  readonly #pending = new Set<Promise<unknown>>();

  /** Remember a write in progress so `flush()` can wait for it. */
  track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p)).catch(() => undefined);
    return p;
  }

  /** Wait for every write in progress (entries and header rewrites) to land on disk. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  get entries(): number {
    return this.#entries.size;
  }

  get diskBytes(): number {
    return this.#diskBytes;
  }

  /** The stored variants of a URL (any Vary secondary key). */
  variants(url: string): StoredEntry[] {
    const ids = this.#byUrl.get(url);
    if (ids === undefined) return [];
    const out: StoredEntry[] = [];
    for (const id of ids) {
      const e = this.#entries.get(id);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** Mark an entry as just used (LRU), on disk and in the hot layer. */
  touch(e: StoredEntry): void {
    if (this.#entries.delete(e.id)) this.#entries.set(e.id, e);
    if (e.body !== undefined && this.#hot.delete(e.id)) this.#hot.set(e.id, e);
  }

  /**
   * Open an entry's body on disk, checking the file is complete (size) and, the first time,
   * intact (SHA-256). A bad file is removed and undefined returned: the caller refetches.
   */
  async openBody(e: StoredEntry): Promise<DiskBody | undefined> {
    let fd: FileHandle | undefined;
    try {
      fd = await open(this.#path(e.id), "r");
      const st = await fd.stat();
      if (st.size !== e.fileSize) throw new Error("size");
      if (!e.verified) {
        await verifyHash(fd, e.headLength, e.meta.bodyLength);
        e.verified = true;
      }
      return { fd, start: e.headLength, length: e.meta.bodyLength };
    } catch {
      await fd?.close().catch(() => undefined);
      this.discarded++;
      this.remove(e);
      return undefined;
    }
  }

  /** Put a body in the hot layer (after a verified read from disk). */
  makeHot(e: StoredEntry, body: Buffer): void {
    if (body.length > this.hotMaxObjectBytes || !this.#entries.has(e.id)) return;
    if (e.body === undefined) this.#hotBytes += body.length;
    e.body = body;
    this.#hot.delete(e.id);
    this.#hot.set(e.id, e);
    this.#trimHot();
  }

  /** Start writing a new variant; `null` when it is larger than the store could ever keep. */
  beginWrite(meta: Omit<StoredMeta, "bodyLength">, maxObjectBytes: number): EntryWriter | null {
    if (maxObjectBytes <= 0) return null;
    const id = entryId(meta.url, meta.varyValues);
    const tmp = join(this.dir, `${id}.${process.pid}.${++this.#tmpSeq}.tmp`);
    return new EntryWriter(tmp, meta, Math.min(maxObjectBytes, this.maxBytes), this.hotMaxObjectBytes, async (done) => {
      await rename(tmp, this.#path(id));
      const old = this.#entries.get(id);
      if (old !== undefined) this.#forget(old);
      const e: StoredEntry = {
        id,
        meta: done.meta,
        facts: entryFacts(done.meta, this.policy),
        headLength: done.headLength,
        fileSize: done.fileSize,
        body: undefined,
        verified: true,
      };
      this.#add(e);
      if (done.body !== undefined) this.makeHot(e, done.body);
      this.#evict();
      return e;
    });
  }

  /**
   * Replace an entry's meta (a 304 freshened it, RFC 9111 §4.3.4): in memory at once, on disk
   * by rewriting the file through a temporary file and a rename.
   */
  async updateMeta(e: StoredEntry, meta: StoredMeta): Promise<void> {
    e.meta = meta;
    e.facts = entryFacts(meta, this.policy);
    const body = e.body ?? (await this.#readWholeBody(e));
    if (body === undefined || !this.#entries.has(e.id)) return;
    const head = encodeHead(meta);
    const hash = createHash("sha256").update(head.subarray(12)).update(body).digest();
    const tmp = join(this.dir, `${e.id}.${process.pid}.${++this.#tmpSeq}.tmp`);
    const fh = await open(tmp, "w");
    try {
      await fh.writev([head, body, encodeFooter(body.length, hash)]);
    } finally {
      await fh.close();
    }
    if (!this.#entries.has(e.id)) {
      await unlink(tmp).catch(() => undefined);
      return;
    }
    await rename(tmp, this.#path(e.id));
    this.#diskBytes += expectedFileSize(head.length, body.length) - e.fileSize;
    e.headLength = head.length;
    e.fileSize = expectedFileSize(head.length, body.length);
    e.verified = true;
  }

  async #readWholeBody(e: StoredEntry): Promise<Buffer | undefined> {
    const b = await this.openBody(e);
    if (b === undefined) return undefined;
    try {
      const buf = Buffer.allocUnsafe(b.length);
      let off = 0;
      while (off < b.length) {
        const { bytesRead } = await b.fd.read(buf, off, b.length - off, b.start + off);
        if (bytesRead === 0) return undefined;
        off += bytesRead;
      }
      return buf;
    } finally {
      await b.fd.close();
    }
  }

  /** Remove one entry (memory and disk). */
  remove(e: StoredEntry): void {
    if (this.#entries.get(e.id) !== e) return;
    this.#forget(e);
    void unlink(this.#path(e.id)).catch(() => undefined);
  }

  /** Remove every variant of a URL (invalidation, RFC 9111 §4.4). Returns how many. */
  removeUrl(url: string): number {
    const vs = this.variants(url);
    for (const e of vs) this.remove(e);
    return vs.length;
  }

  #path(id: string): string {
    return join(this.dir, `${id}.wkc`);
  }

  #add(e: StoredEntry): void {
    this.#entries.set(e.id, e);
    this.#diskBytes += e.fileSize;
    let set = this.#byUrl.get(e.meta.url);
    if (set === undefined) this.#byUrl.set(e.meta.url, (set = new Set()));
    set.add(e.id);
  }

  #forget(e: StoredEntry): void {
    this.#entries.delete(e.id);
    this.#diskBytes -= e.fileSize;
    const set = this.#byUrl.get(e.meta.url);
    set?.delete(e.id);
    if (set?.size === 0) this.#byUrl.delete(e.meta.url);
    if (e.body !== undefined) {
      this.#hot.delete(e.id);
      this.#hotBytes -= e.body.length;
      e.body = undefined;
    }
  }

  #evict(): void {
    for (const e of this.#entries.values()) {
      if (this.#diskBytes <= this.maxBytes) break;
      this.remove(e);
    }
  }

  #trimHot(): void {
    for (const e of this.#hot.values()) {
      if (this.#hotBytes <= this.hotMaxBytes) break;
      this.#hot.delete(e.id);
      if (e.body !== undefined) this.#hotBytes -= e.body.length;
      e.body = undefined;
    }
  }

  /** Index the directory: drop temporary files left by a crash and files that are not whole. */
  async #scan(): Promise<void> {
    const found: Array<{ e: StoredEntry; mtime: number }> = [];
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      if (name.endsWith(".tmp")) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      if (!name.endsWith(".wkc")) continue;
      const e = await readEntryHead(path, name.slice(0, -4), this.policy).catch(() => undefined);
      if (e === undefined) {
        this.discarded++;
        await unlink(path).catch(() => undefined);
        continue;
      }
      found.push(e);
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const { e } of found) this.#add(e);
    this.#evict();
  }
}

/** Read and check a file's head and footer (size consistency); the hash is checked on first use. */
async function readEntryHead(path: string, id: string, policy: PolicyOptions): Promise<{ e: StoredEntry; mtime: number } | undefined> {
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
    const bodyLength = st.size - headLength - FOOTER_LENGTH;
    if (bodyLength < 0) return undefined;
    const footBuf = Buffer.alloc(FOOTER_LENGTH);
    await fd.read(footBuf, 0, FOOTER_LENGTH, st.size - FOOTER_LENGTH);
    const foot = decodeFooter(footBuf);
    if (!foot.ok || foot.value.bodyLength !== bodyLength) return undefined;
    const meta: StoredMeta = { ...head.value.meta, bodyLength };
    const e: StoredEntry = { id, meta, facts: entryFacts(meta, policy), headLength, fileSize: st.size, body: undefined, verified: false };
    return { e, mtime: st.mtimeMs };
  } finally {
    await fd.close();
  }
}

/** Hash meta JSON ‖ body and compare with the footer; throws on mismatch. */
async function verifyHash(fd: FileHandle, headLength: number, bodyLength: number): Promise<void> {
  const h = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = 12;
  const end = headLength + bodyLength;
  while (pos < end) {
    const { bytesRead } = await fd.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (bytesRead === 0) throw new Error("short read");
    h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  const foot = Buffer.alloc(FOOTER_LENGTH);
  await fd.read(foot, 0, FOOTER_LENGTH, end);
  const d = decodeFooter(foot);
  if (!d.ok || !d.value.sha256.equals(h.digest())) throw new Error("hash mismatch");
}

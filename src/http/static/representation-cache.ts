/**
 * Small files in memory for the request → response handler: each entry keeps a file's bytes,
 * the version they were read from (size, mtime, inode, device) and its compressed variants.
 *
 * Revalidation: the handler stats the path for every request anyway (to tell file from
 * directory and check containment; requests of one event-loop turn share that stat, see
 * FsRootResolver), and `peek()` / `lookup()` compare that stat with the entry's version, so
 * the check costs no extra syscall and by default a changed file is never served stale. Where that one async stat per request is too much, the handler's `revalidateMs`
 * (FsRootResolver) reuses a stat for that long, like nginx's open_file_cache_valid: a hot file
 * is then answered with no syscall, and a change shows within `revalidateMs`.
 *
 * Work is done once per version: concurrent misses for the same version share one read, and
 * concurrent requests for a coding share one in-flight compression (zlib's async API, off the
 * event loop). Files too large to keep (up to compressMaxFileSize) have only their compressed
 * variants kept, made the same way. Bounded by total bytes (files + variants) and by entries,
 * least recently used out first.
 */
import { promisify } from "node:util";
import { brotliCompress, gzip, constants as zc } from "node:zlib";
import type { Coding } from "./compress.js";
import { readWhole, type StaticFs } from "./static-fs.js";

/** Compress bytes with a coding (injectable, so tests can count the calls). */
export type Compressor = (coding: Coding, data: Uint8Array) => Promise<Uint8Array>;

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** The default compressor: gzip -9 and brotli quality 9 (affordable once per file version). */
export const zlibCompressor: Compressor = async (coding, data) =>
  coding === "gzip"
    ? gzipAsync(data, { level: 9 })
    : brotliAsync(data, { params: { [zc.BROTLI_PARAM_QUALITY]: 9, [zc.BROTLI_PARAM_SIZE_HINT]: data.length } });

/** The identity of one version of a file. */
export interface FileVersion {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly dev: number;
}

/** True when two stats describe the same version of a file. */
export function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.dev === b.dev;
}

/** One cached file version. */
export interface CachedFile {
  readonly path: string;
  readonly version: FileVersion;
  readonly bytes: Uint8Array;
}

interface Entry extends CachedFile {
  readonly kind: "file";
  /** The map key: the path. */
  readonly key: string;
  /** undefined once settled means "not worth it" (no smaller, or compression failed). */
  readonly variants: Map<Coding, Promise<Uint8Array | undefined>>;
  variantBytes: number;
  /** The descriptor the bytes were read from, kept open for sendfile(2) (larger files only). */
  open?: OpenFile;
}

/** A kept descriptor: closed once its entry is gone and no send still uses it. */
interface OpenFile {
  readonly fs: StaticFs;
  readonly fd: number;
  users: number;
  /** The entry was dropped: close when the last user is done. */
  orphaned: boolean;
}

/** A leased descriptor of a cached file; call `done` exactly once when no longer reading it. */
export interface FileLease {
  readonly fd: number;
  readonly done: () => void;
}

/** The compressed variant of a file too large to keep itself (only the variant is held). */
interface LargeVariant {
  readonly kind: "variant";
  /** path NUL coding */
  readonly key: string;
  readonly version: FileVersion;
  /** undefined once settled: send identity (no gain, changed while read, or too large to keep). */
  readonly data: Promise<Uint8Array | undefined>;
  size: number;
}

export interface RepresentationCacheOptions {
  /** Files up to this size are kept. @default 262144 */
  maxFileSize?: number;
  /** Total bytes of file contents and variants. @default 67108864 */
  maxBytes?: number;
  /**
   * Larger files (above maxFileSize) up to this size get their compressed variants made once
   * per version too: read whole once, compressed, and only the variant kept. Above it they are
   * sent as they are. @default 4194304
   */
  compressMaxFileSize?: number;
  /** Entries at most (a bound on bookkeeping, whatever their bytes). @default 10000 */
  maxEntries?: number;
  /** @default zlibCompressor */
  compress?: Compressor;
  /**
   * Cached files at least this large keep the descriptor they were read from, so the engine can
   * send them by sendfile(2) (no copy through JavaScript) and still has their bytes for TLS
   * and HTTP/2. @default 16384
   */
  keepOpenMinSize?: number;
  /** Descriptors kept open at most (the least recently used without a send in progress close first). @default 128 */
  maxOpenFiles?: number;
}

/**
 * LRU of small files and their compressed variants, validated against a fresh stat.
 *
 * @example
 * const f = await cache.lookup(fs, path, st);          // undefined: too large, serve from the fd
 * const gz = f && (await cache.variant(f, "gzip"));    // compressed once per version
 */
export class RepresentationCache {
  readonly maxFileSize: number;
  readonly maxBytes: number;
  readonly compressMaxFileSize: number;
  readonly maxEntries: number;
  readonly #compress: Compressor;
  readonly #entries = new Map<string, Entry | LargeVariant>();
  readonly #loading = new Map<string, Promise<Entry | undefined>>();
  readonly keepOpenMinSize: number;
  readonly maxOpenFiles: number;
  #bytes = 0;
  #compressions = 0;
  #openFiles = 0;

  constructor(options: RepresentationCacheOptions = {}) {
    this.maxFileSize = options.maxFileSize ?? 256 * 1024;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.compressMaxFileSize = options.compressMaxFileSize ?? 4 * 1024 * 1024;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.#compress = options.compress ?? zlibCompressor;
    this.keepOpenMinSize = options.keepOpenMinSize ?? 16 * 1024;
    this.maxOpenFiles = options.maxOpenFiles ?? 128;
  }

  /**
   * The open descriptor of `file`'s version, if the cache keeps one; it stays open until `done`.
   *
   * @example
   * const lease = cache.lease(file); // { fd, done } or undefined: send file.bytes instead
   */
  lease(file: CachedFile): FileLease | undefined {
    const e = file as Entry;
    const open = e.open;
    if (open === undefined || open.orphaned || this.#entries.get(e.key) !== e) return undefined;
    open.users++;
    let once = false;
    return {
      fd: open.fd,
      done: () => {
        if (once) return;
        once = true;
        open.users--;
        if (open.orphaned && open.users === 0) this.#closeOpen(open);
      },
    };
  }

  /** Descriptors kept open now (for tests and stats). */
  get openFiles(): number {
    return this.#openFiles;
  }

  #closeOpen(open: OpenFile): void {
    this.#openFiles--;
    void open.fs.close(open.fd).catch(() => undefined);
  }

  #release(e: Entry): void {
    const open = e.open;
    if (open === undefined || open.orphaned) return;
    open.orphaned = true;
    if (open.users === 0) this.#closeOpen(open);
  }

  /** Room for one more kept descriptor: close the least recently used idle one if at the limit. */
  #roomForOpen(): boolean {
    if (this.#openFiles < this.maxOpenFiles) return true;
    for (const e of this.#entries.values()) {
      if (e.kind === "file" && e.open !== undefined && !e.open.orphaned && e.open.users === 0) {
        this.#release(e);
        e.open = undefined;
        return true;
      }
    }
    return false;
  }

  /** True when a file of this size is served from memory. */
  fits(size: number): boolean {
    return size <= this.maxFileSize && size <= this.maxBytes;
  }

  /**
   * The file's bytes for the version `st` names (read now if not held). The entry's own
   * version comes from fstat of the descriptor read, so bytes and validators always agree,
   * even when the file changed between the caller's stat and the read. Undefined when the
   * file is too large (or became so) or cannot be read.
   */
  async lookup(fs: StaticFs, path: string, st: FileVersion): Promise<CachedFile | undefined> {
    if (!this.fits(st.size)) return undefined;
    const held = this.peek(path, st);
    if (held !== undefined) return held;
    const hit = this.#entries.get(path);
    if (hit !== undefined && hit.kind === "file") this.#drop(hit); // another version: never served
    const key = `${path}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    let loading = this.#loading.get(key);
    if (loading === undefined) {
      loading = this.#load(fs, path).finally(() => this.#loading.delete(key));
      this.#loading.set(key, loading);
    }
    return loading;
  }

  /**
   * The entry for exactly the version `st` names, if held, without waiting (the same check as
   * `lookup`, which reads the file when this is undefined).
   *
   * @example
   * const f = cache.peek(path, st) ?? (await cache.lookup(fs, path, st));
   */
  peek(path: string, st: FileVersion): CachedFile | undefined {
    const hit = this.#entries.get(path);
    if (hit === undefined || hit.kind !== "file" || !sameVersion(hit.version, st)) return undefined;
    // Refresh recency (Map iteration order is insertion order), unless it is already the newest.
    if (this.#newest !== hit) {
      this.#entries.delete(path);
      this.#entries.set(path, hit);
      this.#newest = hit;
    }
    return hit;
  }

  /** The entry last (re)inserted into #entries, so a hot file's hit costs no re-insertion. */
  #newest: Entry | LargeVariant | undefined;

  /** The entry's bytes in `coding`, compressed at most once per version; undefined = send identity. */
  variant(file: CachedFile, coding: Coding): Promise<Uint8Array | undefined> {
    const e = file as Entry;
    let v = e.variants.get(coding);
    if (v === undefined) {
      this.#compressions++;
      v = this.#compress(coding, e.bytes).then(
        (out) => {
          if (out.length >= e.bytes.length) return undefined; // no gain: identity is better
          if (this.#entries.get(e.key) === e) {
            e.variantBytes += out.length;
            this.#bytes += out.length;
            this.#evict();
          }
          return out;
        },
        () => undefined,
      );
      e.variants.set(coding, v);
    }
    return v;
  }

  /**
   * The `coding` variant of a file above maxFileSize (up to compressMaxFileSize) at version
   * `st`, made once per version and shared by concurrent requests; undefined = send identity.
   */
  largeVariant(fs: StaticFs, path: string, st: FileVersion, coding: Coding): Promise<Uint8Array | undefined> {
    if (st.size > this.compressMaxFileSize) return Promise.resolve(undefined);
    const key = `${path}\0${coding}`;
    const hit = this.#entries.get(key);
    if (hit !== undefined && hit.kind === "variant") {
      if (sameVersion(hit.version, st)) {
        this.#entries.delete(key);
        this.#entries.set(key, hit);
        this.#newest = hit;
        return hit.data;
      }
      this.#drop(hit);
    }
    this.#compressions++;
    const raw = this.#compressLarge(fs, path, st, coding);
    // What the entry keeps: never a variant it may not hold (the promise would keep it alive).
    const data = raw.then((out) => (out === "changed" || out === undefined || out.length > this.maxBytes ? undefined : out));
    const e: LargeVariant = { kind: "variant", key, version: pickVersion(st), data, size: 0 };
    this.#entries.set(key, e);
    this.#newest = e;
    this.#evict();
    void raw.then((out) => {
      if (this.#entries.get(key) !== e) return;
      // Changed while read (or gone): forget it, the next request's stat names the new version.
      if (out === "changed") return this.#drop(e);
      // No gain, or too large to keep: the entry stays as "identity", so it is not tried again.
      if (out === undefined || out.length > this.maxBytes) return;
      e.size = out.length;
      this.#bytes += out.length;
      this.#evict();
    });
    return data;
  }

  async #compressLarge(fs: StaticFs, path: string, st: FileVersion, coding: Coding): Promise<Uint8Array | "changed" | undefined> {
    let fd: number;
    try {
      fd = await fs.open(path);
    } catch {
      return "changed";
    }
    let bytes: Uint8Array;
    try {
      const now = await fs.fstat(fd);
      if (now.kind !== "file" || !sameVersion(now, st)) return "changed";
      bytes = await readWhole(fs, fd, st.size);
      if (bytes.length !== st.size) return "changed";
    } catch {
      return "changed";
    } finally {
      await fs.close(fd).catch(() => undefined);
    }
    try {
      const out = await this.#compress(coding, bytes);
      return out.length < bytes.length ? out : undefined;
    } catch {
      return undefined;
    }
  }

  /** Entries, bytes held, and compressions started since creation. */
  stats(): { entries: number; bytes: number; compressions: number } {
    return { entries: this.#entries.size, bytes: this.#bytes, compressions: this.#compressions };
  }

  /** Forget everything (kept descriptors close once no send uses them). */
  clear(): void {
    for (const e of this.#entries.values()) if (e.kind === "file") this.#release(e);
    this.#entries.clear();
    this.#newest = undefined;
    this.#bytes = 0;
  }

  async #load(fs: StaticFs, path: string): Promise<Entry | undefined> {
    let kept = false;
    let fd: number;
    try {
      fd = await fs.open(path);
    } catch {
      return undefined;
    }
    try {
      const version = await fs.fstat(fd);
      if (version.kind !== "file" || !this.fits(version.size)) return undefined;
      const bytes = await readWhole(fs, fd, version.size);
      if (bytes.length !== version.size) return undefined; // shrank while read: do not cache a torn copy
      const e: Entry = { kind: "file", key: path, path, version: pickVersion(version), bytes, variants: new Map(), variantBytes: 0 };
      const old = this.#entries.get(path);
      if (old !== undefined) this.#drop(old);
      if (bytes.length >= this.keepOpenMinSize && this.#roomForOpen()) {
        e.open = { fs, fd, users: 0, orphaned: false };
        this.#openFiles++;
        kept = true;
      }
      this.#entries.set(path, e);
      this.#newest = e;
      this.#bytes += bytes.length;
      this.#evict();
      return e;
    } catch {
      return undefined;
    } finally {
      if (!kept) await fs.close(fd).catch(() => undefined);
    }
  }

  #evict(): void {
    for (const e of this.#entries.values()) {
      if (this.#bytes <= this.maxBytes && this.#entries.size <= this.maxEntries) break;
      this.#drop(e);
    }
  }

  #drop(e: Entry | LargeVariant): void {
    if (this.#entries.get(e.key) !== e) return;
    this.#entries.delete(e.key);
    if (this.#newest === e) this.#newest = undefined;
    if (e.kind === "file") this.#release(e);
    this.#bytes -= e.kind === "file" ? e.bytes.length + e.variantBytes : e.size;
  }
}

function pickVersion(st: FileVersion): FileVersion {
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev };
}

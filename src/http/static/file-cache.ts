/**
 * Small hot files answered from memory. An entry is keyed by path (and coding) and carries
 * the file's identity at read time (inode, size, mtime, ctime); the handler stats the file on
 * every request and a mismatch drops the entry, so a changed file is never served stale.
 * Bounded by total bytes, least recently used first out.
 */
import type { Stats } from "node:fs";

interface Entry {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  data: Buffer;
}

/** LRU map of small file contents validated against `fs.Stats`. */
export class FileCache {
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  /**
   * @param maxBytes total bytes kept (default 64 MiB)
   */
  constructor(readonly maxBytes = 64 * 1024 * 1024) {}

  /**
   * The cached data for `key` if it was read from exactly this version of the file.
   *
   * @example
   * const buf = cache.get(path, statSync(path)) ?? cache.set(path, st, readFileSync(path));
   */
  get(key: string, st: Stats): Buffer | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (e.ino !== st.ino || e.size !== st.size || e.mtimeMs !== st.mtimeMs || e.ctimeMs !== st.ctimeMs) {
      this.#delete(key, e);
      return undefined;
    }
    // Refresh recency: Map iteration order is insertion order.
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e.data;
  }

  /** Remember `data` for `key` as read from the file described by `st`; returns `data`. */
  set(key: string, st: Stats, data: Buffer): Buffer {
    if (data.length > this.maxBytes) return data;
    const old = this.#entries.get(key);
    if (old !== undefined) this.#delete(key, old);
    this.#entries.set(key, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, data });
    this.#bytes += data.length;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#delete(k, e);
    }
    return data;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  #delete(key: string, e: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= e.data.length;
  }
}

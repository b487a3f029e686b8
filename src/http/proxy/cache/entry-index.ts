/**
 * The in-process index of a cache store's entries: by id in least-recently-used order (a Map
 * keeps insertion order, and a touch re-inserts), and by URL for its Vary variants. Shared by the
 * disk store and the memory store (which is also the Redis store's hot layer), and by surrogate
 * key (purge by tag looks the tag up, no scan). Pure bookkeeping: bytes, files and bodies stay
 * with the store.
 */
import { surrogateKeys, type StoredEntry } from "./store.js";

export class EntryIndex {
  readonly #entries = new Map<string, StoredEntry>();
  /** The entry last added or touched (the end of `#entries`), while it is held. */
  #newest: StoredEntry | undefined;
  /** A URL's variants: the one entry (most URLs have one), or several in the order they were added. */
  readonly #byUrl = new Map<string, StoredEntry | StoredEntry[]>();
  /** Surrogate key → ids; each entry's keys as they were when it was added, to undo exactly. */
  readonly #byTag = new Map<string, Set<string>>();
  readonly #tagsOf = new Map<string, readonly string[]>();

  get size(): number {
    return this.#entries.size;
  }

  /** The entry stored under `id`. */
  get(id: string): StoredEntry | undefined {
    return this.#entries.get(id);
  }

  /** True while `e` is the current entry for its id (not replaced, not removed). */
  holds(e: StoredEntry): boolean {
    return this.#entries.get(e.id) === e;
  }

  /** Entries, least recently used first. */
  values(): IterableIterator<StoredEntry> {
    return this.#entries.values();
  }

  /** Make `e` the entry for its id (the caller has forgotten an older one first). */
  add(e: StoredEntry): void {
    this.#entries.set(e.id, e);
    this.#newest = e;
    const url = e.meta.url;
    const known = this.#byUrl.get(url);
    if (known === undefined) this.#byUrl.set(url, e);
    else if (Array.isArray(known)) known.push(e);
    else this.#byUrl.set(url, [known, e]);
    const tags = surrogateKeys(e.meta.headers);
    if (tags.length === 0) return;
    this.#tagsOf.set(e.id, tags);
    for (const t of tags) {
      let ids = this.#byTag.get(t);
      if (ids === undefined) this.#byTag.set(t, (ids = new Set()));
      ids.add(e.id);
    }
  }

  delete(e: StoredEntry): void {
    if (this.#newest?.id === e.id) this.#newest = undefined;
    this.#entries.delete(e.id);
    const url = e.meta.url;
    const known = this.#byUrl.get(url);
    if (known !== undefined && !Array.isArray(known)) {
      if (known.id === e.id) this.#byUrl.delete(url);
    } else if (known !== undefined) {
      const i = known.findIndex((v) => v.id === e.id);
      if (i >= 0) known.splice(i, 1);
      if (known.length === 1) this.#byUrl.set(url, known[0] as StoredEntry);
      else if (known.length === 0) this.#byUrl.delete(url);
    }
    const tags = this.#tagsOf.get(e.id);
    if (tags === undefined) return;
    this.#tagsOf.delete(e.id);
    for (const t of tags) {
      const ids = this.#byTag.get(t);
      ids?.delete(e.id);
      if (ids?.size === 0) this.#byTag.delete(t);
    }
  }

  /**
   * Put `next` (a new entry for the same id: a 304 freshened it, a soft purge made it stale) in
   * the place of `old`, its URL and surrogate keys indexed anew; false when `old` is not current.
   */
  replace(old: StoredEntry, next: StoredEntry): boolean {
    if (!this.holds(old) || next.id !== old.id) return false;
    this.delete(old);
    this.add(next);
    return true;
  }

  /** Mark `e` as just used; false when it is not the current entry. */
  touch(e: StoredEntry): boolean {
    // The entry used last is used again (one popular URL): it is already at the end.
    if (this.#newest === e) return true;
    if (!this.holds(e)) return false;
    this.#entries.delete(e.id);
    this.#entries.set(e.id, e);
    this.#newest = e;
    return true;
  }

  /** The stored variants of a URL (any Vary secondary key). */
  variants(url: string): StoredEntry[] {
    const known = this.#byUrl.get(url);
    return known === undefined ? [] : Array.isArray(known) ? [...known] : [known];
  }

  /** The first variant of a URL satisfying `pred` (no array built: the hot path). */
  find(url: string, pred: (e: StoredEntry) => boolean): StoredEntry | undefined {
    const known = this.#byUrl.get(url);
    if (known === undefined) return undefined;
    if (!Array.isArray(known)) return pred(known) ? known : undefined;
    for (const e of known) if (pred(e)) return e;
    return undefined;
  }

  /** Entries carrying a surrogate key (purge by tag): looked up by key, never a scan of all entries. */
  withTag(tag: string): StoredEntry[] {
    const out: StoredEntry[] = [];
    for (const id of this.#byTag.get(tag) ?? []) {
      const e = this.#entries.get(id);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** How many surrogate keys are indexed (tests: a purged or replaced entry leaves none behind). */
  get tagCount(): number {
    return this.#byTag.size;
  }

  clear(): void {
    this.#newest = undefined;
    this.#entries.clear();
    this.#byUrl.clear();
    this.#byTag.clear();
    this.#tagsOf.clear();
  }
}

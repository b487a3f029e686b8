/**
 * What the proxy's handler, responder and purge need from a cache store, whatever keeps the
 * entries: the crash-safe disk store (store.ts), a bounded in-process LRU (memory-store.ts) or
 * Redis shared by several proxies (redis-store.ts). Lookups are synchronous on a local index;
 * a shared store brings a URL's entries into that index first with `sync()`. Also the pure
 * parser of `--store disk|memory|redis://...`.
 */
import type { EntryWriter } from "./entry-writer.js";
import type { PolicyOptions, StoredMeta } from "./policy.js";
import type { StoredEntry } from "./store.js";

/**
 * An entry's body read by ranges: `read(start, length)` yields the bytes of that range of the
 * body in pieces, each checked (the way its store checks bodies) before it is yielded; it
 * throws on a damaged body, and the caller discards the entry (`discardCorrupt`).
 */
export interface BodyRanges {
  read(start: number, length: number): AsyncIterable<Buffer>;
  /** Let go of the file (or nothing). */
  close(): Promise<void>;
}

/**
 * The ranges of a body held in memory (checked when it was stored or loaded).
 *
 * @example
 * for await (const piece of bufferRanges(body).read(10, 5)) out.push(piece);
 */
export function bufferRanges(body: Buffer): BodyRanges {
  return {
    async *read(start: number, length: number): AsyncGenerator<Buffer> {
      if (start < 0 || start + length > body.length) throw new Error("cache entry: range outside the body");
      if (length > 0) yield body.subarray(start, start + length);
    },
    close: () => Promise.resolve(),
  };
}

export interface EntryStore {
  /** Which kind of store this is (stats, the start-up line). */
  readonly kind: "disk" | "memory" | "redis";
  readonly policy: PolicyOptions;
  /** Bodies up to this size are kept in memory (and read whole before a response's head goes out). */
  readonly hotMaxObjectBytes: number;
  /** Entries in the (local) index and the bytes they hold. */
  readonly entries: number;
  readonly diskBytes: number;
  /** Entries found truncated, corrupt or garbage and thrown away. */
  readonly discarded: number;
  /** False while a shared store cannot be reached: the proxy then forwards without caching. */
  readonly available: boolean;
  /**
   * A shared store: bring what it holds for `url` into the local index. Resolves false when the
   * store cannot be reached. Absent for local stores (nothing to wait for).
   */
  sync?(url: string): Promise<boolean>;
  variants(url: string): StoredEntry[];
  find(url: string, pred: (e: StoredEntry) => boolean): StoredEntry | undefined;
  touch(e: StoredEntry): void;
  /**
   * The body of an entry not in memory, to send whole: the bytes (checked), or a file read by
   * checked pieces; undefined when it is gone or damaged (discarded).
   */
  openBody(e: StoredEntry): Promise<BodyRanges | Buffer | undefined>;
  /**
   * The body of an entry for reading by ranges, without reading (or holding) the rest of it:
   * undefined when it is gone or damaged so far as opening shows (discarded).
   */
  openRanges(e: StoredEntry): Promise<BodyRanges | undefined>;
  discardCorrupt(e: StoredEntry): void;
  makeHot(e: StoredEntry, body: Buffer): void;
  beginWrite(meta: Omit<StoredMeta, "bodyLength">, maxObjectBytes: number): EntryWriter | null;
  /**
   * A 304 freshened `e` (RFC 9111 §4.3.4): the entry with the new meta, which replaces `e` at
   * once; the store writes it in the background (`flush()` waits). Entries are never changed in
   * place: one held by a request keeps saying what it said.
   */
  updateMeta(e: StoredEntry, meta: StoredMeta): StoredEntry;
  remove(e: StoredEntry): void;
  removeUrl(url: string): number;
  withTag(tag: string): StoredEntry[];
  /** Soft purge: the entry, stale from now on, that replaces `e` (kept in memory only). */
  markStale(e: StoredEntry): StoredEntry;
  /** Wait for every write in progress (entries committed, heads rewritten, removals). */
  flush(): Promise<void>;
  /**
   * A shared store: remove what a URL and/or a tag names on every node (the shared copy, and
   * each node's local one by a published message); how many entries. Absent for local stores.
   */
  purgeShared?(url: string | undefined, tag: string | undefined): Promise<number>;
  /**
   * A shared store: take the short lock on fetching `url` (collapsing misses across nodes).
   * True when this node may fetch (it holds the lock, or the store cannot be asked), false when
   * another node is fetching it.
   */
  lock?(url: string): Promise<boolean>;
  /**
   * Does a node hold the lock on `url` now? False when the store cannot be asked. The gate
   * (gate.ts) polls it on the proxy's clock while another node fetches.
   */
  lockHeld?(url: string): Promise<boolean>;
  /** How long a lock lasts if its node never releases it, ms (the most a waiter polls). */
  readonly lockMs?: number;
  /** Release this node's lock on `url`, once what it fetched is written. */
  unlock?(url: string): void;
  /** A shared store: whether it answers and its mean command round trip (stats, metrics). */
  health?(): { state: "up" | "down"; latencyMs: number };
  /** Let go of connections (a shared store). */
  close?(): Promise<void>;
}

/** What `--store` names. */
export type StoreSpec =
  | { kind: "disk" }
  | { kind: "memory" }
  | { kind: "redis"; tls: boolean; host: string; port: number; db: number; username: string | undefined; password: string | undefined; /** The URL without credentials, for messages. */ display: string };

/**
 * Parse `--store`, pure: `disk`, `memory`, or `redis://[USER:PASSWORD@]HOST[:PORT][/DB]`
 * (`rediss://` for TLS). `envPassword` (WIREKIT_REDIS_PASSWORD) is used when the URL has none.
 * Errors never repeat the password.
 *
 * @example
 * parseStoreSpec("redis://:s3cret@127.0.0.1:6380/2") // { ok: true, value: { kind: "redis", port: 6380, db: 2, display: "redis://127.0.0.1:6380/2", ... } }
 */
export function parseStoreSpec(text: string, envPassword?: string): { ok: true; value: StoreSpec } | { ok: false; reason: string } {
  if (text === "disk" || text === "memory") return { ok: true, value: { kind: text } };
  const m = /^(rediss?):\/\/(?:([^@/]*)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:\/(\d{1,2})?)?$/.exec(text);
  if (m === null) {
    const shown = text.replace(/\/\/[^@/]*@/, "//***@").replace(/[^\x20-\x7e]/g, "?").slice(0, 120);
    return { ok: false, reason: `--store '${shown}': expected disk, memory or redis://[USER:PASSWORD@]HOST:PORT[/DB]` };
  }
  const [, scheme = "redis", userinfo, host = "", portText, dbText] = m;
  const port = portText === undefined ? 6379 : Number(portText);
  if (port < 1 || port > 65535) return { ok: false, reason: `--store: port ${port} is out of range (1-65535)` };
  const db = dbText === undefined ? 0 : Number(dbText);
  if (db > 15) return { ok: false, reason: `--store: database ${db} is out of range (0-15)` };
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined && userinfo !== "") {
    const colon = userinfo.indexOf(":");
    try {
      username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon)) || undefined;
      password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1)) || undefined;
    } catch {
      return { ok: false, reason: "--store: the user or password is not valid percent-encoding" };
    }
  }
  if (password === undefined && envPassword !== undefined && envPassword !== "") password = envPassword;
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  return { ok: true, value: { kind: "redis", tls: scheme === "rediss", host: bare, port, db, username, password, display: `${scheme}://${host}:${port}/${db}` } };
}

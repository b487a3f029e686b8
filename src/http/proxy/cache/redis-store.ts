/**
 * The shared cache store on Redis (or Valkey): several proxies behind one load balancer keep
 * one cache. Key layout (all under `wirekit:`):
 *
 *   wirekit:u:<sha1(url)>          SET of the URL's variant ids (Vary)
 *   wirekit:h:<id>                 the head: JSON {w:1, v, n, len, h, d, m}: version id, chunk
 *                                  count, body length, SHA-256 of the body, the SHA-256 of each
 *                                  chunk (hex, one after another; absent in heads written
 *                                  before ranges were read by chunk), the stored meta
 *   wirekit:b:<id>:<v>:<i>         body chunk i of version v (CHUNK bytes each, the last shorter)
 *   wirekit:t:<tag>                SET of the ids an origin tagged (Surrogate-Key, Cache-Tag)
 *   wirekit:l:<sha1(url)>          the short lock (SET NX PX) of the node fetching a miss
 *   wirekit:purge                  pub/sub channel: {"url": ...} or {"tag": ...} after a purge,
 *                                  so every node drops its local copies
 *
 * A write puts every chunk under a fresh version id first, then a Lua script switches the head
 * to it (and gives the old version's chunks a short grace TTL), so a reader never sees a head
 * whose body is not whole; a writer killed half-way leaves only chunks no head names, which
 * expire. Readers check the length and the hash; a range is read from the chunks it touches
 * alone, each checked against its own digest before any of its bytes are used. Every key's TTL is the entry's remaining
 * freshness plus its stale windows plus a margin. Anything under our keys that does not decode
 * (garbage, a wrong type) is deleted and counted in `discarded`, and the request refetches.
 *
 * Each node keeps a small local layer (a MemoryStore) in front: the heads it has seen and the
 * bodies of hot small entries. While Redis cannot be reached the store is `available: false`,
 * the layer is dropped (purges could be missed), one line says so, and ioredis reconnects with
 * backoff; when it is back, one line says that too.
 */
import { createHash, randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { WirekitError } from "../../../core/errors.js";
import { escapeText } from "../../../core/escape.js";
import { isStoredMeta } from "./entry-codec.js";
import { bufferRanges, type BodyRanges, type EntryStore, type StoreSpec } from "./entry-store.js";
import { EntryWriter } from "./entry-writer.js";
import { MemoryStore } from "./memory-store.js";
import { entryFacts, storedMeta, type EntryFacts, type PolicyOptions, type StoredMeta } from "./policy.js";
import { entryId, surrogateKeys, type StoredEntry } from "./store.js";

/** Body chunk size: no Redis value is bigger. */
export const CHUNK = 256 * 1024;
const PREFIX = "wirekit:";
/** How long the chunks of a replaced or removed version stay for readers still on them. */
const GRACE_MS = 30_000;

export interface RedisStoreOptions {
  spec: Extract<StoreSpec, { kind: "redis" }>;
  policy?: PolicyOptions;
  /** Bodies up to this size are kept in the local hot layer. @default 256 KiB */
  hotMaxObjectBytes?: number;
  /** Memory of the local hot layer. @default 64 MiB */
  hotMaxBytes?: number;
  /** Added to every key's TTL. @default 60 s */
  marginMs?: number;
  /** A command slower than this fails (the request goes on without the cache). @default 1000 ms */
  commandTimeoutMs?: number;
  /** Monotonic milliseconds, to time commands. @default performance.now */
  now?: () => number;
  /** One line when the store goes away or comes back. */
  onNotice?: (line: string) => void;
}

/** What a head says (besides the meta). */
interface Head {
  v: string;
  n: number;
  len: number;
  h: string;
  /** The chunks' SHA-256 digests, hex, concatenated (undefined in older heads). */
  d: string | undefined;
  m: Omit<StoredMeta, "bodyLength">;
}

const SWITCH_HEAD = `
local function expireChunks(text, prefix)
  local ok, h = pcall(cjson.decode, text)
  if ok and type(h) == 'table' and type(h.v) == 'string' and type(h.n) == 'number' and h.n <= 100000 then
    for i = 0, h.n - 1 do redis.call('PEXPIRE', prefix .. h.v .. ':' .. i, ${GRACE_MS}) end
  end
end
local ty = redis.call('TYPE', KEYS[1]).ok
if ty == 'string' then expireChunks(redis.call('GET', KEYS[1]), ARGV[4])
elseif ty ~= 'none' then redis.call('DEL', KEYS[1]) end
if redis.call('TYPE', KEYS[2]).ok ~= 'set' then redis.call('DEL', KEYS[2]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
for i = 5, #ARGV do
  local tk = '${PREFIX}t:' .. ARGV[i]
  if redis.call('TYPE', tk).ok ~= 'set' then redis.call('DEL', tk) end
  redis.call('SADD', tk, ARGV[3])
  if redis.call('PTTL', tk) < tonumber(ARGV[2]) then redis.call('PEXPIRE', tk, ARGV[2]) end
end
return 1`;

/** Delete a head (only if it still reads ARGV[1], unless that is empty) and unlist it. */
const DROP_HEAD = `
local ty = redis.call('TYPE', KEYS[1]).ok
if ty == 'string' then
  local cur = redis.call('GET', KEYS[1])
  if ARGV[1] ~= '' and cur ~= ARGV[1] then return 0 end
  local ok, h = pcall(cjson.decode, cur)
  if ok and type(h) == 'table' and type(h.v) == 'string' and type(h.n) == 'number' and h.n <= 100000 then
    for i = 0, h.n - 1 do redis.call('PEXPIRE', ARGV[3] .. h.v .. ':' .. i, ${GRACE_MS}) end
  end
  redis.call('DEL', KEYS[1])
elseif ty ~= 'none' then redis.call('DEL', KEYS[1]) end
if redis.call('TYPE', KEYS[2]).ok == 'set' then redis.call('SREM', KEYS[2], ARGV[2]) end
return 1`;

/** Replace a head's meta (a 304 freshened it) if it still reads ARGV[1]; the chunks get the new TTL. */
const FRESHEN_HEAD = `
if redis.call('TYPE', KEYS[1]).ok ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
local h = cjson.decode(ARGV[2])
for i = 0, h.n - 1 do redis.call('PEXPIRE', ARGV[4] .. h.v .. ':' .. i, tonumber(ARGV[3]) + 60000) end
if redis.call('TYPE', KEYS[2]).ok == 'set' and redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return 1`;

/**
 * Lua: delete the heads of `ids`, giving their chunks GRACE_MS for readers still on them; with
 * `unlink`, also take each id out of its URL's set. How many heads there were.
 */
const DROP_HEADS_FN = `
local function drop_heads(ids, unlink)
  local n = 0
  for _, id in ipairs(ids) do
    local hk = '${PREFIX}h:' .. id
    if redis.call('TYPE', hk).ok == 'string' then
      local ok, h = pcall(cjson.decode, redis.call('GET', hk))
      if ok and type(h) == 'table' and type(h.v) == 'string' and type(h.n) == 'number' and h.n <= 100000 then
        for i = 0, h.n - 1 do redis.call('PEXPIRE', '${PREFIX}b:' .. id .. ':' .. h.v .. ':' .. i, ${GRACE_MS}) end
        if unlink and type(h.m) == 'table' and type(h.m.url) == 'string' then redis.call('SREM', '${PREFIX}u:' .. redis.sha1hex(h.m.url), id) end
      end
      n = n + 1
    end
    redis.call('DEL', hk)
  end
  return n
end`;

/** Remove every variant of a URL (KEYS[1]: its set of ids); how many heads there were. */
const DROP_URL = `${DROP_HEADS_FN}
if redis.call('TYPE', KEYS[1]).ok ~= 'set' then redis.call('DEL', KEYS[1]) return 0 end
local n = drop_heads(redis.call('SMEMBERS', KEYS[1]), false)
redis.call('DEL', KEYS[1])
return n`;

/** Remove every entry a tag names (KEYS[1]: the tag's set), each out of its URL's set too; how many heads there were. */
const DROP_TAG = `${DROP_HEADS_FN}
if redis.call('TYPE', KEYS[1]).ok ~= 'set' then redis.call('DEL', KEYS[1]) return 0 end
local n = drop_heads(redis.call('SMEMBERS', KEYS[1]), true)
redis.call('DEL', KEYS[1])
return n`;

const PURGE_CHANNEL = `${PREFIX}purge`;
/** How long a fetch lock lasts if its node never releases it (killed, or a slow origin). */
const LOCK_MS = 5000;
/** Delete a key only if it still holds ARGV[1] (this node's lock). */
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

const urlKey = (url: string): string => `${PREFIX}u:${createHash("sha1").update(url).digest("hex")}`;
const lockKey = (url: string): string => `${PREFIX}l:${createHash("sha1").update(url).digest("hex")}`;
const headKey = (id: string): string => `${PREFIX}h:${id}`;
const chunkPrefix = (id: string): string => `${PREFIX}b:${id}:`;
const chunkKey = (id: string, v: string, i: number): string => `${chunkPrefix(id)}${v}:${i}`;

/**
 * Decode a head read from Redis, pure: undefined for anything that is not one of ours for this
 * id (garbage, another shape, a meta that belongs elsewhere).
 */
export function decodeRedisHead(text: string, id: string): Head | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.w !== 1 || typeof o.v !== "string" || !/^[0-9a-f]{16}$/.test(o.v)) return undefined;
  if (!Number.isSafeInteger(o.len) || (o.len as number) < 0 || o.n !== Math.ceil((o.len as number) / CHUNK)) return undefined;
  if (typeof o.h !== "string" || !/^[0-9a-f]{64}$/.test(o.h) || !isStoredMeta(o.m)) return undefined;
  if (o.d !== undefined && (typeof o.d !== "string" || o.d.length !== 64 * (o.n as number) || !/^[0-9a-f]*$/.test(o.d))) return undefined;
  const m = o.m;
  if (entryId(m.url, m.varyValues) !== id) return undefined;
  return { v: o.v, n: o.n as number, len: o.len as number, h: o.h, d: o.d, m };
}

/** The hex SHA-256 of each CHUNK of `body`, concatenated (a head's `d`). */
export function chunkDigests(body: Buffer): string {
  let d = "";
  for (let off = 0; off < body.length; off += CHUNK) d += createHash("sha256").update(body.subarray(off, off + CHUNK)).digest("hex");
  return d;
}

/** The TTL of an entry's keys: remaining freshness, plus the stale windows, plus a margin. */
export function redisTtlMs(facts: EntryFacts, marginMs: number): number {
  const fresh = Math.max(0, facts.lifetimeMs - facts.initialAgeMs);
  return Math.max(1000, Math.ceil(fresh + Math.max(facts.swrMs, facts.sieMs) + marginMs));
}

/**
 * The Redis store. Open with `RedisStore.open()`; an unreachable Redis is not an error (the
 * proxy starts without the cache and it comes when Redis does), a refused login is.
 *
 * @example
 * const store = await RedisStore.open({ spec, onNotice: (l) => console.error(l) });
 */
export class RedisStore implements EntryStore {
  readonly kind = "redis" as const;
  readonly policy: PolicyOptions;
  readonly hotMaxObjectBytes: number;
  readonly display: string;
  readonly #client: Redis;
  /** The connection subscribed to purge messages (a subscribed connection can do nothing else). */
  readonly #sub: Redis;
  readonly #hot: MemoryStore;
  readonly #heads = new WeakMap<StoredEntry, string>();
  /**
   * The bodies of entries this node stored whose chunks are still on their way to Redis: a
   * request in that window reads them here (a body over the hot-layer limit is not kept locally).
   */
  readonly #landing = new Map<StoredEntry, Buffer>();
  /** Ids with a write to Redis in flight: a sync does not drop their local entries. */
  readonly #writing = new Map<string, number>();
  /** Writes in flight by URL, and the locks this node holds (released when the writes are done). */
  readonly #writingUrls = new Map<string, number>();
  readonly #locks = new Map<string, { token: string; release: boolean }>();
  readonly #marginMs: number;
  readonly #notice: (line: string) => void;
  #healthy = true;
  #closed = false;
  readonly #now: () => number;
  /** Moving average of a sync's round trip, ms. */
  #latencyMs = 0;
  /** While opening: no notices yet (the outcome of the first connection is one line). */
  #opening = true;
  #lastError = "";
  discarded = 0;

  private constructor(options: RedisStoreOptions) {
    const s = options.spec;
    this.display = s.display;
    this.policy = options.policy ?? {};
    this.hotMaxObjectBytes = options.hotMaxObjectBytes ?? 256 * 1024;
    this.#hot = new MemoryStore({ maxBytes: options.hotMaxBytes ?? 64 * 1024 * 1024, hotMaxObjectBytes: this.hotMaxObjectBytes, policy: this.policy });
    this.#marginMs = options.marginMs ?? 60_000;
    this.#notice = options.onNotice ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now());
    this.#client = new Redis({
      host: s.host,
      port: s.port,
      db: s.db,
      ...(s.username === undefined ? {} : { username: s.username }),
      ...(s.password === undefined ? {} : { password: s.password }),
      ...(s.tls ? { tls: { servername: s.host } } : {}),
      lazyConnect: true,
      // Fail at once while disconnected: the request goes on without the cache.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    });
    this.#sub = this.#client.duplicate();
    this.#sub.on("error", () => undefined);
    this.#sub.on("ready", () => void this.#sub.subscribe(PURGE_CHANNEL).catch(() => undefined));
    this.#sub.on("message", (_channel: string, message: string) => this.#onPurge(message));
    this.#client.on("ready", () => this.#health(true));
    this.#client.on("error", (err: Error) => {
      this.#lastError = err.message;
      this.#health(false, err.message);
    });
    this.#client.on("close", () => this.#health(false, "connection closed"));
  }

  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(options);
    try {
      await store.#client.connect();
    } catch (err) {
      // ioredis rejects with "Connection is closed"; the reason came as an error event.
      const text = store.#lastError || (err instanceof Error ? err.message : String(err));
      if (/WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username/i.test(text)) {
        store.#closed = true;
        store.#client.disconnect();
        throw new WirekitError("ERR_AUTH", `--store ${store.display}: Redis refused the login (${oneLine(text)}); check the password (URL or WIREKIT_REDIS_PASSWORD)`);
      }
    }
    // Subscribed on every (re)connection; ioredis retries it with the same backoff.
    await store.#sub.connect().catch(() => undefined);
    store.#opening = false;
    // Unreachable at start: a warning, and no cache until it comes.
    if (!store.available) {
      store.#healthy = false;
      store.#notice(`store ${store.display} unavailable (${oneLine(store.#lastError || "not connected")}): answering without the cache, reconnecting`);
    }
    return store;
  }

  get available(): boolean {
    return !this.#closed && this.#client.status === "ready";
  }

  /** "up", or "down" while commands fail. */
  get state(): "up" | "down" {
    return this.available && this.#healthy ? "up" : "down";
  }

  health(): { state: "up" | "down"; latencyMs: number } {
    return { state: this.state, latencyMs: Math.round(this.#latencyMs * 1000) / 1000 };
  }

  get entries(): number {
    return this.#hot.entries;
  }

  get diskBytes(): number {
    return this.#hot.diskBytes;
  }

  #health(ok: boolean, reason?: string): void {
    if (this.#closed || this.#opening || ok === this.#healthy) return;
    this.#healthy = ok;
    if (ok) this.#notice(`store ${this.display} is back: caching again`);
    else {
      // Purges may be missed while away: the local layer goes with the connection.
      this.#hot.clear();
      this.#notice(`store ${this.display} unavailable (${oneLine(reason ?? "error")}): answering without the cache, reconnecting`);
    }
  }

  /** A command failed: a reply error means garbage or a script bug (the caller handles it), anything else the link. */
  #failed(err: unknown): void {
    if (err instanceof Error && err.name === "ReplyError") return;
    this.#health(false, err instanceof Error ? err.message : String(err));
  }

  async sync(url: string): Promise<boolean> {
    if (!this.available) return false;
    const uk = urlKey(url);
    try {
      let ids: string[];
      try {
        const t0 = this.#now();
        ids = await this.#client.smembers(uk);
        const ms = this.#now() - t0;
        this.#latencyMs = this.#latencyMs === 0 ? ms : this.#latencyMs * 0.9 + ms * 0.1;
      } catch (err) {
        if (!(err instanceof Error && /WRONGTYPE/.test(err.message))) throw err;
        this.discarded++;
        await this.#client.del(uk);
        ids = [];
      }
      const good = ids.filter((id) => /^[0-9a-f]{40}$/.test(id));
      if (good.length < ids.length) {
        this.discarded += ids.length - good.length;
        await this.#client.srem(uk, ...ids.filter((id) => !good.includes(id)));
      }
      const texts = good.length === 0 ? [] : await this.#client.mget(good.map(headKey));
      const seen = new Set<string>();
      for (let i = 0; i < good.length; i++) {
        const id = good[i] as string;
        const text = texts[i];
        if (text === null || text === undefined) {
          // Expired (or not a string): no longer listed.
          void this.#client.srem(uk, id).catch(() => undefined);
          continue;
        }
        const local = this.#hot.get(id);
        // Unchanged, or this node's own newer version still on its way to Redis: keep the local one.
        if (local !== undefined && (this.#heads.get(local) === text || this.#writing.has(id))) {
          seen.add(id);
          continue;
        }
        const head = decodeRedisHead(text, id);
        if (head === undefined || head.m.url !== url) {
          this.discarded++;
          await this.#client.eval(DROP_HEAD, 2, headKey(id), uk, text, id, chunkPrefix(id));
          continue;
        }
        const meta = storedMeta(head.m, head.len);
        const e: StoredEntry = { id, meta, facts: entryFacts(meta, this.policy), headLength: 0, fileSize: head.len, body: undefined, verified: true, version: head.v };
        this.#heads.set(e, text);
        this.#hot.put(e);
        seen.add(id);
      }
      for (const e of this.#hot.variants(url)) if (!seen.has(e.id) && !this.#writing.has(e.id)) this.#hot.remove(e);
      this.#health(true);
      return true;
    } catch (err) {
      this.#failed(err);
      return false;
    }
  }

  variants(url: string): StoredEntry[] {
    return this.#hot.variants(url);
  }

  find(url: string, pred: (e: StoredEntry) => boolean): StoredEntry | undefined {
    return this.#hot.find(url, pred);
  }

  touch(e: StoredEntry): void {
    this.#hot.touch(e);
  }

  /** The body from its chunks, length and hash checked; a bad one is dropped and undefined returned. */
  async openBody(e: StoredEntry): Promise<Buffer | undefined> {
    if (e.body !== undefined) return e.body;
    const landing = this.#landing.get(e);
    if (landing !== undefined) return landing;
    const text = this.#heads.get(e);
    const head = text === undefined ? undefined : decodeRedisHead(text, e.id);
    if (text === undefined || head === undefined || !this.available) return undefined;
    let parts: Array<Buffer | null>;
    try {
      const p = this.#client.pipeline();
      for (let i = 0; i < head.n; i++) p.getBuffer(chunkKey(e.id, head.v, i));
      const res = (await p.exec()) ?? [];
      parts = res.map(([err, v]) => (err === null && Buffer.isBuffer(v) ? v : null));
    } catch (err) {
      this.#failed(err);
      return undefined;
    }
    const whole = parts.every((b, i) => b !== null && b.length === (i < head.n - 1 ? CHUNK : head.len - CHUNK * (head.n - 1)));
    const body = whole ? Buffer.concat(parts as Buffer[], head.len) : undefined;
    if (body === undefined || createHash("sha256").update(body).digest("hex") !== head.h) {
      this.discarded++;
      this.#hot.remove(e);
      await this.#client.eval(DROP_HEAD, 2, headKey(e.id), urlKey(e.meta.url), text, e.id, chunkPrefix(e.id)).catch((err: unknown) => this.#failed(err));
      return undefined;
    }
    if (body.length <= this.hotMaxObjectBytes) this.#hot.makeHot(e, body);
    return body;
  }

  /**
   * The body by ranges: from the local layer, or from the chunks a range touches, each checked
   * against its digest in the head before it is used (a head without digests: the whole body,
   * checked as `openBody` does). A bad chunk throws and the caller discards the entry.
   */
  async openRanges(e: StoredEntry): Promise<BodyRanges | undefined> {
    const local = e.body ?? this.#landing.get(e);
    if (local !== undefined) return bufferRanges(local);
    const text = this.#heads.get(e);
    const head = text === undefined ? undefined : decodeRedisHead(text, e.id);
    if (head === undefined || !this.available) return undefined;
    const digests = head.d;
    if (digests === undefined) {
      const body = await this.openBody(e);
      return body === undefined ? undefined : bufferRanges(body);
    }
    const chunk = async (i: number): Promise<Buffer> => {
      let b: Buffer | null;
      try {
        b = await this.#client.getBuffer(chunkKey(e.id, head.v, i));
      } catch (err) {
        this.#failed(err);
        throw err;
      }
      const want = i < head.n - 1 ? CHUNK : head.len - CHUNK * (head.n - 1);
      if (b === null || b.length !== want || createHash("sha256").update(b).digest("hex") !== digests.slice(i * 64, i * 64 + 64)) throw new Error(`cache entry: chunk ${i} is missing or damaged`);
      return b;
    };
    return {
      async *read(start: number, length: number): AsyncGenerator<Buffer> {
        if (start < 0 || start + length > head.len) throw new Error("cache entry: range outside the body");
        const end = start + length;
        for (let i = Math.floor(start / CHUNK); i * CHUNK < end; i++) {
          const b = await chunk(i);
          yield b.subarray(Math.max(0, start - i * CHUNK), Math.min(b.length, end - i * CHUNK));
        }
      },
      close: () => Promise.resolve(),
    };
  }

  discardCorrupt(e: StoredEntry): void {
    this.discarded++;
    this.remove(e);
  }

  makeHot(e: StoredEntry, body: Buffer): void {
    if (body.length <= this.hotMaxObjectBytes) this.#hot.makeHot(e, body);
  }

  beginWrite(meta: Omit<StoredMeta, "bodyLength">, maxObjectBytes: number): EntryWriter | null {
    if (!this.available || maxObjectBytes <= 0) return null;
    return new EntryWriter("", meta, maxObjectBytes, maxObjectBytes, (p) => this.#hot.track(p), (done) => {
      const body = done.kind === "memory" ? done.body : Buffer.alloc(0);
      const id = entryId(meta.url, meta.varyValues);
      const v = randomBytes(8).toString("hex");
      const e: StoredEntry = { id, meta: done.meta, facts: entryFacts(done.meta, this.policy), headLength: 0, fileSize: body.length, body: undefined, verified: true, version: v };
      const { bodyLength: _len, ...m } = done.meta;
      const text = JSON.stringify({ w: 1, v, n: Math.ceil(body.length / CHUNK), len: body.length, h: createHash("sha256").update(body).digest("hex"), d: chunkDigests(body), m });
      this.#heads.set(e, text);
      this.#hot.put(e);
      this.makeHot(e, body);
      this.#writing.set(id, (this.#writing.get(id) ?? 0) + 1);
      this.#writingUrls.set(meta.url, (this.#writingUrls.get(meta.url) ?? 0) + 1);
      if (e.body === undefined) this.#landing.set(e, body);
      void this.#hot.track(this.#write(e, text, v, body))
        .catch((err: unknown) => {
          this.#hot.remove(e);
          this.#failed(err);
        })
        .finally(() => {
          this.#landing.delete(e);
          const n = (this.#writing.get(id) ?? 1) - 1;
          if (n === 0) this.#writing.delete(id);
          else this.#writing.set(id, n);
          const u = (this.#writingUrls.get(meta.url) ?? 1) - 1;
          if (u === 0) {
            this.#writingUrls.delete(meta.url);
            if (this.#locks.get(meta.url)?.release === true) this.#unlockNow(meta.url);
          } else this.#writingUrls.set(meta.url, u);
        });
      return Promise.resolve(e);
    });
  }

  /** The chunks under the new version, then the head switched to it in one script. */
  async #write(e: StoredEntry, text: string, v: string, body: Buffer): Promise<void> {
    const ttl = redisTtlMs(e.facts, this.#marginMs);
    const p = this.#client.pipeline();
    for (let i = 0, off = 0; off < body.length; i++, off += CHUNK) p.set(chunkKey(e.id, v, i), body.subarray(off, off + CHUNK), "PX", ttl + 60_000);
    if (body.length > 0) {
      const res = (await p.exec()) ?? [];
      const bad = res.find(([err]) => err !== null);
      if (bad !== undefined) throw bad[0];
    }
    const tags = [...new Set(surrogateKeys(e.meta.headers))];
    await this.#client.eval(SWITCH_HEAD, 2, headKey(e.id), urlKey(e.meta.url), text, String(ttl), e.id, chunkPrefix(e.id), ...tags);
  }

  updateMeta(e: StoredEntry, meta: StoredMeta): StoredEntry {
    // The local copy first (a new entry in its place), then the shared head, in the background.
    const next = this.#hot.updateMeta(e, meta);
    const old = this.#heads.get(e);
    const head = old === undefined ? undefined : decodeRedisHead(old, e.id);
    if (old === undefined || head === undefined) return next;
    const { bodyLength: _len, ...m } = meta;
    const text = JSON.stringify({ w: 1, v: head.v, n: head.n, len: head.len, h: head.h, ...(head.d === undefined ? {} : { d: head.d }), m });
    this.#heads.set(next, text);
    if (!this.available) return next;
    const ttl = redisTtlMs(next.facts, this.#marginMs);
    void this.#hot.track(this.#client.eval(FRESHEN_HEAD, 2, headKey(e.id), urlKey(e.meta.url), old, text, String(ttl), chunkPrefix(e.id))).catch((err: unknown) => this.#failed(err));
    return next;
  }

  remove(e: StoredEntry): void {
    this.#hot.remove(e);
    if (!this.available) return;
    void this.#hot.track(this.#client.eval(DROP_HEAD, 2, headKey(e.id), urlKey(e.meta.url), this.#heads.get(e) ?? "", e.id, chunkPrefix(e.id))).catch((err: unknown) => this.#failed(err));
  }

  removeUrl(url: string): number {
    const n = this.#hot.removeUrl(url);
    if (this.available) void this.#hot.track(this.removeUrlShared(url)).catch(() => undefined);
    return n;
  }

  /** Remove every variant of a URL from Redis and tell the other nodes; how many there were (0 when Redis cannot be reached). */
  removeUrlShared(url: string): Promise<number> {
    return this.purgeShared(url, undefined);
  }

  async purgeShared(url: string | undefined, tag: string | undefined): Promise<number> {
    const local = new Set([...(url === undefined ? [] : this.#hot.variants(url)), ...(tag === undefined ? [] : this.#hot.withTag(tag))]);
    for (const e of local) this.#hot.remove(e);
    if (!this.available) return local.size;
    try {
      let n = 0;
      if (url !== undefined) n += Number(await this.#client.eval(DROP_URL, 1, urlKey(url)));
      if (tag !== undefined) n += Number(await this.#client.eval(DROP_TAG, 1, `${PREFIX}t:${tag}`));
      await this.#client.publish(PURGE_CHANNEL, JSON.stringify({ ...(url === undefined ? {} : { url }), ...(tag === undefined ? {} : { tag }) }));
      return Math.max(n, local.size);
    } catch (err) {
      this.#failed(err);
      return local.size;
    }
  }

  async lock(url: string): Promise<boolean> {
    if (!this.available) return true;
    const token = randomBytes(8).toString("hex");
    try {
      const ok = await this.#client.set(lockKey(url), token, "PX", LOCK_MS, "NX");
      if (ok !== "OK") return false;
      this.#locks.set(url, { token, release: false });
      return true;
    } catch (err) {
      this.#failed(err);
      return true;
    }
  }

  /** How long a fetch lock lasts if its node never releases it. */
  readonly lockMs = LOCK_MS;

  async lockHeld(url: string): Promise<boolean> {
    if (!this.available) return false;
    try {
      return (await this.#client.exists(lockKey(url))) !== 0;
    } catch (err) {
      this.#failed(err);
      return false;
    }
  }

  unlock(url: string): void {
    const held = this.#locks.get(url);
    if (held === undefined) return;
    // What was fetched is still on its way to Redis: the lock goes when it has landed.
    if (this.#writingUrls.has(url)) held.release = true;
    else this.#unlockNow(url);
  }

  #unlockNow(url: string): void {
    const held = this.#locks.get(url);
    if (held === undefined) return;
    this.#locks.delete(url);
    if (this.available) void this.#client.eval(UNLOCK, 1, lockKey(url), held.token).catch((err: unknown) => this.#failed(err));
  }

  /** A purge published by a node (this one too): drop the local copies it names. */
  #onPurge(message: string): void {
    let m: unknown;
    try {
      m = JSON.parse(message);
    } catch {
      return;
    }
    if (typeof m !== "object" || m === null) return;
    const { url, tag } = m as { url?: unknown; tag?: unknown };
    if (typeof url === "string") this.#hot.removeUrl(url);
    if (typeof tag === "string") for (const e of this.#hot.withTag(tag)) this.#hot.remove(e);
  }

  withTag(tag: string): StoredEntry[] {
    return this.#hot.withTag(tag);
  }

  markStale(e: StoredEntry): StoredEntry {
    const next = this.#hot.markStale(e);
    const head = this.#heads.get(e);
    if (head !== undefined) this.#heads.set(next, head);
    return next;
  }

  flush(): Promise<void> {
    return this.#hot.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    if (this.#client.status === "ready") await this.#client.quit().catch(() => undefined);
    this.#client.disconnect();
    this.#sub.disconnect();
  }
}

/** A reason from Redis or the socket, for a one-line message (no control characters). */
function oneLine(text: string): string {
  return escapeText(text, 200);
}

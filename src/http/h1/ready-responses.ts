/**
 * Whole responses kept ready to write: the head and a small body already in one buffer, for a
 * handler that answers many requests with the same immutable bytes and the same frozen fields
 * (a cached file, a cache hit). Such a response costs one lookup and one write instead of a head
 * serialization, an allocation and a copy per request. The head depends on the request only
 * through what `ReadyKey` holds (HEAD answers have no body and are never kept), so a key that
 * matches means the bytes are exactly those `encodeHead` would make now. Pure: no sockets, no
 * clock (the Date value is part of the key).
 */
import type { HeaderList } from "../header-list.js";
import type { EncodedHead } from "./head.js";

/** Everything a head with given fields and body length depends on. */
export interface ReadyKey {
  readonly headers: HeaderList;
  readonly status: number;
  readonly reason: string | undefined;
  readonly version: "1.0" | "1.1";
  readonly keepAlive: boolean;
  /** The Date value the head would carry (it changes once a second). */
  readonly date: string;
}

/** A response ready to write. */
export interface ReadyResponse extends ReadyKey {
  readonly enc: EncodedHead;
  /** Head and body in one buffer. */
  readonly bytes: Buffer;
}

/**
 * At most `limit` ready responses, one per body, the least recently made dropped first. A body
 * is held only while it is here, so memory stays within `limit` times the largest body kept.
 *
 * @example
 * const ready = new ReadyResponses(512);
 * const r = ready.get(body, key) ?? ready.set(body, key, enc, Buffer.concat([Buffer.from(enc.head, "latin1"), body]));
 * socket.write(r.bytes);
 */
export class ReadyResponses {
  readonly #byBody = new Map<Uint8Array, ReadyResponse>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#byBody.size;
  }

  /** The ready response for `body` under `key`, or undefined when none was made for this key. */
  get(body: Uint8Array, key: ReadyKey): ReadyResponse | undefined {
    const r = this.#byBody.get(body);
    if (r === undefined) return undefined;
    const same = r.headers === key.headers && r.status === key.status && r.reason === key.reason && r.version === key.version && r.keepAlive === key.keepAlive && r.date === key.date;
    return same ? r : undefined;
  }

  /** Keep `bytes` (the head `enc` then `body`) for `body` under `key`, replacing what was kept for it. */
  set(body: Uint8Array, key: ReadyKey, enc: EncodedHead, bytes: Buffer): ReadyResponse {
    const r: ReadyResponse = { headers: key.headers, status: key.status, reason: key.reason, version: key.version, keepAlive: key.keepAlive, date: key.date, enc, bytes };
    this.#byBody.delete(body);
    this.#byBody.set(body, r);
    if (this.#byBody.size > this.#limit) {
      const oldest = this.#byBody.keys().next();
      if (oldest.done !== true) this.#byBody.delete(oldest.value);
    }
    return r;
  }
}

/**
 * Writing responses to clients: a stored response (from the hot layer or streamed from disk,
 * with a fresh Age, RFC 9111 §5.1, and Cache-Status, RFC 9211), a 304 for a client's own
 * conditional request (RFC 9110 §15.4.5), and the proxy's own error responses with a
 * Proxy-Status field (RFC 9209) saying what went wrong.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import type { HeaderList, HeaderMap } from "../header-list.js";
import { reasonPhrase } from "../h1/head.js";
import { checkFields, type CheckedFields, type ClientReply } from "./client-reply.js";
import type { StoredEntry } from "./cache/store.js";
import type { EntryStore } from "./cache/entry-store.js";
import { withheldFields, type PolicyOptions, type StoredMeta } from "./cache/policy.js";
import { ifRangeMatches, NOT_MODIFIED_FIELDS } from "./cache/validation.js";
// The byte-range rules are the static server's pure ones (RFC 9110 §14): one parser for both.
import { contentRange, multipartLength, multipartPartHead, multipartTail, parseRange, type ByteRange } from "../static/range.js";
import { offsetOf } from "./cache/partial.js";
import { getField, mapField } from "../header-list.js";
import { withVia } from "./hop-by-hop.js";
import { relayBody } from "./forward.js";
import { beginBodyCheck } from "./cache/entry-files.js";

/** A client's request as the proxy reads it (from the HTTP/1.1 engine's HttpRequest). */
export interface ProxyRequest {
  readonly method: string;
  /** The request-target exactly as sent. */
  readonly url: string;
  /** "1.0" or "1.1". */
  readonly httpVersion: string;
  /** Lower-cased map view of `fields`. */
  readonly headers: HeaderMap;
  /** Fields in order, names as received. */
  readonly fields: HeaderList;
  readonly body: Readable;
  readonly remoteAddress: string;
  readonly localAddress: string;
}

/** One request in flight through the proxy. */
export interface Exchange {
  req: ProxyRequest;
  res: ClientReply;
  client: string;
  /** Wall-clock ms at arrival. */
  at: number;
  /** Monotonic ms at arrival. */
  start: number;
  /** Absolute URL (for the log). */
  url: string;
  /** Cache label for the access log (HIT, MISS, ...). */
  label: string;
  /** Body bytes sent to the client. */
  bytes: number;
  /**
   * Whether a response meant for the cache was committed to it (false: the origin cut the body
   * short, it outgrew the limit, or the disk failed); undefined when nothing was to be stored.
   */
  stored?: boolean | undefined;
  /** The resolved origin address checked by the destination rule, to connect to (else by name). */
  destination?: string;
  /** A background revalidation (RFC 5861): no client reads the reply. */
  background?: boolean;
  /** Relay an interim (1xx) response to the client. */
  interim?: (status: number, headers: HeaderList) => void;
}

/** Flat header arrays for stored responses, built once per meta (per-hit work is two pushes). */
const flatCache = new WeakMap<StoredMeta, string[]>();

const DROP_ON_SERVE = new Set(["age", "content-length", "via"]);

/**
 * Stored fields ready for writeHead, with our Via and the Content-Length of the stored body,
 * without the fields a qualified no-cache or private withholds (RFC 9111 §5.2.2.4, §5.2.2.7).
 */
export function storedHeaders(meta: StoredMeta, via: string, policy: PolicyOptions = {}): string[] {
  let flat = flatCache.get(meta);
  if (flat !== undefined) return flat;
  const kept: Array<[string, string]> = [];
  const priorVia: Array<[string, string]> = [];
  const withheld = withheldFields(meta.headers, policy);
  for (const [k, v] of meta.headers) {
    const lower = k.toLowerCase();
    if (lower === "via") priorVia.push([k, v]);
    else if (!DROP_ON_SERVE.has(lower) && !withheld.has(lower)) kept.push([k, v]);
  }
  const list = withVia([...kept, ...priorVia], via);
  flat = [];
  for (const [k, v] of list) flat.push(k, v);
  if (meta.status !== 204 && meta.status !== 304) flat.push("Content-Length", String(meta.bodyLength));
  flatCache.set(meta, flat);
  return flat;
}

/**
 * The checked fields of a hit on `meta`: the stored fields, Age and Cache-Status. Both change at
 * most once a second, so the last answer per entry is kept and hits within that second reuse it
 * whole: no field is copied or validated again, and the engine reuses the head it serialized.
 */
const hitCache = new WeakMap<StoredMeta, { age: string; cacheStatus: string; fields: CheckedFields }>();

function hitFields(meta: StoredMeta, via: string, policy: PolicyOptions, age: string, cacheStatus: string): CheckedFields {
  const hit = hitCache.get(meta);
  if (hit !== undefined && hit.age === age && hit.cacheStatus === cacheStatus) return hit.fields;
  const flat = storedHeaders(meta, via, policy).slice();
  flat.push("Age", age, "Cache-Status", cacheStatus);
  const fields = checkFields(flat);
  hitCache.set(meta, { age, cacheStatus, fields });
  return fields;
}

/**
 * Answer from a stored entry. Resolves false when the entry's file turned out to be missing,
 * truncated or corrupt (it has been discarded; nothing was sent): the caller fetches instead.
 *
 * @example
 * if (!(await serveStored(ex, store, entry, ageMs, "wirekit; hit; ttl=60", via, false))) await refetch();
 */
export async function serveStored(ex: Exchange, store: EntryStore, e: StoredEntry, ageMs: number, cacheStatus: string, via: string, notModified: boolean): Promise<boolean> {
  if (serveFromMemory(ex, store, e, ageMs, cacheStatus, via, notModified)) return true;
  const age = String(Math.max(0, Math.floor(ageMs / 1000)));
  const disk = await store.openBody(e);
  if (disk === undefined) return false;
  // A store that hands over the bytes (memory, Redis) has checked them already.
  if (Buffer.isBuffer(disk)) return serveWith(ex, store, e, disk, ageMs, cacheStatus, via, false);
  let check: Awaited<ReturnType<typeof beginBodyCheck>>;
  try {
    check = await beginBodyCheck(disk.fd, disk.start, disk.length);
  } catch {
    await disk.fd.close().catch(() => undefined);
    store.discardCorrupt(e);
    return false;
  }
  store.touch(e);
  const flat = storedHeaders(e.meta, via, store.policy).slice();
  flat.push("Age", age, "Cache-Status", cacheStatus);
  ex.res.writeHead(e.meta.status, e.meta.statusMessage, flat);
  const stream = createReadStream("", { fd: disk.fd, start: disk.start, end: disk.start + disk.length - 1, highWaterMark: 256 * 1024 });
  const keep = disk.length <= store.hotMaxObjectBytes ? ([] as Buffer[]) : undefined;
  if (keep !== undefined) stream.on("data", (c: Buffer | string) => keep.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
  let sent = 0;
  // The file may have changed on disk since it was first verified: hash what goes out and hold
  // the last chunk back until the digest matches, so a corrupted body never arrives complete.
  const hasher = { write: (c: Buffer) => (check.hash.update(c), true), onDrain: (fn: () => void) => fn() };
  const hold = disk.length > 0 ? { length: disk.length, last: undefined as Buffer | undefined } : undefined;
  const ok = await relayBody(
    stream,
    ex.res,
    hasher,
    (n) => {
      sent += n;
      ex.bytes += n;
    },
    hold,
  );
  const intact = ok && sent === disk.length && check.hash.digest().equals(check.expected);
  if (intact) {
    ex.res.end(hold?.last);
    if (keep !== undefined) store.makeHot(e, Buffer.concat(keep, sent));
  } else {
    // The file ended (short, or failing its hash): it is damaged, so the next request refetches.
    if (ok) store.discardCorrupt(e);
    if (hold?.last !== undefined) ex.bytes -= hold.last.length;
    // A short read would be a broken body: cut the connection rather than end it cleanly.
    stream.destroy();
    ex.res.destroy();
  }
  return true;
}

/**
 * The synchronous part of `serveStored`: answer when no disk read is needed (a 304, a HEAD,
 * an empty body, or a body in the hot layer). False when the body must come from disk.
 *
 * @example
 * if (!serveFromMemory(ex, store, entry, ageMs, status, via, false)) await serveStored(...);
 */
export function serveFromMemory(ex: Exchange, store: EntryStore, e: StoredEntry, ageMs: number, cacheStatus: string, via: string, notModified: boolean): boolean {
  return serveWith(ex, store, e, e.body, ageMs, cacheStatus, via, notModified);
}

function serveWith(ex: Exchange, store: EntryStore, e: StoredEntry, body: Buffer | undefined, ageMs: number, cacheStatus: string, via: string, notModified: boolean): boolean {
  const age = String(Math.max(0, Math.floor(ageMs / 1000)));
  if (notModified) {
    const flat: string[] = [];
    for (const [k, v] of e.meta.headers) if (NOT_MODIFIED_FIELDS.has(k.toLowerCase())) flat.push(k, v);
    flat.push("Age", age, "Via", via, "Cache-Status", cacheStatus);
    ex.res.writeHead(304, flat);
    ex.res.end();
    return true;
  }
  const head = ex.req.method === "HEAD";
  if (body !== undefined && !head && e.meta.status === 200 && serveRange(ex, store, e, body, age, cacheStatus, via)) return true;
  if (body !== undefined || head || e.meta.bodyLength === 0) {
    ex.res.writeChecked(e.meta.status, e.meta.statusMessage, hitFields(e.meta, via, store.policy, age, cacheStatus));
    if (head || body === undefined) ex.res.end();
    else {
      ex.bytes += body.length;
      ex.res.end(body);
    }
    store.touch(e);
    return true;
  }
  return false;
}

/**
 * A Range request answered from a stored complete response (RFC 9111 §3.4, RFC 9110 §14): 206
 * with one range or multipart/byteranges, 416 when none is satisfiable. False when the Range
 * does not apply (absent, malformed, or If-Range does not match): the whole response goes out.
 */
function serveRange(ex: Exchange, store: EntryStore, e: StoredEntry, body: Buffer, age: string, cacheStatus: string, via: string): boolean {
  const range = mapField(ex.req.headers, "range");
  if (range === undefined || !ifRangeMatches(mapField(ex.req.headers, "if-range"), e.meta)) return false;
  const size = body.length;
  const d = parseRange(range, size);
  if (d.kind === "ignore") return false;
  const flat = withoutContentLength(storedHeaders(e.meta, via, store.policy));
  flat.push("Age", age, "Cache-Status", cacheStatus);
  store.touch(e);
  if (d.kind === "unsatisfiable") {
    flat.push("Content-Range", `bytes */${size}`, "Content-Length", "0");
    ex.res.writeHead(416, flat);
    ex.res.end();
    return true;
  }
  writeRanges(ex, e, flat, d.ranges, size, (r) => body.subarray(r.start, r.end + 1));
  return true;
}

/**
 * A Range request answered from a stored partial response (RFC 9111 §3.3): the plan checked
 * that the parts hold every byte of `ranges`. Resolves false when the body is gone or damaged
 * (discarded; nothing was sent): the caller fetches instead.
 *
 * @example
 * if (!(await servePart(ex, store, entry, ranges, ageMs, cacheStatus, via))) await refetch();
 */
export async function servePart(ex: Exchange, store: EntryStore, e: StoredEntry, ranges: readonly ByteRange[], ageMs: number, cacheStatus: string, via: string): Promise<boolean> {
  const parts = e.meta.parts;
  if (parts === undefined) return false;
  const body = e.body ?? (await loadBody(store, e));
  if (body === undefined) return false;
  const flat = withoutContentLength(storedHeaders(e.meta, via, store.policy));
  flat.push("Age", String(Math.max(0, Math.floor(ageMs / 1000))), "Cache-Status", cacheStatus);
  store.touch(e);
  writeRanges(ex, e, flat, ranges, parts.completeLength, (r) => {
    const at = offsetOf(parts, r) ?? 0;
    return body.subarray(at, at + r.end - r.start + 1);
  });
  return true;
}

/**
 * The whole body of a stored entry in memory (partial entries are small), checked against its
 * footer and put in the hot layer; undefined when it is gone or damaged (discarded).
 *
 * @example
 * const body = entry.body ?? (await loadBody(store, entry));
 */
export async function loadBody(store: EntryStore, e: StoredEntry): Promise<Buffer | undefined> {
  const got = await store.openBody(e);
  if (got === undefined || Buffer.isBuffer(got)) return got;
  try {
    const check = await beginBodyCheck(got.fd, got.start, got.length);
    const buf = Buffer.alloc(got.length);
    for (let done = 0; done < got.length; ) {
      const { bytesRead } = await got.fd.read(buf, done, got.length - done, got.start + done);
      if (bytesRead === 0) throw new Error("short read");
      done += bytesRead;
    }
    if (!check.hash.update(buf).digest().equals(check.expected)) throw new Error("hash mismatch");
    store.makeHot(e, buf);
    return buf;
  } catch {
    store.discardCorrupt(e);
    return undefined;
  } finally {
    await got.fd.close().catch(() => undefined);
  }
}

/** A 206 of `ranges` of a representation of `size` bytes: one Content-Range, or multipart/byteranges. */
function writeRanges(ex: Exchange, e: StoredEntry, flat: string[], ranges: readonly ByteRange[], size: number, bytesOf: (r: ByteRange) => Buffer): void {
  const [only] = ranges;
  let out: Buffer;
  if (ranges.length === 1 && only !== undefined) {
    out = bytesOf(only);
    flat.push("Content-Range", contentRange(only, size));
  } else {
    const type = getField(e.meta.headers, "content-type") ?? "application/octet-stream";
    // The boundary comes from the entry's id (a hash), so it does not depend on the request.
    const boundary = `wirekit-${e.id.slice(0, 24)}`;
    const parts: Buffer[] = [];
    ranges.forEach((r, i) => {
      parts.push(Buffer.from(multipartPartHead(boundary, type, r, size, i === 0)), bytesOf(r));
    });
    parts.push(Buffer.from(multipartTail(boundary)));
    out = Buffer.concat(parts, multipartLength(boundary, type, ranges, size));
    const typeAt = flat.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === "content-type");
    if (typeAt >= 0) flat.splice(typeAt, 2);
    flat.push("Content-Type", `multipart/byteranges; boundary=${boundary}`);
  }
  flat.push("Content-Length", String(out.length));
  ex.res.writeHead(206, flat);
  ex.bytes += out.length;
  ex.res.end(out);
}

function withoutContentLength(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i]?.toLowerCase() !== "content-length") out.push(flat[i] as string, flat[i + 1] as string);
  return out;
}

/** RFC 9209 error types for the proxy's own failures. */
export type ProxyErrorType =
  | "dns_error"
  | "connection_refused"
  | "connection_timeout"
  | "http_response_timeout"
  | "destination_ip_prohibited"
  | "http_request_error"
  | "http_response_incomplete"
  | "proxy_loop_detected"
  | "proxy_internal_error"
  | "destination_unavailable";

/** Guess the RFC 9209 error type of a 502/504 from our own reason text. */
export function errorTypeOf(status: number, reason: string): ProxyErrorType {
  if (status === 504) return "http_response_timeout";
  if (reason.startsWith("DNS")) return "dns_error";
  if (reason.startsWith("connection refused")) return "connection_refused";
  return "destination_unavailable";
}

/**
 * The proxy's own error response: `<status> <text>: <reason>` as text/plain, Proxy-Status and
 * (when given) Cache-Status. Does nothing if the head was already sent except cut the stream.
 *
 * @example
 * sendError(ex, 502, "connection refused by o.test:80", "connection_refused");
 */
export function sendError(ex: Exchange, status: number, reason: string, type: ProxyErrorType | undefined, cacheStatus?: string): void {
  const res = ex.res;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(`${status} ${reasonPhrase(status)}: ${reason}\n`, "utf8");
  const flat = ["Content-Type", "text/plain; charset=utf-8", "Content-Length", String(body.length), "Cache-Control", "no-store"];
  if (type !== undefined) flat.push("Proxy-Status", `wirekit; error=${type}; details="${reason.replace(/["\\\r\n]/g, "")}"`);
  if (cacheStatus !== undefined) flat.push("Cache-Status", cacheStatus);
  if (status === 400) flat.push("Connection", "close");
  res.writeHead(status, flat);
  if (ex.req.method === "HEAD") res.end();
  else {
    ex.bytes += body.length;
    res.end(body);
  }
}

/**
 * Writing responses to clients: a stored response (from the hot layer or streamed from disk,
 * with a fresh Age, RFC 9111 §5.1, and Cache-Status, RFC 9211), a 304 for a client's own
 * conditional request (RFC 9110 §15.4.5), and the proxy's own error responses with a
 * Proxy-Status field (RFC 9209) saying what went wrong.
 */
import type { Readable } from "node:stream";
import type { HeaderList, HeaderMap } from "../header-list.js";
import { reasonPhrase } from "../h1/head.js";
import { checkFields, type CheckedFields, type ClientReply } from "./client-reply.js";
import type { StoredEntry } from "./cache/store.js";
import type { BodyRanges, EntryStore } from "./cache/entry-store.js";
import { withheldFields, type PolicyOptions, type StoredMeta } from "./cache/policy.js";
import { ifRangeMatches, NOT_MODIFIED_FIELDS } from "./cache/validation.js";
// The byte-range rules are the static server's pure ones (RFC 9110 §14): one parser for both.
import { contentRange, multipartLength, multipartPartHead, multipartTail, parseRange, type ByteRange } from "../static/range.js";
import { offsetOf } from "./cache/partial.js";
import { getField, isFieldName, mapField } from "../header-list.js";
import { withVia } from "./hop-by-hop.js";

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
  // A Range of a body not in memory: only the bytes it asks for are read (and checked).
  const asked = ex.req.method === "GET" && e.meta.status === 200 ? rangeAsked(ex, e, e.meta.bodyLength) : undefined;
  if (asked !== undefined) {
    const flat = rangeFields(store, e, via, age, cacheStatus);
    if (asked.kind === "unsatisfiable") {
      store.touch(e);
      writeUnsatisfiable(ex, flat, e.meta.bodyLength);
      return true;
    }
    return streamRanges(ex, store, e, flat, asked.ranges, e.meta.bodyLength, (r) => r.start);
  }
  const got = await store.openBody(e);
  if (got === undefined) return false;
  // A store that hands over the bytes (memory, Redis) has checked them already.
  if (Buffer.isBuffer(got)) return serveWith(ex, store, e, got, ageMs, cacheStatus, via, false);
  const flat = storedHeaders(e.meta, via, store.policy).slice();
  flat.push("Age", age, "Cache-Status", cacheStatus);
  // A small body read from its file goes into the hot layer once it has all gone out.
  const keep = e.meta.bodyLength <= store.hotMaxObjectBytes ? ([] as Buffer[]) : undefined;
  return streamPieces(ex, store, e, got, [{ offset: 0, length: e.meta.bodyLength }], () => ex.res.writeHead(e.meta.status, e.meta.statusMessage, flat), keep);
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
      ex.res.end(body, body === e.body); // the hot copy: the engine may keep the whole answer
    }
    store.touch(e);
    return true;
  }
  return false;
}

/**
 * A Range request answered from a stored complete response held in memory (RFC 9111 §3.4,
 * RFC 9110 §14): 206 with one range or multipart/byteranges, 416 when none is satisfiable.
 * False when the Range does not apply (absent, malformed, or If-Range does not match): the
 * whole response goes out.
 */
function serveRange(ex: Exchange, store: EntryStore, e: StoredEntry, body: Buffer, age: string, cacheStatus: string, via: string): boolean {
  const asked = rangeAsked(ex, e, body.length);
  if (asked === undefined) return false;
  const flat = rangeFields(store, e, via, age, cacheStatus);
  store.touch(e);
  if (asked.kind === "unsatisfiable") writeUnsatisfiable(ex, flat, body.length);
  else writeRanges(ex, e, flat, asked.ranges, body.length, (r) => body.subarray(r.start, r.end + 1));
  return true;
}

/** The ranges a request asks of a stored complete response of `size` bytes; undefined when its Range does not apply. */
function rangeAsked(ex: Exchange, e: StoredEntry, size: number): { kind: "unsatisfiable" } | { kind: "ranges"; ranges: ByteRange[] } | undefined {
  const range = mapField(ex.req.headers, "range");
  if (range === undefined || !ifRangeMatches(mapField(ex.req.headers, "if-range"), e.meta)) return undefined;
  const d = parseRange(range, size);
  return d.kind === "ignore" ? undefined : d;
}

/** The fields of a 206 or 416 from a stored entry, before Content-Range and Content-Length. */
function rangeFields(store: EntryStore, e: StoredEntry, via: string, age: string, cacheStatus: string): string[] {
  const flat = withoutContentLength(storedHeaders(e.meta, via, store.policy));
  flat.push("Age", age, "Cache-Status", cacheStatus);
  return flat;
}

function writeUnsatisfiable(ex: Exchange, flat: string[], size: number): void {
  flat.push("Content-Range", `bytes */${size}`, "Content-Length", "0");
  ex.res.writeHead(416, flat);
  ex.res.end();
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
  const flat = rangeFields(store, e, via, String(Math.max(0, Math.floor(ageMs / 1000))), cacheStatus);
  const at = (r: ByteRange): number => offsetOf(parts, r) ?? 0;
  let body = e.body;
  if (body === undefined && e.meta.bodyLength <= store.hotMaxObjectBytes) {
    // Small parts on disk (after a restart) are read whole, checked, and kept in the hot layer.
    body = await readSmall(store, e);
    if (body === undefined) return false;
  }
  // Larger parts not in memory are read by the ranges asked, never whole.
  if (body === undefined) return streamRanges(ex, store, e, flat, ranges, parts.completeLength, at);
  const bytes = body;
  store.touch(e);
  writeRanges(ex, e, flat, ranges, parts.completeLength, (r) => bytes.subarray(at(r), at(r) + r.end - r.start + 1));
  return true;
}

/** A small stored body read whole through the store's checks and put in the hot layer; undefined when it is gone or damaged (discarded). */
async function readSmall(store: EntryStore, e: StoredEntry): Promise<Buffer | undefined> {
  const reader = await store.openRanges(e);
  if (reader === undefined) return undefined;
  try {
    const pieces: Buffer[] = [];
    for await (const piece of reader.read(0, e.meta.bodyLength)) pieces.push(piece);
    const body = Buffer.concat(pieces, e.meta.bodyLength);
    store.makeHot(e, body);
    return body;
  } catch {
    store.discardCorrupt(e);
    return undefined;
  } finally {
    await reader.close();
  }
}

/**
 * A 206 of `ranges` (of a representation of `size` bytes) streamed from a body not in memory,
 * one Content-Range or multipart/byteranges; `offset(r)` says where a range's bytes start in
 * the body. False when the body is gone or damaged before anything was sent (`streamPieces`).
 */
async function streamRanges(ex: Exchange, store: EntryStore, e: StoredEntry, flat: string[], ranges: readonly ByteRange[], size: number, offset: (r: ByteRange) => number): Promise<boolean> {
  const reader = await store.openRanges(e);
  if (reader === undefined) return false;
  const [only] = ranges;
  if (ranges.length === 1 && only !== undefined) {
    flat.push("Content-Range", contentRange(only, size), "Content-Length", String(only.end - only.start + 1));
    return streamPieces(ex, store, e, reader, [{ offset: offset(only), length: only.end - only.start + 1 }], () => ex.res.writeHead(206, flat));
  }
  const type = getField(e.meta.headers, "content-type") ?? "application/octet-stream";
  const boundary = `wirekit-${e.id.slice(0, 24)}`;
  const segments: Segment[] = [];
  ranges.forEach((r, i) => segments.push(Buffer.from(multipartPartHead(boundary, type, r, size, i === 0)), { offset: offset(r), length: r.end - r.start + 1 }));
  segments.push(Buffer.from(multipartTail(boundary)));
  const typeAt = flat.findIndex((v, i) => i % 2 === 0 && isFieldName(v, "content-type"));
  if (typeAt >= 0) flat.splice(typeAt, 2);
  flat.push("Content-Type", `multipart/byteranges; boundary=${boundary}`, "Content-Length", String(multipartLength(boundary, type, ranges, size)));
  return streamPieces(ex, store, e, reader, segments, () => ex.res.writeHead(206, flat));
}

/** What a streamed response body is made of: bytes of our own (multipart framing), or a span of the stored body. */
type Segment = Buffer | { offset: number; length: number };

/**
 * Stream a response body from a stored body not in memory. Every piece of the stored body is
 * checked by the store before it is sent, and the head (`writeHead`) goes out only with the
 * first checked piece: a damaged body found then is discarded and false returned (nothing
 * sent: the caller fetches instead); found later, it is discarded and the connection is cut
 * (never a wrong body under a right framing). Memory: one piece (at most 256 KiB) at a time,
 * with the client's backpressure; `keep` collects the pieces (a body for the hot layer).
 */
async function streamPieces(ex: Exchange, store: EntryStore, e: StoredEntry, reader: BodyRanges, segments: readonly Segment[], writeHead: () => void, keep?: Buffer[]): Promise<boolean> {
  async function* pieces(): AsyncGenerator<{ data: boolean; bytes: Buffer }> {
    for (const s of segments) {
      if (Buffer.isBuffer(s)) yield { data: false, bytes: s };
      else for await (const bytes of reader.read(s.offset, s.length)) yield { data: true, bytes };
    }
  }
  const it = pieces();
  const before: Buffer[] = [];
  let whole = false;
  try {
    try {
      // Up to the first checked piece of the stored body, before anything is sent.
      for (;;) {
        const n = await it.next();
        if (n.done === true) break;
        before.push(n.value.bytes);
        if (n.value.data) break;
      }
    } catch {
      store.discardCorrupt(e);
      return false;
    }
    store.touch(e);
    writeHead();
    try {
      for (const b of before) if (!(await send(ex, b, keep))) return true;
      for (;;) {
        const n = await it.next();
        if (n.done === true) break;
        if (!(await send(ex, n.value.bytes, n.value.data ? keep : undefined))) return true;
      }
      whole = true;
    } catch {
      // Damaged past the first piece: the client must not take what it got for the whole.
      store.discardCorrupt(e);
      ex.res.destroy();
      return true;
    }
    ex.res.end();
    if (keep !== undefined) store.makeHot(e, Buffer.concat(keep));
    return true;
  } finally {
    if (!whole) await it.return(undefined).catch(() => undefined);
    await reader.close();
  }
}

/** Write body bytes to the client (and to `keep`), waiting for 'drain' when asked; false when the client went away. */
function send(ex: Exchange, bytes: Buffer, keep: Buffer[] | undefined): Promise<boolean> {
  const res = ex.res;
  if (res.closed) return Promise.resolve(false);
  keep?.push(bytes);
  ex.bytes += bytes.length;
  if (res.write(bytes)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const drained = (): void => {
      res.off("close", closed);
      resolve(true);
    };
    const closed = (): void => {
      res.off("drain", drained);
      resolve(false);
    };
    res.once("drain", drained);
    res.once("close", closed);
  });
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
    const typeAt = flat.findIndex((v, i) => i % 2 === 0 && isFieldName(v, "content-type"));
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

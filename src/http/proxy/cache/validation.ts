/**
 * Validation and invalidation, pure: the conditional request a cache sends for a stale entry
 * (RFC 9111 §4.3.1), freshening stored headers from a 304 (§4.3.4, §3.2), answering a client's
 * own conditional request from a stored response (§4.3.2, RFC 9110 §13.1.1–§13.1.3), and the
 * URIs an unsafe request invalidates (§4.4).
 */
import { getField, mapField, type HeaderList, type HeaderMap } from "../../header-list.js";
import { parseHttpDate } from "./directives.js";
import type { StoredMeta } from "./policy.js";

/**
 * Validators for revalidating a stored response: If-None-Match from its ETag and
 * If-Modified-Since from its Last-Modified (§4.3.1).
 *
 * @example
 * conditionalHeaders(meta) // [["If-None-Match", "\"v1\""], ["If-Modified-Since", "..."]]
 */
export function conditionalHeaders(meta: StoredMeta): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const etag = getField(meta.headers, "etag");
  if (etag !== undefined) out.push(["If-None-Match", etag]);
  const lm = getField(meta.headers, "last-modified");
  if (lm !== undefined) out.push(["If-Modified-Since", lm]);
  return out;
}

/** Fields a 304 must not change in the stored response (§3.2: Content-Length; hop-by-hop never stored). */
const NOT_UPDATED = new Set(["content-length", "connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade", "trailer"]);

/**
 * §4.3.4: the stored response freshened by a 304: every field the 304 carries replaces the
 * stored field of the same name (except Content-Length); the exchange times move to the
 * validating request, so age and freshness are computed afresh.
 *
 * @example
 * freshenFrom304(meta, [["Cache-Control", "max-age=60"]], t0, t1).headers
 */
export function freshenFrom304(meta: StoredMeta, notModified: HeaderList, requestTime: number, responseTime: number): StoredMeta {
  const replaced = new Set<string>();
  for (const [k] of notModified) {
    const lower = k.toLowerCase();
    if (!NOT_UPDATED.has(lower)) replaced.add(lower);
  }
  const headers: Array<[string, string]> = meta.headers.filter(([k]) => !replaced.has(k.toLowerCase()));
  for (const [k, v] of notModified) if (replaced.has(k.toLowerCase())) headers.push([k, v]);
  // A 304 without Age means the origin's copy is new: the old Age no longer applies.
  const finalHeaders = notModified.some(([k]) => k.toLowerCase() === "age") ? headers : headers.filter(([k]) => k.toLowerCase() !== "age");
  return { ...meta, headers: finalHeaders, requestTime, responseTime };
}

/**
 * §4.3.4 selection: does a 304 apply to this stored response? When the 304 carries a strong
 * ETag it must match; otherwise a Last-Modified must match; with neither, it applies.
 */
export function notModifiedApplies(meta: StoredMeta, notModified: HeaderList): boolean {
  const etag = getField(notModified, "etag");
  if (etag !== undefined && !etag.startsWith("W/")) return getField(meta.headers, "etag") === etag;
  const lm = getField(notModified, "last-modified");
  if (lm !== undefined && etag === undefined) {
    const stored = getField(meta.headers, "last-modified");
    return stored === undefined || stored === lm;
  }
  return true;
}

/** Weak comparison of entity tags (RFC 9110 §8.8.3.2). */
function weakEqual(a: string, b: string): boolean {
  const strip = (s: string): string => (s.startsWith("W/") ? s.slice(2) : s);
  return strip(a.trim()) === strip(b.trim());
}

/**
 * Should a GET/HEAD carrying If-None-Match / If-Modified-Since be answered 304 from this
 * stored response (RFC 9110 §13.2.2: If-None-Match wins when both are present)?
 *
 * @example
 * clientNotModified({ "if-none-match": "\"v1\"" }, meta) // true when the stored ETag is "v1"
 */
export function clientNotModified(req: HeaderMap, meta: StoredMeta): boolean {
  const inm = mapField(req, "if-none-match");
  const etag = getField(meta.headers, "etag");
  if (inm !== undefined) {
    if (inm.trim() === "*") return true;
    if (etag === undefined) return false;
    return splitEtags(inm).some((t) => weakEqual(t, etag));
  }
  const ims = parseHttpDate(mapField(req, "if-modified-since"), meta.responseTime);
  if (ims === undefined) return false;
  const lm = parseHttpDate(getField(meta.headers, "last-modified"), meta.responseTime);
  return lm !== undefined && lm <= ims;
}

/** Entity-tags in an If-None-Match list (commas inside quotes are kept). */
function splitEtags(value: string): string[] {
  return value.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

/**
 * If-Range (RFC 9110 §13.1.5) against a stored response: the Range applies when an entity-tag
 * matches the stored ETag strongly, or a date equals the stored Last-Modified. Absent = applies.
 *
 * @example
 * ifRangeMatches('"v1"', meta) // true when the stored ETag is "v1" (not W/"v1")
 */
export function ifRangeMatches(value: string | undefined, meta: StoredMeta): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith("W/")) {
    const etag = getField(meta.headers, "etag")?.trim();
    return etag !== undefined && !v.startsWith("W/") && !etag.startsWith("W/") && v === etag;
  }
  const date = parseHttpDate(v, meta.responseTime);
  const lastModified = parseHttpDate(getField(meta.headers, "last-modified"), meta.responseTime);
  return date !== undefined && date === lastModified;
}

/** Fields RFC 9110 §15.4.5 lets a 304 carry, copied from the stored response. */
export const NOT_MODIFIED_FIELDS: ReadonlySet<string> = new Set(["cache-control", "content-location", "date", "etag", "expires", "vary", "last-modified"]);

/** Methods that never change state at the origin (RFC 9110 §9.2.1). */
export const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/**
 * §4.4: URIs whose stored responses an unsafe request invalidates once it succeeded (2xx/3xx):
 * the target URI and Location / Content-Location when they are on the same origin.
 *
 * @example
 * invalidatedUris("POST", 201, "http://h/a", [["Location", "/a/1"]]) // ["http://h/a", "http://h/a/1"]
 */
export function invalidatedUris(method: string, status: number, target: string, res: HeaderList): string[] {
  if (SAFE_METHODS.has(method) || status < 200 || status >= 400) return [];
  const out = [target];
  let origin: string;
  try {
    origin = new URL(target).origin;
  } catch {
    return out;
  }
  for (const name of ["location", "content-location"]) {
    const v = getField(res, name);
    if (v === undefined) continue;
    try {
      const u = new URL(v, target);
      u.hash = "";
      if (u.origin === origin && !out.includes(u.href)) out.push(u.href);
    } catch {
      // An unparsable Location invalidates nothing.
    }
  }
  return out;
}

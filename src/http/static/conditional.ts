/**
 * Conditional requests, RFC 9110 §13: validators (ETag, Last-Modified), the four
 * preconditions evaluated in the order of §13.2.2, and If-Range (§13.1.5). Pure: the caller
 * passes the request headers and the selected representation's validators.
 */
import { parseHttpDate } from "../http-date.js";

/** Validators of the selected representation. */
export interface Validators {
  /** Strong entity-tag including quotes, e.g. `"5f2a-1a3"`. */
  etag: string;
  /** Last modification, ms since the epoch (compared at one-second precision). */
  lastModified: number;
}

/** Request headers a precondition looks at (lower-case names, as node:http gives them). */
export interface ConditionalHeaders {
  "if-match"?: string;
  "if-none-match"?: string;
  "if-modified-since"?: string;
  "if-unmodified-since"?: string;
  "if-range"?: string;
}

/** Outcome: go on and serve, answer 304 Not Modified, or 412 Precondition Failed. */
export type Precondition = "proceed" | 304 | 412;

/**
 * A strong ETag from file metadata (size and mtime, as nginx does), so it changes whenever
 * the content may have changed. `suffix` distinguishes encoded variants (RFC 9110 §8.8.3.3).
 *
 * @example
 * makeEtag(1024, 1700000000000) // "\"18bcfe56800-400\""
 */
export function makeEtag(size: number, mtimeMs: number, suffix = ""): string {
  return `"${Math.floor(mtimeMs).toString(16)}-${size.toString(16)}${suffix}"`;
}

/** Split an If-Match / If-None-Match list into entity-tags (keeps `W/`). */
export function parseEtagList(value: string): string[] {
  const out: string[] = [];
  const re = /\s*(\*|(?:W\/)?"[^"]*")\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    if (m[1] !== undefined) out.push(m[1]);
    if (re.lastIndex >= value.length) break;
  }
  return out;
}

/** Strong comparison (§8.8.3.2): both strong and identical. */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith("W/") && !b.startsWith("W/") && a === b;
}

/** Weak comparison: opaque-tags equal, either may be weak. */
export function weakMatch(a: string, b: string): boolean {
  return a.replace(/^W\//, "") === b.replace(/^W\//, "");
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * Evaluate preconditions in the order of RFC 9110 §13.2.2 for a GET/HEAD (safe) request,
 * or any other method when `safe` is false.
 *
 * @example
 * evaluatePreconditions("GET", { "if-none-match": "\"a\"" }, { etag: "\"a\"", lastModified: 0 }) // 304
 */
export function evaluatePreconditions(method: string, h: ConditionalHeaders, v: Validators): Precondition {
  const safe = method === "GET" || method === "HEAD";
  // Step 1: If-Match (strong comparison).
  if (h["if-match"] !== undefined) {
    const tags = parseEtagList(h["if-match"]);
    if (!tags.some((t) => t === "*" || strongMatch(t, v.etag))) return 412;
  } else if (h["if-unmodified-since"] !== undefined) {
    // Step 2: If-Unmodified-Since, only without If-Match; an invalid date is ignored.
    const d = parseHttpDate(h["if-unmodified-since"]);
    if (d !== undefined && seconds(v.lastModified) > seconds(d)) return 412;
  }
  // Step 3: If-None-Match (weak comparison).
  if (h["if-none-match"] !== undefined) {
    const tags = parseEtagList(h["if-none-match"]);
    if (tags.some((t) => t === "*" || weakMatch(t, v.etag))) return safe ? 304 : 412;
  } else if (safe && h["if-modified-since"] !== undefined) {
    // Step 4: If-Modified-Since, only for GET/HEAD without If-None-Match.
    const d = parseHttpDate(h["if-modified-since"]);
    if (d !== undefined && seconds(v.lastModified) <= seconds(d)) return 304;
  }
  return "proceed";
}

/**
 * If-Range (§13.1.5): true when the Range header may be applied. An entity-tag must match
 * strongly; a date must equal Last-Modified exactly. Absent header = true.
 */
export function ifRangeAllows(value: string | undefined, v: Validators): boolean {
  if (value === undefined) return true;
  const t = value.trim();
  if (t.startsWith('"') || t.startsWith("W/")) return strongMatch(t, v.etag);
  const d = parseHttpDate(t);
  return d !== undefined && seconds(d) === seconds(v.lastModified);
}

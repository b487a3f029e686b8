/**
 * The Cache-Status response field (RFC 9211): what this cache did with the request, as a
 * structured-field list member `wirekit; hit; ttl=N` or `wirekit; fwd=uri-miss; fwd-status=200; stored`.
 * Pure.
 */

/** RFC 9211 §2.2 forward reasons. */
export type ForwardReason = "bypass" | "method" | "uri-miss" | "vary-miss" | "miss" | "request" | "stale" | "partial";

/** What the cache did, for the header, the access log and the statistics. */
export type CacheOutcome =
  | { kind: "hit"; ttlMs: number; collapsed?: boolean; detail?: string; /** Served stale while a background fetch revalidates (RFC 5861). */ fwd?: "stale" }
  | { kind: "forward"; fwd: ForwardReason; fwdStatus?: number; stored?: boolean; collapsed?: boolean; ttlMs?: number; detail?: string };

/** The cache's identifier in Cache-Status. */
export const CACHE_NAME = "wirekit";

/**
 * Serialize an outcome as a Cache-Status member.
 *
 * @example
 * formatCacheStatus({ kind: "forward", fwd: "stale", fwdStatus: 304 }) // "wirekit; fwd=stale; fwd-status=304"
 */
export function formatCacheStatus(o: CacheOutcome): string {
  let s = CACHE_NAME;
  if (o.kind === "hit") {
    s += "; hit";
    if (o.fwd !== undefined) s += `; fwd=${o.fwd}`;
    s += `; ttl=${Math.trunc(o.ttlMs / 1000)}`;
    if (o.collapsed) s += "; collapsed";
    if (o.detail !== undefined) s += `; detail=${detailValue(o.detail)}`;
    return s;
  }
  s += `; fwd=${o.fwd}`;
  if (o.fwdStatus !== undefined) s += `; fwd-status=${o.fwdStatus}`;
  if (o.stored) s += "; stored";
  if (o.collapsed) s += "; collapsed";
  if (o.ttlMs !== undefined) s += `; ttl=${Math.trunc(o.ttlMs / 1000)}`;
  if (o.detail !== undefined) s += `; detail=${detailValue(o.detail)}`;
  return s;
}

/** RFC 9211 §2.8: a detail is a token when it can be one (RFC 8941 §3.3.4), else a string. */
function detailValue(d: string): string {
  return /^[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*$/.test(d) ? d : `"${d.replace(/["\\]/g, "")}"`;
}

/**
 * A short word for the access log: HIT, MISS, REVALIDATED (a 304 refreshed the entry),
 * REFRESH (validation brought a new response), BYPASS (not cacheable / method). The server
 * adds STALE (served stale, origin unreachable), TUNNEL, LOCAL, DENIED and ERROR.
 */
export function cacheLabel(o: CacheOutcome): string {
  if (o.kind === "hit") return "HIT";
  switch (o.fwd) {
    case "stale":
    case "request":
      return o.fwdStatus === 304 ? "REVALIDATED" : "REFRESH";
    case "bypass":
    case "method":
      return "BYPASS";
    default:
      return "MISS";
  }
}

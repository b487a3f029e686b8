/**
 * The proxy's counters, pure: one record per request (client, method, URL, status, bytes,
 * time, cache status) and the totals served at `GET /_wirekit/stats`. The access-log line
 * for a record is render/proxy.ts's `formatAccessLine`.
 */

/** One finished request, as logged. */
export interface AccessRecord {
  /** Wall-clock ms when the request arrived. */
  at: number;
  client: string;
  method: string;
  url: string;
  status: number;
  /** Body bytes sent to the client. */
  bytes: number;
  /** Duration, ms. */
  ms: number;
  /** HIT, STALE, MISS, REVALIDATED, REFRESH, BYPASS, TUNNEL, LOCAL, DENIED, ERROR, ABORTED (client left first, status 499). */
  cacheStatus: string;
  /**
   * For a response meant for the cache: whether it was committed (false when the origin cut the
   * body short, it outgrew the limit or the disk failed). The Cache-Status a streamed response
   * was sent with cannot say this (its head left first), so the log and the dashboard do.
   */
  stored?: boolean;
}

/** Counters a proxy keeps. */
export interface ProxyCounters {
  requests: number;
  hits: number;
  misses: number;
  revalidations: number;
  bypasses: number;
  tunnels: number;
  errors: number;
  bytesFromCache: number;
  bytesFromOrigin: number;
}

/** What `/_wirekit/stats` returns. */
export interface ProxyStats extends ProxyCounters {
  /** hits ÷ (hits + misses + revalidations): how many cacheable lookups the cache answered alone. */
  hitRatio: number;
  entries: number;
  diskBytes: number;
  /** Files found truncated or corrupt and discarded since start. */
  discarded: number;
  /** A shared store (`--store redis://`): which, whether it answers, its mean command round trip. */
  store?: string;
  storeState?: "up" | "down";
  storeLatencyMs?: number;
}

/** Fresh counters. */
export function emptyCounters(): ProxyCounters {
  return { requests: 0, hits: 0, misses: 0, revalidations: 0, bypasses: 0, tunnels: 0, errors: 0, bytesFromCache: 0, bytesFromOrigin: 0 };
}

/** Counters plus the store's figures and the ratio. */
export function proxyStats(c: ProxyCounters, store: { entries: number; diskBytes: number; discarded: number; store?: string; storeState?: "up" | "down"; storeLatencyMs?: number }): ProxyStats {
  const lookups = c.hits + c.misses + c.revalidations;
  return { ...c, hitRatio: lookups === 0 ? 0 : Math.round((c.hits / lookups) * 10000) / 10000, ...store };
}

/** Count one finished request in the counters. */
export function countRecord(c: ProxyCounters, r: AccessRecord): void {
  c.requests++;
  switch (r.cacheStatus) {
    case "HIT":
    case "STALE":
      c.hits++;
      break;
    case "MISS":
      c.misses++;
      break;
    case "REVALIDATED":
    case "REFRESH":
      c.revalidations++;
      break;
    case "TUNNEL":
      c.tunnels++;
      break;
    case "ERROR":
      c.errors++;
      break;
    case "BYPASS":
      c.bypasses++;
      break;
    default:
      break;
  }
}


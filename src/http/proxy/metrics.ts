/**
 * `GET /_wirekit/metrics`: the proxy's figures in the Prometheus text exposition format
 * (version 0.0.4), pure: requests by cache status, hits, misses and revalidations, bytes from
 * the cache and from origins, entries and disk bytes, and a histogram of origin latency (time to
 * the response head). The counters come from stats.ts; this file only adds what they lack.
 */
import type { ProxyStats } from "./stats.js";

/** Origin latency bucket bounds, seconds (Prometheus' defaults, from 5 ms to 10 s). */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the metrics add to the statistics. */
export interface ProxyMetrics {
  /** Requests by access-log cache status (HIT, MISS, ...). */
  byStatus: Map<string, number>;
  /** Cumulative counts per bucket of LATENCY_BUCKETS, then +Inf. */
  latencyBuckets: number[];
  latencySum: number;
  latencyCount: number;
}

export function emptyMetrics(): ProxyMetrics {
  return { byStatus: new Map(), latencyBuckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), latencySum: 0, latencyCount: 0 };
}

/** Count one request by its cache status. */
export function countStatus(m: ProxyMetrics, cacheStatus: string): void {
  m.byStatus.set(cacheStatus, (m.byStatus.get(cacheStatus) ?? 0) + 1);
}

/** Observe one origin response head `ms` after its request was sent. */
export function observeOriginLatency(m: ProxyMetrics, ms: number): void {
  const s = Math.max(0, ms) / 1000;
  for (let i = 0; i < LATENCY_BUCKETS.length; i++) if (s <= (LATENCY_BUCKETS[i] as number)) m.latencyBuckets[i] = (m.latencyBuckets[i] ?? 0) + 1;
  m.latencyBuckets[LATENCY_BUCKETS.length] = (m.latencyBuckets[LATENCY_BUCKETS.length] ?? 0) + 1;
  m.latencySum += s;
  m.latencyCount++;
}

function family(out: string[], name: string, type: "counter" | "gauge" | "histogram", help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

/**
 * The exposition text.
 *
 * @example
 * formatMetrics(proxy.stats(), metrics) // "# HELP wirekit_proxy_requests_total ...\n..."
 */
export function formatMetrics(s: ProxyStats, m: ProxyMetrics): string {
  const out: string[] = [];
  family(out, "wirekit_proxy_requests_total", "counter", "Requests answered, by cache status.");
  for (const [status, n] of [...m.byStatus].sort(([a], [b]) => (a < b ? -1 : 1))) out.push(`wirekit_proxy_requests_total{cache_status="${status.replace(/["\\\n]/g, "")}"} ${n}`);
  const counters: Array<[string, string, number]> = [
    ["wirekit_proxy_hits_total", "Requests answered from the cache.", s.hits],
    ["wirekit_proxy_misses_total", "Cacheable requests fetched from the origin.", s.misses],
    ["wirekit_proxy_revalidations_total", "Stored responses validated with the origin.", s.revalidations],
    ["wirekit_proxy_cache_bytes_total", "Body bytes served from the cache.", s.bytesFromCache],
    ["wirekit_proxy_origin_bytes_total", "Body bytes received from origins.", s.bytesFromOrigin],
  ];
  for (const [name, help, v] of counters) {
    family(out, name, "counter", help);
    out.push(`${name} ${v}`);
  }
  family(out, "wirekit_proxy_cache_entries", "gauge", "Stored responses.");
  out.push(`wirekit_proxy_cache_entries ${s.entries}`);
  family(out, "wirekit_proxy_cache_disk_bytes", "gauge", "Bytes the stored responses take on disk.");
  out.push(`wirekit_proxy_cache_disk_bytes ${s.diskBytes}`);
  if (s.store !== undefined && s.storeState !== undefined) {
    family(out, "wirekit_proxy_store_up", "gauge", "Whether the shared cache store answers (1) or not (0).");
    out.push(`wirekit_proxy_store_up{store="${s.store}"} ${s.storeState === "up" ? 1 : 0}`);
    family(out, "wirekit_proxy_store_latency_seconds", "gauge", "Mean round trip of the shared store's commands (moving average).");
    out.push(`wirekit_proxy_store_latency_seconds{store="${s.store}"} ${Number(((s.storeLatencyMs ?? 0) / 1000).toFixed(6))}`);
  }
  family(out, "wirekit_proxy_origin_latency_seconds", "histogram", "Time from sending a request to an origin to its response head.");
  LATENCY_BUCKETS.forEach((le, i) => out.push(`wirekit_proxy_origin_latency_seconds_bucket{le="${le}"} ${m.latencyBuckets[i] ?? 0}`));
  out.push(`wirekit_proxy_origin_latency_seconds_bucket{le="+Inf"} ${m.latencyBuckets[LATENCY_BUCKETS.length] ?? 0}`);
  out.push(`wirekit_proxy_origin_latency_seconds_sum ${Number(m.latencySum.toFixed(6))}`);
  out.push(`wirekit_proxy_origin_latency_seconds_count ${m.latencyCount}`);
  return `${out.join("\n")}\n`;
}

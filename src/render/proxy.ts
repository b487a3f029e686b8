/**
 * The caching proxy's line per request (`wirekit proxy`, the lab's proxy), its cache and its
 * totals, and the lab demo's sentence. Pure.
 */
import type { AccessRecord, ProxyStats } from "../http/proxy/stats.js";
import { headerValue, type ResponseHead } from "../http/client/response.js";
import { escapeText } from "../core/escape.js";
import type { ProxyServer, ProxyServerEvent } from "../http/proxy/server.js";
import { formatSize } from "../core/size.js";
import { formatHostPort } from "../core/address.js";

/**
 * The access-log line, in the spirit of Squid's native log: time, duration, client, cache
 * status/HTTP status, bytes, method, URL.
 *
 * @example
 * formatAccessLine(r) // "2026-01-01T00:00:00.000Z 127.0.0.1 GET http://h/ 200 1024 1.2ms HIT"
 * // A response meant for the cache that could not be committed ends in " NOT-STORED".
 */
export function formatAccessLine(r: AccessRecord): string {
  const ms = r.ms < 10 ? r.ms.toFixed(1) : Math.round(r.ms).toString();
  return `${new Date(r.at).toISOString()} ${r.client} ${r.method} ${r.url} ${r.status} ${r.bytes} ${ms}ms ${r.cacheStatus}${r.stored === false ? " NOT-STORED" : ""}`;
}

/** The line for a proxy event (no newline): its access-log line. */
export function renderProxyServerEvent(e: ProxyServerEvent): string {
  return formatAccessLine(e.record);
}

/** The cache part of the listening line: where entries live, how many. */
export function renderProxyCache(store: ProxyServer["store"], s: ProxyStats): string {
  if (store === undefined) return "no cache";
  if (store.kind === "redis") return `shared cache ${store.name}`;
  if (store.kind === "memory") return "cache in memory";
  return `cache ${store.name}, ${s.entries} entries, ${formatSize(s.diskBytes)}`;
}

/** The totals line printed at exit and on SIGUSR1 / Ctrl-T. */
export function renderProxyTotals(t: ProxyStats): string {
  return (
    `${t.requests} requests, ${t.hits} hits, ${t.misses} misses, ${t.revalidations} revalidations, ` +
    `hit ratio ${(t.hitRatio * 100).toFixed(1)}%, ${formatSize(t.bytesFromCache)} from cache, ${formatSize(t.bytesFromOrigin)} from origins, ` +
    `${t.entries} entries (${formatSize(t.diskBytes)})`
  );
}

/** The line a started proxy prints: "listening on 127.0.0.1:8888 (cache /tmp/c, 0 entries, 0 B)". */
export function renderProxyListening(proxy: ProxyServer): string {
  const mode = proxy.gateway === undefined ? "" : `gateway to ${proxy.gateway}, `;
  return `listening on ${formatHostPort(proxy.address, proxy.port)} (${mode}${renderProxyCache(proxy.store, proxy.stats())})`;
}

/**
 * The same URL fetched through the proxy several times, in one line (the lab's --demo): each
 * response's status and Cache-Status ("-" without one).
 *
 * @example
 * renderProxyDemoLine(url, [miss, hit]) // "GET http://127.0.0.1:8080/index.html twice: 200 (wirekit; fwd=uri-miss; stored), then 200 (wirekit; hit; ttl=31)"
 */
export function renderProxyDemoLine(url: URL, heads: readonly ResponseHead[]): string {
  const times = heads.length === 1 ? "once" : heads.length === 2 ? "twice" : `${heads.length} times`;
  const statuses = heads.map((h) => `${h.status} (${escapeText(headerValue(h, "cache-status") ?? "-", 200)})`);
  return `GET ${url.href} ${times}: ${statuses.join(", then ")}`;
}

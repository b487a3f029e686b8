/**
 * The caching proxy's line per request (`wirekit proxy`, the lab's proxy). Pure.
 */
import type { AccessRecord } from "../http/proxy/stats.js";
import type { ProxyServerEvent } from "../http/proxy/server.js";

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

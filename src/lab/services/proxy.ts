/**
 * The caching proxy as a lab service: its cache in a temporary directory removed on close,
 * counters, the last 50 access records for the dashboard, and a "request" event per request.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatHostPort, isLoopback } from "../../core/address.js";
import { createProxyServer } from "../../http/proxy/server.js";
import type { AccessRecord } from "../../http/proxy/stats.js";
import { renderProxyDemoLine, renderProxyServerEvent } from "../../render/proxy.js";
import { httpGet } from "../../http/client/client.js";
import type { ResponseHead } from "../../http/client/response.js";
import { serviceFromServer, type LabService } from "../service.js";

/**
 * The caching proxy, its cache in a temporary directory removed on close.
 * snapshot(): { stats: { requests, hits, misses, revalidations, hitRatio, bytesFromCache,
 * bytesFromOrigin, entries, diskBytes }, recent: the last 50 access records
 * { at, client, method, url, status, cacheStatus, bytes, ms } }. Events: kind "request",
 * text = the access-log line.
 */
export const proxyService: LabService = {
  name: "proxy",
  description: "caching web proxy",
  defaultPort: 8888,
  async start({ host, port, peers }) {
    const cacheDir = mkdtempSync(join(tmpdir(), `wirekit-lab-cache-${process.pid}-`));
    // Beyond loopback the lab serves the local networks only: never an open proxy.
    const allow = isLoopback(host) ? [] : ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];
    const server = await createProxyServer({ host, port, cacheDir, allow }).catch((err: unknown) => {
      rmSync(cacheDir, { recursive: true, force: true });
      throw err;
    });
    return serviceFromServer({
      name: "proxy",
      server,
      transport: "tcp",
      clientCommand: `curl -x http://${formatHostPort(server.address, server.port)} http://${peers?.http ? formatHostPort(peers.http.address, peers.http.port) : "127.0.0.1:8080"}/`,
      totals: () => {
        const s = server.stats();
        return { requests: s.requests, hits: s.hits, misses: s.misses, revalidations: s.revalidations, bytesFromCache: s.bytesFromCache, bytesFromOrigin: s.bytesFromOrigin };
      },
      recent: { size: 50, item: (e): AccessRecord => e.record },
      snapshot: (recent) => {
        const s = server.stats();
        return {
          stats: {
            requests: s.requests,
            hits: s.hits,
            misses: s.misses,
            revalidations: s.revalidations,
            hitRatio: s.hitRatio,
            bytesFromCache: s.bytesFromCache,
            bytesFromOrigin: s.bytesFromOrigin,
            entries: s.entries,
            diskBytes: s.diskBytes,
          },
          recent: recent.oldestFirst(),
        };
      },
      feed: { render: renderProxyServerEvent, at: (e) => e.record.at, data: (e) => ({ ...e.record }) },
      close: async () => {
        await server.close();
        rmSync(cacheDir, { recursive: true, force: true });
      },
    });
  },
  async demo({ address, port, peers }) {
    const origin = peers?.http;
    if (origin === undefined) throw new Error("needs the lab's web server as an origin (it is not running)");
    const url = new URL(`http://${formatHostPort(origin.address, origin.port)}/index.html`);
    const proxyUrl = new URL(`http://${formatHostPort(address, port)}`);
    const heads: ResponseHead[] = [];
    // Twice: the first is fetched from the origin and stored, the second comes from the cache.
    for (let i = 0; i < 2; i++) heads.push((await httpGet({ url, proxy: proxyUrl, timeoutMs: 10_000 })).head);
    return renderProxyDemoLine(url, heads);
  },
};

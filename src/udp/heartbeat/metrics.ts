/**
 * The heartbeat monitor's Prometheus endpoint (`heartbeat serve --metrics HOST:PORT`): per client
 * its status, phi, seconds since its last heartbeat, counters and delay; and the monitor's
 * totals. Values are read from the monitor at scrape time (text format 0.0.4, via prom-client,
 * as the lab's /metrics). The client label's cardinality is bounded by the monitor's
 * `maxClients`, since only tracked clients are exported.
 */
import { createServer, type Server } from "node:http";
import { Gauge, Registry } from "prom-client";
import { fromSystemError } from "../../core/errors.js";
import { shownStatus, type ClientSnapshot } from "./events.js";
import type { HeartbeatMonitorTotals } from "./monitor-options.js";

/** What the metrics read of a monitor. */
export interface MetricsSource {
  clients(): ClientSnapshot[];
  totals(): HeartbeatMonitorTotals;
  /** Wall-clock ms now (the monitor's clock). */
  wallNow(): number;
  /** Expected clients not heard yet (exported with status never-seen once past their deadline). */
  expected?(): Array<{ id: string; neverSeen: boolean }>;
}

type Reader = (c: ClientSnapshot, now: number) => number;

const PER_CLIENT: ReadonlyArray<[name: string, help: string, read: Reader]> = [
  ["phi", "phi-accrual suspicion of the client (higher: more likely stopped)", (c) => (Number.isFinite(c.phi) ? c.phi : 1e9)],
  ["seconds_since_last_heartbeat", "seconds since the client's last heartbeat", (c, now) => Math.max(0, now - c.lastSeen) / 1000],
  ["received_total", "heartbeats received from the client", (c) => c.received],
  ["lost_total", "heartbeats of the client never received (gaps in its sequence)", (c) => c.lost],
  ["reordered_total", "heartbeats of the client that arrived out of order", (c) => c.reordered],
  ["duplicates_total", "duplicate heartbeats of the client", (c) => c.duplicates],
  ["restarts_total", "restarts of the client (a new run id or sequence reset)", (c) => c.restarts],
  ["failed", "1 while the client reports a failure (status=fail or a nonzero exit code, until its next ok)", (c) => (c.failed ? 1 : 0)],
  ["deadline_seconds", "silence after which the client is declared stopped (its int= x --dead-after-beats, or --dead-after)", (c) => c.deadAfterMs / 1000],
  ["job_duration_seconds", "run time the client last reported (dur=)", (c) => (c.jobMs === null ? Number.NaN : c.jobMs / 1000)],
  ["delay_seconds_avg", "mean one-way delay of the client's heartbeats (includes the clock offset)", (c) => (c.delayMs === null ? Number.NaN : c.delayMs.avg / 1000)],
];

/**
 * A registry whose metrics read `source` at each scrape.
 *
 * @example
 * const text = await createHeartbeatMetrics(monitor).metrics();
 */
export function createHeartbeatMetrics(source: MetricsSource): Registry {
  const registry = new Registry();
  // Registered first, so its collect (one snapshot of the monitor per scrape, not one per metric)
  // refreshes every metric before any is written out.
  const status: Gauge<"client" | "status"> = new Gauge({
    name: "wirekit_heartbeat_client_status",
    help: "1 for the client's current status (alive, suspect, stopped, failed, never-seen)",
    labelNames: ["client", "status"],
    registers: [registry],
    collect: () => refresh(),
  });
  const gauges = PER_CLIENT.map(([name, help, read]) => ({ read, gauge: new Gauge({ name: `wirekit_heartbeat_client_${name}`, help, labelNames: ["client"], registers: [registry] }) }));
  const last: Gauge<"client" | "status"> = new Gauge({
    name: "wirekit_heartbeat_client_last_status",
    help: "1 for the last status= the client sent (ok, fail, or an exit code)",
    labelNames: ["client", "status"],
    registers: [registry],
  });
  const totals = new Gauge({ name: "wirekit_heartbeat_monitor", help: "the monitor's totals (heartbeats, clients, lost, malformed, ...)", labelNames: ["total"], registers: [registry] });
  const refresh = (): void => {
    const now = source.wallNow();
    status.reset();
    last.reset();
    for (const g of gauges) g.gauge.reset();
    for (const e of source.expected?.() ?? []) if (e.neverSeen) status.set({ client: e.id, status: "never-seen" }, 1);
    for (const c of source.clients()) {
      status.set({ client: c.id, status: shownStatus(c) }, 1);
      if (c.reportedStatus !== null) last.set({ client: c.id, status: c.reportedStatus }, 1);
      for (const g of gauges) {
        const v = g.read(c, now);
        if (!Number.isNaN(v)) g.gauge.set({ client: c.id }, v);
      }
    }
    totals.reset();
    for (const [k, v] of Object.entries(source.totals())) totals.set({ total: k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase() }, v);
  };
  return registry;
}

export interface MetricsEndpoint {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serve `GET /metrics` on HOST:PORT (127.0.0.1 unless told otherwise); anything else is 404.
 *
 * @example
 * const ep = await startHeartbeatMetrics(monitor, { host: "127.0.0.1", port: 9101 });
 */
export async function startHeartbeatMetrics(source: MetricsSource, options: { host?: string; port: number }): Promise<MetricsEndpoint> {
  const registry = createHeartbeatMetrics(source);
  const host = options.host ?? "127.0.0.1";
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: the metrics are at /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "Content-Type": registry.contentType });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      () => res.writeHead(500, { "Content-Type": "text/plain" }).end("metrics failed\n"),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(fromSystemError(err, `metrics: bind ${host}:${options.port}`)));
    server.listen(options.port, host, () => resolve());
  });
  const a = server.address();
  const port = a !== null && typeof a === "object" ? a.port : options.port;
  return {
    address: host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

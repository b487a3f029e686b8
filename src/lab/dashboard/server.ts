/**
 * The lab dashboard: one HTTP server (node:http) with the page, its assets (uPlot is served
 * from node_modules: nothing is fetched from the network at run time), a Server-Sent Events
 * stream, `/metrics` for Prometheus, `/api/state` (the same state as JSON), and each
 * service's own routes under `/service/<name>/`.
 *
 * Live updates are paced: events are flushed every `flushMs` as one message, and the
 * services' state (totals + snapshot) is sent at most once per `stateMs` and only when it
 * changed, so a page costs the lab the same whether one datagram or a million arrive.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatHostPort } from "../../core/address.js";
import { systemClock, type Clock } from "../../core/clock.js";
import { fromSystemError, WirekitError } from "../../core/errors.js";
import type { Lab } from "../lab.js";
import { DashboardHistory } from "./history.js";
import { labLadder } from "../../render/lab-ladder.js";
import { renderLadderSvg } from "../../render/ladder.js";
import { createLabMetrics } from "./metrics.js";
import { isAllowedHost, MISDIRECTED_BODY, type HostPolicy } from "./host-check.js";
import { SseHub } from "./sse.js";
import { trimSnapshot } from "./trim.js";

export interface DashboardOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks one. @default 7070 */
  port?: number;
  /** Event flush period in ms. @default 250 */
  flushMs?: number;
  /** State (totals + snapshots) period in ms; also the totals history step. @default 1000 */
  stateMs?: number;
  /** @default systemClock */
  clock?: Clock;
  /**
   * Host header names accepted besides the bound address (and `localhost` on loopback);
   * every other Host gets 421, which is what stops DNS rebinding. @default []
   */
  allowedHosts?: readonly string[];
}

/** A running dashboard. */
export interface Dashboard {
  address: string;
  port: number;
  /** "http://127.0.0.1:7070/" */
  url: string;
  close(): Promise<void>;
}

interface Asset {
  type: string;
  body: Buffer;
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const own = fileURLToPath(new URL("./assets/", import.meta.url));
  const uplot = dirname(createRequire(import.meta.url).resolve("uplot"));
  const files: Array<[string, string, string]> = [
    ["/", join(own, "index.html"), "text/html; charset=utf-8"],
    ["/assets/app.js", join(own, "app.js"), "text/javascript; charset=utf-8"],
    ["/assets/dom.js", join(own, "dom.js"), "text/javascript; charset=utf-8"],
    ["/assets/app.css", join(own, "app.css"), "text/css; charset=utf-8"],
    ["/assets/uplot.js", join(uplot, "uPlot.iife.min.js"), "text/javascript; charset=utf-8"],
    ["/assets/uplot.css", join(uplot, "uPlot.min.css"), "text/css; charset=utf-8"],
  ];
  const out = new Map<string, Asset>();
  for (const [route, file, type] of files) {
    try {
      out.set(route, { type, body: await readFile(file) });
    } catch (err) {
      throw new WirekitError("ERR_LOCAL", `dashboard asset ${file} missing (run npm run build)`, { cause: err });
    }
  }
  return out;
}

const SECURITY_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
};

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store", ...SECURITY_HEADERS, ...headers });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

/**
 * Start the dashboard for a running lab.
 *
 * @example
 * const lab = await startLab();
 * const dash = await startDashboard(lab, { port: 7070 });
 * console.log(dash.url);
 * await dash.close(); await lab.close();
 */
export async function startDashboard(lab: Lab, options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host ?? lab.host;
  const port = options.port ?? 7070;
  const clock = options.clock ?? systemClock;
  const assets = await loadAssets();
  const registry = createLabMetrics(lab.services);
  const history = new DashboardHistory();
  const hub = new SseHub();
  const running = lab.running();

  const meta = lab.services.map((s) =>
    s.status === "running"
      ? { name: s.name, description: s.description, status: s.status, address: s.running.address, port: s.running.port, transport: s.running.transport, clientCommand: s.running.clientCommand }
      : { name: s.name, description: s.description, status: s.status, error: s.error.message },
  );
  const totalsNow = (): Record<string, Record<string, number>> => Object.fromEntries(running.map((r) => [r.name, r.running.totals()]));
  const stateNow = (): { at: number; services: Record<string, { totals: Record<string, number>; snapshot: Record<string, unknown> | null }> } => ({
    at: clock.now(),
    services: Object.fromEntries(running.map((r) => [r.name, { totals: r.running.totals(), snapshot: trimSnapshot(r.name, r.running.snapshot?.() ?? null) }])),
  });
  const hello = (focus: string | undefined): unknown => ({
    host: lab.host,
    services: meta,
    state: stateNow(),
    history: history.totals.toArray(),
    feed: history.feed.toArray(),
    focus: focus === undefined ? null : { client: focus, samples: history.clientSeries(focus) },
  });

  const unsubscribe = running.map((r) =>
    r.running.subscribe?.((e) => {
      history.recordEvent(e);
      if (hub.size > 0) hub.queue(e);
    }),
  );

  history.recordTotals(clock.now(), totalsNow());
  let lastState = "";
  const flushTimer = setInterval(() => hub.flush(), options.flushMs ?? 250);
  const stateTimer = setInterval(() => {
    const at = clock.now();
    const totals = totalsNow();
    history.recordTotals(at, totals);
    if (hub.size === 0) return;
    const state = stateNow();
    const key = JSON.stringify(state.services);
    if (key !== lastState) {
      lastState = key;
      hub.broadcast("state", state);
    } else {
      // Nothing changed: a small tick keeps the rate charts moving (at zero) without resending snapshots.
      hub.broadcast("tick", { at, totals });
    }
  }, options.stateMs ?? 1000);
  flushTimer.unref();
  stateTimer.unref();

  let hostPolicy: HostPolicy = { boundAddress: host, port, names: options.allowedHosts ?? [] };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // First, before any route (page, SSE stream, API, metrics, service routes such as the mail
    // sink's messages): a rebound name must not reach the lab's data.
    if (!isAllowedHost({ host: req.headers.host, httpVersion: req.httpVersion, localAddress: req.socket.localAddress }, hostPolicy)) {
      send(res, 421, "text/plain; charset=utf-8", MISDIRECTED_BODY, { Connection: "close" });
      return;
    }
    const url = new URL(req.url ?? "/", "http://dashboard");
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain; charset=utf-8", "method not allowed\n", { Allow: "GET, HEAD" });
      return;
    }
    const asset = assets.get(url.pathname);
    if (asset) {
      send(res, 200, asset.type, asset.body);
      return;
    }
    if (url.pathname === "/events") {
      const focus = url.searchParams.get("focus") ?? undefined;
      hub.open(res, focus === "" ? undefined : focus, hello(focus));
      return;
    }
    if (url.pathname === "/api/state") {
      send(res, 200, "application/json; charset=utf-8", JSON.stringify(hello(url.searchParams.get("focus") ?? undefined)));
      return;
    }
    if (url.pathname === "/metrics") {
      send(res, 200, registry.contentType, await registry.metrics());
      return;
    }
    const ladder = /^\/ladder\/([a-z0-9-]+)\.svg$/.exec(url.pathname);
    const ladderOf = ladder === null ? undefined : running.find((s) => s.name === ladder[1]);
    if (ladderOf !== undefined) {
      // The renderer escapes every text; the policy keeps the picture a picture even if opened alone.
      send(res, 200, "image/svg+xml; charset=utf-8", renderLadderSvg(labLadder(ladderOf.name, history.exchanges(ladderOf.name))), {
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff",
      });
      return;
    }
    const m = /^\/service\/([a-z0-9-]+)\/(.+)$/.exec(url.pathname);
    if (m) {
      const r = running.find((s) => s.name === m[1]);
      const answer = r?.running.route?.(decodeURIComponent(m[2] ?? ""));
      if (answer) {
        send(res, answer.status, answer.contentType, answer.body, answer.headers);
        return;
      }
    }
    send(res, 404, "text/plain; charset=utf-8", "not found\n");
  }

  // Our Host check answers a missing Host too (421, with the same short body as a wrong one).
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "internal error\n");
      else res.destroy();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    clearInterval(flushTimer);
    clearInterval(stateTimer);
    for (const u of unsubscribe) u?.();
    throw fromSystemError(err, `dashboard: bind ${formatHostPort(host, port)}`);
  }
  server.on("error", () => {});
  const addr = server.address();
  const boundPort = typeof addr === "object" && addr !== null ? addr.port : port;
  const boundHost = typeof addr === "object" && addr !== null ? addr.address : host;
  hostPolicy = { ...hostPolicy, boundAddress: boundHost, port: boundPort };
  const shown = boundHost === "0.0.0.0" ? "127.0.0.1" : boundHost === "::" ? "::1" : boundHost;
  return {
    address: boundHost,
    port: boundPort,
    url: `http://${formatHostPort(shown, boundPort)}/`,
    close: async () => {
      clearInterval(flushTimer);
      clearInterval(stateTimer);
      for (const u of unsubscribe) u?.();
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The worker thread of `heartbeat serve --metrics` (metrics-endpoint.ts): it runs the endpoint's
 * HTTP server and writes each scrape's text, from the numbers it asks the monitor's thread for
 * (MetricsData, its columns shared), so neither the 68 MB of a 100,000-client scrape nor sending
 * them costs the thread that takes heartbeats.
 */
import { parentPort } from "node:worker_threads";
import type { Server } from "node:http";
import type { MetricsData } from "./metrics.js";
import { ScrapeRenderer, closeServer, listenMetrics, metricsRequestListener, serverPort, type FromMetricsWorker, type ToMetricsWorker } from "./metrics-endpoint.js";

const port = parentPort;
const post = (m: FromMetricsWorker): void => port?.postMessage(m);
/** The answer the one scrape in progress waits for (the renderer makes one at a time). */
let waiting: ((m: Extract<ToMetricsWorker, { kind: "data" }>) => void) | undefined;
const renderer = new ScrapeRenderer(
  () =>
    new Promise<MetricsData>((resolve, reject) => {
      waiting = (m) => {
        waiting = undefined;
        if (m.data !== undefined) resolve(m.data);
        else reject(new Error(m.error ?? "no metrics"));
      };
      post({ kind: "collect" });
    }),
);
let server: Server | undefined;

port?.on("message", (m: ToMetricsWorker) => {
  if (m.kind === "data") waiting?.(m);
  else if (m.kind === "listen") {
    listenMetrics(metricsRequestListener(renderer), m.host, m.port).then(
      (s) => {
        server = s;
        post({ kind: "listening", port: serverPort(s, m.port) });
      },
      (err: unknown) => {
        const e = err as { code?: unknown; message?: unknown };
        post({ kind: "error", code: String(e.code ?? ""), message: String(e.message ?? err) });
      },
    );
  } else if (m.kind === "close") {
    const s = server;
    server = undefined;
    void (s === undefined ? Promise.resolve() : closeServer(s)).then(() => post({ kind: "closed" }));
  }
});

/**
 * The worker thread of `heartbeat serve --metrics`: turns one scrape's numbers (MetricsData,
 * taken on the monitor's thread, its columns shared) into the exposition text, so the 70 MB of
 * a 100,000-client scrape are written off the thread that takes heartbeats. The text is written
 * into the SharedArrayBuffer the monitor's thread lends (or a bigger one made here).
 */
import { parentPort } from "node:worker_threads";
import { renderMetrics, type MetricsData, type WorkerReply } from "./metrics.js";

parentPort?.on("message", (m: { data: MetricsData; into?: SharedArrayBuffer; sizeHint: number }) => {
  let reply: WorkerReply;
  try {
    const b = renderMetrics(m.data, m.sizeHint, m.into ?? new SharedArrayBuffer(Math.max(65536, m.sizeHint + (m.sizeHint >> 3) + 65536)));
    reply = { ok: true, buffer: b.buffer, length: b.length };
  } catch (err) {
    reply = { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
});

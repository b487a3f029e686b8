/**
 * The worker thread of `heartbeat serve --metrics`: turns one scrape's numbers (MetricsData,
 * taken on the monitor's thread) into the exposition text, so the 70 MB of a 100,000-client
 * scrape are written off the thread that takes heartbeats. The bytes go back transferred.
 */
import { parentPort } from "node:worker_threads";
import { renderMetrics, type MetricsData } from "./metrics.js";

let last = 0;
parentPort?.on("message", (m: { data: MetricsData }) => {
  try {
    const b = renderMetrics(m.data, last);
    last = b.length;
    parentPort?.postMessage({ ok: true, buffer: b.buffer, offset: b.byteOffset, length: b.length }, [b.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
  }
});

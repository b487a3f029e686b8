/**
 * Entry point of one `node:cluster` worker of the static server: read the options from the
 * environment, serve, batch request records to the primary, close on "shutdown".
 */
import { createStaticServer } from "./server.js";
import { WORKER_ENV, type WorkerMessage, type WorkerOptions } from "./cluster.js";
import type { RequestRecord } from "./access-log.js";

const send = (m: WorkerMessage): void => {
  if (process.connected) process.send?.(m);
};

async function main(): Promise<void> {
  const options = JSON.parse(process.env[WORKER_ENV] ?? "{}") as WorkerOptions;
  // A shutdown can come while the server is still starting: remember it and honour it once up,
  // rather than ignore it until the primary's kill fallback.
  let stopAsked = false;
  const early = (m: { kind?: string }): void => {
    if (m.kind === "shutdown") stopAsked = true;
  };
  process.on("message", early);
  let server;
  try {
    server = await createStaticServer({ ...options, workers: 1 });
  } catch (err) {
    send({ kind: "failed", message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
  process.off("message", early);
  const srv = server;
  const forward = options.forwardRecords !== false;
  let batch: RequestRecord[] = [];
  let dirty = false;
  srv.on("event", (e) => {
    if (e.kind !== "request") return;
    if (forward) batch.push(e.record);
    dirty = true;
  });
  // Batch IPC: one message per 100 ms at most, not one per request.
  const flush = (): Promise<void> => {
    if (!dirty || !process.connected) return Promise.resolve();
    const m: WorkerMessage = { kind: "records", records: batch, totals: srv.totals() };
    batch = [];
    dirty = false;
    return new Promise((resolve) => process.send?.(m, undefined, {}, () => resolve()) ?? resolve());
  };
  setInterval(() => void flush(), 100).unref();
  const shutdown = (): void => {
    void srv
      .close()
      .then(flush)
      .then(() => process.exit(0));
  };
  process.on("message", (m: { kind?: string }) => {
    if (m.kind === "shutdown") shutdown();
  });
  // The primary is gone (killed): do not linger as an orphan.
  process.on("disconnect", () => process.exit(0));
  // Signals go to the whole process group on Ctrl-C; the primary decides when we stop.
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => undefined);
  send({ kind: "listening", address: srv.address, port: srv.port });
  if (stopAsked) shutdown();
}

void main();

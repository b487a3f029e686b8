/**
 * `--workers N`: N `node:cluster` worker processes, each running a single static server on
 * the same port (the primary hands the listening socket to them). Workers report their
 * request records (batched) and totals to the primary over IPC, so the primary's handle
 * looks like a single server: events, totals, close().
 */
import cluster, { type Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import { formatHostPort } from "../../core/address.js";
import { WirekitError } from "../../core/errors.js";
import { TypedEmitter } from "../../core/events.js";
import type { StaticServer, StaticServerEvents, StaticServerOptions, StaticTotals } from "./server.js";
import type { RequestRecord } from "./access-log.js";

/** Messages a worker sends to the primary. */
export type WorkerMessage =
  | { kind: "listening"; address: string; port: number }
  | { kind: "failed"; message: string }
  | { kind: "records"; records: RequestRecord[]; totals: StaticTotals };

/** The options a worker receives (JSON, in the environment). */
export type WorkerOptions = Omit<StaticServerOptions, "clock" | "tls" | "workers"> & { tls?: { cert: string; key: string } };

export const WORKER_ENV = "WIREKIT_STATIC_WORKER";

/** Workers replaced after dying, at most; a worker that keeps crashing must not fork-loop. */
const MAX_RESTARTS = 16;

class ClusterStaticServer extends TypedEmitter<StaticServerEvents> implements StaticServer {
  address = "";
  port = 0;
  url = "";
  readonly server = undefined;
  readonly #byWorker = new Map<number, StaticTotals>();
  readonly #pool = new Set<Worker>();
  /** Workers that got far enough to hear a shutdown (a message sent while one still loads its code is lost). */
  readonly #started = new WeakSet<Worker>();
  #closing = false;

  constructor(readonly workers: number, readonly tls: boolean) {
    super();
  }

  add(w: Worker): void {
    this.#pool.add(w);
    w.on("message", (m: WorkerMessage) => {
      if (m.kind === "listening" || m.kind === "failed") this.#started.add(w);
      if (m.kind !== "records") return;
      this.#byWorker.set(w.id, m.totals);
      for (const record of m.records) this.emit("event", { kind: "request", record });
    });
    w.on("exit", () => this.#pool.delete(w));
  }

  get closing(): boolean {
    return this.#closing;
  }

  totals(): StaticTotals {
    const t: StaticTotals = { requests: 0, bytes: 0, clientErrors: 0, errors: 0 };
    for (const w of this.#byWorker.values()) {
      t.requests += w.requests;
      t.bytes += w.bytes;
      t.clientErrors += w.clientErrors;
      t.errors += w.errors;
    }
    return t;
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(
      [...this.#pool].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            let t: NodeJS.Timeout | undefined;
            const stop = (): void => {
              if (w.isDead()) return;
              // Hard stop if a worker does not finish its graceful close in time.
              clearTimeout(t);
              t = setTimeout(() => w.process.kill("SIGKILL"), 3000);
              w.send({ kind: "shutdown" });
            };
            w.once("exit", () => {
              clearTimeout(t);
              resolve();
            });
            if (this.#started.has(w)) return stop();
            // Still starting (a replacement): ask once it can hear it, or kill it if it never does.
            t = setTimeout(() => w.process.kill("SIGKILL"), 10_000);
            const onMsg = (m: WorkerMessage): void => {
              if (m.kind !== "listening" && m.kind !== "failed") return;
              w.off("message", onMsg);
              stop();
            };
            w.on("message", onMsg);
          }),
      ),
    );
  }
}

/**
 * Fork `n` workers that serve `options` on one shared port.
 *
 * @example
 * const srv = await startStaticCluster({ root: ".", port: 0 }, 2);
 */
export async function startStaticCluster(options: StaticServerOptions, n: number): Promise<StaticServer> {
  if (!cluster.isPrimary) throw new WirekitError("ERR_LOCAL", "--workers can only be started from the primary process");
  const { clock: _clock, tls, workers: _w, ...rest } = options;
  const wopts: WorkerOptions = { ...rest, tls: tls ? { cert: tls.cert.toString(), key: tls.key.toString() } : undefined };
  cluster.setupPrimary({ exec: fileURLToPath(new URL("./worker.js", import.meta.url)), args: [], silent: false });
  const handle = new ClusterStaticServer(n, tls !== undefined);
  let restarts = 0;
  const fork = (port: number): Promise<{ address: string; port: number }> =>
    new Promise((resolve, reject) => {
      const w = cluster.fork({ [WORKER_ENV]: JSON.stringify({ ...wopts, port }) });
      handle.add(w);
      const onMsg = (m: WorkerMessage): void => {
        if (m.kind === "listening") resolve({ address: m.address, port: m.port });
        if (m.kind === "failed") reject(new WirekitError("ERR_LOCAL", m.message));
      };
      w.on("message", onMsg);
      w.once("exit", (code) => {
        reject(new WirekitError("ERR_LOCAL", `worker exited with status ${code} before listening`));
        // A worker that dies while serving is replaced, as a supervisor would.
        if (!handle.closing && handle.port !== 0 && restarts < MAX_RESTARTS) {
          restarts++;
          void fork(options.port ?? 8080).catch(() => undefined);
        }
      });
    });
  try {
    // The first worker binds (port 0 = any); the primary then hands every later worker asking
    // for the same address and port (0 included) that very socket.
    const port = options.port ?? 8080;
    const first = await fork(port);
    handle.address = first.address;
    handle.port = first.port;
    await Promise.all(Array.from({ length: n - 1 }, () => fork(port)));
  } catch (err) {
    await handle.close();
    throw err;
  }
  handle.url = `${handle.tls ? "https" : "http"}://${formatHostPort(handle.address, handle.port)}/`;
  return handle;
}

/**
 * The heartbeat monitor's `GET /metrics` endpoint (`heartbeat serve --metrics HOST:PORT`). The
 * HTTP server runs on a worker thread (metrics-worker.ts), which also writes the text: the only
 * part of a scrape on the monitor's thread is taking its numbers (collectMetrics, one
 * synchronous pass), when the worker asks for them. At 100,000 clients a scrape is some 68 MB;
 * writing that to the socket (the kernel's copy of it) cost the monitor's thread about 18 ms a
 * second when it served the scrapes itself. When the worker cannot start, or stops, the server
 * runs on the monitor's thread, with the same requests and the same text.
 */
import { createServer, type RequestListener, type Server } from "node:http";
import { Worker } from "node:worker_threads";
import { fromSystemError, WirekitError } from "../../core/errors.js";
import { METRICS_CONTENT_TYPE, collectMetrics, metricsColumns, renderMetrics, type MetricsColumns, type MetricsData, type MetricsSource } from "./metrics.js";

/** One rendered scrape, shared by the requests that asked for it while it was made. */
interface Rendered {
  body: Buffer;
  /** Requests still sending it; its memory goes back to the pool when the last one is done. */
  users: number;
}

/**
 * Renders scrapes one at a time (concurrent scrapes share the one in progress) from the numbers
 * `take` gives. Memory is reused, not made anew each scrape: the text is written into a
 * SharedArrayBuffer from a small pool, returned when every request that sent it is done (a
 * fresh 70 MB buffer a second would count as external memory and set off full collections).
 */
export class ScrapeRenderer {
  readonly #take: () => MetricsData | Promise<MetricsData>;
  #inFlight: Promise<Rendered> | undefined;
  #lastSize = 0;
  /** Free output buffers (at most two are kept). */
  readonly #pool: SharedArrayBuffer[] = [];

  constructor(take: () => MetricsData | Promise<MetricsData>) {
    this.#take = take;
  }

  /** The current scrape; call `done()` once for each call when its response is finished. */
  async render(): Promise<Rendered> {
    this.#inFlight ??= this.#render().finally(() => (this.#inFlight = undefined));
    const r = await this.#inFlight;
    r.users++;
    return r;
  }

  done(r: Rendered): void {
    if (--r.users > 0) return;
    const b = r.body.buffer;
    if (b instanceof SharedArrayBuffer && this.#pool.length < 2) this.#pool.push(b);
  }

  async #render(): Promise<Rendered> {
    const data = await this.#take();
    // The biggest free buffer, else one with room for the last scrape's size and some growth.
    this.#pool.sort((x, y) => x.byteLength - y.byteLength);
    const into = this.#pool.pop() ?? new SharedArrayBuffer(Math.max(65536, this.#lastSize + (this.#lastSize >> 3) + 65536));
    const body = renderMetrics(data, this.#lastSize, into);
    this.#lastSize = body.length;
    return { body, users: 0 };
  }
}

/** The requests the endpoint answers: GET and HEAD /metrics; 404 elsewhere, 405 for other methods. */
export function metricsRequestListener(renderer: ScrapeRenderer): RequestListener {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: the metrics are at /metrics\n");
      return;
    }
    renderer.render().then(
      (r) => {
        res.once("close", () => renderer.done(r));
        res.writeHead(200, { "Content-Type": METRICS_CONTENT_TYPE, "Content-Length": r.body.length });
        res.end(req.method === "HEAD" ? undefined : r.body);
      },
      () => res.writeHead(500, { "Content-Type": "text/plain" }).end("metrics failed\n"),
    );
  };
}

/** The endpoint's HTTP server, listening; rejects with the listen error as node:net gives it. */
export async function listenMetrics(listener: RequestListener, host: string, port: number): Promise<Server> {
  const server = createServer(listener);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

/** The port a listening server has. */
export function serverPort(server: Server, fallback: number): number {
  const a = server.address();
  return a !== null && typeof a === "object" ? a.port : fallback;
}

/** Close a server and every connection it has. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** What the monitor's thread tells the worker (metrics-worker.ts). */
export type ToMetricsWorker = { kind: "listen"; host: string; port: number } | { kind: "data"; data?: MetricsData; error?: string } | { kind: "close" };
/** What the worker tells the monitor's thread. */
export type FromMetricsWorker = { kind: "listening"; port: number } | { kind: "error"; code: string; message: string } | { kind: "collect" } | { kind: "closed" };

export interface MetricsEndpoint {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Options of {@link startHeartbeatMetrics}. */
export interface MetricsEndpointOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** 0: any free port (the endpoint's `port` says which). */
  port: number;
  /** Serve from a worker thread; false: on this thread. @default true */
  worker?: boolean;
  /**
   * Told once, as one line, if the endpoint stops serving: its worker stopped and the port could
   * not be bound again on this thread. @default none
   */
  onError?: (line: string) => void;
}

/** Serve on this thread: the text made here too. */
export async function serveHere(source: MetricsSource, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  let columns: MetricsColumns | undefined;
  const renderer = new ScrapeRenderer(() => {
    const data = collectMetrics(source, (columns ??= metricsColumns(source.totals().clients, true)));
    columns = { values: data.values, status: data.status, reported: data.reported, labels: data.labels, starts: data.starts };
    return data;
  });
  let server: Server;
  try {
    server = await listenMetrics(metricsRequestListener(renderer), host, port);
  } catch (err) {
    throw fromSystemError(err, `metrics: bind ${host}:${port}`);
  }
  return { port: serverPort(server, port), close: () => closeServer(server) };
}

/**
 * Serve from a worker: it listens, and asks for a scrape's numbers, which this thread collects
 * into shared columns (reused: the worker asks again only once it has written the last ones).
 * Resolves once it listens; a listen error is the endpoint's error. If the worker stops later,
 * the endpoint goes on here, on the same port.
 */
export async function serveMetricsFromWorker(
  w: Worker,
  source: MetricsSource,
  host: string,
  port: number,
  onError?: (line: string) => void,
  rebind: typeof serveHere = serveHere,
): Promise<{ port: number; close(): Promise<void> }> {
  let columns: MetricsColumns | undefined;
  let closing = false;
  let listening = -1;
  let exited = false;
  let here: Promise<{ close(): Promise<void> } | undefined> | undefined;
  const bound = await new Promise<number>((resolve, reject) => {
    w.on("message", (m: FromMetricsWorker) => {
      if (m.kind === "listening") resolve((listening = m.port));
      else if (m.kind === "error") reject(fromSystemError(Object.assign(new Error(m.message), { code: m.code }), `metrics: bind ${host}:${port}`));
      else if (m.kind === "collect") {
        let reply: ToMetricsWorker;
        try {
          const data = collectMetrics(source, (columns ??= metricsColumns(source.totals().clients, true)));
          columns = { values: data.values, status: data.status, reported: data.reported, labels: data.labels, starts: data.starts };
          reply = { kind: "data", data };
        } catch (err) {
          reply = { kind: "data", error: err instanceof Error ? err.message : String(err) };
        }
        w.postMessage(reply);
      }
    });
    // An error before it listens rejects (the caller then serves here); after, the endpoint moves here.
    w.on("error", reject);
    w.once("exit", () => {
      exited = true;
      reject(new Error("the metrics worker stopped"));
      if (closing || listening < 0) return;
      here = rebind(source, host, listening).catch((err: unknown) => {
        onError?.(`metrics: the worker stopped and ${host}:${listening} could not be bound again (${err instanceof Error ? err.message : String(err)}); /metrics is no longer served`);
        return undefined;
      });
    });
    w.postMessage({ kind: "listen", host, port } satisfies ToMetricsWorker);
  });
  return {
    port: bound,
    close: async () => {
      closing = true;
      if (!exited) {
        const closed = new Promise<void>((resolve) => {
          w.on("message", (m: FromMetricsWorker) => m.kind === "closed" && resolve());
          w.once("exit", () => resolve());
        });
        w.postMessage({ kind: "close" } satisfies ToMetricsWorker);
        await closed;
        await w.terminate();
      }
      await (await here)?.close();
    },
  };
}

/**
 * Serve `GET /metrics` on HOST:PORT (127.0.0.1 unless told otherwise); anything else is 404.
 * From a worker thread when one starts (see the module comment), else on this thread.
 *
 * @example
 * const ep = await startHeartbeatMetrics(monitor, { host: "127.0.0.1", port: 9101 });
 */
export async function startHeartbeatMetrics(source: MetricsSource, options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const host = options.host ?? "127.0.0.1";
  let served: { port: number; close(): Promise<void> } | undefined;
  if (options.worker ?? true) {
    let w: Worker | undefined;
    try {
      w = new Worker(new URL("./metrics-worker.js", import.meta.url));
      served = await serveMetricsFromWorker(w, source, host, options.port, options.onError);
    } catch (err) {
      await w?.terminate();
      // A bind error is the endpoint's; a worker that could not run means serving here.
      if (err instanceof WirekitError) throw err;
    }
  }
  served ??= await serveHere(source, host, options.port);
  return { address: host, port: served.port, close: served.close };
}

/**
 * `createStaticServer()`: the static handler (serve-dir.ts, a request → response function) on
 * wirekit's own HTTP/1.1 engine (../h1/), over TLS also on HTTP/2 when the client offers it by
 * ALPN (../h2/), and optionally N `node:cluster` workers sharing the port (cluster.ts).
 * The engine owns framing, deadlines (slowloris, keep-alive, send progress) and exact lengths;
 * this module turns its exchange records into access-log records and totals.
 */
import type { Server } from "node:net";
import { formatHostPort } from "../../core/address.js";
import { usageError } from "../../core/errors.js";
import { TypedEmitter, publish } from "../../core/events.js";
import { systemClock, type Clock } from "../../core/clock.js";
import { createH1Server, type H1Capture, type H1Server } from "../h1/server.js";
import type { ExchangeRecord, ErrorResponseRecord } from "../h1/connection.js";
import { H2Sessions, type H2Exchange } from "../h2/adapter.js";
import type { HttpHandler, HttpRequest, HttpResponse } from "../h1/types.js";
import { createStaticHandler, type ServeDirOptions, type StaticRequestHandler } from "./serve-dir.js";
import { impairHttp, type HttpImpairment } from "../impair.js";
import type { RequestRecord } from "./access-log.js";

export interface StaticServerOptions extends ServeDirOptions {
  /** Address to bind. @default "127.0.0.1" */
  host?: string;
  /** Port; 0 picks one. @default 8080 */
  port?: number;
  /** Worker processes (node:cluster) sharing the port; 1 = this process only. @default 1 */
  workers?: number;
  /** PEM certificate and key: serve HTTPS. @default undefined (plain HTTP) */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Over TLS, also speak HTTP/2 to clients that offer it (ALPN h2). @default true */
  http2?: boolean;
  /** A client must send its whole request head within this time, else 408 and close. @default 10000 */
  headersTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this time. @default 5000 */
  keepAliveTimeoutMs?: number;
  /** Whole request (head and body) deadline. @default 30000 */
  requestTimeoutMs?: number;
  /** A response that makes no write progress for this long has its connection destroyed. @default 60000 */
  sendTimeoutMs?: number;
  /** Largest request head (request line + headers); beyond it 431. @default 16384 */
  maxHeaderSize?: number;
  /** Forward per-request records from workers to this process (for the access log). @default true */
  forwardRecords?: boolean;
  /** Clock for timestamps, deadlines and response times. @default systemClock */
  clock?: Clock;
  /** `--delay` / `--rate`: each response waits, bodies are paced (per process). @default none */
  impair?: HttpImpairment;
  /** `--pcap`: the capture shown each plain-HTTP connection (one process only: not with `workers > 1`). @default none */
  capture?: H1Capture;
}

/** Counters of a running server. */
export interface StaticTotals {
  requests: number;
  bytes: number;
  /** Client errors: 4xx responses, and requests the engine refused (400, 408, 414, 431, 501, 505). */
  clientErrors: number;
  /** Server errors: 5xx responses, and responses that did not complete. */
  errors: number;
}

/** A handler that threw (the client got 500). */
export interface HandlerErrorRecord {
  method: string;
  target: string;
  client: string;
  message: string;
}

/** A request answered (its access-log record), or a handler that threw (answered 500). */
export type StaticServerEvent = { kind: "request"; record: RequestRecord } | ({ kind: "handler-error" } & HandlerErrorRecord);

export type StaticServerEvents = { event: [StaticServerEvent] };

/** A running static server. */
export interface StaticServer extends TypedEmitter<StaticServerEvents> {
  readonly address: string;
  readonly port: number;
  /** `http://127.0.0.1:8080/` */
  readonly url: string;
  readonly workers: number;
  /** The listening node:net / node:tls server (undefined when workers > 1: they own theirs). */
  readonly server: Server | undefined;
  totals(): StaticTotals;
  close(): Promise<void>;
}

/** The file server's answer to what is not a file request: CONNECT opens no tunnel here (RFC 9110 §9.3.6). */
function withMethodGuard(handler: StaticRequestHandler, allow: string): HttpHandler {
  return (request, control) => {
    if (request.method === "CONNECT") {
      return { status: 405, headers: [["Allow", allow], ["Content-Type", "text/plain; charset=utf-8"]], body: "405 Method Not Allowed: CONNECT\n", close: true };
    }
    const withUser = (response: HttpResponse): HttpResponse => {
      const user = handler.userOf(request);
      return user === undefined ? response : { ...response, user };
    };
    // No async frame of its own: the engine takes a response or a promise of one.
    const response = handler(request, control);
    return response instanceof Promise ? response.then(withUser) : withUser(response);
  };
}

class SingleStaticServer extends TypedEmitter<StaticServerEvents> implements StaticServer {
  address = "";
  port = 0;
  url = "";
  readonly workers = 1;
  readonly #h1: H1Server;
  readonly #h2: H2Sessions | undefined;
  readonly #handler: StaticRequestHandler;
  readonly #clock: Clock;
  readonly #host: string;
  readonly #secure: boolean;
  readonly #totals: StaticTotals = { requests: 0, bytes: 0, clientErrors: 0, errors: 0 };

  constructor(options: StaticServerOptions) {
    super();
    this.#clock = options.clock ?? systemClock;
    this.#host = options.host ?? "127.0.0.1";
    this.#secure = options.tls !== undefined;
    this.#handler = createStaticHandler(options);
    const handler = impairHttp(withMethodGuard(this.#handler, options.cors === true ? "GET, HEAD, OPTIONS" : "GET, HEAD"), options.impair ?? {}, this.#clock).handler;
    const onHandlerError = (error: unknown, request: Pick<HttpRequest, "method" | "target" | "remoteAddress">): void => {
      const message = error instanceof Error ? error.message : String(error);
      this.emit("event", { kind: "handler-error", method: request.method, target: request.target, client: request.remoteAddress, message });
    };
    this.#h2 =
      options.tls !== undefined && options.http2 !== false
        ? new H2Sessions({ handler, clock: this.#clock, idleTimeoutMs: options.keepAliveTimeoutMs, onExchange: (e) => this.#h2Exchange(e), onHandlerError: onHandlerError })
        : undefined;
    const h2 = this.#h2;
    this.#h1 = createH1Server({
      handler,
      clock: this.#clock,
      maxHeaderSize: options.maxHeaderSize,
      headersTimeoutMs: options.headersTimeoutMs,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      sendTimeoutMs: options.sendTimeoutMs,
      tls: options.tls,
      onH2: h2 === undefined ? undefined : (socket) => h2.accept(socket),
      capture: options.capture,
    });
    this.#h1.on("event", (e) => {
      if (e.kind === "exchange") this.#exchange(e.record);
      else if (e.kind === "error-response") this.#refusal(e.record);
      else onHandlerError(e.error, e);
    });
  }

  get server(): Server {
    return this.#h1.server;
  }

  async listen(port: number): Promise<void> {
    await this.#handler.ready;
    await this.#h1.listen(port, this.#host);
    this.address = this.#h1.address;
    this.port = this.#h1.port;
    this.url = `${this.#secure ? "https" : "http"}://${formatHostPort(this.address, this.port)}/`;
  }

  totals(): StaticTotals {
    return { ...this.#totals };
  }

  async close(): Promise<void> {
    await Promise.all([this.#h1.close(), this.#h2?.close()]);
    await this.#handler.close();
  }

  #count(status: number, bytes: number, aborted: boolean): void {
    this.#totals.requests++;
    this.#totals.bytes += bytes;
    if (status >= 500 || aborted) this.#totals.errors++;
    else if (status >= 400) this.#totals.clientErrors++;
  }

  #publish(record: RequestRecord): void {
    this.emit("event", { kind: "request", record });
    publish("http", "request", record);
  }

  #exchange(r: ExchangeRecord): void {
    this.#count(r.status, r.bytes, r.aborted);
    this.#publish({ at: this.#clock.now() - r.durationMs, client: r.remoteAddress, method: r.method, path: r.target, httpVersion: r.version, status: r.status, bytes: r.bytes, ms: r.durationMs, user: r.user });
  }

  #h2Exchange(r: H2Exchange): void {
    this.#count(r.status, r.bytes, r.aborted);
    this.#publish({ at: this.#clock.now() - r.durationMs, client: r.remoteAddress, method: r.method, path: r.target, httpVersion: "2", status: r.status, bytes: r.bytes, ms: r.durationMs, user: r.user });
  }

  #refusal(r: ErrorResponseRecord): void {
    this.#count(r.status, 0, false);
    this.#publish({ at: this.#clock.now(), client: r.remoteAddress, method: "-", path: "-", httpVersion: "1.1", status: r.status, bytes: 0, ms: 0 });
  }
}

/**
 * Start a static file server; resolves once it is listening. With `workers > 1` the port is
 * shared by that many `node:cluster` worker processes.
 *
 * @example
 * const srv = await createStaticServer({ root: "./public", port: 0 });
 * console.log(srv.url); // http://127.0.0.1:41234/
 * await srv.close();
 */
export async function createStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const workers = options.workers ?? 1;
  if (workers > 1) {
    if (options.capture !== undefined) throw usageError("--pcap captures one process: use it with --workers 1");
    const { startStaticCluster } = await import("./cluster.js");
    return startStaticCluster(options, workers);
  }
  const s = new SingleStaticServer(options);
  await s.listen(options.port ?? 8080);
  return s;
}

/**
 * `createStaticServer()`: the static handler on a `node:http` (or `node:https`) server with
 * keep-alive and header timeouts (slowloris), parser errors answered 400/431/408/505 instead of
 * a crash, request heads node:http accepts but RFC 9112 does not refused (request-checks.ts),
 * CONNECT answered 405, and optionally N `node:cluster` workers sharing the port (see cluster.ts).
 * HTTP/1.1 message syntax is RFC 9112, parsed by node:http (llhttp).
 */
import { createServer as createHttpServer, type Server, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { formatHostPort } from "../../core/address.js";
import { fromSystemError } from "../../core/errors.js";
import { TypedEmitter, publish } from "../../core/events.js";
import { systemClock } from "../../core/clock.js";
import { StaticHandler, type StaticHandlerOptions } from "./handler.js";
import type { RequestRecord } from "./access-log.js";
import { checkRequestHead, encodeRejection, type RequestRejection } from "./request-checks.js";

export interface StaticServerOptions extends StaticHandlerOptions {
  /** Address to bind. @default "127.0.0.1" */
  host?: string;
  /** Port; 0 picks one. @default 8080 */
  port?: number;
  /** Worker processes (node:cluster) sharing the port; 1 = this process only. @default 1 */
  workers?: number;
  /** PEM certificate and key: serve HTTPS. @default undefined (plain HTTP) */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** A client must send its whole request head within this time, else 408 and close. @default 10000 */
  headersTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this time. @default 5000 */
  keepAliveTimeoutMs?: number;
  /** Whole request (head and body) deadline. @default 30000 */
  requestTimeoutMs?: number;
  /** Largest request head (request line + headers); beyond it 431. @default 16384 */
  maxHeaderSize?: number;
  /** Forward per-request records from workers to this process (for the access log). @default true */
  forwardRecords?: boolean;
}

/** Counters of a running server. */
export interface StaticTotals {
  requests: number;
  bytes: number;
  /** Client errors: 4xx responses, and requests the parser rejected (400, 408, 414, 431). */
  clientErrors: number;
  /** Server errors: 5xx responses, and connections that failed mid-request. */
  errors: number;
}

export type StaticServerEvents = { request: [RequestRecord] };

/** A running static server. */
export interface StaticServer extends TypedEmitter<StaticServerEvents> {
  readonly address: string;
  readonly port: number;
  /** `http://127.0.0.1:8080/` */
  readonly url: string;
  readonly workers: number;
  /** The node:http server (undefined when workers > 1: they own theirs). */
  readonly server: Server | undefined;
  totals(): StaticTotals;
  close(): Promise<void>;
}

const PARSER_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout"],
  HPE_URI_TOO_LONG: [414, "URI Too Long"],
  // llhttp refuses versions other than 0.9 and 1.x itself ("HTTP/1.9"); 2.0 reaches checkRequestHead.
  HPE_INVALID_VERSION: [505, "HTTP Version Not Supported"],
  // HPE_INVALID_TRANSFER_ENCODING stays 400: llhttp raises it in the head only for chunked
  // applied twice (RFC 9112 §6.1 forbids it); an unknown coding reaches checkRequestHead (501).
};

class SingleStaticServer extends TypedEmitter<StaticServerEvents> implements StaticServer {
  address = "";
  port = 0;
  url = "";
  readonly workers = 1;
  readonly server: Server;
  readonly #totals: StaticTotals = { requests: 0, bytes: 0, clientErrors: 0, errors: 0 };
  readonly #host: string;

  constructor(options: StaticServerOptions) {
    super();
    const handler = new StaticHandler(options);
    const clock = options.clock ?? systemClock;
    const headersTimeout = options.headersTimeoutMs ?? 10_000;
    const httpOptions = {
      headersTimeout,
      requestTimeout: Math.max(options.requestTimeoutMs ?? 30_000, headersTimeout),
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      // How often node:http checks the two deadlines above; its default (30 s) is too coarse.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4))),
      maxHeaderSize: options.maxHeaderSize ?? 16_384,
    };
    // Connections whose request checkRequestHead refused: that answer is the only one they get,
    // even when llhttp then fails on the body it cannot frame (clientError).
    const refused = new WeakSet<Socket>();
    const allow = options.cors ? "GET, HEAD, OPTIONS" : "GET, HEAD";
    const logRefusal = (req: IncomingMessage, socket: Socket, r: RequestRejection): void => {
      refused.add(socket);
      this.#totals.clientErrors++;
      const record: RequestRecord = { at: clock.now(), client: handler.clientOf(socket), method: req.method ?? "-", path: req.url ?? "", httpVersion: req.httpVersion, status: r.status, bytes: 0, ms: 0 };
      this.emit("request", record);
      publish("http", "request", record);
    };
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      const refusal = checkRequestHead(req, { allow });
      if (refusal === undefined) return handler.listener(req, res);
      logRefusal(req, req.socket, refusal);
      res.writeHead(refusal.status, { ...(refusal.allow === undefined ? {} : { Allow: refusal.allow }), Connection: "close", "Content-Length": "0" });
      res.end();
    };
    this.server = options.tls
      ? (createHttpsServer({ ...httpOptions, cert: options.tls.cert, key: options.tls.key }, listener) as unknown as Server)
      : createHttpServer(httpOptions, listener);
    this.server.on(options.tls ? "secureConnection" : "connection", (socket: Socket) => handler.noteConnection(socket));
    this.server.timeout = 0; // a slow download is not a stalled client; only the head has a deadline
    handler.on("request", (r) => {
      this.#totals.requests++;
      this.#totals.bytes += r.bytes;
      if (r.status >= 500) this.#totals.errors++;
      else if (r.status >= 400) this.#totals.clientErrors++;
      this.emit("request", r);
      publish("http", "request", r);
    });
    // node:http hands a CONNECT request over as a bare socket ('connect'); without a listener it
    // closes it silently. A file server opens no tunnels: 405 (RFC 9110 §9.3.6), then close.
    this.server.on("connect", (req: IncomingMessage, socket: Socket) => {
      const refusal = checkRequestHead(req, { allow }) ?? { status: 405, reason: "CONNECT is not allowed", allow, close: true };
      logRefusal(req, socket, refusal);
      socket.on("error", () => undefined);
      socket.end(encodeRejection(refusal));
    });
    this.server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      if (refused.has(socket)) return void socket.end();
      const [status, reason] = PARSER_STATUS[err.code ?? ""] ?? [400, "Bad Request"];
      if (err.code !== "ECONNRESET") {
        this.#totals.clientErrors++;
        this.emit("request", { at: clock.now(), client: handler.clientOf(socket), method: "-", path: "-", httpVersion: "1.1", status, bytes: 0, ms: 0 });
      }
      if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
    this.#host = options.host ?? "127.0.0.1";
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(fromSystemError(err, `listen on ${formatHostPort(this.#host, port)}`));
      this.server.once("error", onError);
      this.server.listen(port, this.#host, () => {
        this.server.off("error", onError);
        resolve();
      });
    });
    const a = this.server.address();
    if (a !== null && typeof a === "object") {
      this.address = a.address;
      this.port = a.port;
    }
    const tls = "setSecureContext" in this.server;
    this.url = `${tls ? "https" : "http"}://${formatHostPort(this.address, this.port)}/`;
  }

  totals(): StaticTotals {
    return { ...this.#totals };
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // Idle keep-alive connections would hold close() open until they time out.
      this.server.closeIdleConnections();
      setImmediate(() => this.server.closeAllConnections());
    });
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
    const { startStaticCluster } = await import("./cluster.js");
    return startStaticCluster(options, workers);
  }
  const s = new SingleStaticServer(options);
  await s.listen(options.port ?? 8080);
  return s;
}

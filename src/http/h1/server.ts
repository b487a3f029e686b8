/**
 * `createH1Server()`: wirekit's own HTTP/1.1 server, an `H1Connection` per accepted socket of a
 * node:net (or node:tls) server. Deadlines are checked by one coarse tick per server (no timer
 * per connection or per request); the `Date` field is formatted once a second.
 */
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, TLSSocket } from "node:tls";
import { formatHostPort } from "../../core/address.js";
import { systemClock, type Clock, type TimerHandle } from "../../core/clock.js";
import { fromSystemError } from "../../core/errors.js";
import { TypedEmitter } from "../../core/events.js";
import { DEFAULT_LIMITS, type ParseLimits } from "./parse.js";
import type { HttpHandler, HttpRequest } from "./types.js";
import { DateField } from "./head.js";
import { ReadyResponses } from "./ready-responses.js";
import { HeldAnswers } from "./held-answers.js";
import { H1Connection, type H1Capture, type ConnectionHost, type ConnectionSettings, type ErrorResponseRecord, type ExchangeRecord } from "./connection.js";

export interface H1ServerOptions {
  handler: HttpHandler;
  /** Time source for deadlines and `Date`. @default systemClock */
  clock?: Clock;
  /** Parser limits (head size, target length, field count...). @default DEFAULT_LIMITS of parse.ts */
  limits?: ParseLimits;
  /** Largest request head (request line + fields), beyond it 431; overrides `limits.maxHeadBytes`. @default 16384 */
  maxHeaderSize?: number;
  /** A request head must be complete within this time, else 408 and close (slowloris). 0 = off. @default 10000 */
  headersTimeoutMs?: number;
  /** An idle keep-alive connection is closed (silently) after this time. 0 = off. @default 5000 */
  keepAliveTimeoutMs?: number;
  /** Head and body of one request must arrive within this time, else 408 (or close) . 0 = off. @default 30000 */
  requestTimeoutMs?: number;
  /** A response that makes no write progress for this long has its connection destroyed. 0 = off. @default 60000 */
  sendTimeoutMs?: number;
  /** Requests read ahead of their responses (pipelining) before reading pauses. @default 16 */
  maxPipelined?: number;
  /** Unread request body discarded to keep a connection open; more closes it. @default 1048576 */
  drainLimit?: number;
  /** How often deadlines are checked; they fire up to this late. @default min(1000, smallest timeout / 4), at least 10 */
  tickMs?: number;
  /** PEM certificate and key: serve HTTPS. @default undefined (plain HTTP) */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * With `tls`: also offer HTTP/2 by ALPN (`h2`, then `http/1.1`); a socket that negotiated h2
   * is handed to this function (see h2/adapter.ts) instead of an HTTP/1.1 connection.
   * @default undefined (HTTP/1.1 only)
   */
  onH2?: (socket: TLSSocket) => void;
  /** `--pcap`: each accepted plain-TCP socket is shown to it. @default undefined (no capture, no cost) */
  capture?: H1Capture;
}

/** Counters of a running server. */
export interface H1Totals {
  /** Open connections now. */
  connections: number;
  /** Connections accepted since start. */
  accepted: number;
  /** Responses finished or aborted (one per exchange record). */
  exchanges: number;
  /** Response body bytes written. */
  bytes: number;
  /** Responses that did not complete. */
  aborted: number;
  /** Answers the engine wrote itself (parse errors 4xx/5xx, 408). */
  errorResponses: number;
  /** Handlers that threw or rejected (answered 500). */
  handlerErrors: number;
}

/**
 * Everything the engine reports: an exchange finished or aborted, an answer it wrote itself
 * (a parse error, a 408), a handler that threw (answered 500).
 */
export type H1ServerEvent =
  | { kind: "exchange"; record: ExchangeRecord }
  | { kind: "error-response"; record: ErrorResponseRecord }
  | { kind: "handler-error"; error: unknown; method: string; target: string; remoteAddress: string };

export type H1ServerEvents = { event: [H1ServerEvent] };

export type { H1Capture, H1ConnectionTap } from "./connection.js";

const LINGER_MS = 2000;

/** Whole small responses kept ready per server: at most this many bodies (each ≤ 16 KiB). */
const READY_RESPONSES = 256;

/** Apply the defaults of `H1ServerOptions` (durations of 0 or less mean "off", kept as Infinity). */
export function resolveOptions(options: H1ServerOptions, host: ConnectionHost): ConnectionSettings {
  const ms = (v: number | undefined, d: number): number => (v === undefined ? d : v <= 0 ? Infinity : v);
  return {
    handler: options.handler,
    clock: options.clock ?? systemClock,
    limits: options.maxHeaderSize === undefined ? (options.limits ?? DEFAULT_LIMITS) : { ...(options.limits ?? DEFAULT_LIMITS), maxHeadBytes: options.maxHeaderSize },
    headersTimeoutMs: ms(options.headersTimeoutMs, 10_000),
    keepAliveTimeoutMs: ms(options.keepAliveTimeoutMs, 5_000),
    requestTimeoutMs: ms(options.requestTimeoutMs, 30_000),
    sendTimeoutMs: ms(options.sendTimeoutMs, 60_000),
    maxPipelined: Math.max(1, options.maxPipelined ?? 16),
    drainLimit: options.drainLimit ?? 1024 * 1024,
    lingerMs: LINGER_MS,
    secure: options.tls !== undefined,
    date: new DateField(),
    ready: new ReadyResponses(READY_RESPONSES),
    held: new HeldAnswers(),
    host,
  };
}

/** A listening (or not yet listening) HTTP/1.1 server. */
export class H1Server extends TypedEmitter<H1ServerEvents> implements ConnectionHost {
  readonly server: Server;
  address = "";
  port = 0;
  readonly #settings: ConnectionSettings;
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #capture: H1Capture | undefined;
  readonly #conns = new Set<H1Connection>();
  readonly #totals: H1Totals = { connections: 0, accepted: 0, exchanges: 0, bytes: 0, aborted: 0, errorResponses: 0, handlerErrors: 0 };
  #tick: TimerHandle | undefined;
  #closing: (() => void) | undefined;
  readonly #onTick = (): void => this.#check();

  constructor(options: H1ServerOptions) {
    super();
    this.#settings = resolveOptions(options, this);
    this.#clock = this.#settings.clock;
    const st = this.#settings;
    const smallest = Math.min(st.headersTimeoutMs, st.keepAliveTimeoutMs, st.requestTimeoutMs, st.sendTimeoutMs);
    this.#capture = options.capture;
    this.#tickMs = options.tickMs ?? Math.max(10, Math.min(1000, Math.floor(smallest / 4)));
    const onH2 = options.onH2;
    const onSocket = (socket: Socket): void => {
      if (onH2 !== undefined && socket instanceof TLSSocket && socket.alpnProtocol === "h2") onH2(socket);
      else this.#accept(socket);
    };
    this.server = options.tls
      ? createTlsServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            // A client that goes away mid-handshake must not leave a half-open socket behind,
            // and a stalled handshake is held to the head deadline (slowloris over TLS).
            allowHalfOpen: false,
            handshakeTimeout: Number.isFinite(this.#settings.headersTimeoutMs) ? this.#settings.headersTimeoutMs : 120_000,
            ALPNProtocols: onH2 === undefined ? ["http/1.1"] : ["h2", "http/1.1"],
          },
          onSocket,
        )
      : createNetServer({ allowHalfOpen: true, noDelay: true }, onSocket);
    this.server.on("tlsClientError", (_err: Error, socket: Socket) => socket.destroy());
  }

  /** Bind and listen; resolves with the bound port once listening. */
  async listen(port: number, host = "127.0.0.1"): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(fromSystemError(err, `listen on ${formatHostPort(host, port)}`));
      this.server.once("error", onError);
      this.server.listen(port, host, () => {
        this.server.off("error", onError);
        resolve();
      });
    });
    const a = this.server.address();
    if (a !== null && typeof a === "object") {
      this.address = a.address;
      this.port = a.port;
    }
    return this.port;
  }

  totals(): H1Totals {
    return { ...this.#totals, connections: this.#conns.size };
  }

  /** Stop accepting; close idle connections now, let in-flight responses finish, then resolve. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      let pending = 2;
      const done = (): void => {
        if (--pending === 0) resolve();
      };
      this.#closing = done;
      if (this.server.listening) this.server.close(() => done());
      else done();
      for (const c of [...this.#conns]) c.shutdown();
      if (this.#conns.size === 0) this.#allClosed();
    });
  }

  #accept(socket: Socket): void {
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    const conn = this.#capture === undefined || socket instanceof TLSSocket ? new H1Connection(socket, this.#settings) : new H1Connection(socket, this.#settings, this.#capture.accepted(socket));
    if (socket.destroyed) return;
    this.#conns.add(conn);
    this.#totals.accepted++;
    if (this.#tick === undefined) this.#arm();
  }

  #arm(): void {
    this.#tick = this.#clock.setTimeout(this.#onTick, this.#tickMs);
    this.#tick.unref();
  }

  #check(): void {
    this.#tick = undefined;
    const now = this.#clock.monotonic();
    for (const c of this.#conns) c.check(now);
    if (this.#conns.size > 0) this.#arm();
  }

  #allClosed(): void {
    const done = this.#closing;
    if (done === undefined) return;
    this.#closing = undefined;
    if (this.#tick !== undefined) this.#clock.clearTimeout(this.#tick);
    this.#tick = undefined;
    done();
  }

  // ---- ConnectionHost ----

  exchange(record: ExchangeRecord): void {
    this.#totals.exchanges++;
    this.#totals.bytes += record.bytes;
    if (record.aborted) this.#totals.aborted++;
    this.emit("event", { kind: "exchange", record });
  }

  errorResponse(record: ErrorResponseRecord): void {
    this.#totals.errorResponses++;
    this.emit("event", { kind: "error-response", record });
  }

  handlerError(error: unknown, request: HttpRequest): void {
    this.#totals.handlerErrors++;
    this.emit("event", { kind: "handler-error", error, method: request.method, target: request.target, remoteAddress: request.remoteAddress });
  }

  released(conn: H1Connection): void {
    this.#conns.delete(conn);
    if (this.#conns.size === 0 && this.#closing !== undefined) this.#allClosed();
  }
}

/**
 * Create an HTTP/1.1 server for `handler` (not yet listening).
 *
 * @example
 * const srv = createH1Server({ handler: () => ({ status: 200, headers: [], body: "hi\n" }) });
 * await srv.listen(0);
 * // ... later
 * await srv.close();
 */
export function createH1Server(options: H1ServerOptions): H1Server {
  return new H1Server(options);
}

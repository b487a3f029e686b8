/**
 * Talking to origins: one request over a pooled keep-alive connection (origin-pool.ts), written
 * and read with the project's one HTTP/1.1 client codec (client/request.ts serializes the head,
 * client/response.ts parses the response, as `wirekit http get` does; request bodies go out
 * through h1/send.ts's framing), with an inactivity timeout, a retry when a pooled connection
 * turns out to have been closed by the origin, and origin failures turned into the status a
 * proxy answers with (RFC 9110 §15.6.3 502, §15.6.5 504). Bodies stream both ways with
 * backpressure (`relayBody`).
 */
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { buildRequest, serializeRequestHead } from "../client/request.js";
import { ResponseParser, type ResponseEvent, type ResponseHead } from "../client/response.js";
import { sendStream, type ByteSink } from "../h1/send.js";
import { fieldTokens, isFieldName } from "../header-list.js";
import { WirekitError, type ErrorCode } from "../../core/errors.js";
import type { OriginPool, PooledSocket } from "./origin-pool.js";
import type { OriginTarget } from "./target.js";

/** RFC 9209 error types of origin failures (respond.ts has the proxy's whole list). */
export type OriginErrorType = "dns_error" | "connection_refused" | "connection_timeout" | "http_response_timeout" | "http_response_incomplete" | "destination_unavailable";

/**
 * Why the origin could not be reached, as the proxy reports it: the project's one error class,
 * its context saying the status the proxy answers with (RFC 9110 §15.6.3 502, §15.6.5 504) and
 * the RFC 9209 error type for Proxy-Status.
 */
export type OriginFailure = WirekitError & { readonly context: { readonly status: 502 | 504; readonly errorType: OriginErrorType } };

function failure(code: ErrorCode, status: 502 | 504, errorType: OriginErrorType, message: string): OriginFailure {
  return new WirekitError(code, message, { context: { status, errorType } }) as OriginFailure;
}

/** True for the errors `fetchOrigin` rejects with. */
export function isOriginFailure(err: unknown): err is OriginFailure {
  return err instanceof WirekitError && (err.context.status === 502 || err.context.status === 504) && typeof err.context.errorType === "string";
}

/**
 * Map a socket error to the proxy's answer (pure).
 *
 * @example
 * originFailure("ECONNREFUSED", "", { hostname: "o.test", port: 80 }).context.status // 502
 */
export function originFailure(code: string | undefined, message: string, target: Pick<OriginTarget, "hostname" | "port">): OriginFailure {
  const where = `${target.hostname}:${target.port}`;
  switch (code) {
    case "ECONNREFUSED":
      return failure("ERR_CONNECT", 502, "connection_refused", `connection refused by ${where}`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
    case "EAI_FAIL":
      return failure("ERR_RESOLVE", 502, "dns_error", `DNS lookup failed for ${target.hostname}`);
    case "ECONNRESET":
    case "EPIPE":
      return failure("ERR_CONNECT", 502, "destination_unavailable", `connection reset by ${where}`);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return failure("ERR_CONNECT", 502, "destination_unavailable", `no route to ${where}`);
    case "ETIMEDOUT":
    case "WIREKIT_TIMEOUT":
      return failure("ERR_TIMEOUT", 504, "http_response_timeout", `${where} did not answer in time`);
    case "WIREKIT_MALFORMED":
      return failure("ERR_PROTOCOL", 502, "destination_unavailable", `${where} sent a malformed response`);
    case "WIREKIT_CLOSED":
      return failure("ERR_PROTOCOL", 502, "http_response_incomplete", `${where} closed the connection before a complete response head`);
    default:
      return failure("ERR_TARGET", 502, "destination_unavailable", `${where}: ${message.split("\n")[0] ?? "error"}`);
  }
}

/** An origin's response: the head as received, the body decoded from its framing. */
export interface OriginResponse {
  status: number;
  reason: string;
  /** "HTTP/1.1" */
  version: string;
  /** Fields in order, names as received. */
  headers: Array<[string, string]>;
  /** The body with backpressure; it errors when the origin breaks off. Destroy it to give up. */
  readonly body: Readable;
  /**
   * The whole body, when it came in the same read as the head (a small response): the exchange
   * is over, and `body` is only made (already ended) if it is asked for. `takeWhole` uses it.
   */
  readonly whole?: Buffer | undefined;
}

/** One request to an origin. */
export interface OriginRequestOptions {
  target: OriginTarget;
  method: string;
  /** Fields to send (Host first); Content-Length or Transfer-Encoding: chunked when there is a body. */
  headers: Array<[string, string]>;
  /** Request body to stream (the client's request), or none. */
  body?: Readable;
  /** Origin inactivity timeout, ms. */
  timeoutMs: number;
  pool: OriginPool;
  /** Connect to this address instead of resolving `target.hostname` (it was checked already). */
  address?: string;
  /** Called with each interim (1xx) response head as it arrives. */
  onInterim?: (head: ResponseHead) => void;
}

/** An origin response (the request's head is written, its body being sent). */
export interface OriginExchange {
  response: OriginResponse;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/** The body sender's view of an origin socket. */
function socketSink(sock: Socket): ByteSink {
  return {
    write: (c) => sock.write(c),
    writeFlushed: (c) => new Promise((resolve) => sock.write(c, (err) => resolve(err == null))),
    drained: () =>
      sock.destroyed
        ? Promise.resolve(false)
        : new Promise((resolve) => {
            const done = (ok: boolean) => (): void => {
              sock.off("drain", onDrain).off("close", onClose);
              resolve(ok);
            };
            const onDrain = done(true);
            const onClose = done(false);
            sock.once("drain", onDrain).once("close", onClose);
          }),
    cork: () => sock.cork(),
    uncork: () => sock.uncork(),
    get destroyed() {
      return sock.destroyed;
    },
  };
}

/**
 * Send a request to the origin and resolve with its response head; rejects with an OriginFailure.
 * Returns `abort` at once so a client leaving early can cancel.
 *
 * @example
 * const f = fetchOrigin({ target, method: "GET", headers, timeoutMs: 30_000, pool });
 * const { response } = await f.done;
 */
export function fetchOrigin(o: OriginRequestOptions): { done: Promise<OriginExchange>; abort(): void } {
  let aborted = false;
  let current: Socket | undefined;
  const request = buildRequest({ method: o.method, target: o.target.path, host: o.target.host, headers: o.headers, defaults: [] });
  const head = serializeRequestHead(request);
  const length = o.headers.find(([k]) => isFieldName(k, "content-length"))?.[1];
  const address = { protocol: o.target.protocol === "https:" ? ("https:" as const) : ("http:" as const), host: o.address ?? o.target.hostname, port: o.target.port, servername: o.target.hostname };
  // A free slot gives a connection at once; only a full origin makes the request wait its turn.
  const attempt = (retry: boolean): Promise<OriginExchange> => {
    const now = o.pool.takeNow(address);
    return now !== undefined ? start(now, retry) : o.pool.acquire(address, () => aborted).then((conn) => start(conn, retry));
  };
  const start = (conn: PooledSocket | undefined, retry: boolean): Promise<OriginExchange> => {
    if (conn === undefined) return Promise.reject(failure("ERR_TARGET", 502, "destination_unavailable", aborted ? "client went away" : "the proxy is shutting down"));
    if (aborted) {
      if (conn.reused) o.pool.release(conn);
      else conn.socket.destroy();
      return Promise.reject(failure("ERR_TARGET", 502, "destination_unavailable", "client went away"));
    }
    return exchangeOn(conn, retry);
  };
  const exchangeOn = (conn: PooledSocket, retry: boolean): Promise<OriginExchange> =>
    new Promise((resolve, reject) => {
      const sock = conn.socket;
      current = sock;
      const parser = new ResponseParser(o.method);
      let body: Readable | undefined;
      let response: OriginResponse | undefined;
      let received = 0;
      let sentAll = o.body === undefined;
      let finished = false;
      const cleanup = (): void => {
        conn.events = undefined;
      };
      const fail = (code: string | undefined, message: string): void => {
        if (finished) return;
        finished = true;
        cleanup();
        sock.destroy();
        if (body !== undefined) {
          body.destroy(new Error(message));
          return;
        }
        // A pooled connection the origin closed while idle: try once more on a fresh one.
        if (retry && conn.reused && received === 0 && !aborted && o.body === undefined && IDEMPOTENT.has(o.method)) {
          attempt(false).then(resolve, reject);
          return;
        }
        reject(aborted ? failure("ERR_TARGET", 502, "destination_unavailable", "client went away") : originFailure(code, message, o.target));
      };
      const complete = (viaClose: boolean, inHand = false): void => {
        finished = true;
        cleanup();
        // The exchange is over: a later abort() must not reach the socket (pooled, maybe another's now).
        if (current === sock) current = undefined;
        const r = response as OriginResponse;
        const reusable =
          !viaClose && !aborted && sentAll && parser.buffered === 0 && r.version === "HTTP/1.1" && !fieldTokens(r.headers.find(([k]) => isFieldName(k, "connection"))?.[1]).includes("close");
        if (reusable) o.pool.release(conn);
        else sock.destroy();
        if (!inHand) (body as Readable).push(null);
      };
      const handle = (events: ResponseEvent[], viaClose: boolean): void => {
        for (let i = 0; i < events.length; i++) {
          const e = events[i] as ResponseEvent;
          if (e.kind === "error") return fail(viaClose && body === undefined ? (received === 0 ? "ECONNRESET" : "WIREKIT_CLOSED") : "WIREKIT_MALFORMED", e.reason);
          if (e.kind === "head") {
            if (e.interim) {
              o.onInterim?.(e.head);
              continue;
            }
            const whole = wholeBody(events, i + 1);
            if (whole !== undefined) {
              // The whole response came in this read: no stream (and its ticks) unless asked for.
              response = new WholeResponse(e.head, whole);
              resolve({ response });
              return complete(viaClose, true);
            }
            body = new Readable({ read: () => void (sock.destroyed || sock.resume()) });
            // The consumer gave up on the body: nothing more is read from this connection.
            body.once("close", () => {
              if (!finished) fail(undefined, "body abandoned");
            });
            response = { status: e.head.status, reason: e.head.reason, version: e.head.version, headers: e.head.headers, body };
            resolve({ response });
          } else if (e.kind === "body") {
            if (body !== undefined && !body.destroyed && !body.push(e.data)) sock.pause();
          } else if (e.kind === "end") return complete(viaClose);
        }
      };
      // The pool's listeners on the socket pass its events here while this exchange has it.
      conn.events = {
        data: (d) => {
          received += d.length;
          handle(parser.push(d), false);
        },
        end: () => handle(parser.end(), true),
        close: () => handle(parser.end(), true),
        error: (err) => fail(err.code, err.message),
        timeout: () => fail("WIREKIT_TIMEOUT", "origin timeout"),
      };
      // The inactivity timer stays on the socket between exchanges (an idle socket's timeout is
      // nobody's: the pool ignores it); this exchange's write below restarts it. Arming it again
      // per exchange made a timer and a bound function each time.
      if (sock.timeout !== o.timeoutMs) sock.setTimeout(o.timeoutMs);
      if (conn.reused) sock.resume();
      sock.write(head, "latin1");
      if (o.body !== undefined) {
        const n = length === undefined ? undefined : Number(length);
        void sendStream(socketSink(sock), o.body, n === undefined ? { kind: "chunked" } : { kind: "length", length: n }).then((r) => {
          if (r.complete) sentAll = true;
          else if (!finished) fail("ECONNRESET", "request body incomplete");
        });
      }
    });
  return {
    done: attempt(true),
    abort() {
      aborted = true;
      current?.destroy();
    },
  };
}

/** Where a relayed body goes (the client's reply): a writable with 'drain' and 'close'. */
export interface RelayTarget {
  write(chunk: Buffer): boolean;
  /** True once the whole response was delivered ('close' then means done, not gone). */
  readonly writableFinished: boolean;
  once(event: "drain" | "close", fn: () => void): unknown;
  off(event: "close", fn: () => void): unknown;
}

/** Where a relayed body also goes (the cache writer); `write` false = wait for `onDrain`. */
export interface BodySink {
  write(chunk: Buffer): boolean;
  onDrain(fn: () => void): void;
}

/**
 * Stream `from` into `to` (and `tee`, if any) with backpressure on both: the source pauses
 * while either destination is full. Resolves true when the source ended normally, false if
 * it broke off or the destination closed first. `onChunk` counts bytes. With `hold`, the chunk
 * that completes `hold.length` bytes is not written but left in `hold.last`.
 *
 * @example
 * const ok = await relayBody(originResponse, clientResponse, cacheWriter, (n) => (bytes += n));
 */
export function relayBody(from: Readable, to: RelayTarget, tee: BodySink | undefined, onChunk: (n: number) => void, hold?: { length: number; last?: Buffer }): Promise<boolean> {
  let seen = 0;
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      from.off("data", onData);
      to.off("close", onClose);
      resolve(ok);
    };
    let waiting = 0;
    const resume = (): void => {
      waiting--;
      if (waiting === 0 && !done) from.resume();
    };
    const onData = (chunk: Buffer): void => {
      onChunk(chunk.length);
      seen += chunk.length;
      // The final chunk of a Content-Length body is held back when asked, so the caller can
      // finish storing before the client sees the response complete.
      const held = hold !== undefined && seen === hold.length;
      if (held) hold.last = chunk;
      const a = held ? true : to.write(chunk);
      const b = tee === undefined ? true : tee.write(chunk);
      if (!a || !b) {
        from.pause();
        if (!a) {
          waiting++;
          to.once("drain", resume);
        }
        if (!b && tee !== undefined) {
          waiting++;
          tee.onDrain(resume);
        }
      }
    };
    const onClose = (): void => {
      if (!to.writableFinished) {
        from.destroy();
        finish(false);
      }
    };
    from.on("data", onData);
    from.once("end", () => finish(true));
    from.once("error", () => finish(false));
    from.once("aborted", () => finish(false));
    from.once("close", () => {
      if (!from.readableEnded) finish(false);
    });
    to.once("close", onClose);
  });
}

/**
 * The whole body of `length` bytes when it is already buffered in `from` (it came in the same
 * reads as the head, as a small response does): taken at once, so the caller can answer without
 * waiting for stream events, and head and body go to the client in one write. Undefined (and
 * nothing taken) otherwise.
 *
 * @example
 * const body = takeBuffered(originResponse, 1024); // a Buffer of 1024 bytes, or undefined
 */
export function takeBuffered(from: Readable, length: number): Buffer | undefined {
  if (!Number.isSafeInteger(length) || length <= 0 || from.readableLength !== length || from.readableFlowing === true || from.destroyed) return undefined;
  const got: unknown = from.read(length);
  if (!Buffer.isBuffer(got) || got.length !== length) return undefined;
  // Let the stream finish ('end', then 'close') once the origin's end arrives (or now, if it has).
  from.resume();
  return got;
}

/** The body events from `from` on, when they end the response: the whole body (one buffer). */
function wholeBody(events: readonly ResponseEvent[], from: number): Buffer | undefined {
  const parts: Buffer[] = [];
  for (let i = from; i < events.length; i++) {
    const e = events[i] as ResponseEvent;
    if (e.kind === "body") parts.push(e.data);
    else if (e.kind === "end") return parts.length === 1 ? parts[0] : Buffer.concat(parts);
    else return undefined;
  }
  return undefined;
}

/**
 * A response whose whole body came with its head: its `body` stream is made only if asked for.
 * (A class, not an object literal with a getter: V8 builds such a literal in its slow,
 * dictionary form, at a cost of microseconds per miss.)
 */
class WholeResponse implements OriginResponse {
  status: number;
  reason: string;
  version: string;
  headers: Array<[string, string]>;
  readonly whole: Buffer;
  #made: Readable | undefined;

  constructor(head: ResponseHead, whole: Buffer) {
    this.status = head.status;
    this.reason = head.reason;
    this.version = head.version;
    this.headers = head.headers;
    this.whole = whole;
  }

  get body(): Readable {
    return (this.#made ??= endedStream(this.whole));
  }
}

/** A stream that has `bytes` and has ended (a whole body read as a stream). */
function endedStream(bytes: Buffer): Readable {
  const r = new Readable({ read: () => undefined });
  if (bytes.length > 0) r.push(bytes);
  r.push(null);
  return r;
}

/**
 * The whole body of `length` bytes when it is already in hand: the response's `whole`, or what
 * `takeBuffered` takes from its stream. Undefined (and nothing taken) otherwise.
 *
 * @example
 * const body = takeWhole(originResponse, 1024); // a Buffer of 1024 bytes, or undefined
 */
export function takeWhole(from: { readonly whole?: Buffer | undefined; readonly body: Readable }, length: number): Buffer | undefined {
  if (from.whole !== undefined) return Number.isSafeInteger(length) && length > 0 && from.whole.length === length ? from.whole : undefined;
  return takeBuffered(from.body, length);
}

/** What `collectBody` read before it stopped. */
export interface CollectedBody {
  /** "end": the whole body; "broken": the source broke off; "over": more than the limit is coming. */
  outcome: "end" | "broken" | "over";
  chunks: Buffer[];
  length: number;
}

/**
 * Read `from` into memory (and `tee`) until it ends, breaks off, or exceeds `limit` bytes; in
 * the last case `from` is left paused after the chunk that went over, for `relayBody` to go on
 * (call `from.resume()` after starting it). The tee must take every write without backpressure
 * up to `limit` (the cache writer does while it holds the body in memory).
 *
 * @example
 * const got = await collectBody(originResponse, 256 * 1024, writer, (n) => (bytes += n));
 */
export function collectBody(from: Readable, limit: number, tee: BodySink | undefined, onChunk: (n: number) => void): Promise<CollectedBody> {
  const got: CollectedBody = { outcome: "end", chunks: [], length: 0 };
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: CollectedBody["outcome"]): void => {
      if (done) return;
      done = true;
      // The other listeners stay: an 'error' after 'aborted' must still find one.
      from.off("data", onData);
      got.outcome = outcome;
      resolve(got);
    };
    const onData = (chunk: Buffer): void => {
      onChunk(chunk.length);
      got.chunks.push(chunk);
      got.length += chunk.length;
      tee?.write(chunk);
      if (got.length > limit) {
        from.pause();
        finish("over");
      }
    };
    from.on("data", onData);
    from.once("end", () => finish("end"));
    from.once("error", () => finish("broken"));
    from.once("aborted", () => finish("broken"));
    from.once("close", () => {
      if (!from.readableEnded) finish("broken");
    });
  });
}

/**
 * HTTP/2 for wirekit's servers: `node:http2` does the framing (RFC 9113), and each stream is
 * turned into the same `HttpRequest` the HTTP/1.1 engine builds, answered by the same
 * `HttpHandler`. The TLS listener negotiates the protocol by ALPN (`h2`, then `http/1.1`) and
 * hands an `h2` socket to `H2Sessions.accept()`; HTTP/1.1 sockets go to the h1 engine.
 */
import { createServer, constants, type Http2Server, type ServerHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import { Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import { systemClock, type Clock } from "../../core/clock.js";
import type { HeaderList } from "../header-list.js";
import type { ExchangeControl, HttpHandler, HttpRequest, HttpResponse } from "../h1/types.js";
import { isFileBody, releaseFile } from "../h1/send.js";

/** One finished or aborted HTTP/2 exchange, the shape the h1 engine reports too. */
export interface H2Exchange {
  method: string;
  target: string;
  status: number;
  bytes: number;
  durationMs: number;
  remoteAddress: string;
  aborted: boolean;
  /** `HttpResponse.user`. */
  user?: string | undefined;
}

export interface H2Options {
  handler: HttpHandler;
  clock?: Clock;
  /** Called once per exchange (access log, totals). */
  onExchange?: (exchange: H2Exchange) => void;
  /** Called when the handler throws (the client gets 500). */
  onHandlerError?: (error: unknown, request: HttpRequest) => void;
  /** Idle session timeout. @default 5000 */
  idleTimeoutMs?: number;
}

/** Field names HTTP/2 forbids in a response (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** Request pseudo-headers become the request line; regular fields keep their order. */
function requestFields(headers: IncomingHttpHeaders, raw: string[]): { list: Array<[string, string]>; authority: string | undefined } {
  const list: Array<[string, string]> = [];
  let authority: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? "";
    const value = raw[i + 1] ?? "";
    if (name === ":authority") authority = value;
    else if (!name.startsWith(":")) list.push([name, value]);
  }
  // HTTP/2 carries the host as :authority; handlers read Host, as on HTTP/1.1 (RFC 9113 §8.3.1).
  if (authority !== undefined && headers.host === undefined) list.unshift(["host", authority]);
  return { list, authority };
}


function isAsyncIterable(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

function responseHeaders(response: HttpResponse): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { [constants.HTTP2_HEADER_STATUS]: response.status };
  for (const [name, value] of response.headers) {
    const lower = name.toLowerCase();
    if (CONNECTION_SPECIFIC.has(lower)) continue;
    const prev = out[lower];
    if (prev === undefined) out[lower] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[lower] = [String(prev), value];
  }
  return out;
}

/** The HTTP/2 side of a server: accepts negotiated sockets and runs the handler per stream. */
export class H2Sessions {
  readonly #server: Http2Server;
  readonly #options: H2Options;
  readonly #clock: Clock;
  readonly #sockets = new Set<TLSSocket>();

  constructor(options: H2Options) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#server = createServer({ settings: { enableConnectProtocol: false } });
    this.#server.setTimeout(options.idleTimeoutMs ?? 5000);
    this.#server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
      void this.#serve(stream, headers, raw);
    });
    this.#server.on("sessionError", () => undefined);
    this.#server.on("timeout", () => undefined);
  }

  /** Hand over a TLS socket whose ALPN protocol is `h2`. */
  accept(socket: TLSSocket): void {
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
    this.#server.emit("connection", socket);
  }

  /** Open HTTP/2 connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Ends every session (GOAWAY) and destroys what is left after `graceMs`. */
  async close(graceMs = 1000): Promise<void> {
    for (const s of this.#sockets) s.end();
    if (this.#sockets.size === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        for (const s of this.#sockets) s.destroy();
        resolve();
      }, graceMs);
      t.unref();
      const check = (): void => {
        if (this.#sockets.size === 0) {
          clearTimeout(t);
          resolve();
        }
      };
      for (const s of this.#sockets) s.once("close", () => setImmediate(check));
    });
  }

  async #serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[]): Promise<void> {
    const started = this.#clock.now();
    const socket = stream.session?.socket as TLSSocket | undefined;
    const method = String(headers[constants.HTTP2_HEADER_METHOD] ?? "GET");
    const target = String(headers[constants.HTTP2_HEADER_PATH] ?? "/");
    const { list } = requestFields(headers, raw);
    const controller = new AbortController();
    const trailers: Array<[string, string]> = [];
    stream.once("trailers", (t: IncomingHttpHeaders) => {
      for (const [k, v] of Object.entries(t)) if (v !== undefined) trailers.push([k, Array.isArray(v) ? v.join(", ") : String(v)]);
    });
    const request: HttpRequest = {
      method,
      target,
      version: "2",
      headers: list,
      body: stream,
      trailers,
      remoteAddress: socket?.remoteAddress ?? "",
      remotePort: socket?.remotePort ?? 0,
      localAddress: socket?.localAddress ?? "",
      localPort: socket?.localPort ?? 0,
      secure: true,
      signal: controller.signal,
      receivedAt: started,
    };
    let bytes = 0;
    let status = 0;
    let aborted = false;
    stream.once("close", () => {
      if (!stream.writableFinished) aborted = true;
      controller.abort();
    });
    const control: ExchangeControl = {
      sendInterim: (code, fields?: HeaderList) => {
        const h: OutgoingHttpHeaders = { [constants.HTTP2_HEADER_STATUS]: code };
        for (const [k, v] of fields ?? []) h[k.toLowerCase()] = v;
        stream.additionalHeaders(h);
      },
      takeover: () => {
        throw new Error("takeover is not available on HTTP/2");
      },
    };
    let response: HttpResponse;
    try {
      response = await this.#options.handler(request, control);
    } catch (err) {
      this.#options.onHandlerError?.(err, request);
      response = { status: 500, headers: [["content-type", "text/plain; charset=utf-8"]], body: "500 Internal Server Error\n" };
    }
    status = response.status;
    const user = response.user;
    const noBody = method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
    const body = response.body;
    try {
      if (stream.destroyed) {
        aborted = true;
        if (isFileBody(body)) releaseFile(body);
        else if (body instanceof Readable) body.destroy();
        return;
      }
      const head = responseHeaders(response);
      if (noBody || body === undefined) {
        if (isFileBody(body)) releaseFile(body);
        else if (body instanceof Readable) body.destroy();
        stream.respond(head, { endStream: true });
      } else if (typeof body === "string" || body instanceof Uint8Array || (isFileBody(body) && body.bytes !== undefined)) {
        // A cached file's bytes are already in memory: no descriptor read for HTTP/2.
        let buf: Uint8Array;
        if (typeof body === "string") buf = Buffer.from(body);
        else if (body instanceof Uint8Array) buf = body;
        else {
          buf = body.bytes as Uint8Array;
          releaseFile(body);
        }
        head[constants.HTTP2_HEADER_CONTENT_LENGTH] ??= buf.length;
        stream.respond(head);
        bytes = buf.length;
        stream.end(buf);
      } else if (isFileBody(body)) {
        head[constants.HTTP2_HEADER_CONTENT_LENGTH] ??= body.length;
        bytes = body.length;
        stream.respondWithFD(body.fd, head, { offset: body.start, length: body.length });
        stream.once("close", () => releaseFile(body));
      } else {
        stream.respond(head);
        const source = body instanceof Readable ? body : Readable.from(isAsyncIterable(body) ? body : []);
        source.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
        });
        source.once("error", () => stream.destroy());
        stream.once("close", () => source.destroy());
        source.pipe(stream);
      }
      await new Promise<void>((resolve) => stream.once("close", () => resolve()));
    } finally {
      this.#options.onExchange?.({
        method,
        target,
        status,
        bytes,
        durationMs: this.#clock.now() - started,
        remoteAddress: request.remoteAddress,
        aborted,
        user,
      });
    }
  }
}

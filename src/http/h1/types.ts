/**
 * The request → response contract of wirekit's HTTP servers. The HTTP/1.1 engine (h1/) and the
 * HTTP/2 adapter build an `HttpRequest` from the wire and write back the `HttpResponse` a
 * handler returns; handlers (the static file server, the proxy) see neither sockets nor parsers,
 * so they are tested by calling them. Types only.
 */
import type { Readable } from "node:stream";
import type { Socket } from "node:net";
import type { HeaderList } from "../header-list.js";
import type { FieldLines } from "./head.js";

/** "1.0" and "1.1" come from the HTTP/1.1 engine, "2" from the HTTP/2 adapter. */
export type HttpVersion = "1.0" | "1.1" | "2";

/** One parsed request as a handler sees it. */
export interface HttpRequest {
  /** Method token as sent (case-sensitive, RFC 9110 §9.1). */
  readonly method: string;
  /** Request target exactly as sent: origin-form, absolute-form, authority-form (CONNECT) or "*". */
  readonly target: string;
  readonly version: HttpVersion;
  /** Header fields in the order and case received. Use `getField()` from header-list.ts to read one. */
  readonly headers: HeaderList;
  /**
   * The request body, decoded from Content-Length or chunked framing, with backpressure.
   * Empty (ends at once) when the request has none. A handler that does not read it has it
   * drained by the engine (or the connection closed if it is too large).
   */
  readonly body: Readable;
  /** Trailer fields of a chunked body, filled in once `body` has ended. */
  readonly trailers: HeaderList;
  /** Peer address and port, known from when the connection opened (kept after it closes). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Local address and port the request arrived on. */
  readonly localAddress: string;
  readonly localPort: number;
  /** True over TLS. */
  readonly secure: boolean;
  /** Aborted when the client goes away or the engine gives up on the exchange. */
  readonly signal: AbortSignal;
  /**
   * Call `fn` once when `signal` aborts (at once, in a microtask, if it has): the same moment,
   * without making an AbortController for every exchange (HTTP/1.1; absent on HTTP/2).
   */
  onAbort?(fn: () => void): void;
  /** Monotonic time (Clock.now) when the head was complete. */
  readonly receivedAt: number;
}

/** A byte range of an open file, sent by sendfile(2) where the engine can, else streamed. */
export interface FileBody {
  readonly kind: "file";
  /** An open file descriptor; the engine closes it when `close` is true (default). */
  readonly fd: number;
  /** First byte offset. */
  readonly start: number;
  /** Number of bytes; exactly this many are sent (the connection closes if the file has fewer). */
  readonly length: number;
  readonly close?: boolean;
  /**
   * The same `length` bytes in memory (a cached file): a sender that cannot hand the descriptor
   * to the kernel (TLS, HTTP/2, a busy socket) writes these instead of reading the file.
   */
  readonly bytes?: Uint8Array;
  /** Called once when the sender no longer needs `fd` (sent, failed or dropped), after closing it if `close`. */
  readonly onDone?: () => void;
}

/**
 * A response body:
 * - undefined: no body (HEAD, 204, 304 never carry one, whatever is given);
 * - string / Uint8Array: sent as is (with the head in one write when small);
 * - FileBody: a file range;
 * - Readable or AsyncIterable: streamed with backpressure.
 */
export type HttpBody = string | Uint8Array | FileBody | Readable | AsyncIterable<Uint8Array> | undefined;

/** What a handler returns. */
export interface HttpResponse {
  readonly status: number;
  /** Reason phrase; the standard one for `status` when omitted. */
  readonly reason?: string;
  /**
   * Header fields as sent. The engine adds `Date`, and `Content-Length` when the body's
   * length is known and none is given, or chunked framing (HTTP/1.1) when it is not; it adds
   * `Connection: close` when it will close.
   */
  readonly headers: HeaderList;
  /**
   * `headers` already checked and serialized for `status` (h1/head.ts FieldLines): the HTTP/1.1
   * engine writes these lines without checking each field again. Ignored unless made from this
   * very list.
   */
  readonly fieldLines?: FieldLines;
  readonly body?: HttpBody;
  /** Close the connection after this response. */
  readonly close?: boolean;
  /**
   * The body's bytes and the (frozen) header list are never changed by anyone: the engine may
   * keep the whole serialized response and write it again for the same pair (h1/ready-responses.ts).
   */
  readonly immutable?: boolean;
  /** Who the request authenticated as, for the access log (never a password; not sent). */
  readonly user?: string;
}

/** What a handler may do besides returning a response. */
export interface ExchangeControl {
  /** Send a 1xx interim response (100 Continue is sent by the engine itself when the handler reads the body). */
  sendInterim(status: number, headers?: HeaderList): void;
  /**
   * Take the raw socket over (CONNECT tunnels, upgrades). The engine writes nothing more and
   * stops reading; `head` is whatever it had already read past this request.
   * Only on HTTP/1.x; throws on HTTP/2.
   */
  takeover(): { socket: Socket; head: Buffer };
}

/** A request handler: the static server and the proxy are both one. A throw becomes 500. */
export type HttpHandler = (request: HttpRequest, control: ExchangeControl) => HttpResponse | Promise<HttpResponse>;

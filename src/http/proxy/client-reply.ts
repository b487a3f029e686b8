/**
 * The proxy's answer to one client request, written as a proxy produces it (a head, then body
 * bytes as they come from the origin or the disk) and handed to the HTTP/1.1 engine (h1/) as
 * the one `HttpResponse` a handler returns: a whole body in one piece when `end` comes before
 * any `write`, else an async iterable the engine pulls from, with backpressure (each pull means
 * the previous chunk went to the socket). `close` fires once: when the engine has written
 * the response (`writableFinished`), or earlier when the client goes away.
 */
import { isFieldName, type HeaderList } from "../header-list.js";
import { WirekitError } from "../../core/errors.js";
import { FieldLines, isValidField } from "../h1/head.js";
import type { HttpRequest, HttpResponse } from "../h1/types.js";

/** Body bytes queued for the engine before `write` asks the caller to wait for 'drain'. */
const HIGH_WATER = 64 * 1024;

/** The body queue between the proxy and the engine. */
class ReplyBody implements AsyncIterable<Uint8Array> {
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #wantDrain = false;
  readonly #onDrain: () => void;

  constructor(onDrain: () => void) {
    this.#onDrain = onDrain;
  }

  get done(): boolean {
    return this.#ended || this.#failure !== undefined;
  }

  push(chunk: Buffer): boolean {
    if (this.done) return true;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    this.#kick();
    if (this.#queued < HIGH_WATER) return true;
    this.#wantDrain = true;
    return false;
  }

  end(): void {
    this.#ended = true;
    this.#kick();
  }

  /** End with an error once the queued bytes are taken: the engine closes the connection. */
  fail(err: Error): void {
    if (this.#failure === undefined && !this.#ended) this.#failure = err;
    this.#kick();
  }

  /** Nothing will take the queued bytes any more. */
  drop(): void {
    this.#queue.length = 0;
    this.#queued = 0;
    this.fail(new Error("client gone"));
  }

  #kick(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const c = this.#queue.shift();
      if (c !== undefined) {
        this.#queued -= c.length;
        if (this.#wantDrain && this.#queued < HIGH_WATER) {
          this.#wantDrain = false;
          this.#onDrain();
        }
        yield c;
        continue;
      }
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

/** Response fields checked once by checkFields: a deeply frozen list (the engine keeps its serialization too). */
export interface CheckedFields {
  readonly list: HeaderList;
  /** The fields ask to close the connection. */
  readonly close: boolean;
}

/**
 * Check flat `[name, value, ...]` fields as a response may carry them: every field writable as
 * is, one Content-Length of digits only (RFC 9110 §8.6). Throws ERR_PROTOCOL otherwise, so a
 * relayed origin field can never split the response.
 *
 * @example
 * checkFields(["Content-Type", "text/plain", "Content-Length", "2"]).list // [["Content-Type", "text/plain"], ...]
 */
export function checkFields(fields: readonly string[]): CheckedFields {
  const list: Array<readonly [string, string]> = [];
  let close = false;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    if (!isValidField(name, value)) throw new WirekitError("ERR_PROTOCOL", `invalid field ${JSON.stringify(name)}`);
    list.push(Object.freeze([name, value] as const));
    if (isFieldName(name, "connection") && /(^|,)\s*close\s*(,|$)/i.test(value)) close = true;
  }
  checkLength(list);
  return { list: Object.freeze(list), close };
}

/** One Content-Length, of digits only (RFC 9110 §8.6); repeated, the very same value. Throws ERR_PROTOCOL. */
function checkLength(list: HeaderList): void {
  let length: string | undefined;
  for (let i = 0; i < list.length; i++) {
    const field = list[i] as readonly [string, string];
    if (!isFieldName(field[0], "content-length")) continue;
    const v = field[1].trim();
    if (!/^\d{1,15}$/.test(v) || (length !== undefined && length !== v)) throw new WirekitError("ERR_PROTOCOL", "invalid Content-Length");
    length = v;
  }
}

/**
 * @example
 * const res = new ClientReply(request);
 * res.writeHead(200, ["Content-Type", "text/plain", "Content-Length", "2"]);
 * res.end(Buffer.from("ok"));
 */
export class ClientReply {
  /** writeHead was called. */
  headersSent = false;
  statusCode = 0;
  /** The engine wrote the whole response. */
  writableFinished = false;
  /** Whether a head had been given when `close` fired (false: the client left unanswered). */
  answeredAtClose = false;
  /** The response, once the handler can hand it over (undefined while it is still being made). */
  settled: HttpResponse | undefined;
  #response: Promise<HttpResponse> | undefined;
  #reason: string | undefined;
  #headers: HeaderList = [];
  /** writeHead's fields as the engine will write them (checked there, once). */
  #lines: FieldLines | undefined;
  #close = false;
  #stream: ReplyBody | undefined;
  #resolve: ((r: HttpResponse) => void) | undefined;
  #closed = false;
  readonly #discard: boolean;
  /** Who waits for 'drain' (a streamed body; a hit or a small miss never does). */
  #onDrain: Array<() => void> | undefined;
  /** Who waits for 'close' (every miss: its origin request is cancelled if the client leaves). */
  #onClose: Array<() => void> | undefined;
  /** The client's request, until its going away is watched. */
  #request: Pick<HttpRequest, "signal" | "onAbort"> | undefined;

  /**
   * @param request the client's request, whose abort (the client went away) ends the reply
   * @param discard a reply nobody reads (a background revalidation): body bytes are dropped
   */
  constructor(request: Pick<HttpRequest, "signal" | "onAbort"> | undefined, discard = false) {
    this.#discard = discard;
    this.#request = request;
  }

  /** Call `fn` once on 'drain' (queued body bytes went below the mark) or 'close' (see `finish`). */
  once(event: "drain" | "close", fn: () => void): this {
    if (event === "close") {
      this.#watchClient();
      (this.#onClose ??= []).push(fn);
    } else (this.#onDrain ??= []).push(fn);
    return this;
  }

  off(event: "drain" | "close", fn: () => void): this {
    const list = event === "drain" ? this.#onDrain : this.#onClose;
    const i = list?.lastIndexOf(fn) ?? -1;
    if (i !== -1) list?.splice(i, 1);
    return this;
  }

  /**
   * The client's going away is only watched once someone waits for 'close', and by the
   * engine's callback where it has one (no AbortController).
   */
  #watchClient(): void {
    const request = this.#request;
    if (request === undefined) return;
    this.#request = undefined;
    const gone = (): void => this.finish(false);
    if (request.onAbort !== undefined) return request.onAbort(gone);
    const s = request.signal;
    if (s.aborted) queueMicrotask(gone);
    else s.addEventListener("abort", gone, { once: true });
  }

  /**
   * Set the status and fields. Throws ERR_PROTOCOL (nothing is sent) when a field could not be
   * written as is, so a relayed origin field cannot split the response. The fields are checked
   * and serialized by the engine's own writer (FieldLines), once: a head written once (a miss's)
   * is neither checked again by the engine nor frozen (the engine memoizes frozen lists' heads,
   * which only pays for lists it sees again, as a hit's checkFields are).
   */
  writeHead(status: number, reason?: string | readonly string[], flat?: readonly string[]): this {
    const fields = typeof reason === "string" || reason === undefined ? (flat ?? []) : reason;
    const list: Array<readonly [string, string]> = [];
    for (let i = 0; i + 1 < fields.length; i += 2) list.push([fields[i] as string, fields[i + 1] as string]);
    const lines = new FieldLines(list, status);
    checkLength(list);
    this.#setHead(status, typeof reason === "string" ? reason : undefined, list, lines.close);
    this.#lines = lines;
    return this;
  }

  /** Set the status and fields already checked by `checkFields` (a cached hit's, reused as they are). */
  writeChecked(status: number, reason: string | undefined, fields: CheckedFields): this {
    this.#setHead(status, reason, fields.list, fields.close);
    this.#lines = undefined;
    return this;
  }

  #setHead(status: number, reason: string | undefined, list: HeaderList, close: boolean): void {
    this.statusCode = status;
    this.#reason = reason !== undefined && reason !== "" ? reason : undefined;
    this.#headers = list;
    if (close) this.#close = true;
    this.headersSent = true;
  }

  /** The response once the handler hands it over; made only when asked (a hit answered at once never needs it). */
  get response(): Promise<HttpResponse> {
    if (this.#response === undefined) {
      const settled = this.settled;
      this.#response = settled !== undefined ? Promise.resolve(settled) : new Promise((resolve) => (this.#resolve = resolve));
    }
    return this.#response;
  }

  /** `close` has fired (the client left, or the engine finished with the response). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Body bytes; false when the caller should wait for 'drain'. */
  write(chunk: Buffer): boolean {
    if (this.#discard) return true;
    return this.#open().push(chunk);
  }

  /**
   * The last body bytes (or none): the response is complete.
   * @param immutable the bytes and the checked fields are a stored entry's, which never change
   *   (the engine may keep the whole answer ready for the next hit)
   */
  end(chunk?: Buffer, immutable = false): void {
    if (this.#discard) chunk = undefined;
    if (this.#stream === undefined && this.settled === undefined) {
      this.#settle(chunk === undefined || chunk.length === 0 ? undefined : chunk, immutable);
      return;
    }
    const s = this.#stream;
    if (s === undefined) return;
    if (chunk !== undefined && chunk.length > 0) s.push(chunk);
    s.end();
  }

  /**
   * Give up: the response is cut off and the connection closes. What was written still goes
   * out first (a short body is relayed as far as it came, then the connection closes).
   */
  destroy(): void {
    if (!this.headersSent) this.writeHead(502, undefined, ["Content-Length", "0"]);
    this.#open().fail(new Error("response abandoned"));
  }

  /** The engine is done with this response (written whole, or not), or the client left. */
  finish(whole: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.answeredAtClose = this.headersSent;
    this.writableFinished = whole;
    if (!whole) this.#stream?.drop();
    const waiting = this.#onClose;
    this.#onClose = undefined;
    callOnce(waiting);
  }

  #open(): ReplyBody {
    if (this.#stream !== undefined) return this.#stream;
    const s = new ReplyBody(() => {
      const waiting = this.#onDrain;
      this.#onDrain = undefined;
      callOnce(waiting);
    });
    this.#stream = s;
    this.#settle(s);
    return s;
  }

  #settle(body: HttpResponse["body"], immutable = false): void {
    const r: HttpResponse = { status: this.statusCode === 0 ? 500 : this.statusCode, reason: this.#reason, headers: this.#headers, fieldLines: this.#lines, body, close: this.#close, immutable };
    this.settled = r;
    this.#resolve?.(r);
  }
}

/** Call each of `fns` (the waiters of one event, already taken off their list). */
function callOnce(fns: ReadonlyArray<() => void> | undefined): void {
  if (fns !== undefined) for (const fn of fns) fn();
}

/**
 * `H1Connection`: one HTTP/1.1 connection (RFC 9112) from first byte to close. It accumulates
 * head bytes for the pure parser (parse.ts), feeds request bodies with backpressure, runs the
 * handler for each request as soon as its head is in (pipelining), and writes the responses
 * strictly in request order (an answer the handler returns synchronously waits for the end of
 * the poll phase, held-answers.ts, so the server reads every ready request before it writes).
 * It owns no timers: the server's coarse tick calls `check(now)`, which compares the
 * connection's deadlines (head, idle, request, send progress, linger).
 *
 * Over 300 lines because the read side, the write side and the deadlines share one state
 * machine; the pure parts live in head.ts and parse.ts, the body senders in send.ts.
 */
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import type { Clock } from "../../core/clock.js";
import { WirekitError } from "../../core/errors.js";
import type { HeaderList } from "../header-list.js";
import { getField } from "../header-list.js";
import { ChunkedDecoder, parseRequestHead, type Framing, type ParseLimits, type RequestHead } from "./parse.js";
import type { HttpHandler, HttpResponse, HttpRequest } from "./types.js";
import { H1Exchange, type ExchangeOwner, type PeerInfo } from "./exchange.js";
import { RequestBody, type BodySource } from "./request-body.js";
import { encodeErrorResponse, encodeHead, encodeInterim, type DateField, type EncodedHead } from "./head.js";
import type { ReadyResponses } from "./ready-responses.js";
import type { HeldAnswers, HeldAnswerTaker } from "./held-answers.js";
import { disposeBody, isFileBody, releaseFile, sendFile, sendFileZeroCopy, sendStream, type ByteSink, type SendResult } from "./send.js";
import { fileSender, type FileSender } from "../../core/send-file.js";

/** One finished or abandoned response. */
export interface ExchangeRecord {
  method: string;
  target: string;
  version: "1.0" | "1.1";
  status: number;
  /** Body bytes written. */
  bytes: number;
  /** From the complete head to the last byte handed to the socket, in ms. */
  durationMs: number;
  remoteAddress: string;
  remotePort: number;
  /** The response did not complete (client gone, body failed or ended short). */
  aborted: boolean;
  /** `HttpResponse.user`: who the request authenticated as. */
  user?: string | undefined;
  /** The request this record is for (a handler that keeps per-request state finds it by this). */
  request?: HttpRequest;
}

/** A response the engine wrote itself without calling the handler (parse error, head timeout). */
export interface ErrorResponseRecord {
  status: number;
  reason: string;
  remoteAddress: string;
  remotePort: number;
}

/** Where a connection reports to (the server). */
export interface ConnectionHost {
  exchange(record: ExchangeRecord): void;
  errorResponse(record: ErrorResponseRecord): void;
  handlerError(error: unknown, request: HttpRequest): void;
  /** The connection closed or was taken over; forget it. */
  released(conn: H1Connection): void;
}

/**
 * `--pcap` on a server: told of each accepted socket (it taps the bytes, core/stream-tap.ts's
 * `tapSocket`) and returns what the connection tells it of its decisions.
 */
export interface H1Capture {
  accepted(socket: Socket): H1ConnectionTap;
}

/** What a tapped connection says about the bytes it is about to write. */
export interface H1ConnectionTap {
  /** The next bytes written are the head of `response`, the answer to `request`. */
  response(request: HttpRequest, response: HttpResponse): void;
  /** The next bytes written are the engine's own answer (a parse error, a 408), then it closes. */
  refusal(status: number, reason: string): void;
  /** The socket was handed over for `request` (CONNECT, Upgrade): what follows is its new owner's. */
  takenOver(request: HttpRequest): void;
}

/** Settings shared by every connection of a server (resolved once). Durations in ms, Infinity = off. */
export interface ConnectionSettings {
  handler: HttpHandler;
  clock: Clock;
  limits: ParseLimits;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  requestTimeoutMs: number;
  sendTimeoutMs: number;
  /** Requests parsed ahead of their response before reading pauses. */
  maxPipelined: number;
  /** Unread request body the engine discards to keep the connection; beyond it, it closes. */
  drainLimit: number;
  /** After the last response: how long unread input is discarded before the socket is destroyed. */
  lingerMs: number;
  secure: boolean;
  date: DateField;
  /** Whole responses of immutable small bodies, shared by the server's connections. */
  ready: ReadyResponses;
  /** Responses handlers returned synchronously, written at the end of the poll phase (held-answers.ts). */
  held: HeldAnswers<H1Exchange>;
  host: ConnectionHost;
}

const enum State {
  Head,
  Body,
  /** No more requests are read: an error answer is queued, or the connection will close. */
  Stopped,
  Taken,
  Closed,
}

/**
 * A head plus a body up to this size is copied into one buffer and goes out in one write; a
 * larger body goes as head and body in one corked writev, uncopied (copying 64 KiB in
 * JavaScript per response cost more than the syscall it saved).
 */
const SINGLE_WRITE = 16 * 1024;
const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";
const EMPTY = Buffer.alloc(0);

type Refusal = { kind: "refusal"; status: number; reason: string; text: string };
type Item = H1Exchange | Refusal;

export class H1Connection implements ExchangeOwner, BodySource, ByteSink, HeldAnswerTaker<H1Exchange> {
  readonly #socket: Socket;
  /** --pcap: undefined unless the server captures (one field test per response). */
  readonly #tap: H1ConnectionTap | undefined;
  #fileSender: FileSender | undefined | null = null;
  readonly #s: ConnectionSettings;
  readonly #peer: PeerInfo;
  #state = State.Head;
  #pending: Buffer | null = null;
  /** Bytes of #pending the parser already called incomplete (it skips rescanning them). */
  #seen = 0;
  #processing = false;
  #paused = false;
  #bodyEx: H1Exchange | undefined;
  #remaining = 0;
  #decoder: ChunkedDecoder | undefined;
  #drained = 0;
  /** A CONNECT or Upgrade request: nothing after it is parsed until it is answered (it may take the socket). */
  #holdEx: H1Exchange | undefined;
  #noMore = false;
  #peerEnded = false;
  readonly #queue: Item[] = [];
  #writing = false;
  /** The exchange whose response is on the wire (its body belongs to a sender). */
  #writingEx: H1Exchange | undefined;
  #pumping = false;
  #headStart: number;
  #headDeadline: number;
  #idleDeadline = Infinity;
  #requestDeadline = Infinity;
  #lingerDeadline = Infinity;
  #stallSince = Infinity;
  #lastFlushed = -1;
  #drainWaiter: ((ok: boolean) => void) | undefined;
  readonly #onData = (chunk: Buffer): void => this.#data(chunk);
  readonly #onDrain = (): void => this.#wake(true);
  readonly #onEnd = (): void => this.#end();
  readonly #onClose = (): void => this.#closed();
  readonly #onError = (): void => {};

  constructor(socket: Socket, settings: ConnectionSettings, tap?: H1ConnectionTap) {
    this.#socket = socket;
    this.#tap = tap;
    this.#s = settings;
    this.#peer = {
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? "",
      localPort: socket.localPort ?? 0,
      secure: settings.secure,
    };
    this.#headStart = settings.clock.monotonic();
    this.#headDeadline = this.#headStart + settings.headersTimeoutMs;
    socket.setNoDelay(true);
    socket.on("data", this.#onData);
    socket.on("drain", this.#onDrain);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onClose);
    socket.on("error", this.#onError);
  }

  get remoteAddress(): string {
    return this.#peer.remoteAddress;
  }

  /** No request in progress and nothing queued: closing now loses nothing. */
  get idle(): boolean {
    return this.#state === State.Head && this.#queue.length === 0 && this.#pending === null;
  }

  // ---- read side ----

  #data(chunk: Buffer): void {
    if (this.#state >= State.Stopped) return; // lingering: discard
    this.#pending = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#idleDeadline = Infinity;
    this.#process();
  }

  #process(): void {
    if (this.#processing) return;
    this.#processing = true;
    try {
      while (this.#pending !== null) {
        if (this.#state === State.Body) {
          if (!this.#feedBody()) break;
          continue;
        }
        if (this.#state !== State.Head || this.#holdEx !== undefined || this.#noMore || this.#queue.length >= this.#s.maxPipelined) break;
        const r = parseRequestHead(this.#pending, this.#s.limits, this.#seen);
        if (r.kind === "incomplete") {
          this.#seen = this.#pending.length;
          if (this.#headDeadline === Infinity) {
            this.#headStart = this.#s.clock.monotonic();
            this.#headDeadline = this.#headStart + this.#s.headersTimeoutMs;
          }
          if (this.#pending.length > this.#s.limits.maxHeadBytes) this.#refuse(431, "request head too large");
          break;
        }
        if (r.kind === "error") {
          this.#refuse(r.status, r.reason);
          break;
        }
        if (r.expectUnsupported) {
          this.#refuse(417, "unsupported expectation");
          break;
        }
        this.#pending = r.consumed < this.#pending.length ? this.#pending.subarray(r.consumed) : null;
        this.#seen = 0;
        // A head that arrived whole started now; one that trickled in started at its first byte.
        const startedAt = this.#headDeadline === Infinity ? -1 : this.#headStart;
        this.#headDeadline = Infinity;
        this.#startExchange(r.head, r.framing, r.keepAlive, r.expectContinue, startedAt);
      }
    } finally {
      this.#processing = false;
    }
    this.#flow();
  }

  #startExchange(head: RequestHead, framing: Framing, keepAlive: boolean, expectContinue: boolean, startedAt: number): void {
    const now = this.#s.clock.monotonic();
    const hasBody = framing.kind === "chunked" || (framing.kind === "length" && framing.length > 0);
    const body = hasBody ? new RequestBody(this) : undefined;
    const ex = new H1Exchange(this, this.#peer, head, keepAlive, expectContinue && hasBody, body, now);
    this.#queue.push(ex);
    if (hasBody) {
      this.#state = State.Body;
      this.#bodyEx = ex;
      this.#drained = 0;
      this.#remaining = framing.kind === "length" ? framing.length : 0;
      this.#decoder = framing.kind === "chunked" ? new ChunkedDecoder(this.#s.limits) : undefined;
      this.#requestDeadline = (startedAt < 0 ? now : startedAt) + this.#s.requestTimeoutMs;
    }
    // A tunnel or upgrade may take the socket: what follows its head is not ours to parse.
    if (head.method === "CONNECT" || getField(head.headers, "upgrade") !== undefined) this.#holdEx = ex;
    let result: HttpResponse | Promise<HttpResponse>;
    try {
      result = this.#s.handler(ex, ex);
    } catch (err) {
      this.#failed(ex, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (res) => this.#answered(ex, res),
        (err: unknown) => this.#failed(ex, err),
      );
    } else {
      this.#s.held.hold(this, ex, result);
    }
  }

  /** Push decoded body bytes; false when more input (or a reader) is needed. */
  #feedBody(): boolean {
    const ex = this.#bodyEx as H1Exchange;
    const body = ex.requestBody as RequestBody;
    const pending = this.#pending as Buffer;
    if (this.#paused && !ex.draining) return false;
    if (this.#decoder === undefined) {
      const take = Math.min(this.#remaining, pending.length);
      this.#pending = take < pending.length ? pending.subarray(take) : null;
      this.#remaining -= take;
      this.#deliver(ex, body, take === pending.length ? pending : pending.subarray(0, take));
      if (this.#remaining === 0) this.#endBody(ex, body, undefined);
      return true;
    }
    const r = this.#decoder.push(pending);
    if (r.kind === "error") {
      // A broken chunked body: the exchange gets its response (the handler sees the body fail), then the connection closes.
      this.#noMore = true;
      this.#endBody(ex, body, new WirekitError("ERR_PROTOCOL", `bad chunked request body: ${r.reason}`));
      this.#pending = null;
      return false;
    }
    this.#pending = r.consumed < pending.length ? pending.subarray(r.consumed) : null;
    for (const d of r.data) this.#deliver(ex, body, d);
    if (r.done) {
      ex.trailers = r.trailers ?? [];
      this.#endBody(ex, body, undefined);
      return true;
    }
    return r.consumed > 0 && this.#pending !== null;
  }

  #deliver(ex: H1Exchange, body: RequestBody, data: Buffer): void {
    if (data.length === 0) return;
    if (ex.draining) {
      this.#drained += data.length;
      if (this.#drained > this.#s.drainLimit) this.#giveUpReading();
      return;
    }
    if (!body.push(data)) this.#paused = true;
  }

  #endBody(ex: H1Exchange, body: RequestBody, error: Error | undefined): void {
    body.complete = error === undefined;
    if (error !== undefined) {
      ex.draining = true;
      body.fail(error);
    } else if (!ex.draining) body.push(null);
    this.#bodyEx = undefined;
    this.#decoder = undefined;
    this.#requestDeadline = Infinity;
    this.#paused = false;
    this.#state = this.#noMore ? State.Stopped : State.Head;
    if (this.#noMore) this.#pending = null;
    this.#settle();
  }

  /** Unread body beyond what is worth discarding: read no more, close after the queued responses. */
  #giveUpReading(): void {
    this.#noMore = true;
    this.#state = State.Stopped;
    this.#pending = null;
    this.#bodyEx = undefined;
    this.#requestDeadline = Infinity;
    this.#flow();
    this.#settle();
  }

  bodyWanted(body: RequestBody): void {
    const ex = this.#bodyEx;
    if (ex === undefined || ex.requestBody !== body) return;
    if (ex.expectContinue && !ex.continueSent) this.interim(ex, 100, undefined);
    if (this.#paused) {
      this.#paused = false;
      this.#process();
    }
  }

  bodyDestroyed(body: RequestBody): void {
    const ex = this.#bodyEx;
    if (ex === undefined || ex.requestBody !== body || ex.draining) return;
    this.#startDrain(ex);
  }

  /** The handler will not read the rest of the body: discard it (bounded), or stop reading. */
  #startDrain(ex: H1Exchange): void {
    ex.draining = true;
    const body = ex.requestBody as RequestBody;
    if (!body.destroyed) body.destroy();
    if ((ex.expectContinue && !ex.continueSent) || (this.#decoder === undefined && this.#remaining > this.#s.drainLimit)) {
      this.#giveUpReading();
      return;
    }
    this.#paused = false;
    this.#process();
  }

  /** Reading should run exactly when the next step can use the bytes. */
  #flow(): void {
    if (this.#state >= State.Taken) return;
    let want: boolean;
    if (this.#state === State.Body) want = !this.#paused || (this.#bodyEx?.draining ?? false);
    else if (this.#state === State.Head) want = this.#holdEx === undefined && !this.#noMore && this.#queue.length < this.#s.maxPipelined;
    else want = this.#state === State.Stopped && this.#lingerDeadline !== Infinity;
    if (want === this.#socket.isPaused()) {
      if (want) this.#socket.resume();
      else this.#socket.pause();
    }
  }

  /**
   * The peer sent FIN. Responses already owed are still written (a half-closing client reads
   * them), then the connection closes; but a stream on the wire is taken as the client being
   * gone (an event stream would otherwise never learn it), as is an unfinished request body.
   */
  #end(): void {
    this.#peerEnded = true;
    const sending = this.#writingEx;
    if (sending !== undefined && sending.response?.body instanceof Readable) {
      sending.abort();
      sending.response.body.destroy();
    }
    const ex = this.#bodyEx;
    if (ex !== undefined) this.#endBody(ex, ex.requestBody as RequestBody, new WirekitError("ERR_PROTOCOL", "the client ended the request body early"));
    this.#noMore = true;
    this.#pending = null;
    if (this.#state === State.Head) this.#state = State.Stopped;
    this.#settle();
  }

  // ---- handler results ----

  /** A response the handler returned synchronously, handed back at the end of the poll phase. */
  answered(ex: H1Exchange, res: HttpResponse): void {
    this.#answered(ex, res);
  }

  #answered(ex: H1Exchange, res: HttpResponse): void {
    if (ex.aborted || ex.refusal !== undefined || this.#state === State.Taken) {
      disposeBody(res?.body);
      this.#record(ex, res?.status ?? 0, 0, true);
      if (this.#state === State.Taken) this.#dequeue(ex);
      return;
    }
    if (typeof res !== "object" || res === null) {
      this.#failed(ex, new WirekitError("ERR_PROTOCOL", "invalid response: the handler returned no response object"));
      return;
    }
    if (ex === this.#holdEx) this.#holdEx = undefined;
    ex.response = res;
    this.#pump();
    this.#process();
  }

  #failed(ex: H1Exchange, err: unknown): void {
    this.#s.host.handlerError(err, ex);
    this.#answered(ex, { status: 500, headers: [["Content-Type", "text/plain; charset=utf-8"]], body: "internal server error\n" });
  }

  // ---- write side ----

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#writing && this.#queue.length > 0 && this.#state !== State.Closed && this.#state !== State.Taken) {
        const item = this.#queue[0] as Item;
        if (!(item instanceof H1Exchange)) {
          this.#writeRefusal(item);
          return;
        }
        if (item.interims !== undefined) {
          for (const h of item.interims) this.#socket.write(h);
          item.interims = undefined;
        }
        if (item.refusal !== undefined) {
          this.#writeRefusal({ kind: "refusal", status: item.refusal.status, reason: item.refusal.text, text: item.refusal.text });
          return;
        }
        if (item.response === undefined) return;
        this.#writeResponse(item, item.response);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #writeRefusal(r: Refusal): void {
    this.#queue.length = 0;
    this.#s.host.errorResponse({ status: r.status, reason: r.reason, remoteAddress: this.#peer.remoteAddress, remotePort: this.#peer.remotePort });
    this.#tap?.refusal(r.status, r.reason);
    this.#socket.write(encodeErrorResponse(r.status, r.text, this.#s.date.at(this.#s.clock.now())));
    this.#closeAfterWrite();
  }

  #writeResponse(ex: H1Exchange, res: HttpResponse): void {
    let body = res.body;
    // A cached file also in memory: by sendfile(2) when this socket can, else from its bytes.
    if (isFileBody(body) && body.bytes !== undefined && (this.#socket.writableLength !== 0 || this.#zeroCopy() === undefined)) {
      const bytes = body.bytes;
      releaseFile(body);
      body = bytes;
    }
    let bodyLength: number | undefined;
    if (body === undefined) bodyLength = 0;
    else if (typeof body === "string") bodyLength = Buffer.byteLength(body);
    else if (body instanceof Uint8Array) bodyLength = body.length;
    else if (isFileBody(body)) bodyLength = body.length;
    // A response that streams the request body back needs that body: invite it before the head.
    if (body !== undefined && body === ex.requestBody) this.interim(ex, 100, undefined);
    const unreadBody = ex === this.#bodyEx && ex.expectContinue && !ex.continueSent;
    // Reading has stopped (a refusal is queued, the peer sent FIN, shutdown): the connection
    // closes after the last answer owed, not after this one when more are queued behind it.
    const keepAlive = ex.keepAlive && res.close !== true && !(this.#noMore && this.#queue.length <= 1) && !unreadBody;
    const date = this.#s.date.at(this.#s.clock.now());
    // The same immutable bytes under the same frozen fields: the whole response is ready.
    const readyKey = res.immutable === true && body instanceof Uint8Array && body.length <= SINGLE_WRITE && ex.method !== "HEAD" && Object.isFrozen(res.headers) ? { headers: res.headers, status: res.status, reason: res.reason, version: ex.version, keepAlive, date } : undefined;
    const ready = readyKey === undefined ? undefined : this.#s.ready.get(body as Uint8Array, readyKey);
    if (ready !== undefined) {
      this.#writeReady(ex, res, ready.enc, ready.bytes, (body as Uint8Array).length);
      return;
    }
    let enc: EncodedHead;
    try {
      enc = encodeHead({ status: res.status, reason: res.reason, headers: res.headers, method: ex.method, version: ex.version, bodyLength, keepAlive, date, fieldLines: res.fieldLines });
    } catch (err) {
      disposeBody(body);
      ex.response = undefined;
      this.#failed(ex, err);
      return;
    }
    ex.started = true;
    if (this.#tap !== undefined) this.#tap.response(ex, res);
    this.#writing = true;
    this.#writingEx = ex;
    const framing = enc.framing;
    if (framing.kind === "none" || body === undefined) {
      disposeBody(body); // HEAD, 1xx, 204, 304 never carry what the handler gave
      const ok = this.#socket.write(enc.head, "latin1");
      // A declared Content-Length with no body cannot be honoured: close after the head.
      this.#afterSync(ex, enc, 0, framing.kind === "none" || (framing.kind === "length" && framing.length === 0), ok);
      return;
    }
    if (typeof body === "string" || body instanceof Uint8Array) {
      const announced = framing.kind === "length" ? framing.length : Infinity;
      let data: Buffer | string = body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.length) : body;
      let n = bodyLength as number;
      if (n > announced) {
        data = (typeof data === "string" ? Buffer.from(data) : data).subarray(0, announced);
        n = announced;
      }
      const complete = n === announced || framing.kind === "close";
      let ok: boolean;
      if (n <= SINGLE_WRITE) {
        const out = Buffer.allocUnsafe(enc.head.length + n);
        out.write(enc.head, 0, "latin1");
        if (typeof data === "string") out.write(data, enc.head.length, "utf8");
        else out.set(data, enc.head.length);
        // Kept only when it is the whole body as given (a declared length that differs is not).
        if (readyKey !== undefined && complete && n === bodyLength) this.#s.ready.set(body as Uint8Array, readyKey, enc, out);
        ok = this.#socket.write(out);
      } else {
        this.#socket.cork();
        this.#socket.write(enc.head, "latin1");
        ok = this.#socket.write(data);
        this.#socket.uncork();
      }
      this.#afterSync(ex, enc, n, complete && !(bodyLength as number > announced), ok);
      return;
    }
    let sending: Promise<SendResult>;
    if (isFileBody(body)) {
      const announced = framing.kind === "length" ? framing.length : body.length;
      const file = announced < body.length ? { ...body, length: announced } : body;
      // Plain TCP with nothing queued in Node: head and file by sendfile(2), in order.
      const zeroCopy = framing.kind === "length" && this.#socket.writableLength === 0 ? this.#zeroCopy() : undefined;
      if (zeroCopy !== undefined) {
        sending = sendFileZeroCopy(this, zeroCopy, Buffer.from(enc.head, "latin1"), file);
      } else {
        this.#socket.write(enc.head, "latin1");
        sending = sendFile(this, file);
      }
      if (announced > body.length) sending = sending.then((r) => ({ sent: r.sent, complete: false }));
    } else {
      this.#socket.write(enc.head, "latin1");
      sending = sendStream(this, body, framing);
    }
    sending.then(
      (r) => this.#finish(ex, enc, r.sent, r.complete), // close-delimited: enc.close ends the connection
      () => this.#finish(ex, enc, 0, false),
    );
  }

  /** A ready response (head and body in `bytes`): one write. */
  #writeReady(ex: H1Exchange, res: HttpResponse, enc: EncodedHead, bytes: Buffer, sent: number): void {
    ex.started = true;
    if (this.#tap !== undefined) this.#tap.response(ex, res);
    this.#writing = true;
    this.#writingEx = ex;
    this.#afterSync(ex, enc, sent, true, this.#socket.write(bytes));
  }

  /** A response written in one go: done now, or once the socket drains. */
  #afterSync(ex: H1Exchange, enc: EncodedHead, sent: number, complete: boolean, ok: boolean): void {
    if (ok) this.#finish(ex, enc, sent, complete);
    else void this.drained().then((flushed) => this.#finish(ex, enc, sent, complete && flushed));
  }

  #finish(ex: H1Exchange, enc: EncodedHead, sent: number, complete: boolean): void {
    this.#writing = false;
    this.#writingEx = undefined;
    this.#dequeue(ex);
    const gone = this.#state === State.Closed;
    // The response did not complete (the peer went, the body failed): the exchange is over.
    if (!complete) ex.abort();
    this.#record(ex, (ex.response as HttpResponse).status, sent, gone || !complete);
    if (gone) return;
    if (!complete || enc.close) {
      this.#closeAfterWrite();
      return;
    }
    if (ex === this.#bodyEx && !ex.draining) this.#startDrain(ex);
    this.#settle();
    this.#pump();
    this.#process();
  }

  /** Nothing owed and nothing being read: close if that was decided, else start the idle clock. */
  #settle(): void {
    if (this.#state >= State.Taken || this.#state === State.Body || this.#writing || this.#queue.length > 0) return;
    if (this.#noMore) this.#closeAfterWrite();
    else if (this.#pending === null) this.#idleDeadline = this.#s.clock.monotonic() + this.#s.keepAliveTimeoutMs;
  }

  #dequeue(ex: H1Exchange): void {
    const i = this.#queue.indexOf(ex);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  #record(ex: H1Exchange, status: number, bytes: number, aborted: boolean): void {
    this.#s.host.exchange({
      method: ex.method,
      target: ex.target,
      version: ex.version,
      status,
      bytes,
      durationMs: this.#s.clock.monotonic() - ex.receivedAt,
      remoteAddress: this.#peer.remoteAddress,
      remotePort: this.#peer.remotePort,
      aborted,
      user: ex.response?.user,
      request: ex,
    });
  }

  /** Refuse the request being read: one error answer after those already queued, then close. */
  #refuse(status: number, reason: string): void {
    this.#state = State.Stopped;
    this.#noMore = true;
    this.#pending = null;
    this.#headDeadline = Infinity;
    this.#queue.push({ kind: "refusal", status, reason, text: reason });
    this.#flow();
    this.#pump();
  }

  /** The last response is out: half-close, discard input for a short linger, then destroy. */
  #closeAfterWrite(): void {
    if (this.#state >= State.Taken || this.#lingerDeadline !== Infinity) return;
    this.#state = State.Stopped;
    this.#noMore = true;
    this.#pending = null;
    this.#bodyEx?.abort();
    this.#bodyEx = undefined;
    for (const item of this.#queue.splice(0)) if (item instanceof H1Exchange) this.#abandon(item);
    this.#headDeadline = this.#idleDeadline = this.#requestDeadline = Infinity;
    this.#lingerDeadline = this.#s.clock.monotonic() + this.#s.lingerMs;
    this.#socket.end();
    if (this.#peerEnded) this.#socket.destroySoon();
    this.#flow();
  }

  #abandon(ex: H1Exchange): void {
    ex.abort();
    if (ex.response !== undefined && !ex.started) {
      disposeBody(ex.response.body);
      this.#record(ex, ex.response.status, 0, true);
    }
  }

  // ---- ExchangeOwner ----

  interim(ex: H1Exchange, status: number, headers: HeaderList | undefined): void {
    if (ex.started || ex.aborted || this.#state >= State.Taken) return;
    if (status === 100) {
      if (ex.continueSent) return;
      ex.continueSent = true;
    }
    const head = status === 100 && headers === undefined ? CONTINUE : encodeInterim(status, headers);
    if (this.#queue[0] === ex && !this.#writing) this.#socket.write(head, "latin1");
    else (ex.interims ??= []).push(head);
  }

  /**
   * Hand the socket over: paused (call resume() or pipe it), every engine listener removed, no
   * deadline left. It was accepted with allowHalfOpen, so a peer's FIN arrives as 'end' and the
   * new owner ends its side itself (as a tunnel should).
   */
  takeover(ex: H1Exchange): { socket: Socket; head: Buffer } {
    if (this.#state >= State.Taken || ex.aborted) throw new WirekitError("ERR_CONNECT", "takeover: the connection is gone");
    if (this.#queue[0] !== ex || this.#writing || ex.started) throw new WirekitError("ERR_LOCAL", "takeover: earlier responses are still being written");
    this.#state = State.Taken;
    const s = this.#socket;
    s.pause();
    s.off("data", this.#onData);
    s.off("drain", this.#onDrain);
    s.off("end", this.#onEnd);
    s.off("close", this.#onClose);
    s.off("error", this.#onError);
    const head = this.#pending ?? EMPTY;
    this.#pending = null;
    // Requests pipelined behind it (only possible without CONNECT/Upgrade) will never be answered.
    for (const item of this.#queue) if (item !== ex && item instanceof H1Exchange) item.abort();
    this.#headDeadline = this.#idleDeadline = this.#requestDeadline = this.#lingerDeadline = Infinity;
    this.#wake(false);
    this.#s.host.released(this);
    this.#tap?.takenOver(ex);
    return { socket: s, head };
  }

  /** The socket's sendfile(2) sender, looked up on the first file body (undefined: TLS, no addon). */
  #zeroCopy(): FileSender | undefined {
    // A tapped socket is written through socket.write only (sendfile(2) bytes would not be seen).
    if (this.#fileSender === null) this.#fileSender = this.#tap === undefined ? fileSender(this.#socket) : undefined;
    return this.#fileSender;
  }

  // ---- ByteSink (for the body senders) ----

  write(chunk: Uint8Array | string): boolean {
    return this.#socket.write(chunk);
  }

  writeFlushed(chunk: Uint8Array): Promise<boolean> {
    return new Promise((resolve) => this.#socket.write(chunk, (err) => resolve(err == null)));
  }

  drained(): Promise<boolean> {
    if (this.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => (this.#drainWaiter = resolve));
  }

  cork(): void {
    this.#socket.cork();
  }

  uncork(): void {
    this.#socket.uncork();
  }

  get destroyed(): boolean {
    return this.#state === State.Closed || this.#state === State.Taken || this.#socket.destroyed;
  }

  #wake(ok: boolean): void {
    const w = this.#drainWaiter;
    this.#drainWaiter = undefined;
    w?.(ok);
  }

  // ---- deadlines (called by the server's tick) ----

  /** Act on every deadline that has passed at monotonic time `now`. */
  check(now: number): void {
    if (this.#state >= State.Taken) return;
    if (now >= this.#lingerDeadline || (now >= this.#idleDeadline && this.#socket.writableLength === 0)) {
      this.#socket.destroy();
      return;
    }
    if (now >= this.#headDeadline) this.#refuse(408, "request head timeout");
    if (now >= this.#requestDeadline) this.#requestTimedOut();
    const wl = this.#socket.writableLength;
    if (wl === 0) {
      this.#stallSince = Infinity;
      return;
    }
    const flushed = this.#socket.bytesWritten - wl;
    if (flushed !== this.#lastFlushed || this.#stallSince === Infinity) {
      this.#lastFlushed = flushed;
      this.#stallSince = now;
    } else if (now - this.#stallSince >= this.#s.sendTimeoutMs) {
      this.#socket.destroy();
    }
  }

  #requestTimedOut(): void {
    const ex = this.#bodyEx;
    this.#requestDeadline = Infinity;
    if (ex === undefined) return;
    this.#giveUpReading();
    if (!ex.started) {
      ex.refusal = { status: 408, text: "request body timeout" };
      ex.abort();
      this.#pump();
    } else ex.abort();
  }

  /** Server shutdown: close now if idle, else after the responses already owed. */
  shutdown(): void {
    if (this.#state >= State.Taken) return;
    if (this.idle && !this.#writing) {
      this.#socket.destroy();
      return;
    }
    this.#noMore = true;
    if (this.#state === State.Head) {
      this.#state = State.Stopped;
      this.#pending = null;
    }
    this.#settle();
  }

  #closed(): void {
    if (this.#state === State.Taken) return;
    this.#state = State.Closed;
    this.#pending = null;
    this.#wake(false);
    const body = this.#bodyEx;
    this.#bodyEx = undefined;
    body?.abort();
    // A stream stalled inside its sender must not wait for its next chunk to learn the peer is gone.
    const sending = this.#writingEx?.response?.body;
    if (sending instanceof Readable) sending.destroy();
    for (const item of this.#queue) if (item instanceof H1Exchange && !item.started) this.#abandon(item);
    for (const item of this.#queue) if (item instanceof H1Exchange) item.abort();
    if (!this.#writing) this.#queue.length = 0;
    this.#s.host.released(this);
  }
}

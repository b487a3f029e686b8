/**
 * One request/response exchange on an HTTP/1.x connection: the `HttpRequest` the handler sees
 * and the `ExchangeControl` it may use, in one object (handed to the handler twice), plus the
 * engine's bookkeeping for it. The body and the AbortSignal are created only when asked for,
 * so a bodiless GET costs one object.
 */
import type { Readable } from "node:stream";
import type { Socket } from "node:net";
import type { HeaderList } from "../header-list.js";
import type { ExchangeControl, HttpRequest, HttpResponse } from "./types.js";
import { emptyBody, type RequestBody } from "./request-body.js";

/** What an exchange needs from its connection. */
export interface ExchangeOwner {
  interim(ex: H1Exchange, status: number, headers: HeaderList | undefined): void;
  takeover(ex: H1Exchange): { socket: Socket; head: Buffer };
}

/** Addresses of a connection, read once when it opened (kept after it closes). */
export interface PeerInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly secure: boolean;
}

const NO_FIELDS: HeaderList = [];

export class H1Exchange implements HttpRequest, ExchangeControl {
  readonly method: string;
  readonly target: string;
  readonly version: "1.0" | "1.1";
  readonly headers: HeaderList;
  trailers: HeaderList = NO_FIELDS;
  readonly receivedAt: number;
  /** The request allows a persistent connection (RFC 9112 §9.3). */
  readonly keepAlive: boolean;
  readonly expectContinue: boolean;
  /** The decoded body when the request has one; undefined when it has none. */
  readonly requestBody: RequestBody | undefined;
  /** The handler's answer, once it has one. */
  response: HttpResponse | undefined;
  /** The engine answers this one itself (request deadline passed). */
  refusal: { status: number; text: string } | undefined;
  /** 1xx heads waiting for their turn on the wire. */
  interims: string[] | undefined;
  continueSent = false;
  /** The final head has been written (no more interims). */
  started = false;
  /** Gone for good: the connection closed or gave up on it. */
  aborted = false;
  /** The handler did not read the body; the engine discards it. */
  draining = false;
  readonly #owner: ExchangeOwner;
  readonly #peer: PeerInfo;
  #body: Readable | undefined;
  #ac: AbortController | undefined;
  #onAbort: Array<() => void> | undefined;

  constructor(
    owner: ExchangeOwner,
    peer: PeerInfo,
    head: { method: string; target: string; version: "1.0" | "1.1"; headers: HeaderList },
    keepAlive: boolean,
    expectContinue: boolean,
    requestBody: RequestBody | undefined,
    receivedAt: number,
  ) {
    this.#owner = owner;
    this.#peer = peer;
    this.method = head.method;
    this.target = head.target;
    this.version = head.version;
    this.headers = head.headers;
    this.keepAlive = keepAlive;
    this.expectContinue = expectContinue;
    this.requestBody = requestBody;
    this.receivedAt = receivedAt;
  }

  get body(): Readable {
    if (this.requestBody !== undefined) return this.requestBody;
    return (this.#body ??= emptyBody());
  }

  get signal(): AbortSignal {
    if (this.#ac === undefined) {
      this.#ac = new AbortController();
      if (this.aborted) this.#ac.abort(abortReason());
    }
    return this.#ac.signal;
  }

  onAbort(fn: () => void): void {
    if (this.aborted) queueMicrotask(fn);
    else (this.#onAbort ??= []).push(fn);
  }

  get remoteAddress(): string {
    return this.#peer.remoteAddress;
  }
  get remotePort(): number {
    return this.#peer.remotePort;
  }
  get localAddress(): string {
    return this.#peer.localAddress;
  }
  get localPort(): number {
    return this.#peer.localPort;
  }
  get secure(): boolean {
    return this.#peer.secure;
  }

  /** Give up on the exchange: abort the signal, fail the body if it is still arriving. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#ac?.abort(abortReason());
    const waiting = this.#onAbort;
    this.#onAbort = undefined;
    if (waiting !== undefined) for (const fn of waiting) fn();
    const body = this.requestBody;
    if (body !== undefined && !body.complete && !body.destroyed) {
      this.draining = true;
      body.fail(abortReason());
    }
  }

  sendInterim(status: number, headers?: HeaderList): void {
    this.#owner.interim(this, status, headers);
  }

  takeover(): { socket: Socket; head: Buffer } {
    return this.#owner.takeover(this);
  }
}

function abortReason(): Error {
  const err = new Error("the client went away or the exchange was abandoned");
  err.name = "AbortError";
  return err;
}

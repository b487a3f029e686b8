/**
 * The request body a handler reads: a Readable the connection pushes decoded bytes into. Its
 * `_read` is the backpressure signal back to the connection (resume the socket), and the first
 * `_read` is what "the handler started reading" means for `Expect: 100-continue`.
 */
import { Readable } from "node:stream";

/** What the body asks of the connection that feeds it. */
export interface BodySource {
  /** The consumer wants more bytes (first call: it started reading). */
  bodyWanted(body: RequestBody): void;
  /** The consumer destroyed the body before its end. */
  bodyDestroyed(body: RequestBody): void;
}

/** Bytes buffered in the body before the socket is paused. */
const BODY_HIGH_WATER = 64 * 1024;

export class RequestBody extends Readable {
  readonly #source: BodySource;
  /** All bytes of the body have been pushed (end of framing). */
  complete = false;

  constructor(source: BodySource) {
    super({ highWaterMark: BODY_HIGH_WATER });
    this.#source = source;
  }

  /** End the body with `error` for a reader that listens; a body nobody reads is just destroyed (never an uncaught 'error'). */
  fail(error: Error): void {
    if (this.destroyed) return;
    if (this.listenerCount("error") > 0) this.destroy(error);
    else this.destroy();
  }

  override _read(): void {
    this.#source.bodyWanted(this);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.complete) this.#source.bodyDestroyed(this);
    cb(err);
  }
}

/** A body that has already ended, for requests without one (created only when asked for). */
export function emptyBody(): Readable {
  const r = new Readable({ read() {} });
  r.push(null);
  return r;
}

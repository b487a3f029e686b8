/**
 * `--delay` and `--rate` for wirekit's HTTP servers, as a handler wrapper: every response waits
 * `delayMs` before its head goes out, and response bodies leave no faster than `rateBytesPerSec`
 * through one token bucket for the whole server (a slow link, shared by every connection, as
 * netem's rate on an interface; core/impair.ts's `TokenBucket`). The body is sent in slices of
 * 50 ms of rate, so a browser shows a page arriving progressively. Over HTTP/1.1 and HTTP/2
 * alike, since both run the same handler. Announced lengths are untouched: a paced body is the
 * same bytes, later.
 */
import { Readable } from "node:stream";
import { sleep, type Clock } from "../core/clock.js";
import { TokenBucket } from "../core/impair.js";
import { disposeBody, fileChunks, isFileBody, releaseFile } from "./h1/send.js";
import type { HttpBody, HttpHandler, HttpResponse } from "./h1/types.js";
import { getField } from "./header-list.js";

export interface HttpImpairment {
  /** Added before each response head, ms. @default 0 */
  delayMs?: number;
  /** Response body bytes per second, for the whole server. @default off */
  rateBytesPerSec?: number;
}

/** What one paced server has done, for its totals. */
export interface HttpImpairmentCounts {
  delayed: number;
  /** Responses whose body waited for the rate at least once. */
  rateDelayed: number;
}

/** A handler whose responses are delayed and paced, and its counters. */
export interface ImpairedHandler {
  handler: HttpHandler;
  counts(): HttpImpairmentCounts;
}

/** Wait `ms`, or less if the request is aborted (then the caller stops). */
function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return sleep(clock, ms, signal).catch(() => undefined);
}

/** The body's bytes as a stream, whatever its kind (the file or stream is owned by the result from now on). */
async function* chunksOf(body: Exclude<HttpBody, undefined>): AsyncGenerator<Uint8Array> {
  if (typeof body === "string") yield Buffer.from(body);
  else if (body instanceof Uint8Array) yield body;
  else if (isFileBody(body)) {
    if (body.bytes === undefined) yield* fileChunks(body);
    else {
      releaseFile(body); // a cached file: its bytes are here already
      yield body.bytes;
    }
  }
  else yield* body as AsyncIterable<Uint8Array>;
}

/**
 * `make()`'s stream, created on the first `next()`. A body the engine drops unread (the client
 * left first) gets `return()` before any `next()`: then the original body is released instead,
 * so an open file is closed even though its reader never started.
 */
function lazyBody(original: Exclude<HttpBody, undefined>, make: () => AsyncGenerator<Uint8Array>, signal: AbortSignal): AsyncIterable<Uint8Array> {
  let it: AsyncGenerator<Uint8Array> | undefined;
  let released = false;
  const release = (): void => {
    if (it !== undefined || released) return;
    released = true;
    disposeBody(original);
  };
  signal.addEventListener("abort", release, { once: true });
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        signal.removeEventListener("abort", release);
        if (released) return Promise.resolve({ done: true, value: undefined });
        it ??= make();
        return it.next();
      },
      return: async () => {
        if (it === undefined) release();
        else await it.return(undefined);
        return { done: true, value: undefined };
      },
    }),
  };
}

/**
 * Wrap `inner` so its responses are delayed and paced; with neither set, `inner` itself.
 *
 * @example
 * const { handler } = impairHttp(createStaticHandler({ root: "." }), { delayMs: 100, rateBytesPerSec: 65536 }, systemClock);
 */
export function impairHttp(inner: HttpHandler, impairment: HttpImpairment, clock: Clock): ImpairedHandler {
  const delayMs = Math.max(0, impairment.delayMs ?? 0);
  const rate = impairment.rateBytesPerSec;
  const counts: HttpImpairmentCounts = { delayed: 0, rateDelayed: 0 };
  if (delayMs === 0 && rate === undefined) return { handler: inner, counts: () => ({ ...counts }) };
  const bucket = rate === undefined ? undefined : new TokenBucket(rate);
  const slice = rate === undefined ? 0 : Math.max(1, Math.min(64 * 1024, Math.floor(rate / 20)));

  async function* paced(body: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
    const b = bucket as TokenBucket;
    let waited = false;
    const it = body[Symbol.asyncIterator]();
    try {
      for (let r = await it.next(); r.done !== true; r = await it.next()) {
        const chunk = r.value;
        for (let at = 0; at < chunk.length; at += slice) {
          const part = chunk.subarray(at, at + slice);
          const wait = b.take(part.length, clock.monotonic()) ?? 0;
          if (wait > 0) {
            if (!waited) counts.rateDelayed++;
            waited = true;
            await pause(clock, wait, signal);
            if (signal.aborted) return;
          }
          yield part;
        }
      }
    } finally {
      await it.return?.();
    }
  }

  const handler: HttpHandler = async (req, control) => {
    const res: HttpResponse = await inner(req, control);
    if (delayMs > 0) {
      counts.delayed++;
      await pause(clock, delayMs, req.signal);
      if (req.signal.aborted) {
        disposeBody(res.body);
        return res;
      }
    }
    if (bucket === undefined || res.body === undefined) return res;
    if (req.method === "HEAD" || res.status === 204 || res.status === 304) return res;
    const original = res.body;
    const lazy = lazyBody(original, () => paced(chunksOf(original), req.signal), req.signal);
    // A body of known length keeps it announced (a stream would otherwise go chunked).
    const known = typeof original === "string" ? Buffer.byteLength(original) : original instanceof Uint8Array ? original.length : isFileBody(original) ? original.length : undefined;
    const headers = known !== undefined && getField(res.headers, "content-length") === undefined ? [...res.headers, ["Content-Length", String(known)] as const] : res.headers;
    return { ...res, headers, body: original instanceof Readable ? Readable.from(lazy) : lazy };
  };
  return { handler, counts: () => ({ ...counts }) };
}

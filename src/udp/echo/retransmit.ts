/**
 * `requestWithBackoff`: send one request over UDP and wait for its reply, resending the same
 * bytes with an exponentially growing timeout until a reply passes the caller's check or the
 * schedule runs out (RFC 8085 §3.1.3). The driver owns the timer; the socket belongs to the
 * caller, so any request/response tool can use it.
 *
 * Every copy carries the same request, so a late reply to an earlier copy is as good as a
 * reply to the last one — which also means the round-trip time of an answered retransmission
 * is ambiguous (Karn's problem): the result gives both the time since the last copy and since
 * the first.
 */
import type { RemoteInfo } from "node:dgram";
import { systemClock, type Clock, type TimerHandle } from "../../core/clock.js";
import { fromSystemError, type WirekitError } from "../../core/errors.js";
import { formatHostPort } from "../../core/address.js";
import { normalizeAddress } from "../../core/udp-socket.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import type { Endpoint } from "./server.js";

/** The part of a `dgram.Socket` the driver uses (a real socket fits; tests may pass a fake). */
export interface DatagramPort {
  send(msg: Uint8Array, port: number, address: string, callback: (error: Error | null, bytes: number) => void): void;
  on(event: "message", listener: (msg: Buffer, rinfo: RemoteInfo) => void): unknown;
  off(event: "message", listener: (msg: Buffer, rinfo: RemoteInfo) => void): unknown;
}

export interface RequestWithBackoffOptions extends BackoffOptions {
  /** A bound socket; the caller keeps owning it (it is not closed). */
  socket: DatagramPort;
  server: Endpoint;
  /** The request, sent unchanged on every attempt. */
  payload: Uint8Array;
  /**
   * Judge each datagram that arrives: `true` accepts it as the reply, a string is the reason
   * it is ignored ("not the server", "wrong request id").
   */
  check(msg: Buffer, from: Endpoint): true | string;
  /** @default systemClock */
  clock?: Clock;
  /** Abort to stop waiting (the result says "aborted"). */
  signal?: AbortSignal;
  onEvent?(e: RetransmitEvent): void;
}

/** What happens during one request, in order. Times are ms. */
export type RetransmitEvent =
  | { kind: "attempt"; attempt: number; timeoutMs: number }
  | { kind: "timeout"; attempt: number; waitedMs: number; nextTimeoutMs?: number }
  | { kind: "ignored"; from: Endpoint; bytes: number; reason: string }
  | { kind: "send-error"; attempt: number; error: WirekitError };

export type RetransmitResult =
  | {
      ok: true;
      reply: Buffer;
      from: Endpoint;
      /** Copies sent when the reply came. */
      attempts: number;
      /** Since the last copy was sent (the reply may answer an earlier one). */
      rttMs: number;
      /** Since the first copy was sent. */
      elapsedMs: number;
    }
  | { ok: false; reason: "gave-up" | "aborted" | "send-failed"; attempts: number; elapsedMs: number; error?: WirekitError };

/**
 * Send `payload` to `server` and wait for an accepted reply, retrying with backoff.
 *
 * @example
 * const r = await requestWithBackoff({
 *   socket, server: { address: "127.0.0.1", port: 12002 }, payload: Buffer.from("hi"),
 *   check: (msg, from) => from.port === 12002 || "not the server",
 *   initialMs: 100, maxMs: 2000,
 * });
 * if (r.ok) console.log(r.reply.toString(), r.attempts);
 */
export function requestWithBackoff(options: RequestWithBackoffOptions): Promise<RetransmitResult> {
  const backoff = new Backoff(options); // validates before anything is sent
  const clock = options.clock ?? systemClock;
  const { socket, server, payload, signal } = options;
  const emit = (e: RetransmitEvent): void => options.onEvent?.(e);
  const target = formatHostPort(server.address, server.port);

  return new Promise((resolve) => {
    let attempt = 0;
    let firstAt = 0;
    let lastAt = 0;
    let timer: TimerHandle | undefined;
    let done = false;

    const finish = (r: RetransmitResult): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      socket.off("message", onMessage);
      signal?.removeEventListener("abort", onAbort);
      resolve(r);
    };
    const elapsed = (): number => (attempt === 0 ? 0 : clock.monotonic() - firstAt);

    function onMessage(msg: Buffer, rinfo: RemoteInfo): void {
      if (done) return;
      const from = { address: normalizeAddress(rinfo.address), port: rinfo.port };
      const verdict = options.check(msg, from);
      if (verdict !== true) {
        emit({ kind: "ignored", from, bytes: msg.length, reason: verdict });
        return;
      }
      const now = clock.monotonic();
      finish({ ok: true, reply: Buffer.from(msg), from, attempts: attempt, rttMs: now - lastAt, elapsedMs: now - firstAt });
    }
    function onAbort(): void {
      finish({ ok: false, reason: "aborted", attempts: attempt, elapsedMs: elapsed() });
    }

    const send = (timeoutMs: number): void => {
      attempt++;
      const n = attempt;
      lastAt = clock.monotonic();
      if (n === 1) firstAt = lastAt;
      emit({ kind: "attempt", attempt: n, timeoutMs });
      socket.send(payload, server.port, server.address, (err) => {
        if (err === null || done) return;
        const error = fromSystemError(err, `send to ${target}`);
        // EMSGSIZE will fail the same way on every retry; anything else (ENOBUFS, an ICMP
        // error queued on the socket) is treated like a lost datagram and retried.
        if ((err as NodeJS.ErrnoException).code === "EMSGSIZE") finish({ ok: false, reason: "send-failed", attempts: n, elapsedMs: elapsed(), error });
        else emit({ kind: "send-error", attempt: n, error });
      });
      timer = clock.setTimeout(() => {
        timer = undefined;
        if (done) return;
        const next = backoff.next();
        const e: RetransmitEvent = { kind: "timeout", attempt: n, waitedMs: timeoutMs };
        if (next !== undefined) e.nextTimeoutMs = next;
        emit(e);
        if (done) return; // a listener may have aborted
        if (next === undefined) finish({ ok: false, reason: "gave-up", attempts: n, elapsedMs: elapsed() });
        else send(next);
      }, timeoutMs);
    };

    if (signal?.aborted) {
      resolve({ ok: false, reason: "aborted", attempts: 0, elapsedMs: 0 });
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.on("message", onMessage);
    const first = backoff.next();
    if (first === undefined) finish({ ok: false, reason: "gave-up", attempts: 0, elapsedMs: 0 });
    else send(first);
  });
}

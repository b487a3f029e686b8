/**
 * The UDP echo client: sends the current time (or a message) as `<id> <message>` with a
 * random 64-bit request ID, and accepts a reply only when it comes from the server's address
 * and port AND carries the same ID — anyone on the network can send a datagram to our port
 * (RFC 8085 §5.1: applications must check that a datagram belongs to their exchange).
 * Retransmits with exponential backoff (retransmit.ts) until a reply or the bound.
 */
import { resolveHost, type IpFamily } from "../../core/address.js";
import { systemClock, type Clock } from "../../core/clock.js";
import { usageError } from "../../core/errors.js";
import { TypedEmitter } from "../../core/events.js";
import { createRandom, secureRandom, type Random } from "../../core/random.js";
import { bindUdp, closeUdp, normalizeAddress, routeSourceAddress, type WireTap } from "../../core/udp-socket.js";
import { formatLocalTimestamp } from "../ping/protocol.js";
import { decodeReply, encodeRequest, isRequestId, maxUdpPayload, newRequestId, REQUEST_ID_LENGTH, sameRequestId } from "./protocol.js";
import { requestWithBackoff, type DatagramPort, type RetransmitEvent } from "./retransmit.js";
import type { RemoteInfo } from "node:dgram";
import type { Endpoint } from "./server.js";

export { requestWithBackoff, type RequestWithBackoffOptions, type RetransmitEvent, type RetransmitResult, type DatagramPort } from "./retransmit.js";

export interface UdpEchoClientOptions {
  host: string;
  port: number;
  /** The message; the current local time ("2026-11-23 18:30:01.123") when unset. */
  message?: string | Uint8Array;
  /** First timeout in ms. @default 100 */
  timeoutMs?: number;
  /** Give up when the next timeout would exceed this (ms). @default 2000 */
  maxTimeoutMs?: number;
  /** Randomize each timeout by ±50%. @default false */
  jitter?: boolean;
  /** Seed for the jitter PRNG. @default random */
  seed?: number;
  /** Check the reply's source and request ID. Off only to show the attack. @default true */
  verify?: boolean;
  /** Use this request ID instead of a random one (tests). */
  requestId?: string;
  /** Where request IDs come from; must be unguessable in real use. @default secureRandom */
  idRandom?: Random;
  family?: IpFamily;
  /** Shown every datagram sent and received (`--pcap`). */
  tap?: WireTap;
  /** @default systemClock */
  clock?: Clock;
  signal?: AbortSignal;
}

export type UdpEchoClientEvent =
  | { kind: "start"; local: Endpoint; server: Endpoint; requestId: string; bytes: number }
  | RetransmitEvent;

export interface UdpEchoReply {
  /** The reply text without the request ID. */
  text: string;
  /** The datagram's request ID, if any. */
  id?: string;
  from: Endpoint;
  /** Whether the reply passed the checks (always true unless `verify` is off). */
  fromServer: boolean;
  idMatches: boolean;
  /** N from "I received from you a message of N bytes". */
  bytes?: number;
  attempts: number;
  rttMs: number;
  elapsedMs: number;
}

export interface UdpEchoResult {
  status: "reply" | "gave-up" | "aborted" | "send-failed";
  server: Endpoint;
  local: Endpoint;
  requestId: string;
  /** Bytes of the message (without the ID). */
  messageBytes: number;
  attempts: number;
  elapsedMs: number;
  /** Datagrams ignored because they failed the checks. */
  ignored: number;
  reply?: UdpEchoReply;
  error?: string;
}

/** The socket as the retransmission loop sees it, with `tap` shown each datagram. */
function tapped(socket: DatagramPort, tap: WireTap, local: Endpoint, server: Endpoint): DatagramPort {
  const wrapped = new Map<unknown, (msg: Buffer, rinfo: RemoteInfo) => void>();
  const remote = { address: normalizeAddress(server.address), port: server.port };
  return {
    send(msg, port, address, callback) {
      tap.sent(Buffer.from(msg), local, remote);
      socket.send(msg, port, address, callback);
    },
    on(event, listener) {
      const w = (msg: Buffer, rinfo: RemoteInfo): void => {
        tap.received(msg, local, { address: normalizeAddress(rinfo.address), port: rinfo.port });
        listener(msg, rinfo);
      };
      wrapped.set(listener, w);
      return socket.on(event, w);
    },
    off(event, listener) {
      const w = wrapped.get(listener);
      wrapped.delete(listener);
      return socket.off(event, w ?? listener);
    },
  };
}

/**
 * One request to a UDP echo server. Listen to `event`; `run()` resolves with the outcome.
 *
 * @example
 * const c = new UdpEchoClient({ host: "127.0.0.1", port: 12002, message: "hello" });
 * c.on("event", (e) => console.log(e));
 * const r = await c.run();
 * console.log(r.status, r.reply?.text);
 */
export class UdpEchoClient extends TypedEmitter<{ event: [UdpEchoClientEvent] }> {
  readonly #o: UdpEchoClientOptions;

  constructor(options: UdpEchoClientOptions) {
    super();
    this.#o = options;
    if (options.requestId !== undefined && !isRequestId(options.requestId)) throw usageError(`invalid request id '${options.requestId}' (need 16 hex digits)`);
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw usageError(`invalid server port ${options.port} (must be 1-65535)`);
  }

  async run(): Promise<UdpEchoResult> {
    const o = this.#o;
    const clock = o.clock ?? systemClock;
    const verify = o.verify ?? true;
    const resolved = await resolveHost(o.host, o.family);
    const server: Endpoint = { address: resolved.address, port: o.port };
    const message = o.message ?? formatLocalTimestamp(clock.now());
    const body = typeof message === "string" ? Buffer.from(message, "utf8") : Buffer.from(message);
    const room = maxUdpPayload(resolved.family) - REQUEST_ID_LENGTH - 1;
    if (body.length > room) {
      throw usageError(`message of ${body.length} bytes does not fit in one datagram with its request id (at most ${room} bytes over IPv${resolved.family})`);
    }
    const requestId = o.requestId ?? newRequestId(o.idRandom ?? secureRandom);
    const bound = await bindUdp({ host: await routeSourceAddress(server, resolved.family), port: 0 });
    const local = { address: normalizeAddress(bound.address), port: bound.port };
    this.emit("event", { kind: "start", local, server, requestId, bytes: body.length });
    let ignored = 0;
    try {
      const r = await requestWithBackoff({
        socket: o.tap === undefined ? bound.socket : tapped(bound.socket, o.tap, local, server),
        server,
        payload: encodeRequest(requestId, body),
        initialMs: o.timeoutMs ?? 100,
        maxMs: o.maxTimeoutMs ?? 2000,
        jitter: o.jitter ?? false,
        random: createRandom(o.seed),
        clock,
        ...(o.signal ? { signal: o.signal } : {}),
        check: (msg, from) => {
          if (!verify) return true;
          if (from.address !== normalizeAddress(server.address) || from.port !== server.port) return "not the server";
          if (!sameRequestId(decodeReply(msg).id, requestId)) return "wrong request id";
          return true;
        },
        onEvent: (e) => {
          if (e.kind === "ignored") ignored++;
          this.emit("event", e);
        },
      });
      const base = { server, local, requestId, messageBytes: body.length, attempts: r.attempts, elapsedMs: r.elapsedMs, ignored };
      if (!r.ok) return { ...base, status: r.reason, ...(r.error ? { error: r.error.message } : {}) };
      const d = decodeReply(r.reply);
      const reply: UdpEchoReply = {
        text: d.text,
        from: r.from,
        fromServer: r.from.address === normalizeAddress(server.address) && r.from.port === server.port,
        idMatches: sameRequestId(d.id, requestId),
        attempts: r.attempts,
        rttMs: r.rttMs,
        elapsedMs: r.elapsedMs,
      };
      if (d.id !== undefined) reply.id = d.id;
      if (d.bytes !== undefined) reply.bytes = d.bytes;
      return { ...base, status: "reply", reply };
    } finally {
      await closeUdp(bound.socket);
    }
  }
}

/**
 * Send one request to a UDP echo server, with backoff.
 *
 * @example
 * const r = await udpEcho({ host: "127.0.0.1", port: 12002, message: "hi" });
 * if (r.status === "reply") console.log(r.reply?.text); // "I received from you a message of 2 bytes"
 */
export function udpEcho(options: UdpEchoClientOptions, onEvent?: (e: UdpEchoClientEvent) => void): Promise<UdpEchoResult> {
  const c = new UdpEchoClient(options);
  if (onEvent) c.on("event", onEvent);
  return c.run();
}

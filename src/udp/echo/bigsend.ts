/**
 * `send-big`: what happens to a datagram larger than UDP can carry. First one datagram of
 * `size` bytes — refused by the OS with EMSGSIZE above 65507 bytes over IPv4 (the 16-bit IPv4
 * total length, RFC 791 §3.1, minus 20 bytes of IP header and 8 of UDP header, RFC 768) or
 * 65527 over IPv6 (RFC 8200 §3 counts the payload only). Then the same bytes in `parts`
 * datagrams with a part header, which the echo server reassembles and confirms.
 */
import { formatHostPort, resolveHost, type IpFamily } from "../../core/address.js";
import { systemClock, sleep, type Clock, type TimerHandle } from "../../core/clock.js";
import { fromSystemError, usageError } from "../../core/errors.js";
import { TypedEmitter } from "../../core/events.js";
import { secureRandom, type Random } from "../../core/random.js";
import { bindUdp, closeUdp, isWildcardAddress, normalizeAddress, routeSourceAddress, type WireTap } from "../../core/udp-socket.js";
import { checkSplit, decodeReply, encodeParts, isRequestId, maxUdpPayload, newRequestId, PART_HEADER_BYTES, partLength, sameRequestId } from "./protocol.js";
import type { Endpoint } from "./server.js";

/** The largest message `sendBig` will build (the server's default reassembly limit). */
export const MAX_BIG_MESSAGE = 16 * 1024 * 1024;

export interface SendBigOptions {
  host: string;
  port: number;
  /** Message size in bytes. @default 80000 */
  size?: number;
  /** Number of datagrams for the split send. @default 16 */
  parts?: number;
  /** The ASCII character the message repeats. @default "a" */
  fill?: string;
  /** How long to wait for the server's confirmation after the last part, in ms (0 = do not wait). @default 4000 */
  waitMs?: number;
  /** Pause between parts, in ms (pacing for slow receivers). @default 0 */
  intervalMs?: number;
  family?: IpFamily;
  /** Message ID of the split send (tests); random otherwise. */
  messageId?: string;
  /** @default secureRandom */
  idRandom?: Random;
  /** @default systemClock */
  clock?: Clock;
  signal?: AbortSignal;
  /** Shown every datagram that crosses the wire (`--pcap`); the refused big one never does. */
  tap?: WireTap;
}

export type SendBigEvent =
  | { kind: "start"; local: Endpoint; server: Endpoint; size: number; messageId: string }
  | { kind: "single"; status: "sent"; bytes: number }
  | { kind: "single"; status: "too-big"; bytes: number; limit: number; family: IpFamily }
  | { kind: "single"; status: "failed"; bytes: number; error: string }
  /** One datagram of the split send (`number` from 1), as it left or as its send failed. */
  | { kind: "part"; number: number; count: number; bytes: number; error?: string }
  | { kind: "parts-sent"; count: number; partBytes: number; lastPartBytes: number; headerBytes: number; failed: number }
  | { kind: "reply"; from: Endpoint; text: string; forParts: boolean }
  | { kind: "ignored"; from: Endpoint; bytes: number; reason: string };

export interface SendBigResult {
  single: "sent" | "too-big" | "failed";
  /** Bytes of the message. */
  size: number;
  /** Message ID of the split send (the server's verdict carries it). */
  messageId: string;
  limit: number;
  parts: number;
  partBytes: number;
  /** The server's answer to the split send: complete, incomplete, or nothing in time. */
  confirmation: "complete" | "incomplete" | "none";
  confirmationText?: string;
}

/**
 * Check the options; throws ERR_USAGE with a one-line reason.
 *
 * @example
 * checkSendBig(80000, 1, 4, "a") // throws: 80000 bytes in 1 part means datagrams of 80020 bytes > 65507; use --parts 2 or more
 */
export function checkSendBig(size: number, parts: number, family: IpFamily, fill: string): void {
  if (!Number.isInteger(size) || size < 0 || size > MAX_BIG_MESSAGE) throw usageError(`invalid size ${size} (must be 0-${MAX_BIG_MESSAGE} bytes)`);
  if (!/^[\x20-\x7e]$/.test(fill)) throw usageError(`invalid fill '${fill}' (must be one printable ASCII character)`);
  const problem = checkSplit(size, parts);
  if (problem !== undefined) throw usageError(`cannot split ${size} bytes into ${parts} parts: ${problem}`);
  const largest = PART_HEADER_BYTES + partLength(size, parts, 1);
  const limit = maxUdpPayload(family);
  if (largest > limit) {
    const need = Math.ceil(size / (limit - PART_HEADER_BYTES));
    throw usageError(`${size} bytes in ${parts} part${parts === 1 ? "" : "s"} means datagrams of ${largest} bytes > ${limit}; use --parts ${need} or more`);
  }
}

/**
 * Send one big datagram, then the same bytes in parts, and wait for the server's verdict.
 *
 * @example
 * const r = await sendBig({ host: "127.0.0.1", port: 12002 }, (e) => console.log(e));
 * r.single;       // "too-big": 80000 > 65507
 * r.confirmation; // "complete"
 */
export class BigSender extends TypedEmitter<{ event: [SendBigEvent] }> {
  readonly #o: SendBigOptions;

  constructor(options: SendBigOptions) {
    super();
    this.#o = options;
  }

  async run(): Promise<SendBigResult> {
    const o = this.#o;
    const clock = o.clock ?? systemClock;
    const size = o.size ?? 80000;
    const count = o.parts ?? 16;
    const fill = o.fill ?? "a";
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw usageError(`invalid port ${o.port} (must be 1-65535)`);
    const resolved = await resolveHost(o.host, o.family);
    checkSendBig(size, count, resolved.family, fill);
    if (o.messageId !== undefined && !isRequestId(o.messageId)) throw usageError(`invalid message id '${o.messageId}'`);
    const messageId = o.messageId ?? newRequestId(o.idRandom ?? secureRandom);
    const server: Endpoint = { address: resolved.address, port: o.port };
    const target = formatHostPort(server.address, server.port);
    const limit = maxUdpPayload(resolved.family);
    const payload = Buffer.alloc(size, fill, "latin1");
    const bound = await bindUdp({ host: resolved.family === 6 ? "::" : "0.0.0.0", port: 0 });
    const socket = bound.socket;
    const emit = (e: SendBigEvent): void => void this.emit("event", e);
    // This host as the server sees it: the address routing picks toward it, not the wildcard bound.
    const local = { address: isWildcardAddress(bound.address) ? await routeSourceAddress(server, resolved.family) : normalizeAddress(bound.address), port: bound.port };
    emit({ kind: "start", local, server, size, messageId });
    const tap = o.tap;
    const remote = { address: normalizeAddress(server.address), port: server.port };
    const shown = tap === undefined ? undefined : local;

    let confirmation: SendBigResult["confirmation"] = "none";
    let confirmationText: string | undefined;
    let confirmed: (() => void) | undefined;
    socket.on("message", (msg, rinfo) => {
      const from = { address: normalizeAddress(rinfo.address), port: rinfo.port };
      if (shown !== undefined) tap?.received(msg, shown, from);
      if (from.address !== normalizeAddress(server.address) || from.port !== server.port) {
        emit({ kind: "ignored", from, bytes: msg.length, reason: "not the server" });
        return;
      }
      const d = decodeReply(msg);
      const forParts = sameRequestId(d.id, messageId);
      if (d.id !== undefined && !forParts) {
        emit({ kind: "ignored", from, bytes: msg.length, reason: "wrong request id" });
        return;
      }
      emit({ kind: "reply", from, text: d.text, forParts });
      if (forParts && confirmation === "none") {
        confirmation = d.text.startsWith("incomplete") ? "incomplete" : "complete";
        confirmationText = d.text;
        confirmed?.();
      }
    });
    const sendOne = (buf: Buffer): Promise<NodeJS.ErrnoException | null> =>
      new Promise((resolve) => socket.send(buf, server.port, server.address, (err) => resolve(err)));

    try {
      const err = await sendOne(payload);
      let single: SendBigResult["single"] = "sent";
      if (err === null) {
        if (shown !== undefined) tap?.sent(payload, shown, remote);
        emit({ kind: "single", status: "sent", bytes: size });
      } else if (err.code === "EMSGSIZE") {
        single = "too-big";
        emit({ kind: "single", status: "too-big", bytes: size, limit, family: resolved.family });
      } else {
        single = "failed";
        emit({ kind: "single", status: "failed", bytes: size, error: fromSystemError(err, `send to ${target}`).message });
      }

      let failed = 0;
      const datagrams = encodeParts(messageId, payload, count);
      for (const [i, d] of datagrams.entries()) {
        if (o.signal?.aborted) break;
        const sendErr = await sendOne(d);
        if (sendErr === null && shown !== undefined) tap?.sent(d, shown, remote);
        if (sendErr !== null) failed++;
        emit({ kind: "part", number: i + 1, count, bytes: d.length, ...(sendErr === null ? {} : { error: fromSystemError(sendErr, `send to ${target}`).message }) });
        if ((o.intervalMs ?? 0) > 0 && i < datagrams.length - 1) await sleep(clock, o.intervalMs ?? 0, o.signal).catch(() => {});
      }
      const partBytes = partLength(size, count, 1);
      emit({ kind: "parts-sent", count, partBytes, lastPartBytes: partLength(size, count, count), headerBytes: PART_HEADER_BYTES, failed });

      const waitMs = o.waitMs ?? 4000;
      if (waitMs > 0 && confirmation === "none") {
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            clock.clearTimeout(timer);
            o.signal?.removeEventListener("abort", stop);
            resolve();
          };
          const timer: TimerHandle = clock.setTimeout(stop, waitMs);
          confirmed = stop;
          if (o.signal?.aborted) stop();
          else o.signal?.addEventListener("abort", stop, { once: true });
        });
      }
      const result: SendBigResult = { single, size, messageId, limit, parts: count, partBytes, confirmation };
      if (confirmationText !== undefined) result.confirmationText = confirmationText;
      return result;
    } finally {
      await closeUdp(socket);
    }
  }
}

/**
 * Run `send-big` once.
 *
 * @example
 * const r = await sendBig({ host: "127.0.0.1", port: 12002, size: 80000, parts: 16 });
 */
export function sendBig(options: SendBigOptions, onEvent?: (e: SendBigEvent) => void): Promise<SendBigResult> {
  const s = new BigSender(options);
  if (onEvent) s.on("event", onEvent);
  return s.run();
}

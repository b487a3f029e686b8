/**
 * ICMP ping (RFC 792 echo, RFC 4443 §4 ICMPv6 echo): one echo request per interval on an absolute
 * schedule, each reply matched by identifier and sequence, RTT from the kernel receive timestamp
 * minus the time read just before sendto() (as iputils), ICMP errors matched to the probe they
 * quote. Emits typed events; never prints.
 */
import { isIP, SocketAddress } from "node:net";
import { resolveHost, type IpFamily } from "../core/address.js";
import { systemClock, type Clock, type TimerHandle } from "../core/clock.js";
import { TypedEmitter, publish } from "../core/events.js";
import { usageError } from "../core/errors.js";
import { createRandom, type Random } from "../core/random.js";
import type { PingTotals, RttSummary } from "../core/stats.js";
import { matchEcho } from "./match.js";
import { echoPayload, encodeEchoRequest, firstDataMismatch, type EchoDataMismatch, type IcmpErrorMessage } from "./message/index.js";
import { ProbeTable, rttMs } from "./probes.js";
import { IcmpSocket, type IcmpReceived, type IcmpSocketKind } from "./socket.js";

export interface IcmpPingOptions {
  /** Host name or address. */
  host: string;
  /** Echo requests to send; 0 = until aborted. @default 4 */
  count?: number;
  /** Time between requests in ms (at least 2). @default 1000 */
  intervalMs?: number;
  /** How long to wait for each reply in ms. @default 1000 */
  timeoutMs?: number;
  /** Echo data bytes after the 8-byte ICMP header. @default 56 */
  size?: number;
  /** TTL / hop limit of the requests; undefined = the system default. */
  ttl?: number;
  /** Force IPv4 or IPv6. */
  family?: IpFamily;
  /** Echo identifier (iputils -e), 0-65535. @default random (raw) / kernel-chosen (ping socket) */
  identifier?: number;
  /** Socket to use. @default "auto" (ping socket, then raw) */
  socket?: IcmpSocketKind | "auto";
  /** @default systemClock */
  clock?: Clock;
  /** Source of the echo identifier on raw sockets. @default createRandom() */
  random?: Random;
  /** Abort to stop early (Ctrl-C); the result still has the statistics. */
  signal?: AbortSignal;
}

/** Everything a ping run reports, as it happens. */
export type IcmpPingEvent =
  | { kind: "start"; host: string; address: string; family: IpFamily; size: number; socket: IcmpSocketKind; id: number }
  | { kind: "sent"; seq: number }
  | { kind: "reply"; seq: number; from: string; bytes: number; ttl?: number; rttMs: number; differentAddress: boolean }
  | { kind: "duplicate"; seq: number; from: string; bytes: number; ttl?: number; rttMs: number }
  | { kind: "late"; seq: number; from: string; rttMs: number }
  /**
   * The reply (or duplicate) just reported for `seq` carries data that differs from what was
   * sent: a corrupting path or a forger. Still counted as received, as iputils does.
   */
  | { kind: "wrong-data"; seq: number; from: string; duplicate: boolean; mismatch: EchoDataMismatch }
  | { kind: "timeout"; seq: number }
  | { kind: "error"; seq: number; from: string; text: string; error: IcmpErrorMessage }
  /** Redirect / Source Quench: advice about a probe that may still be answered; it stays pending. */
  | { kind: "advisory"; seq: number; from: string; text: string; error: IcmpErrorMessage }
  | { kind: "send-error"; seq: number; code: string; message: string }
  | { kind: "ignored"; from: string; reason: string };

/** The final record of one probe. */
export interface IcmpPingRecord {
  seq: number;
  status: "reply" | "timeout" | "error" | "unanswered";
  rttMs?: number;
  ttl?: number;
  from?: string;
  /** The ICMP error text, for status "error". */
  error?: string;
  duplicates: number;
  /** The first wrong data byte of the reply, when its data differed from what was sent. */
  wrongData?: EchoDataMismatch;
}

/**
 * Ping's totals plus `corrupted`: replies (and duplicates) whose data differed from what was
 * sent. They are also in `received`/`duplicates`: iputils counts a reply with a wrong data byte
 * as received and only prints the byte; its `+N corrupted` is for bad checksums, which we drop.
 */
export interface IcmpPingTotals extends PingTotals {
  corrupted: number;
}

export interface IcmpPingResult {
  host: string;
  address: string;
  family: IpFamily;
  socket: IcmpSocketKind;
  pings: IcmpPingRecord[];
  totals: IcmpPingTotals;
  rtt: RttSummary;
}

/** Largest echo data: 65535 − IPv4 header (20) − ICMP header (8); ICMPv6 has no IP header in the count. */
export const MAX_ECHO_DATA = { 4: 65507, 6: 65527 } as const;

/** Canonical text of a numeric address ("0:0::1" → "::1"), to compare with what the kernel reports. */
export function canonicalAddress(address: string): string {
  const f = isIP(address);
  if (f === 0) return address;
  return new SocketAddress({ address, family: f === 6 ? "ipv6" : "ipv4" }).address;
}

/**
 * One ping run. Listen to "event", then `await run()`.
 *
 * @example
 * const p = new IcmpPinger({ host: "127.0.0.1", count: 3 });
 * p.on("event", (e) => { if (e.kind === "reply") console.log(e.rttMs); });
 * const result = await p.run();
 */
export class IcmpPinger extends TypedEmitter<{ event: [IcmpPingEvent] }> {
  readonly #o: Required<Omit<IcmpPingOptions, "ttl" | "family" | "signal" | "identifier">> & Pick<IcmpPingOptions, "ttl" | "family" | "signal" | "identifier">;

  constructor(options: IcmpPingOptions) {
    super();
    this.#o = {
      host: options.host,
      count: options.count ?? 4,
      intervalMs: options.intervalMs ?? 1000,
      timeoutMs: options.timeoutMs ?? 1000,
      size: options.size ?? 56,
      socket: options.socket ?? "auto",
      clock: options.clock ?? systemClock,
      random: options.random ?? createRandom(),
      ttl: options.ttl,
      identifier: options.identifier,
      family: options.family,
      signal: options.signal,
    };
    const o = this.#o;
    if (!Number.isInteger(o.count) || o.count < 0) throw usageError(`invalid count ${o.count}`);
    if (!(o.intervalMs >= 2)) throw usageError("interval must be at least 2 ms");
    if (!(o.timeoutMs > 0)) throw usageError("timeout must be positive");
    if (!Number.isInteger(o.size) || o.size < 0 || o.size > MAX_ECHO_DATA[6]) throw usageError(`invalid size ${o.size}`);
    if (o.identifier !== undefined && (!Number.isInteger(o.identifier) || o.identifier < 0 || o.identifier > 0xffff)) throw usageError(`invalid identifier ${o.identifier} (must be 0-65535)`);
    if (o.ttl !== undefined && (!Number.isInteger(o.ttl) || o.ttl < 1 || o.ttl > 255)) throw usageError(`invalid TTL ${o.ttl} (must be 1-255)`);
  }

  #publish(e: IcmpPingEvent): void {
    this.emit("event", e);
    publish("ping", e.kind, e);
  }

  async run(): Promise<IcmpPingResult> {
    const o = this.#o;
    const resolved = await resolveHost(o.host, o.family);
    if (o.size > MAX_ECHO_DATA[resolved.family]) throw usageError(`invalid size ${o.size} (at most ${MAX_ECHO_DATA[resolved.family]} for IPv${resolved.family})`);
    const target = canonicalAddress(resolved.address);
    const sock = IcmpSocket.open({ family: resolved.family, kind: o.socket, ...(o.identifier === undefined ? {} : { echoId: o.identifier }) });
    try {
      if (o.ttl !== undefined) sock.setTtl(o.ttl);
      return await this.#drive(sock, resolved.host, target, resolved.family);
    } finally {
      sock.close();
    }
  }

  #drive(sock: IcmpSocket, host: string, target: string, family: IpFamily): Promise<IcmpPingResult> {
    const o = this.#o;
    const clock = o.clock;
    const id = sock.echoId ?? o.random.int(0x10000);
    const table = new ProbeTable<IcmpPingRecord>();
    const records: IcmpPingRecord[] = [];
    // The wall time each sequence carried, to rebuild its data for the comparison (8 bytes a
    // probe, where keeping the data itself could be 64 KiB a probe).
    const sentWallNs = new Map<number, bigint>();
    let corrupted = 0;
    const timers = new Set<TimerHandle>();
    const start = clock.monotonic();
    let sentCount = 0;
    let finished = false;
    this.#publish({ kind: "start", host, address: target, family, size: o.size, socket: sock.kind, id });

    return new Promise<IcmpPingResult>((resolve) => {
      const finish = (): void => {
        if (finished) return;
        finished = true;
        for (const t of timers) clock.clearTimeout(t);
        timers.clear();
        sock.off("packet", onPacket);
        o.signal?.removeEventListener("abort", finish);
        resolve({
          host,
          address: target,
          family,
          socket: sock.kind,
          pings: records,
          totals: { ...table.totals(clock.monotonic() - start), corrupted },
          rtt: table.rtt.summary(),
        });
      };
      const later = (fn: () => void, ms: number): void => {
        const t = clock.setTimeout(() => {
          timers.delete(t);
          fn();
        }, ms);
        timers.add(t);
      };
      const maybeDone = (): void => {
        if (o.count > 0 && sentCount >= o.count && table.pending === 0) finish();
      };

      const onPacket = (p: IcmpReceived): void => {
        if (finished) return;
        if (p.kind === "invalid") {
          this.#publish({ kind: "ignored", from: p.from, reason: p.reason });
          return;
        }
        const m = matchEcho(p.message, p.from, { family, id, target });
        if (m.kind === "ignore") {
          this.#publish({ kind: "ignored", from: p.from, reason: m.reason });
          return;
        }
        const probe = table.get(m.seq);
        if (probe === undefined) {
          this.#publish({ kind: "ignored", from: p.from, reason: `answer for unknown sequence ${m.seq}` });
          return;
        }
        const rec = probe.tag;
        if (m.kind === "error" && (m.error.kind === "redirect" || m.error.kind === "source-quench")) {
          // RFC 792: the router still forwarded (redirect) or may have (quench) the datagram.
          this.#publish({ kind: "advisory", seq: m.seq, from: p.from, text: m.error.text, error: m.error });
          return;
        }
        if (m.kind === "error") {
          if (table.error(m.seq)) {
            rec.status = "error";
            rec.from = p.from;
            rec.error = m.error.text;
            this.#publish({ kind: "error", seq: m.seq, from: p.from, text: m.error.text, error: m.error });
            maybeDone();
          }
          return;
        }
        const rtt = rttMs(probe.txNs, p.rxNs, probe.sentMono, clock.monotonic());
        const wallNs = sentWallNs.get(m.seq);
        const mismatch = wallNs === undefined || p.message.kind !== "echo-reply" ? undefined : firstDataMismatch(echoPayload(o.size, wallNs), p.message.data);
        const outcome = table.reply(m.seq, rtt);
        const ttl = p.ttl === undefined ? {} : { ttl: p.ttl };
        if (outcome === "reply") {
          Object.assign(rec, { status: "reply", rttMs: rtt, from: p.from }, ttl);
          this.#publish({ kind: "reply", seq: m.seq, from: p.from, bytes: m.dataBytes, rttMs: rtt, differentAddress: m.differentAddress, ...ttl });
          if (mismatch !== undefined) {
            corrupted++;
            rec.wrongData = mismatch;
            this.#publish({ kind: "wrong-data", seq: m.seq, from: p.from, duplicate: false, mismatch });
          }
          maybeDone();
        } else if (outcome === "duplicate") {
          rec.duplicates++;
          this.#publish({ kind: "duplicate", seq: m.seq, from: p.from, bytes: m.dataBytes, rttMs: rtt, ...ttl });
          if (mismatch !== undefined) {
            corrupted++;
            this.#publish({ kind: "wrong-data", seq: m.seq, from: p.from, duplicate: true, mismatch });
          }
        } else if (outcome === "late") {
          this.#publish({ kind: "late", seq: m.seq, from: p.from, rttMs: rtt });
        }
      };

      const sendNext = (): void => {
        if (finished) return;
        const seq = sentCount & 0xffff;
        const rec: IcmpPingRecord = { seq, status: "unanswered", duplicates: 0 };
        records.push(rec);
        sentCount++;
        const wallNs = BigInt(Math.round(clock.now())) * 1_000_000n;
        sentWallNs.set(seq, wallNs);
        const data = echoPayload(o.size, wallNs);
        const bytes = encodeEchoRequest({ family, id, seq, data });
        const mono = clock.monotonic();
        try {
          const txNs = sock.send(bytes, target);
          table.sent(seq, txNs, mono, rec);
          this.#publish({ kind: "sent", seq });
          later(() => {
            if (table.expire(seq)) {
              rec.status = "timeout";
              this.#publish({ kind: "timeout", seq });
              maybeDone();
            }
          }, o.timeoutMs);
        } catch (err) {
          table.sent(seq, 0n, mono, rec);
          table.error(seq);
          rec.status = "error";
          const code = typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : "";
          const msg = err instanceof Error ? err.message : String(err);
          rec.error = msg;
          this.#publish({ kind: "send-error", seq, code, message: msg });
        }
        if (o.count === 0 || sentCount < o.count) {
          later(sendNext, start + sentCount * o.intervalMs - clock.monotonic());
        } else {
          maybeDone();
        }
      };

      sock.on("packet", onPacket);
      if (o.signal?.aborted) {
        finish();
        return;
      }
      o.signal?.addEventListener("abort", finish, { once: true });
      sendNext();
    });
  }
}

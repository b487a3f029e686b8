/**
 * ICMP ping (RFC 792 echo, RFC 4443 §4 ICMPv6 echo), an adapter on the probe engine
 * (core/probe): one echo request per interval and target on the driver's absolute schedule,
 * each reply matched to its target and probe by source address, identifier and sequence
 * (never by arrival order), RTT from the kernel receive timestamp minus the time read just
 * before sendto() (as iputils), ICMP errors matched to the probe they quote. Several targets
 * (fping) share one socket per family. Emits typed events; never prints.
 */
import { isIP, SocketAddress } from "node:net";
import { resolveHost, type IpFamily, type ResolvedAddress } from "../core/address.js";
import { systemClock, type Clock } from "../core/clock.js";
import { TypedEmitter, publish } from "../core/events.js";
import { usageError } from "../core/errors.js";
import { ProbeDriver, type ProbeEndReason, type ProbeMatch } from "../core/probe/index.js";
import { createRandom, type Random } from "../core/random.js";
import type { PingTotals, RttSummary } from "../core/stats.js";
import { matchEcho } from "./match.js";
import { echoPayload, encodeEchoRequest, firstDataMismatch, isIcmpError, type EchoDataMismatch, type IcmpErrorMessage } from "./message/index.js";
import { rttMs } from "./probes.js";
import { EMSGSIZE, IcmpSocket, type IcmpReceived, type IcmpSocketKind, type OpenIcmpSocketOptions, type PmtuMode } from "./socket.js";

export interface IcmpPingOptions {
  /** Host name or address. */
  host: string;
  /** More targets, probed concurrently over the same socket(s) (fping). @default none */
  more?: readonly string[];
  /** Echo requests to send (per target); 0 = until aborted or the deadline. @default 4 */
  count?: number;
  /** Time between requests in ms (at least 2, except in flood mode). @default 1000 (flood: 10) */
  intervalMs?: number;
  /** How long to wait for each reply in ms. @default 1000 */
  timeoutMs?: number;
  /**
   * Stop this long after the start, whatever was sent or received (ping -w). With a count, the
   * run goes on until that many probes per target are answered. @default none
   */
  deadlineMs?: number;
  /** Report a reply still missing when the next request leaves (ping -O). @default false */
  reportOutstanding?: boolean;
  /** Send the next request as soon as the last is answered, at most `intervalMs` apart (ping -f). @default false */
  flood?: boolean;
  /** Echo data bytes after the 8-byte ICMP header. @default 56 */
  size?: number;
  /** Bytes repeated over the echo data after the timestamp (ping -p, up to 16). @default 0x08 0x09 ... */
  pattern?: Uint8Array;
  /** TTL / hop limit of the requests; undefined = the system default. */
  ttl?: number;
  /** TOS byte / IPv6 traffic class (ping -Q). @default the system's */
  tos?: number;
  /** Path-MTU discovery (ping -M). @default the system's (want) */
  pmtu?: PmtuMode;
  /** Source address (ping -I ADDR). @default chosen by the kernel */
  source?: string;
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
  /** Opens the socket of a family; tests pass a fake. @default IcmpSocket.open */
  openSocket?: (options: OpenIcmpSocketOptions) => IcmpProbeSocket;
  /** Resolves a target; tests pass a fake. @default resolveHost */
  resolve?: (host: string, family?: IpFamily) => Promise<ResolvedAddress>;
}

/** What ping needs of an ICMP socket (IcmpSocket, or a fake in tests). */
export interface IcmpProbeSocket {
  readonly family: IpFamily;
  readonly kind: IcmpSocketKind;
  readonly echoId: number | undefined;
  send(bytes: Buffer, address: string): bigint;
  on(event: "packet", fn: (p: IcmpReceived) => void): unknown;
  off(event: "packet", fn: (p: IcmpReceived) => void): unknown;
  setTtl?(ttl: number): void;
  setTos?(tos: number): void;
  setPmtuDiscovery?(mode: PmtuMode): void;
  close(): void;
}

/** Everything a ping run reports, as it happens. With several targets each event carries `target`. */
export type IcmpPingEvent = (
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
  /** ping -O: no reply yet for `seq` as the next request leaves. */
  | { kind: "outstanding"; seq: number }
  | { kind: "error"; seq: number; from: string; text: string; error: IcmpErrorMessage }
  /** Redirect / Source Quench: advice about a probe that may still be answered; it stays pending. */
  | { kind: "advisory"; seq: number; from: string; text: string; error: IcmpErrorMessage }
  | { kind: "send-error"; seq: number; code: string; message: string }
  /** The kernel refused `seq` as larger than the path MTU (ping -M do): EMSGSIZE with the MTU. */
  | { kind: "local-error"; seq: number; mtu: number }
  | { kind: "ignored"; from: string; reason: string }
) & { target?: number };

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
  /** Why the run ended. */
  reason?: ProbeEndReason;
}

/** Largest echo data: 65535 − IPv4 header (20) − ICMP header (8); ICMPv6 has no IP header in the count. */
export const MAX_ECHO_DATA = { 4: 65507, 6: 65527 } as const;

/** Canonical text of a numeric address ("0:0::1" → "::1"), to compare with what the kernel reports. */
export function canonicalAddress(address: string): string {
  const f = isIP(address);
  if (f === 0) return address;
  return new SocketAddress({ address, family: f === 6 ? "ipv6" : "ipv4" }).address;
}

/** One target of the run. */
interface Target {
  index: number;
  /** As given, and as resolved. */
  name: string;
  host: string;
  address: string;
  family: IpFamily;
  sock: IcmpProbeSocket;
  id: number;
  records: IcmpPingRecord[];
  /** The wall time each sequence carried, to rebuild its data for the comparison (8 bytes a probe, not 64 KiB). */
  sentWallNs: Map<number, bigint>;
  corrupted: number;
}

interface ProbeTag {
  txNs: bigint;
  rec: IcmpPingRecord;
}

interface Datagram {
  p: IcmpReceived;
  sock: IcmpProbeSocket;
}

/**
 * One ping run, to one target or several. Listen to "event", then `await run()` (the first
 * target's result) or `await runAll()` (one result per target, in the order given).
 *
 * @example
 * const p = new IcmpPinger({ host: "127.0.0.1", count: 3 });
 * p.on("event", (e) => { if (e.kind === "reply") console.log(e.rttMs); });
 * const result = await p.run();
 */
export class IcmpPinger extends TypedEmitter<{ event: [IcmpPingEvent] }> {
  readonly #o: IcmpPingOptions & Required<Pick<IcmpPingOptions, "count" | "intervalMs" | "timeoutMs" | "size" | "socket" | "clock">>;
  #many = false;

  constructor(options: IcmpPingOptions) {
    super();
    this.#o = {
      ...options,
      count: options.count ?? 4,
      intervalMs: options.intervalMs ?? (options.flood === true ? 10 : 1000),
      timeoutMs: options.timeoutMs ?? 1000,
      size: options.size ?? 56,
      socket: options.socket ?? "auto",
      clock: options.clock ?? systemClock,
    };
    const o = this.#o;
    if (!Number.isInteger(o.count) || o.count < 0) throw usageError(`invalid count ${o.count}`);
    if (o.flood === true ? !(o.intervalMs >= 0) : !(o.intervalMs >= 2)) throw usageError("interval must be at least 2 ms");
    if (!(o.timeoutMs > 0)) throw usageError("timeout must be positive");
    if (o.deadlineMs !== undefined && !(o.deadlineMs > 0)) throw usageError("deadline must be positive");
    if (!Number.isInteger(o.size) || o.size < 0 || o.size > MAX_ECHO_DATA[6]) throw usageError(`invalid size ${o.size}`);
    if (o.identifier !== undefined && (!Number.isInteger(o.identifier) || o.identifier < 0 || o.identifier > 0xffff)) throw usageError(`invalid identifier ${o.identifier} (must be 0-65535)`);
    if (o.ttl !== undefined && (!Number.isInteger(o.ttl) || o.ttl < 1 || o.ttl > 255)) throw usageError(`invalid TTL ${o.ttl} (must be 1-255)`);
    if (o.tos !== undefined && (!Number.isInteger(o.tos) || o.tos < 0 || o.tos > 255)) throw usageError(`invalid TOS ${o.tos} (must be 0-255)`);
    if (o.pattern !== undefined && (o.pattern.length === 0 || o.pattern.length > 16)) throw usageError("the pattern must be 1 to 16 bytes");
  }

  /** `e` is always a fresh object: with several targets it is tagged in place (a copy per event costs). */
  #publish(e: IcmpPingEvent, t?: Target): void {
    if (this.#many && t !== undefined) e.target = t.index;
    this.emit("event", e);
    publish("ping", e.kind, e);
  }

  /** Ping the first target; its result. */
  async run(): Promise<IcmpPingResult> {
    const all = await this.runAll();
    return all[0] as IcmpPingResult;
  }

  /** Ping every target; one result each, in the order given. */
  async runAll(): Promise<IcmpPingResult[]> {
    const o = this.#o;
    const names = [o.host, ...(o.more ?? [])];
    this.#many = names.length > 1;
    const resolve = o.resolve ?? resolveHost;
    const resolved = await Promise.all(names.map((n) => resolve(n, o.family)));
    for (const r of resolved) {
      if (o.size > MAX_ECHO_DATA[r.family]) throw usageError(`invalid size ${o.size} (at most ${MAX_ECHO_DATA[r.family]} for IPv${r.family})`);
    }
    const sockets = new Map<IpFamily, IcmpProbeSocket>();
    try {
      const open = o.openSocket ?? ((x: OpenIcmpSocketOptions) => IcmpSocket.open(x));
      const targets: Target[] = [];
      for (const [i, r] of resolved.entries()) {
        let sock = sockets.get(r.family);
        if (sock === undefined) {
          sock = open({ family: r.family, kind: o.socket, ...(o.identifier === undefined ? {} : { echoId: o.identifier }), ...(o.source === undefined ? {} : { source: o.source }) });
          sockets.set(r.family, sock);
          if (o.ttl !== undefined) sock.setTtl?.(o.ttl);
          if (o.tos !== undefined) sock.setTos?.(o.tos);
          if (o.pmtu !== undefined) sock.setPmtuDiscovery?.(o.pmtu);
        }
        // Only a raw socket without -e draws one: the OS seed is read only then.
        const id = sock.echoId ?? o.identifier ?? drawId(sock, (o.random ??= createRandom()));
        targets.push({ index: i, name: names[i] ?? r.host, host: r.host, address: canonicalAddress(r.address), family: r.family, sock, id, records: [], sentWallNs: new Map(), corrupted: 0 });
      }
      return await this.#drive(targets, [...sockets.values()]);
    } finally {
      for (const s of sockets.values()) s.close();
    }
  }

  async #drive(targets: Target[], sockets: IcmpProbeSocket[]): Promise<IcmpPingResult[]> {
    const o = this.#o;
    const clock = o.clock;
    const n = targets.length;
    // Wire sequence numbers: target i of round k sends (k·n + i) mod 2^16, so a sequence number
    // alone names its target and round, even in an error quoted without the destination.
    const wire = new Map<number, { target: number; seq: number }>();
    // The probe refused with EMSGSIZE, for the MTU the error queue reports right after.
    const refused = new Map<IpFamily, { target: Target; seq: number }>();
    // The first target on each socket: its identifier is the socket's.
    const firstOn = new Map<IcmpProbeSocket, Target>();
    for (const t of targets) if (!firstOn.has(t.sock)) firstOn.set(t.sock, t);
    for (const t of targets) this.#publish({ kind: "start", host: t.host, address: t.address, family: t.family, size: o.size, socket: t.sock.kind, id: t.id }, t);

    const match = ({ p, sock }: Datagram): ProbeMatch | undefined => {
      if (p.kind === "invalid") {
        this.#publish({ kind: "ignored", from: p.from, reason: p.reason });
        return undefined;
      }
      if (p.kind === "local-error") return undefined; // onLocalError's
      const head = firstOn.get(sock);
      if (head === undefined) return undefined;
      // With several targets the destination check is ours (below); matchEcho checks the rest.
      const quotedDst = isIcmpError(p.message) ? p.message.original.ip?.dst : undefined;
      const m = matchEcho(p.message, p.from, { family: sock.family, id: head.id, target: n === 1 ? head.address : (quotedDst ?? p.from) });
      if (m.kind === "ignore") {
        this.#publish({ kind: "ignored", from: p.from, reason: m.reason });
        return undefined;
      }
      const w = wire.get(m.seq);
      const t = w === undefined ? undefined : targets[w.target];
      if (w === undefined || t === undefined || t.sock !== sock) {
        this.#publish({ kind: "ignored", from: p.from, reason: `answer for unknown sequence ${m.seq}` });
        return undefined;
      }
      if (m.kind === "error") {
        const dst = m.error.original.ip?.dst;
        if (dst !== undefined && dst !== t.address) {
          this.#publish({ kind: "ignored", from: p.from, reason: `error about a packet to ${dst}` });
          return undefined;
        }
        if (m.error.kind === "redirect" || m.error.kind === "source-quench") {
          // RFC 792: the router still forwarded (redirect) or may have (quench) the datagram.
          this.#publish({ kind: "advisory", seq: w.seq, from: p.from, text: m.error.text, error: m.error }, t);
          return undefined;
        }
        errors.set(t.index, m.error);
        return { target: t.index, seq: w.seq, kind: "error" };
      }
      if (n > 1 && p.from !== t.address) {
        // fping: a reply is its target's only when it comes from that target.
        this.#publish({ kind: "ignored", from: p.from, reason: `echo reply for a probe to ${t.address}` });
        return undefined;
      }
      const probe = driver.trackers[t.index]?.get(w.seq);
      return { target: t.index, seq: w.seq, kind: "reply", ...(probe === undefined ? {} : { rttMs: rttMs(probe.tag.txNs, p.rxNs, probe.sentAt, clock.monotonic()) }) };
    };
    // The ICMP error being matched, per target (the driver hands back only the datagram).
    const errors = new Map<number, IcmpErrorMessage>();

    const driver: ProbeDriver<Datagram, ProbeTag> = new ProbeDriver<Datagram, ProbeTag>({
      clock,
      targets: n,
      count: o.count,
      intervalMs: o.intervalMs,
      timeoutMs: o.timeoutMs,
      seqMask: 0xffff,
      ...(o.deadlineMs === undefined ? {} : { deadlineMs: o.deadlineMs, countAnswers: true }),
      ...(o.reportOutstanding === true ? { reportOutstanding: true } : {}),
      ...(o.flood === true ? { flood: true } : {}),
      ...(o.signal === undefined ? {} : { signal: o.signal }),
      transport: {
        send: (seq, round) =>
          targets.map((t) => {
            const wseq = (round * n + t.index) & 0xffff;
            wire.set(wseq, { target: t.index, seq });
            const rec: IcmpPingRecord = { seq, status: "unanswered", duplicates: 0 };
            t.records.push(rec);
            const wallNs = BigInt(Math.round(clock.now())) * 1_000_000n;
            t.sentWallNs.set(seq, wallNs);
            const bytes = encodeEchoRequest({ family: t.family, id: t.id, seq: wseq, data: echoPayload(o.size, wallNs, o.pattern) });
            try {
              return { target: t.index, tag: { txNs: t.sock.send(bytes, t.address), rec } };
            } catch (err) {
              rec.status = "error";
              rec.error = err instanceof Error ? err.message : String(err);
              if (errorCode(err) === "EMSGSIZE") refused.set(t.family, { target: t, seq });
              return { target: t.index, tag: { txNs: 0n, rec }, error: err };
            }
          }),
        listen: (deliver) => {
          const hs = sockets.map((sock) => {
            const h = (p: IcmpReceived): void => deliver({ p, sock });
            sock.on("packet", h);
            return () => sock.off("packet", h);
          });
          return () => {
            for (const off of hs) off();
          };
        },
      },
      match,
      onEvent: (e) => {
        const t = targets[e.target];
        if (t === undefined) return;
        const seq = "probe" in e ? e.probe.seq : e.seq;
        switch (e.kind) {
          case "sent":
            this.#publish({ kind: "sent", seq }, t);
            break;
          case "send-error":
            this.#publish({ kind: "send-error", seq, code: errorCode(e.error), message: e.error instanceof Error ? e.error.message : String(e.error) }, t);
            break;
          case "timeout":
            e.probe.tag.rec.status = "timeout";
            this.#publish({ kind: "timeout", seq }, t);
            break;
          case "outstanding":
            this.#publish({ kind: "outstanding", seq }, t);
            break;
          case "error": {
            const err = errors.get(t.index);
            if (err === undefined || e.datagram.p.kind !== "message") break;
            Object.assign(e.probe.tag.rec, { status: "error", from: e.datagram.p.from, error: err.text });
            this.#publish({ kind: "error", seq, from: e.datagram.p.from, text: err.text, error: err }, t);
            break;
          }
          case "reply":
          case "duplicate":
          case "late": {
            const p = e.datagram.p;
            if (p.kind !== "message" || p.message.kind !== "echo-reply") break;
            const ttl = p.ttl === undefined ? {} : { ttl: p.ttl };
            const bytes = p.message.data.length;
            const wallNs = t.sentWallNs.get(seq);
            const mismatch = wallNs === undefined ? undefined : firstDataMismatch(echoPayload(o.size, wallNs, o.pattern), p.message.data);
            if (e.kind === "late") {
              this.#publish({ kind: "late", seq, from: p.from, rttMs: e.rttMs }, t);
              break;
            }
            if (e.kind === "reply") {
              Object.assign(e.probe.tag.rec, { status: "reply", rttMs: e.rttMs, from: p.from }, ttl);
              this.#publish({ kind: "reply", seq, from: p.from, bytes, rttMs: e.rttMs, differentAddress: p.from !== t.address, ...ttl }, t);
            } else {
              e.probe.tag.rec.duplicates++;
              this.#publish({ kind: "duplicate", seq, from: p.from, bytes, rttMs: e.rttMs, ...ttl }, t);
            }
            if (mismatch !== undefined) {
              t.corrupted++;
              if (e.kind === "reply") e.probe.tag.rec.wrongData = mismatch;
              this.#publish({ kind: "wrong-data", seq, from: p.from, duplicate: e.kind === "duplicate", mismatch }, t);
            }
            break;
          }
          case "unknown":
            break;
        }
      },
    });
    // A refusal above the path MTU (EMSGSIZE) is followed by the MTU in the error queue; it is
    // listened for apart from the driver, which may end right after the last (refused) send.
    let lastRefusal: (() => void) | undefined;
    const onLocalError = (sock: IcmpProbeSocket) => (p: IcmpReceived): void => {
      const r = refused.get(sock.family);
      if (p.kind !== "local-error" || p.errno !== EMSGSIZE || r === undefined) return;
      refused.delete(sock.family);
      this.#publish({ kind: "local-error", seq: r.seq, mtu: p.info }, r.target);
      if (refused.size === 0) lastRefusal?.();
    };
    const localListeners = sockets.map((sock) => [sock, onLocalError(sock)] as const);
    for (const [sock, h] of localListeners) sock.on("packet", h);
    const r = await driver.run();
    if (refused.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = clock.setTimeout(resolve, 200);
        lastRefusal = () => {
          clock.clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const [sock, h] of localListeners) sock.off("packet", h);
    return targets.map((t) => {
      const tracker = driver.trackers[t.index];
      const totals = tracker?.totals(r.elapsedMs) ?? { transmitted: 0, received: 0, duplicates: 0, errors: 0, late: 0, elapsedMs: r.elapsedMs };
      return {
        host: t.host,
        address: t.address,
        family: t.family,
        socket: t.sock.kind,
        pings: t.records,
        totals: { ...totals, corrupted: t.corrupted },
        rtt: tracker?.rtt.summary() ?? { count: 0, min: 0, avg: 0, max: 0, mdev: 0 },
        reason: r.reason,
      };
    });
  }
}

/** The echo identifier of a raw socket without one: random, drawn once per socket. */
const drawnIds = new WeakMap<IcmpProbeSocket, number>();
function drawId(sock: IcmpProbeSocket, random: Random): number {
  let id = drawnIds.get(sock);
  if (id === undefined) {
    id = random.int(0x10000);
    drawnIds.set(sock, id);
  }
  return id;
}

function errorCode(err: unknown): string {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : "";
}

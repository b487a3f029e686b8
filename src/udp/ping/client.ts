/**
 * The UDP ping client, a small adapter on the probe engine (core/probe): it sends
 * `Ping <seq> <time>` every interval on the driver's absolute schedule, and matches replies by
 * source address and sequence number, so late replies, duplicates and foreign datagrams are
 * told apart even when several probes are in flight.
 */
import { resolveHost, type IpFamily } from "../../core/address.js";
import { systemClock, type Clock } from "../../core/clock.js";
import { TypedEmitter } from "../../core/events.js";
import { usageError } from "../../core/errors.js";
import { ProbeDriver, type ProbeEndReason } from "../../core/probe/index.js";
import type { PingTotals, RttSummary } from "../../core/stats.js";
import { normalizeAddress, openUdpLink, type DatagramLink, type OpenDatagramLink } from "../../core/udp-socket.js";
import { decodePing, encodePing, MAX_UDP_PAYLOAD_V4, MAX_UDP_PAYLOAD_V6 } from "./protocol.js";

export interface UdpPingOptions {
  /** Server host name or address. */
  host: string;
  port: number;
  /** Number of pings; 0 = until aborted. @default 10 */
  count?: number;
  /** Time between pings in ms. @default 1000 */
  intervalMs?: number;
  /** How long to wait for each reply in ms. @default 1000 */
  timeoutMs?: number;
  /** Pad each ping to this many bytes (0 = no padding). @default 0 */
  size?: number;
  /** Force IPv4 or IPv6 resolution. */
  family?: IpFamily;
  /** @default systemClock */
  clock?: Clock;
  /** Abort to stop early (Ctrl-C); the result still has the statistics. */
  signal?: AbortSignal;
  /** End the run this long after the start, answered or not (ping -w). */
  deadlineMs?: number;
  /** The socket to the server. @default openUdpLink (a real UDP socket) */
  link?: OpenDatagramLink;
}

export interface Endpoint {
  address: string;
  port: number;
}

/** Everything a ping run reports, as it happens. */
export type UdpPingEvent =
  | { kind: "start"; host: string; server: Endpoint; local: Endpoint; size: number }
  | { kind: "sent"; seq: number; bytes: number }
  | { kind: "reply"; seq: number; rttMs: number; from: Endpoint; message: string }
  | { kind: "duplicate"; seq: number; rttMs: number; from: Endpoint }
  | { kind: "late"; seq: number; rttMs: number; from: Endpoint }
  | { kind: "timeout"; seq: number }
  | { kind: "foreign"; from: Endpoint; bytes: number }
  | { kind: "garbage"; from: Endpoint; bytes: number; reason: string }
  | { kind: "send-error"; seq: number; message: string };

/** The final record of one probe. */
export interface PingRecord {
  seq: number;
  status: "reply" | "timeout" | "late" | "unanswered";
  rttMs?: number;
  duplicates: number;
}

export interface UdpPingResult {
  host: string;
  server: Endpoint;
  pings: PingRecord[];
  totals: PingTotals;
  rtt: RttSummary;
  /** Datagrams from addresses other than the server's, ignored. */
  foreign: number;
  /** Datagrams from the server that were not a ping reply. */
  garbage: number;
  /** Why the run ended. */
  reason: ProbeEndReason;
}

interface Timing {
  count: number;
  intervalMs: number;
  timeoutMs: number;
  size: number;
}

function resolveTiming(o: UdpPingOptions): Timing {
  if (o.deadlineMs !== undefined && !(o.deadlineMs > 0)) throw usageError(`invalid deadline ${o.deadlineMs}`);
  const t = { count: o.count ?? 10, intervalMs: o.intervalMs ?? 1000, timeoutMs: o.timeoutMs ?? 1000, size: o.size ?? 0 };
  if (!Number.isInteger(t.count) || t.count < 0) throw usageError(`invalid count ${t.count}`);
  if (!(t.intervalMs >= 0)) throw usageError(`invalid interval ${t.intervalMs}`);
  if (!(t.timeoutMs > 0)) throw usageError(`invalid timeout ${t.timeoutMs}`);
  if (!Number.isInteger(t.size) || t.size < 0 || t.size > MAX_UDP_PAYLOAD_V6) throw usageError(`invalid size ${t.size}`);
  return t;
}

/** A datagram as the link delivered it. */
interface Received {
  msg: Buffer;
  from: Endpoint;
}

/**
 * One ping run. Listen to `event` for live output; `run()` resolves with the statistics.
 *
 * @example
 * const pinger = new UdpPinger({ host: "127.0.0.1", port: 12000, count: 3 });
 * pinger.on("event", (e) => console.log(e));
 * const result = await pinger.run();
 */
export class UdpPinger extends TypedEmitter<{ event: [UdpPingEvent] }> {
  readonly #options: UdpPingOptions;
  readonly #timing: Timing;
  readonly #clock: Clock;
  readonly #records = new Map<number, PingRecord>();
  #foreign = 0;
  #garbage = 0;

  constructor(options: UdpPingOptions) {
    super();
    this.#options = options;
    this.#timing = resolveTiming(options);
    this.#clock = options.clock ?? systemClock;
  }

  #emitEvent(e: UdpPingEvent): void {
    this.emit("event", e);
  }

  async run(): Promise<UdpPingResult> {
    const { host, port } = this.#options;
    const resolved = await resolveHost(host, this.#options.family);
    const max = resolved.family === 6 ? MAX_UDP_PAYLOAD_V6 : MAX_UDP_PAYLOAD_V4;
    if (this.#timing.size > max) throw usageError(`size ${this.#timing.size} exceeds the largest UDP payload over IPv${resolved.family} (${max})`);
    const server: Endpoint = { address: resolved.address, port };
    const link = await (this.#options.link ?? openUdpLink)({ ...server, family: resolved.family });
    this.#emitEvent({ kind: "start", host, server, local: link.local, size: this.#timing.size });
    try {
      return await this.#drive(link, server);
    } finally {
      await link.close();
    }
  }

  async #drive(link: DatagramLink, server: Endpoint): Promise<UdpPingResult> {
    const clock = this.#clock;
    const { count, intervalMs, timeoutMs, size } = this.#timing;
    const serverAddress = normalizeAddress(server.address);
    const driver = new ProbeDriver<Received, PingRecord>({
      clock,
      count,
      intervalMs,
      timeoutMs,
      firstSeq: 1,
      ...(this.#options.deadlineMs === undefined ? {} : { deadlineMs: this.#options.deadlineMs }),
      ...(this.#options.signal === undefined ? {} : { signal: this.#options.signal }),
      transport: {
        send: (seq) => {
          const payload = encodePing(seq, clock.now(), size);
          const rec: PingRecord = { seq, status: "timeout", duplicates: 0 };
          this.#records.set(seq, rec);
          link.send(payload, (err) => this.#emitEvent({ kind: "send-error", seq, message: err.message }));
          this.#emitEvent({ kind: "sent", seq, bytes: payload.length });
          return [{ target: 0, tag: rec }];
        },
        listen: (deliver) => link.onMessage((msg, from) => deliver({ msg, from })),
      },
      match: ({ msg, from }) => {
        if (from.address !== serverAddress || from.port !== server.port) {
          this.#foreign++;
          this.#emitEvent({ kind: "foreign", from, bytes: msg.length });
          return undefined;
        }
        const d = decodePing(msg);
        if (!d.ok) {
          this.#garbage++;
          this.#emitEvent({ kind: "garbage", from, bytes: msg.length, reason: d.error.reason });
          return undefined;
        }
        return { target: 0, seq: d.value.seq, kind: "reply" };
      },
      onEvent: (e) => {
        switch (e.kind) {
          case "reply":
            e.probe.tag.status = "reply";
            e.probe.tag.rttMs = e.rttMs;
            this.#emitEvent({ kind: "reply", seq: e.probe.seq, rttMs: e.rttMs, from: e.datagram.from, message: printable(e.datagram.msg) });
            break;
          case "late":
            e.probe.tag.status = "late";
            e.probe.tag.rttMs = e.rttMs;
            this.#emitEvent({ kind: "late", seq: e.probe.seq, rttMs: e.rttMs, from: e.datagram.from });
            break;
          case "duplicate":
            e.probe.tag.duplicates++;
            this.#emitEvent({ kind: "duplicate", seq: e.probe.seq, rttMs: e.rttMs, from: e.datagram.from });
            break;
          case "timeout":
            this.#emitEvent({ kind: "timeout", seq: e.probe.seq });
            break;
          case "unknown":
            this.#garbage++;
            this.#emitEvent({ kind: "garbage", from: e.datagram.from, bytes: e.datagram.msg.length, reason: `reply for seq ${e.seq}, which was never sent` });
            break;
          default:
            break;
        }
      },
    });
    const r = await driver.run();
    const tracker = driver.trackers[0];
    if (tracker === undefined) throw new Error("no tracker");
    for (const seq of tracker.pendingSeqs()) {
      const rec = this.#records.get(seq);
      if (rec) rec.status = "unanswered";
    }
    return {
      host: this.#options.host,
      server,
      pings: [...this.#records.values()],
      totals: tracker.totals(r.elapsedMs),
      rtt: tracker.rtt.summary(),
      foreign: this.#foreign,
      garbage: this.#garbage,
      reason: r.reason,
    };
  }
}

function printable(buf: Buffer): string {
  return buf.toString("latin1").replace(/[^\x20-\x7e]/g, "?").replace(/\.{8,}$/, "...");
}

/**
 * Ping a UDP ping server; `onEvent` sees each event as it happens.
 *
 * @example
 * const r = await udpPing({ host: "127.0.0.1", port: 12000, count: 4 }, (e) => e.kind === "reply" && console.log(e.rttMs));
 * console.log(r.totals.received, r.rtt.avg);
 */
export function udpPing(options: UdpPingOptions, onEvent?: (e: UdpPingEvent) => void): Promise<UdpPingResult> {
  const p = new UdpPinger(options);
  if (onEvent) p.on("event", onEvent);
  return p.run();
}

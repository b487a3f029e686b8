/**
 * The UDP ping client: sends `Ping <seq> <time>` every interval on an absolute schedule,
 * times each probe with the monotonic clock, and matches replies by sequence number and by
 * source address — so late replies, duplicates and foreign datagrams are told apart even
 * when several probes are in flight.
 */
import type { Socket } from "node:dgram";
import { resolveHost, type IpFamily } from "../../core/address.js";
import { systemClock, TimerGroup, type Clock } from "../../core/clock.js";
import { TypedEmitter } from "../../core/events.js";
import { usageError } from "../../core/errors.js";
import type { PingTotals, RttSummary } from "../../core/stats.js";
import { bindUdp, closeUdp, normalizeAddress } from "../../core/udp-socket.js";
import { decodePing, encodePing, MAX_UDP_PAYLOAD_V4, MAX_UDP_PAYLOAD_V6 } from "./protocol.js";
import { ProbeTracker } from "./tracker.js";

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
}

interface Timing {
  count: number;
  intervalMs: number;
  timeoutMs: number;
  size: number;
}

function resolveTiming(o: UdpPingOptions): Timing {
  const t = { count: o.count ?? 10, intervalMs: o.intervalMs ?? 1000, timeoutMs: o.timeoutMs ?? 1000, size: o.size ?? 0 };
  if (!Number.isInteger(t.count) || t.count < 0) throw usageError(`invalid count ${t.count}`);
  if (!(t.intervalMs >= 0)) throw usageError(`invalid interval ${t.intervalMs}`);
  if (!(t.timeoutMs > 0)) throw usageError(`invalid timeout ${t.timeoutMs}`);
  if (!Number.isInteger(t.size) || t.size < 0 || t.size > MAX_UDP_PAYLOAD_V6) throw usageError(`invalid size ${t.size}`);
  return t;
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
  readonly #tracker = new ProbeTracker();
  readonly #records = new Map<number, PingRecord>();
  readonly #timers: TimerGroup;
  #foreign = 0;
  #garbage = 0;

  constructor(options: UdpPingOptions) {
    super();
    this.#options = options;
    this.#timing = resolveTiming(options);
    this.#clock = options.clock ?? systemClock;
    this.#timers = new TimerGroup(this.#clock);
  }

  #emitEvent(e: UdpPingEvent): void {
    this.emit("event", e);
  }


  async run(): Promise<UdpPingResult> {
    const { host, port } = this.#options;
    const resolved = await resolveHost(host, this.#options.family);
    const max = resolved.family === 6 ? MAX_UDP_PAYLOAD_V6 : MAX_UDP_PAYLOAD_V4;
    if (this.#timing.size > max) throw usageError(`size ${this.#timing.size} exceeds the largest UDP payload over IPv${resolved.family} (${max})`);
    const bound = await bindUdp({ host: resolved.family === 6 ? "::" : "0.0.0.0", port: 0 });
    const server: Endpoint = { address: resolved.address, port };
    this.#emitEvent({ kind: "start", host, server, local: { address: bound.address, port: bound.port }, size: this.#timing.size });
    try {
      return await this.#loop(bound.socket, server);
    } finally {
      this.#timers.clear();
      await closeUdp(bound.socket);
    }
  }

  #loop(socket: Socket, server: Endpoint): Promise<UdpPingResult> {
    const clock = this.#clock;
    const { count, intervalMs, timeoutMs, size } = this.#timing;
    const signal = this.#options.signal;
    const start = clock.monotonic();
    let nextSeq = 1;
    let sending = true;

    return new Promise<UdpPingResult>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        signal?.removeEventListener("abort", finish);
        for (const seq of this.#tracker.pending()) {
          const r = this.#records.get(seq);
          if (r) r.status = "unanswered";
        }
        resolve(this.#result(server, clock.monotonic() - start));
      };
      const maybeFinish = (): void => {
        if (!sending && this.#tracker.pending().length === 0) finish();
      };

      socket.on("message", (msg, rinfo) => {
        const at = clock.monotonic();
        const from = { address: normalizeAddress(rinfo.address), port: rinfo.port };
        if (from.address !== normalizeAddress(server.address) || from.port !== server.port) {
          this.#foreign++;
          this.#emitEvent({ kind: "foreign", from, bytes: msg.length });
          return;
        }
        const d = decodePing(msg);
        if (!d.ok) {
          this.#garbage++;
          this.#emitEvent({ kind: "garbage", from, bytes: msg.length, reason: d.error.reason });
          return;
        }
        const outcome = this.#tracker.receive(d.value.seq, at);
        const rec = this.#records.get(d.value.seq);
        switch (outcome.kind) {
          case "reply":
            if (rec) {
              rec.status = "reply";
              rec.rttMs = outcome.rttMs;
            }
            this.#emitEvent({ kind: "reply", seq: outcome.seq, rttMs: outcome.rttMs, from, message: printable(msg) });
            maybeFinish();
            break;
          case "late":
            if (rec) {
              rec.status = "late";
              rec.rttMs = outcome.rttMs;
            }
            this.#emitEvent({ kind: "late", seq: outcome.seq, rttMs: outcome.rttMs, from });
            break;
          case "duplicate":
            if (rec) rec.duplicates++;
            this.#emitEvent({ kind: "duplicate", seq: outcome.seq, rttMs: outcome.rttMs, from });
            break;
          case "unknown":
            this.#garbage++;
            this.#emitEvent({ kind: "garbage", from, bytes: msg.length, reason: `reply for seq ${outcome.seq}, which was never sent` });
            break;
        }
      });

      const sendNext = (): void => {
        if (done || !sending) return;
        const seq = nextSeq++;
        const payload = encodePing(seq, clock.now(), size);
        this.#records.set(seq, { seq, status: "timeout", duplicates: 0 });
        const sentAt = clock.monotonic();
        this.#tracker.sent(seq, sentAt);
        socket.send(payload, server.port, server.address, (err) => {
          if (err) this.#emitEvent({ kind: "send-error", seq, message: err.message });
        });
        this.#emitEvent({ kind: "sent", seq, bytes: payload.length });
        this.#timers.after(timeoutMs, () => {
          if (this.#tracker.expire(seq)) {
            this.#emitEvent({ kind: "timeout", seq });
            maybeFinish();
          }
        });
        if (count !== 0 && seq >= count) {
          sending = false;
          return;
        }
        // Absolute schedule: probe k leaves at start + (k-1)·interval, so jitter does not accumulate.
        const due = start + (nextSeq - 1) * intervalMs;
        this.#timers.after(Math.max(0, due - clock.monotonic()), sendNext);
      };

      if (signal?.aborted) {
        sending = false;
        finish();
        return;
      }
      signal?.addEventListener("abort", () => {
        sending = false;
        finish();
      }, { once: true });
      sendNext();
    });
  }

  #result(server: Endpoint, elapsedMs: number): UdpPingResult {
    return {
      host: this.#options.host,
      server,
      pings: [...this.#records.values()],
      totals: this.#tracker.totals(elapsedMs),
      rtt: this.#tracker.rtt.summary(),
      foreign: this.#foreign,
      garbage: this.#garbage,
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

/**
 * The heartbeat sender (the lab's client), an adapter on the probe engine (core/probe): it
 * sends `<seq> <timestamp> id=<id> run=<run>` on the driver's absolute schedule (heartbeat k
 * leaves at start + k·interval, so there is no drift over hours), to one or more monitors,
 * listens for each monitor's `<seq> <time_diff>` replies asynchronously, matches them by
 * monitor and seq (a bounded tracker per monitor: late, duplicate, unknown), and declares a
 * monitor down after `misses` consecutive heartbeats without a reply.
 */
import { hostname } from "node:os";
import { resolveHost, type IpFamily } from "../../core/address.js";
import { systemClock, type Clock } from "../../core/clock.js";
import { usageError } from "../../core/errors.js";
import { TypedEmitter } from "../../core/events.js";
import { ProbeDriver } from "../../core/probe/index.js";
import { createRandom, type Random } from "../../core/random.js";
import type { PingTotals, RttSummary } from "../../core/stats.js";
import { normalizeAddress, openUdpLink, type DatagramLink, type OpenDatagramLink } from "../../core/udp-socket.js";
import { preciseWallAnchor } from "./wall-time.js";
import { decodeHeartbeatReply, encodeHeartbeat, isValidFieldValue, isValidStatus, type Heartbeat } from "./protocol.js";

export interface HeartbeatSenderOptions {
  /** Monitor host name or address. */
  host: string;
  port: number;
  /** Time between heartbeats, ms. @default 1000 */
  intervalMs?: number;
  /** Heartbeats to send; 0 = until aborted. @default 0 */
  count?: number;
  /** How long to wait for each reply, ms. @default intervalMs */
  timeoutMs?: number;
  /** Consecutive heartbeats without a reply before the monitor is declared down. @default 3 */
  misses?: number;
  /** Go on after declaring the monitor down (and report when it answers again). @default false */
  keepGoing?: boolean;
  /** Client id sent as `id=`. @default the host name */
  id?: string;
  /** Run id sent as `run=`. @default 8 random hex digits */
  run?: string;
  /** First sequence number. @default 1 */
  firstSeq?: number;
  /** Heartbeats for which this returns true are not sent (simulated loss in tests). */
  skip?: (seq: number) => boolean;
  /** Force IPv4 or IPv6 resolution. */
  family?: IpFamily;
  /** @default systemClock */
  clock?: Clock;
  /** For the run id. @default createRandom() */
  random?: Random;
  /** Abort to stop (Ctrl-C); the result still has the statistics. */
  signal?: AbortSignal;
  /** Sent as `status=`: "ok", "fail" or an exit code 0-255. */
  status?: string;
  /** Sent as `msg=` (percent-encoded; cut to 200 bytes on the wire). */
  message?: string;
  /** Sign each heartbeat with this secret (`mac=`, HMAC-SHA256). */
  key?: string;
  /** Announce the interval (`int=`) so the monitor gives this client its own deadline. @default true */
  announceInterval?: boolean;
  /** More monitors, each sent the same heartbeats (same seq, same timestamp). */
  more?: ReadonlyArray<{ host: string; port: number }>;
  /** The socket to each monitor. @default openUdpLink (a real UDP socket) */
  link?: OpenDatagramLink;
}

export interface SenderEndpoint {
  address: string;
  port: number;
}

/** Everything the sender reports, as it happens. Times in ms. */
export type HeartbeatSenderEvent =
  | { kind: "start"; host: string; server: SenderEndpoint; local: SenderEndpoint; id: string; run: string; intervalMs: number; monitor?: number }
  | { kind: "sent"; seq: number; bytes: number }
  | { kind: "skipped"; seq: number }
  | { kind: "reply"; seq: number; rttMs: number; delayMs: number; monitor?: number }
  | { kind: "late"; seq: number; rttMs: number; delayMs: number; monitor?: number }
  | { kind: "duplicate"; seq: number; rttMs: number; monitor?: number }
  | { kind: "miss"; seq: number; consecutive: number; monitor?: number }
  | { kind: "down"; misses: number; monitor?: number }
  | { kind: "up"; seq: number; downForMs: number; monitor?: number }
  | { kind: "ignored"; from: SenderEndpoint; bytes: number; reason: string }
  | { kind: "send-error"; seq: number; message: string; monitor?: number };

export interface HeartbeatSenderResult {
  host: string;
  server: SenderEndpoint;
  id: string;
  run: string;
  totals: PingTotals;
  rtt: RttSummary;
  /** The monitor was declared down and had not answered again when the run ended. */
  down: boolean;
  /** Times the monitor was declared down. */
  downEvents: number;
  /** With several monitors: one result each, in the order given (the fields above are the first's; `down` is all of them). */
  monitors?: HeartbeatSenderResult[];
}

/**
 * One sender run. Listen to `event`; `run()` resolves when `count` heartbeats are done, the
 * monitor is declared down (without keepGoing), or the signal aborts.
 *
 * @example
 * const sender = new HeartbeatSender({ host: "127.0.0.1", port: 12001, intervalMs: 1000, count: 5, id: "web-1" });
 * sender.on("event", (e) => e.kind === "reply" && console.log(e.seq, e.rttMs));
 * const result = await sender.run();
 */
export class HeartbeatSender extends TypedEmitter<{ event: [HeartbeatSenderEvent] }> {
  readonly #o: HeartbeatSenderOptions;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #count: number;
  readonly #misses: number;
  readonly id: string;
  readonly runId: string;

  constructor(options: HeartbeatSenderOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#timeoutMs = options.timeoutMs ?? this.#intervalMs;
    this.#count = options.count ?? 0;
    this.#misses = options.misses ?? 3;
    if (!(this.#intervalMs > 0)) throw usageError(`invalid interval ${this.#intervalMs} ms (must be > 0)`);
    if (!(this.#timeoutMs > 0)) throw usageError(`invalid timeout ${this.#timeoutMs} ms (must be > 0)`);
    if (!Number.isInteger(this.#count) || this.#count < 0) throw usageError(`invalid count ${this.#count}`);
    if (!Number.isInteger(this.#misses) || this.#misses < 1) throw usageError(`invalid misses ${this.#misses} (must be at least 1)`);
    this.id = options.id ?? (hostname().replace(/[^\x21-\x7e]/g, "").slice(0, 64) || "wirekit");
    this.runId = options.run ?? (options.random ?? createRandom()).bytes(4).toString("hex");
    if (!isValidFieldValue(this.id)) throw usageError(`invalid id '${this.id}' (printable ASCII without spaces, at most 64 characters)`);
    if (!isValidFieldValue(this.runId)) throw usageError(`invalid run id '${this.runId}'`);
    if (options.status !== undefined && !isValidStatus(options.status)) throw usageError(`invalid status '${options.status}' (ok, fail, or an exit code 0-255)`);
    if (options.key === "") throw usageError("the heartbeat key is empty");
    this.#status = options.status;
    this.#message = options.message;
  }

  #status: string | undefined;
  #message: string | undefined;
  #jobMs: number | undefined;
  #driver: ProbeDriver<Received, undefined> | undefined;

  /**
   * Report a job's end: the next heartbeat, sent at once, carries `status`, `dur=jobMs` and
   * `msg`, and is the last; `run()` then resolves when it is answered or timed out.
   */
  finish(status: string, jobMs: number, message?: string): void {
    if (!isValidStatus(status)) throw usageError(`invalid status '${status}'`);
    this.#status = status;
    this.#jobMs = jobMs;
    if (message !== undefined) this.#message = message;
    this.#driver?.sendNow(true);
  }

  #emitEvent(e: HeartbeatSenderEvent): void {
    this.emit("event", e);
  }


  async run(): Promise<HeartbeatSenderResult> {
    const wanted = [{ host: this.#o.host, port: this.#o.port }, ...(this.#o.more ?? [])];
    const targets: Target[] = [];
    const open = this.#o.link ?? openUdpLink;
    try {
      for (const [i, w] of wanted.entries()) {
        const resolved = await resolveHost(w.host, this.#o.family);
        const server = { address: resolved.address, port: w.port };
        const link = await open({ ...server, family: resolved.family });
        targets.push({ index: i, host: w.host, link, server, consecutive: 0, down: false, downAt: 0, downEvents: 0 });
        this.#emitEvent({ kind: "start", host: w.host, server, local: link.local, id: this.id, run: this.runId, intervalMs: this.#intervalMs, ...tag(i, wanted.length) });
      }
      return await this.#drive(targets);
    } finally {
      for (const t of targets) await t.link.close();
    }
  }

  async #drive(targets: Target[]): Promise<HeartbeatSenderResult> {
    const clock = this.#clock;
    const n = targets.length;
    const keepGoing = this.#o.keepGoing === true;
    let anchorWall: number | undefined;
    const answered = (t: Target, seq: number): void => {
      t.consecutive = 0;
      if (t.down) {
        t.down = false;
        this.#emitEvent({ kind: "up", seq, downForMs: clock.monotonic() - t.downAt, ...tag(t.index, n) });
      }
    };
    const driver: ProbeDriver<Received, undefined> = new ProbeDriver<Received, undefined>({
      clock,
      targets: n,
      count: this.#count,
      intervalMs: this.#intervalMs,
      timeoutMs: this.#timeoutMs,
      firstSeq: this.#o.firstSeq ?? 1,
      // A sender runs for months: remember only the last 1024 answered / timed-out heartbeats.
      history: 1024,
      lastRound: () => this.#jobMs !== undefined,
      ...(this.#o.signal === undefined ? {} : { signal: this.#o.signal }),
      transport: {
        send: (seq) => {
          if (this.#o.skip?.(seq) === true) {
            this.#emitEvent({ kind: "skipped", seq });
            return [];
          }
          anchorWall ??= preciseWallAnchor(clock, driver.startedAt);
          const hb: Heartbeat = { seq, timestamp: (anchorWall + (clock.monotonic() - driver.startedAt)) / 1000, id: this.id, run: this.runId };
          if (this.#o.announceInterval !== false) hb.int = this.#intervalMs;
          if (this.#status !== undefined) hb.status = this.#status;
          if (this.#message !== undefined) hb.msg = this.#message;
          if (this.#jobMs !== undefined) hb.dur = this.#jobMs;
          // One encoding, the same seq and timestamp to every monitor.
          const payload = encodeHeartbeat(hb, this.#o.key);
          const sent = [];
          for (const t of targets) {
            if (t.down && !keepGoing) continue;
            t.link.send(payload, (err) => this.#emitEvent({ kind: "send-error", seq, message: err.message, ...tag(t.index, n) }));
            sent.push({ target: t.index, tag: undefined });
          }
          this.#emitEvent({ kind: "sent", seq, bytes: payload.length });
          return sent;
        },
        listen: (deliver) => {
          const offs = targets.map((t) => t.link.onMessage((msg, from) => deliver({ target: t, msg, from })));
          return () => {
            for (const off of offs) off();
          };
        },
      },
      match: ({ target: t, msg, from }) => {
        if (from.address !== normalizeAddress(t.server.address) || from.port !== t.server.port) {
          this.#emitEvent({ kind: "ignored", from, bytes: msg.length, reason: "not from the monitor" });
          return undefined;
        }
        const d = decodeHeartbeatReply(msg);
        if (!d.ok) {
          this.#emitEvent({ kind: "ignored", from, bytes: msg.length, reason: d.error.reason });
          return undefined;
        }
        delays.set(t.index, d.value.timeDiff * 1000);
        return { target: t.index, seq: d.value.seq, kind: "reply" };
      },
      onEvent: (e) => {
        const t = targets[e.target];
        if (t === undefined) return;
        const m = tag(t.index, n);
        switch (e.kind) {
          case "reply":
            answered(t, e.probe.seq);
            this.#emitEvent({ kind: "reply", seq: e.probe.seq, rttMs: e.rttMs, delayMs: delays.get(t.index) ?? 0, ...m });
            break;
          case "late":
            answered(t, e.probe.seq);
            this.#emitEvent({ kind: "late", seq: e.probe.seq, rttMs: e.rttMs, delayMs: delays.get(t.index) ?? 0, ...m });
            break;
          case "duplicate":
            this.#emitEvent({ kind: "duplicate", seq: e.probe.seq, rttMs: e.rttMs, ...m });
            break;
          case "unknown":
            this.#emitEvent({ kind: "ignored", from: e.datagram.from, bytes: e.datagram.msg.length, reason: `reply for seq ${e.seq}, which was never sent` });
            break;
          case "timeout":
            t.consecutive++;
            this.#emitEvent({ kind: "miss", seq: e.probe.seq, consecutive: t.consecutive, ...m });
            if (t.consecutive === this.#misses) {
              t.down = true;
              t.downAt = clock.monotonic();
              t.downEvents++;
              this.#emitEvent({ kind: "down", misses: t.consecutive, ...m });
              if (!keepGoing && targets.every((x) => x.down)) driver.stop();
            }
            break;
          default:
            break;
        }
      },
    });
    // The monitor's time_diff of the reply being matched, per monitor.
    const delays = new Map<number, number>();
    this.#driver = driver;
    const r = await driver.run();
    this.#driver = undefined;
    const all = targets.map((t): HeartbeatSenderResult => {
      const tracker = driver.trackers[t.index];
      return {
        host: t.host,
        server: t.server,
        id: this.id,
        run: this.runId,
        totals: tracker?.totals(r.elapsedMs) ?? { transmitted: 0, received: 0, duplicates: 0, errors: 0, late: 0, elapsedMs: r.elapsedMs },
        rtt: tracker?.rtt.summary() ?? { count: 0, min: 0, avg: 0, max: 0, mdev: 0 },
        down: t.down,
        downEvents: t.downEvents,
      };
    });
    const first = all[0] as HeartbeatSenderResult;
    // With several monitors, "down" means all of them are.
    return n === 1 ? first : { ...first, down: all.every((x) => x.down), monitors: all };
  }
}

/** A reply as one monitor's link delivered it. */
interface Received {
  target: Target;
  msg: Buffer;
  from: SenderEndpoint;
}

/** One monitor the sender beats to, with its own reply matching and down detection. */
interface Target {
  index: number;
  host: string;
  link: DatagramLink;
  server: SenderEndpoint;
  consecutive: number;
  down: boolean;
  downAt: number;
  downEvents: number;
}

/** `{ monitor: i }` on events when there are several monitors, nothing with one. */
function tag(i: number, n: number): { monitor?: number } {
  return n === 1 ? {} : { monitor: i };
}

/**
 * Send heartbeats to a monitor; `onEvent` sees each event as it happens.
 *
 * @example
 * const r = await sendHeartbeats({ host: "127.0.0.1", port: 12001, count: 3, intervalMs: 200 });
 * console.log(r.totals.received, r.down);
 */
export function sendHeartbeats(options: HeartbeatSenderOptions, onEvent?: (e: HeartbeatSenderEvent) => void): Promise<HeartbeatSenderResult> {
  const s = new HeartbeatSender(options);
  if (onEvent) s.on("event", onEvent);
  return s.run();
}

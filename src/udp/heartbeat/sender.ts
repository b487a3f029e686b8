/**
 * The heartbeat sender (the lab's client): sends `<seq> <timestamp> id=<id> run=<run>` on an
 * absolute schedule (heartbeat k leaves at start + k·interval, so there is no drift over
 * hours), listens for the monitor's `<seq> <time_diff>` replies asynchronously, matches them by
 * seq (a bounded ReplyTracker: late, duplicate, unknown), and declares the monitor down after
 * `misses` consecutive heartbeats without a reply.
 */
import type { Socket } from "node:dgram";
import { hostname } from "node:os";
import { resolveHost, type IpFamily } from "../../core/address.js";
import { systemClock, TimerGroup, type Clock, type TimerHandle } from "../../core/clock.js";
import { usageError } from "../../core/errors.js";
import { TypedEmitter } from "../../core/events.js";
import { createRandom, type Random } from "../../core/random.js";
import type { PingTotals, RttSummary } from "../../core/stats.js";
import { bindUdp, closeUdp, normalizeAddress } from "../../core/udp-socket.js";
import { preciseWallAnchor } from "./wall-time.js";
import { ReplyTracker } from "./replies.js";
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
  readonly #tracker = new ReplyTracker();
  readonly #timers: TimerGroup;

  constructor(options: HeartbeatSenderOptions) {
    super();
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#timers = new TimerGroup(this.#clock);
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
  #final: (() => void) | undefined;

  /**
   * Report a job's end: the next heartbeat, sent at once, carries `status`, `dur=jobMs` and
   * `msg`, and is the last; `run()` then resolves when it is answered or timed out.
   */
  finish(status: string, jobMs: number, message?: string): void {
    if (!isValidStatus(status)) throw usageError(`invalid status '${status}'`);
    this.#status = status;
    this.#jobMs = jobMs;
    if (message !== undefined) this.#message = message;
    this.#final?.();
  }

  #emitEvent(e: HeartbeatSenderEvent): void {
    this.emit("event", e);
  }


  async run(): Promise<HeartbeatSenderResult> {
    const wanted = [{ host: this.#o.host, port: this.#o.port }, ...(this.#o.more ?? [])];
    const targets: Target[] = [];
    try {
      for (const [i, w] of wanted.entries()) {
        const resolved = await resolveHost(w.host, this.#o.family);
        const bound = await bindUdp({ host: resolved.family === 6 ? "::" : "0.0.0.0", port: 0 });
        const server = { address: resolved.address, port: w.port };
        targets.push({ index: i, host: w.host, socket: bound.socket, server, tracker: i === 0 ? this.#tracker : new ReplyTracker(), consecutive: 0, down: false, downAt: 0, downEvents: 0 });
        this.#emitEvent({ kind: "start", host: w.host, server, local: { address: bound.address, port: bound.port }, id: this.id, run: this.runId, intervalMs: this.#intervalMs, ...tag(i, wanted.length) });
      }
      return await this.#loop(targets);
    } finally {
      this.#timers.clear();
      for (const t of targets) await closeUdp(t.socket);
    }
  }

  #loop(targets: Target[]): Promise<HeartbeatSenderResult> {
    const clock = this.#clock;
    const signal = this.#o.signal;
    const start = clock.monotonic();
    const anchorWall = preciseWallAnchor(clock, start);
    const firstSeq = this.#o.firstSeq ?? 1;
    const n = targets.length;
    let k = 0; // heartbeats scheduled so far
    let sending = true;

    return new Promise<HeartbeatSenderResult>((resolve) => {
      let done = false;
      const resultOf = (t: Target): HeartbeatSenderResult => ({
        host: t.host,
        server: t.server,
        id: this.id,
        run: this.runId,
        totals: t.tracker.totals(clock.monotonic() - start),
        rtt: t.tracker.rtt.summary(),
        down: t.down,
        downEvents: t.downEvents,
      });
      const finish = (): void => {
        if (done) return;
        done = true;
        signal?.removeEventListener("abort", onAbort);
        const all = targets.map(resultOf);
        const first = all[0] as HeartbeatSenderResult;
        // With several monitors, "down" means all of them are.
        resolve(n === 1 ? first : { ...first, down: all.every((r) => r.down), monitors: all });
      };
      const maybeFinish = (): void => {
        if (!sending && targets.every((t) => t.tracker.pendingCount === 0)) finish();
      };
      const answered = (t: Target, seq: number): void => {
        t.consecutive = 0;
        if (t.down) {
          t.down = false;
          this.#emitEvent({ kind: "up", seq, downForMs: clock.monotonic() - t.downAt, ...tag(t.index, n) });
        }
      };

      for (const t of targets) {
        const serverAddress = normalizeAddress(t.server.address);
        t.socket.on("error", () => {
          // ICMP errors surfacing on the socket: the misses counter already tells the story.
        });
        t.socket.on("message", (msg, rinfo) => {
          const at = clock.monotonic();
          const from = { address: normalizeAddress(rinfo.address), port: rinfo.port };
          if (from.address !== serverAddress || from.port !== t.server.port) {
            this.#emitEvent({ kind: "ignored", from, bytes: msg.length, reason: "not from the monitor" });
            return;
          }
          const d = decodeHeartbeatReply(msg);
          if (!d.ok) {
            this.#emitEvent({ kind: "ignored", from, bytes: msg.length, reason: d.error.reason });
            return;
          }
          const delayMs = d.value.timeDiff * 1000;
          const o = t.tracker.receive(d.value.seq, at);
          switch (o.kind) {
            case "reply":
              answered(t, o.seq);
              this.#emitEvent({ kind: "reply", seq: o.seq, rttMs: o.rttMs, delayMs, ...tag(t.index, n) });
              maybeFinish();
              break;
            case "late":
              answered(t, o.seq);
              this.#emitEvent({ kind: "late", seq: o.seq, rttMs: o.rttMs, delayMs, ...tag(t.index, n) });
              break;
            case "duplicate":
              this.#emitEvent({ kind: "duplicate", seq: o.seq, rttMs: o.rttMs, ...tag(t.index, n) });
              break;
            case "unknown":
              this.#emitEvent({ kind: "ignored", from, bytes: msg.length, reason: `reply for seq ${o.seq}, which was never sent` });
              break;
          }
        });
      }

      const sendTo = (t: Target, seq: number, payload: Buffer, mono: number): void => {
        t.tracker.sent(seq, mono);
        t.socket.send(payload, t.server.port, t.server.address, (err) => {
          if (err) this.#emitEvent({ kind: "send-error", seq, message: err.message, ...tag(t.index, n) });
        });
        this.#timers.after(this.#timeoutMs, () => {
          if (!t.tracker.expire(seq)) return;
          t.consecutive++;
          this.#emitEvent({ kind: "miss", seq, consecutive: t.consecutive, ...tag(t.index, n) });
          if (t.consecutive === this.#misses) {
            t.down = true;
            t.downAt = clock.monotonic();
            t.downEvents++;
            this.#emitEvent({ kind: "down", misses: t.consecutive, ...tag(t.index, n) });
            if (this.#o.keepGoing !== true && targets.every((x) => x.down)) {
              sending = false;
              finish();
              return;
            }
          }
          maybeFinish();
        });
      };

      let nextTimer: TimerHandle | undefined;
      const sendNext = (): void => {
        nextTimer = undefined;
        if (done || !sending) return;
        const seq = firstSeq + k;
        k++;
        if (this.#o.skip?.(seq) === true) this.#emitEvent({ kind: "skipped", seq });
        else {
          const mono = clock.monotonic();
          const hb: Heartbeat = { seq, timestamp: (anchorWall + (mono - start)) / 1000, id: this.id, run: this.runId };
          if (this.#o.announceInterval !== false) hb.int = this.#intervalMs;
          if (this.#status !== undefined) hb.status = this.#status;
          if (this.#message !== undefined) hb.msg = this.#message;
          if (this.#jobMs !== undefined) hb.dur = this.#jobMs;
          // One encoding, the same seq and timestamp to every monitor.
          const payload = encodeHeartbeat(hb, this.#o.key);
          for (const t of targets) if (!t.down || this.#o.keepGoing === true) sendTo(t, seq, payload, mono);
          this.#emitEvent({ kind: "sent", seq, bytes: payload.length });
        }
        if ((this.#count !== 0 && k >= this.#count) || this.#jobMs !== undefined) {
          sending = false;
          maybeFinish();
          return;
        }
        // Absolute schedule: heartbeat k leaves at start + k·interval; late timers do not add up.
        nextTimer = this.#timers.after(Math.max(0, start + k * this.#intervalMs - clock.monotonic()), sendNext);
      };

      const onAbort = (): void => {
        sending = false;
        finish();
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#final = () => {
        if (done || !sending) return;
        if (nextTimer !== undefined) clock.clearTimeout(nextTimer);
        sendNext();
      };
      sendNext();
    });
  }
}

/** One monitor the sender beats to, with its own reply matching and down detection. */
interface Target {
  index: number;
  host: string;
  socket: Socket;
  server: SenderEndpoint;
  tracker: ReplyTracker;
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

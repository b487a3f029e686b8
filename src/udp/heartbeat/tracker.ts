/**
 * What the monitor knows about one client — pure state, fed heartbeats and the monotonic time:
 * sequence gaps (lost, as ranges), late arrivals that fill a gap (reordered), duplicates,
 * restarts, one-way delay and inter-arrival statistics, and alive / suspect / dead.
 *
 * Bounded memory (the monitor may track 100 000 of these): the sequence history is a bitmap
 * of the last `SEQ_WINDOW` (256) sequence numbers in eight small integers; a gap is reported as one range
 * the moment it opens and never stored, so a burst of any length costs nothing. A heartbeat
 * older than the window cannot be checked against it and is treated as a restart (the seq
 * "fell far back"). Sequence numbers are JS numbers, exact up to 2^53 − 1; the window index is
 * `seq % 256`, so nothing wraps at 2^32. Measured by bench/heartbeat: well under 1 KiB per client.
 */
import { RttStats } from "../../core/stats.js";
import { effectiveStdDev, newArrivalStats, phi, recordInterval, zForPhi, type ArrivalStats, type PhiOptions } from "./detector.js";
import { isFailureStatus, type Heartbeat } from "./protocol.js";

/**
 * A copy of `s` that does not keep its source alive: strings cut out of a datagram's text are
 * slices that would pin the whole text for as long as the client is tracked.
 *
 * @example
 * const id = flatCopy(line.split(" ")[2] ?? ""); // keeps only the id's own bytes
 */
export function flatCopy(s: string): string {
  return Buffer.from(s, "latin1").toString("latin1");
}

/** Sequence numbers remembered behind the highest one (reorder / duplicate horizon). */
export const SEQ_WINDOW = 256;
/** A forward jump larger than this is a restart with new numbering, not 2^40 lost heartbeats. */
export const MAX_GAP = 1 << 20;

export type ClientStatus = "alive" | "suspect" | "dead";
export type RestartReason = "run" | "seq-back" | "seq-jump";

/** What one heartbeat meant. `resumed` is set when the client was suspect or dead before it. */
export type TrackOutcome = (
  | { kind: "first"; seq: number }
  | { kind: "next"; seq: number; lostFrom?: number; lostTo?: number }
  | { kind: "late"; seq: number; highest: number }
  | { kind: "duplicate"; seq: number }
  | { kind: "restart"; seq: number; reason: RestartReason; previousSeq: number; previousRun?: string; run?: string }
) & { resumed?: { from: "suspect" | "dead"; silentMs: number } };

/** A client as `--state` stores it (plain JSON). */
export interface TrackerState {
  id: string;
  address: string;
  run: string | null;
  status: ClientStatus;
  firstSeen: number;
  lastSeen: number;
  received: number;
  lost: number;
  reordered: number;
  duplicates: number;
  restarts: number;
  highest: number;
  highestTs: number;
  seen: number[];
  arrivals: ArrivalStats;
  announcedIntervalMs: number | null;
  reportedStatus: string | null;
  reportedMessage: string | null;
  jobMs: number | null;
  failed: boolean;
}

/** A status change found by `check()`. */
export type StatusChange = { kind: "suspect"; phi: number; silentMs: number } | { kind: "stopped"; silentMs: number; lastSeq: number };

/**
 * One client's bookkeeping.
 *
 * @example
 * const c = new ClientTracker("web-1", "127.0.0.1:40000", 0, clock.now());
 * c.receive({ seq: 1, timestamp: 1763852851 }, 0, 0.05);
 * c.receive({ seq: 4, timestamp: 1763852854 }, 3000, 0.05); // { kind: "next", seq: 4, lostFrom: 2, lostTo: 3 }
 */
export class ClientTracker {
  readonly id: string;
  address: string;
  run: string | undefined = undefined;
  status: ClientStatus = "alive";
  /** Wall-clock ms of the first and the last heartbeat. */
  readonly firstSeen: number;
  lastSeen: number;
  /** Monotonic ms of the last heartbeat. */
  lastArrival: number;
  received = 0;
  lost = 0;
  reordered = 0;
  duplicates = 0;
  restarts = 0;
  /** Highest sequence number of the current run (−1 before the first heartbeat). */
  highest = -1;
  /** Timestamp (s) carried by the highest heartbeat. */
  #highestTs = 0;
  // 32-bit words in a plain array: small integers stored inline, ~110 bytes where a
  // Uint32Array costs ~260 (its ArrayBuffer and view objects) per client.
  readonly #seen: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  /** One-way delay (receive − send time, ms), including the clock offset between the hosts. */
  readonly delay = new RttStats();
  /** Inter-arrival times for the phi detector. */
  readonly arrivals: ArrivalStats = newArrivalStats();
  /** The interval the client announced (`int=`), ms. */
  announcedIntervalMs: number | undefined = undefined;
  /** Silence after which this client is stopped, ms (set by the monitor from its options and `int=`). */
  deadAfterMs = Infinity;
  /** Last `status=` the client sent, its `msg=` and `dur=`. */
  reportedStatus: string | undefined = undefined;
  reportedMessage: string | undefined = undefined;
  jobMs: number | undefined = undefined;
  /** A `status=fail` (or nonzero exit code) was reported and no `status=ok` since. */
  failed = false;

  constructor(id: string, address: string, atMono: number, wallMs: number) {
    this.id = flatCopy(id);
    this.address = flatCopy(address);
    this.lastArrival = atMono;
    this.firstSeen = wallMs;
    this.lastSeen = wallMs;
  }

  #mark(seq: number): void {
    const i = seq % SEQ_WINDOW;
    this.#seen[i >>> 5] = (this.#seen[i >>> 5] ?? 0) | (1 << (i & 31));
  }

  #marked(seq: number): boolean {
    const i = seq % SEQ_WINDOW;
    return (((this.#seen[i >>> 5] ?? 0) >>> (i & 31)) & 1) === 1;
  }

  /** Forget every seq in (highest, seq]: they are about to become the new window front. */
  #advance(seq: number): void {
    if (seq - this.highest >= SEQ_WINDOW) this.#seen.fill(0, 0, SEQ_WINDOW / 32);
    else {
      for (let s = this.highest + 1; s <= seq; s++) {
        const i = s % SEQ_WINDOW;
        this.#seen[i >>> 5] = (this.#seen[i >>> 5] ?? 0) & ~(1 << (i & 31));
      }
    }
    this.highest = seq;
  }

  #startRun(hb: Heartbeat): void {
    this.#seen.fill(0, 0, SEQ_WINDOW / 32);
    this.highest = hb.seq;
    this.#highestTs = hb.timestamp;
    this.run = hb.run === undefined || hb.run === this.run ? this.run : flatCopy(hb.run);
    this.#mark(hb.seq);
  }

  #restartReason(hb: Heartbeat): RestartReason | undefined {
    const { seq } = hb;
    if (seq - this.highest > MAX_GAP) return "seq-jump";
    if (hb.run !== undefined && this.run !== undefined) return hb.run !== this.run ? "run" : undefined;
    if (seq > this.highest) return undefined;
    // A reordered or duplicated datagram carries an older (or equal) timestamp than the newest
    // one; only a restarted sender can send a lower seq with a newer timestamp.
    if (hb.timestamp > this.#highestTs) return "seq-back";
    if (this.highest - seq >= SEQ_WINDOW) return "seq-back";
    return undefined;
  }

  /**
   * Account one heartbeat received at monotonic `atMono` (wall `wallMs`) with one-way delay
   * `delayMs`. Duplicates update nothing but their counter and `lastSeen`; late (reordered)
   * heartbeats fill their gap in but do not count as a sign of life or an inter-arrival sample.
   */
  receive(hb: Heartbeat, atMono: number, delayMs: number, wallMs = this.lastSeen, options: PhiOptions = {}): TrackOutcome {
    const first = this.highest < 0;
    const reason = first ? undefined : this.#restartReason(hb);
    let out: TrackOutcome;
    if (first) {
      this.#startRun(hb);
      out = { kind: "first", seq: hb.seq };
    } else if (reason !== undefined) {
      const previousSeq = this.highest;
      const previousRun = this.run;
      this.restarts++;
      this.#startRun(hb);
      out = { kind: "restart", seq: hb.seq, reason, previousSeq };
      if (previousRun !== undefined) out.previousRun = previousRun;
      if (hb.run !== undefined) out.run = hb.run;
    } else if (hb.seq > this.highest) {
      const from = this.highest + 1;
      const to = hb.seq - 1;
      this.#advance(hb.seq);
      this.#highestTs = hb.timestamp;
      this.#mark(hb.seq);
      out = { kind: "next", seq: hb.seq };
      if (to >= from) {
        this.lost += to - from + 1;
        out.lostFrom = from;
        out.lostTo = to;
      }
    } else if (this.#marked(hb.seq)) {
      this.duplicates++;
      this.lastSeen = wallMs;
      return { kind: "duplicate", seq: hb.seq };
    } else {
      // Inside the window, not seen yet: it was counted lost when the gap opened; fill it in.
      // It was sent before the newest one, so it says nothing about whether the client is alive
      // now, and its arrival is not a sample of the heartbeat rhythm.
      this.#mark(hb.seq);
      this.lost--;
      this.reordered++;
      this.received++;
      this.delay.add(delayMs);
      this.lastSeen = wallMs;
      return { kind: "late", seq: hb.seq, highest: this.highest };
    }
    this.received++;
    this.delay.add(delayMs);
    const silentMs = atMono - this.lastArrival;
    if (this.status !== "alive") out.resumed = { from: this.status, silentMs };
    // An outage is not a sample of the arrival distribution; a long-ish wait while suspect is.
    if (!first && this.status !== "dead") recordInterval(this.arrivals, silentMs, options.window);
    this.status = "alive";
    this.lastArrival = atMono;
    this.lastSeen = wallMs;
    return out;
  }

  /**
   * Take in the status fields of an accepted heartbeat (the newest of its run). Returns
   * "failed" when this status turns the client failed, "recovered" when an ok ends a failure.
   */
  report(hb: Heartbeat): "failed" | "recovered" | undefined {
    if (hb.int !== undefined && hb.int !== this.announcedIntervalMs) {
      // A new announced rhythm: what phi learned of the old one no longer applies.
      if (this.announcedIntervalMs !== undefined) Object.assign(this.arrivals, newArrivalStats());
      this.announcedIntervalMs = hb.int;
    }
    if (hb.status === undefined) {
      if (hb.msg !== undefined) this.reportedMessage = hb.msg;
      return undefined;
    }
    if (hb.status !== this.reportedStatus) this.reportedStatus = flatCopy(hb.status);
    this.reportedMessage = hb.msg;
    this.jobMs = hb.dur;
    const failing = isFailureStatus(hb.status);
    if (failing === this.failed) return undefined;
    this.failed = failing;
    return failing ? "failed" : "recovered";
  }

  /**
   * Why a keyed heartbeat is a replay, or undefined when it is new: a seq already seen in the
   * run, one older than the window, or a run change carrying a timestamp no newer than the newest
   * heartbeat accepted (a restarted sender's clock has moved on; a replayed one has not).
   */
  replay(hb: Heartbeat): string | undefined {
    if (this.highest < 0) return undefined;
    if (hb.run !== this.run) return hb.timestamp > this.#highestTs ? undefined : `run ${hb.run ?? "(none)"} older than the current run`;
    if (hb.seq > this.highest) return undefined;
    if (this.highest - hb.seq >= SEQ_WINDOW) return `seq ${hb.seq} older than the replay window`;
    return this.#marked(hb.seq) ? `seq ${hb.seq} already seen` : undefined;
  }

  /** Everything worth keeping across a monitor restart (see `fromState`). */
  toState(): TrackerState {
    return {
      id: this.id,
      address: this.address,
      run: this.run ?? null,
      status: this.status,
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      received: this.received,
      lost: this.lost,
      reordered: this.reordered,
      duplicates: this.duplicates,
      restarts: this.restarts,
      highest: this.highest,
      highestTs: this.#highestTs,
      seen: [...this.#seen],
      arrivals: { ...this.arrivals },
      announcedIntervalMs: this.announcedIntervalMs ?? null,
      reportedStatus: this.reportedStatus ?? null,
      reportedMessage: this.reportedMessage ?? null,
      jobMs: this.jobMs ?? null,
      failed: this.failed,
    };
  }

  /**
   * A tracker restored from `toState()`. Its silence goes on from `lastSeen` (wall clock), so
   * the time the monitor was down counts; at monotonic `nowMono` the wall clock reads `nowWall`.
   */
  static fromState(s: TrackerState, nowMono: number, nowWall: number): ClientTracker {
    const c = new ClientTracker(s.id, s.address, nowMono - Math.max(0, nowWall - s.lastSeen), s.firstSeen);
    c.run = s.run ?? undefined;
    c.status = s.status;
    c.lastSeen = s.lastSeen;
    c.received = s.received;
    c.lost = s.lost;
    c.reordered = s.reordered;
    c.duplicates = s.duplicates;
    c.restarts = s.restarts;
    c.highest = s.highest;
    c.#highestTs = s.highestTs;
    for (let i = 0; i < c.#seen.length; i++) c.#seen[i] = (s.seen[i] ?? 0) | 0;
    Object.assign(c.arrivals, s.arrivals);
    c.announcedIntervalMs = s.announcedIntervalMs ?? undefined;
    c.reportedStatus = s.reportedStatus ?? undefined;
    c.reportedMessage = s.reportedMessage ?? undefined;
    c.jobMs = s.jobMs ?? undefined;
    c.failed = s.failed;
    return c;
  }

  /** The suspicion level φ at monotonic time `nowMono`. */
  phi(nowMono: number, options: PhiOptions = {}): number {
    return phi(this.arrivals, nowMono - this.lastArrival, options);
  }

  /**
   * Move to suspect (φ above `phiThreshold`) or dead (silent for `deadAfterMs`), reporting
   * the change once. Cheap when nothing can change (silence shorter than the mean interval).
   */
  check(nowMono: number, deadAfterMs: number, phiThreshold: number, options: PhiOptions = {}, zThreshold = zForPhi(phiThreshold)): StatusChange | undefined {
    if (this.status === "dead") return undefined;
    const silentMs = nowMono - this.lastArrival;
    if (silentMs >= deadAfterMs) {
      this.status = "dead";
      return { kind: "stopped", silentMs, lastSeq: this.highest };
    }
    if (this.status === "suspect" || this.arrivals.count === 0 || silentMs <= this.arrivals.mean) return undefined;
    if (silentMs <= this.arrivals.mean + zThreshold * effectiveStdDev(this.arrivals, options)) return undefined;
    const p = phi(this.arrivals, silentMs, options);
    this.status = "suspect";
    return { kind: "suspect", phi: p, silentMs };
  }

  /** Loss in percent of the heartbeats expected (received + lost). */
  get lossPercent(): number {
    const expected = this.received + this.lost;
    return expected === 0 ? 0 : (this.lost * 100) / expected;
  }
}

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
 * `seq % 256`, so nothing wraps at 2^32.
 *
 * Every number that is not a small integer (times, the delay and inter-arrival statistics) and
 * the bitmap's words live in ONE array of doubles per client (`#n`, layout below): V8 keeps a
 * double-valued object field as a pointer to a separate 16-byte heap number, and every object
 * has a header, so the same state as fields of the tracker, an RttStats and an ArrivalStats
 * object and a bitmap array took some 630 bytes per client, and takes some 380 this way
 * (bench/heartbeat/memory.ts counts it).
 */
import { addRttSample, clearRttSlots, RTT_STATS_SLOTS, RttStats } from "../../core/stats.js";
import { ARRIVAL_SLOTS, effectiveStdDevOf, phiOf, recordIntervalAt, zForPhi, type ArrivalStats, type PhiOptions } from "./detector.js";
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

// Where each number is in a tracker's `#n`: the bitmap's words first (index = word).
const SEEN_WORDS = SEQ_WINDOW / 32;
const FIRST_SEEN = SEEN_WORDS;
const LAST_SEEN = FIRST_SEEN + 1;
const LAST_ARRIVAL = LAST_SEEN + 1;
const HIGHEST_TS = LAST_ARRIVAL + 1;
const DEAD_AFTER = HIGHEST_TS + 1;
const DELAY = DEAD_AFTER + 1;
const ARRIVALS = DELAY + RTT_STATS_SLOTS;
const N_SLOTS = ARRIVALS + ARRIVAL_SLOTS;
/** A new tracker's numbers. Its first element is not an integer, so V8 stores it (and its copies) as unboxed doubles. */
const FRESH: number[] = [0.5];
for (let i = 0; i < N_SLOTS; i++) FRESH[i] = 0;
FRESH[DEAD_AFTER] = Infinity;
clearRttSlots(FRESH, DELAY);
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
  received = 0;
  lost = 0;
  reordered = 0;
  duplicates = 0;
  restarts = 0;
  /** Highest sequence number of the current run (−1 before the first heartbeat). */
  highest = -1;
  /** The interval the client announced (`int=`), ms. */
  announcedIntervalMs: number | undefined = undefined;
  /** Last `status=` the client sent, its `msg=` and `dur=`. */
  reportedStatus: string | undefined = undefined;
  reportedMessage: string | undefined = undefined;
  jobMs: number | undefined = undefined;
  /** A `status=fail` (or nonzero exit code) was reported and no `status=ok` since. */
  failed = false;
  /** The bitmap, times and statistics (layout: SEEN_WORDS … N_SLOTS above); only doubles, so stored unboxed. */
  readonly #n: number[];

  constructor(id: string, address: string, atMono: number, wallMs: number) {
    this.id = flatCopy(id);
    this.address = flatCopy(address);
    // A copy of the template: an array of doubles exactly N_SLOTS long (one grown element by
    // element would hold twice the room).
    const n = FRESH.slice();
    n[FIRST_SEEN] = wallMs;
    n[LAST_SEEN] = wallMs;
    n[LAST_ARRIVAL] = atMono;
    this.#n = n;
  }

  /** Wall-clock ms of the first heartbeat. */
  get firstSeen(): number {
    return this.#n[FIRST_SEEN] as number;
  }

  /** Wall-clock ms of the last heartbeat. */
  get lastSeen(): number {
    return this.#n[LAST_SEEN] as number;
  }

  set lastSeen(ms: number) {
    this.#n[LAST_SEEN] = ms;
  }

  /** Monotonic ms of the last heartbeat. */
  get lastArrival(): number {
    return this.#n[LAST_ARRIVAL] as number;
  }

  set lastArrival(ms: number) {
    this.#n[LAST_ARRIVAL] = ms;
  }

  /** Silence after which this client is stopped, ms (set by the monitor from its options and `int=`). */
  get deadAfterMs(): number {
    return this.#n[DEAD_AFTER] as number;
  }

  set deadAfterMs(ms: number) {
    this.#n[DEAD_AFTER] = ms;
  }

  /** One-way delay (receive − send time, ms), including the clock offset between the hosts: a view of this tracker's numbers. */
  get delay(): RttStats {
    return new RttStats(this.#n, DELAY);
  }

  /** Inter-arrival times for the phi detector (a copy). */
  get arrivals(): ArrivalStats {
    const n = this.#n;
    return { count: n[ARRIVALS] as number, mean: n[ARRIVALS + 1] as number, variance: n[ARRIVALS + 2] as number };
  }

  #setArrivals(s: ArrivalStats): void {
    this.#n[ARRIVALS] = s.count;
    this.#n[ARRIVALS + 1] = s.mean;
    this.#n[ARRIVALS + 2] = s.variance;
  }

  #mark(seq: number): void {
    const i = seq % SEQ_WINDOW;
    this.#n[i >>> 5] = ((this.#n[i >>> 5] as number) | (1 << (i & 31))) | 0;
  }

  #marked(seq: number): boolean {
    const i = seq % SEQ_WINDOW;
    return (((this.#n[i >>> 5] as number) >>> (i & 31)) & 1) === 1;
  }

  /** Forget every seq in (highest, seq]: they are about to become the new window front. */
  #advance(seq: number): void {
    if (seq - this.highest >= SEQ_WINDOW) this.#n.fill(0, 0, SEEN_WORDS);
    else {
      for (let s = this.highest + 1; s <= seq; s++) {
        const i = s % SEQ_WINDOW;
        this.#n[i >>> 5] = (this.#n[i >>> 5] as number) & ~(1 << (i & 31));
      }
    }
    this.highest = seq;
  }

  #startRun(hb: Heartbeat): void {
    this.#n.fill(0, 0, SEEN_WORDS);
    this.highest = hb.seq;
    this.#n[HIGHEST_TS] = hb.timestamp;
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
    if (hb.timestamp > (this.#n[HIGHEST_TS] as number)) return "seq-back";
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
      this.#n[HIGHEST_TS] = hb.timestamp;
      this.#mark(hb.seq);
      out = { kind: "next", seq: hb.seq };
      if (to >= from) {
        this.lost += to - from + 1;
        out.lostFrom = from;
        out.lostTo = to;
      }
    } else if (this.#marked(hb.seq)) {
      this.duplicates++;
      this.#n[LAST_SEEN] = wallMs;
      return { kind: "duplicate", seq: hb.seq };
    } else {
      // Inside the window, not seen yet: it was counted lost when the gap opened; fill it in.
      // It was sent before the newest one, so it says nothing about whether the client is alive
      // now, and its arrival is not a sample of the heartbeat rhythm.
      this.#mark(hb.seq);
      this.lost--;
      this.reordered++;
      this.received++;
      addRttSample(this.#n, DELAY, delayMs);
      this.#n[LAST_SEEN] = wallMs;
      return { kind: "late", seq: hb.seq, highest: this.highest };
    }
    this.received++;
    const n = this.#n;
    addRttSample(n, DELAY, delayMs);
    const silentMs = atMono - (n[LAST_ARRIVAL] as number);
    if (this.status !== "alive") out.resumed = { from: this.status, silentMs };
    // An outage is not a sample of the arrival distribution; a long-ish wait while suspect is.
    if (!first && this.status !== "dead") recordIntervalAt(n, ARRIVALS, silentMs, options.window);
    this.status = "alive";
    n[LAST_ARRIVAL] = atMono;
    n[LAST_SEEN] = wallMs;
    return out;
  }

  /**
   * Take in the status fields of an accepted heartbeat (the newest of its run). Returns
   * "failed" when this status turns the client failed, "recovered" when an ok ends a failure.
   */
  report(hb: Heartbeat): "failed" | "recovered" | undefined {
    if (hb.int !== undefined && hb.int !== this.announcedIntervalMs) {
      // A new announced rhythm: what phi learned of the old one no longer applies.
      if (this.announcedIntervalMs !== undefined) this.#n.fill(0, ARRIVALS, ARRIVALS + ARRIVAL_SLOTS);
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
    if (hb.run !== this.run) return hb.timestamp > (this.#n[HIGHEST_TS] as number) ? undefined : `run ${hb.run ?? "(none)"} older than the current run`;
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
      highestTs: this.#n[HIGHEST_TS] as number,
      seen: this.#n.slice(0, SEEN_WORDS),
      arrivals: this.arrivals,
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
    c.#n[HIGHEST_TS] = s.highestTs;
    for (let i = 0; i < SEEN_WORDS; i++) c.#n[i] = (s.seen[i] ?? 0) | 0;
    c.#setArrivals({ ...c.arrivals, ...s.arrivals });
    c.announcedIntervalMs = s.announcedIntervalMs ?? undefined;
    c.reportedStatus = s.reportedStatus ?? undefined;
    c.reportedMessage = s.reportedMessage ?? undefined;
    c.jobMs = s.jobMs ?? undefined;
    c.failed = s.failed;
    return c;
  }

  /** The suspicion level φ at monotonic time `nowMono`. */
  phi(nowMono: number, options: PhiOptions = {}): number {
    const n = this.#n;
    return phiOf(n[ARRIVALS] as number, n[ARRIVALS + 1] as number, n[ARRIVALS + 2] as number, nowMono - (n[LAST_ARRIVAL] as number), options);
  }

  /**
   * Move to suspect (φ above `phiThreshold`) or dead (silent for `deadAfterMs`), reporting
   * the change once. Cheap when nothing can change (silence shorter than the mean interval).
   */
  check(nowMono: number, deadAfterMs: number, phiThreshold: number, options: PhiOptions = {}, zThreshold = zForPhi(phiThreshold)): StatusChange | undefined {
    if (this.status === "dead") return undefined;
    const n = this.#n;
    const silentMs = nowMono - (n[LAST_ARRIVAL] as number);
    if (silentMs >= deadAfterMs) {
      this.status = "dead";
      return { kind: "stopped", silentMs, lastSeq: this.highest };
    }
    const count = n[ARRIVALS] as number;
    const mean = n[ARRIVALS + 1] as number;
    const variance = n[ARRIVALS + 2] as number;
    if (this.status === "suspect" || count === 0 || silentMs <= mean) return undefined;
    if (silentMs <= mean + zThreshold * effectiveStdDevOf(mean, variance, options)) return undefined;
    const p = phiOf(count, mean, variance, silentMs, options);
    this.status = "suspect";
    return { kind: "suspect", phi: p, silentMs };
  }

  /** Loss in percent of the heartbeats expected (received + lost). */
  get lossPercent(): number {
    const expected = this.received + this.lost;
    return expected === 0 ? 0 : (this.lost * 100) / expected;
  }
}

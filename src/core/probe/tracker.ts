/**
 * What became of each probe of one target: pending, replied, answered by an error, or timed
 * out, keyed by the probe's identity (its sequence number; the driver keeps one tracker per
 * target). A reply after the probe timed out (or was answered by an error) is "late" and stays
 * lost, as ping counts it; any further reply is a duplicate. RTT statistics go through
 * core/stats. Pure state: times are passed in (monotonic ms).
 *
 * Memory is bounded for runs that last months (a heartbeat sender): besides the pending
 * probes, only the last `history` settled ones are remembered; a reply for an older one is
 * "unknown".
 */
import { RttStats, type PingTotals } from "../stats.js";

export type ProbeState = "pending" | "replied" | "error" | "timeout";

/** One probe in the table. */
export interface Probe<T> {
  seq: number;
  /** Monotonic ms at send. */
  sentAt: number;
  state: ProbeState;
  /** Replies seen (the first, late or not, plus duplicates). */
  replies: number;
  /** The caller's data (the kernel send timestamp, a record to fill in, ...). */
  tag: T;
}

/** What one received reply was. */
export type ProbeOutcome<T> =
  | { kind: "reply" | "late" | "duplicate"; probe: Probe<T>; rttMs: number }
  | { kind: "unknown"; seq: number };

export interface ProbeTrackerOptions {
  /** Settled probes remembered for late / duplicate detection. @default Infinity */
  history?: number;
}

/**
 * The probe table of one target.
 *
 * @example
 * const t = new ProbeTracker<undefined>();
 * t.sent(1, 0, undefined);
 * t.receive(1, 0.3); // { kind: "reply", probe, rttMs: 0.3 }
 * t.receive(1, 0.5); // { kind: "duplicate", ... }
 */
export class ProbeTracker<T = undefined> {
  readonly #probes = new Map<number, Probe<T>>();
  readonly #history: number;
  readonly rtt = new RttStats();
  #pending = 0;
  #transmitted = 0;
  #received = 0;
  #duplicates = 0;
  #errors = 0;
  #late = 0;

  constructor(options: ProbeTrackerOptions = {}) {
    this.#history = options.history ?? Infinity;
  }

  /** Probe `seq` left at `at`. A sequence number used again (16-bit wrap) replaces the old probe. */
  sent(seq: number, at: number, tag: T): Probe<T> {
    const old = this.#probes.get(seq);
    if (old !== undefined) {
      if (old.state === "pending") this.#pending--;
      this.#probes.delete(seq);
    }
    const p: Probe<T> = { seq, sentAt: at, state: "pending", replies: 0, tag };
    this.#probes.set(seq, p);
    this.#pending++;
    this.#transmitted++;
    return p;
  }

  get(seq: number): Probe<T> | undefined {
    return this.#probes.get(seq);
  }

  /**
   * A reply for `seq` arrived at `at`. `rttMs` overrides `at − sentAt` (ICMP: the kernel's
   * receive timestamp minus the send time).
   */
  receive(seq: number, at: number, rttMs?: number): ProbeOutcome<T> {
    const p = this.#probes.get(seq);
    if (p === undefined) return { kind: "unknown", seq };
    const rtt = rttMs ?? Math.max(0, at - p.sentAt);
    p.replies++;
    if (p.state === "pending") {
      this.#settle(p, "replied");
      this.#received++;
      this.rtt.add(rtt);
      return { kind: "reply", probe: p, rttMs: rtt };
    }
    if ((p.state === "timeout" || p.state === "error") && p.replies === 1) {
      this.#late++;
      return { kind: "late", probe: p, rttMs: rtt };
    }
    this.#duplicates++;
    return { kind: "duplicate", probe: p, rttMs: rtt };
  }

  /** An error answered `seq` (an ICMP unreachable, a failed send); false if it was not pending. */
  error(seq: number): boolean {
    const p = this.#probes.get(seq);
    if (p === undefined || p.state !== "pending") return false;
    this.#settle(p, "error");
    this.#errors++;
    return true;
  }

  /** `seq` got no reply in time; false if it had been answered (or is unknown). */
  expire(seq: number): boolean {
    const p = this.#probes.get(seq);
    if (p === undefined || p.state !== "pending") return false;
    this.#settle(p, "timeout");
    return true;
  }

  #settle(p: Probe<T>, state: ProbeState): void {
    p.state = state;
    this.#pending--;
    if (this.#probes.size - this.#pending <= this.#history) return;
    // Forget the oldest settled probe (insertion order is send order).
    for (const [seq, q] of this.#probes) {
      if (q.state !== "pending") {
        this.#probes.delete(seq);
        break;
      }
    }
  }

  /** Probes still waiting for an answer. */
  get pendingCount(): number {
    return this.#pending;
  }

  /** Sequence numbers still waiting, oldest first. */
  pendingSeqs(): number[] {
    const out: number[] = [];
    for (const p of this.#probes.values()) if (p.state === "pending") out.push(p.seq);
    return out;
  }

  /** Probes held in memory (pending + at most `history` settled). */
  get size(): number {
    return this.#probes.size;
  }

  /** Probes answered by a reply or an error: what `ping -w -c N` waits for. */
  get answered(): number {
    return this.#received + this.#errors;
  }

  totals(elapsedMs: number): PingTotals {
    return {
      transmitted: this.#transmitted,
      received: this.#received,
      duplicates: this.#duplicates,
      errors: this.#errors,
      late: this.#late,
      elapsedMs,
    };
  }
}

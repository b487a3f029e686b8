/**
 * The sender's reply matching: like the UDP pinger's ProbeTracker (reply, late, duplicate,
 * unknown, by seq), but bounded, because a heartbeat sender runs for months: only pending
 * heartbeats and the last `history` answered / timed-out ones are remembered. A reply for a
 * heartbeat older than that is "unknown" and ignored. Pure state, times passed in.
 */
import { RttStats, type PingTotals } from "../../core/stats.js";
import type { ReplyOutcome } from "../ping/tracker.js";

/**
 * Bounded reply bookkeeping for an endless stream of heartbeats.
 *
 * @example
 * const t = new ReplyTracker();
 * t.sent(1, 0);
 * t.receive(1, 0.3); // { kind: "reply", seq: 1, rttMs: 0.3 }
 * t.receive(1, 0.5); // { kind: "duplicate", seq: 1, rttMs: 0.5 }
 */
export class ReplyTracker {
  readonly #pending = new Map<number, number>();
  readonly #expired = new Map<number, number>();
  readonly #answered = new Map<number, number>();
  readonly #history: number;
  readonly rtt = new RttStats();
  #transmitted = 0;
  #received = 0;
  #duplicates = 0;
  #late = 0;

  /** @param history answered and timed-out heartbeats remembered for late/duplicate detection */
  constructor(history = 1024) {
    this.#history = history;
  }

  #remember(map: Map<number, number>, seq: number, sentAt: number): void {
    map.set(seq, sentAt);
    if (map.size > this.#history) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
  }

  /** Heartbeat `seq` left at monotonic time `at`. */
  sent(seq: number, at: number): void {
    this.#pending.set(seq, at);
    this.#transmitted++;
  }

  /** Heartbeat `seq` got no reply in time; false if it was answered (or unknown). */
  expire(seq: number): boolean {
    const sentAt = this.#pending.get(seq);
    if (sentAt === undefined) return false;
    this.#pending.delete(seq);
    this.#remember(this.#expired, seq, sentAt);
    return true;
  }

  /** A reply for `seq` arrived at monotonic time `at`. */
  receive(seq: number, at: number): ReplyOutcome {
    const sentAt = this.#pending.get(seq);
    if (sentAt !== undefined) {
      const rttMs = Math.max(0, at - sentAt);
      this.#pending.delete(seq);
      this.#remember(this.#answered, seq, sentAt);
      this.#received++;
      this.rtt.add(rttMs);
      return { kind: "reply", seq, rttMs };
    }
    const expiredAt = this.#expired.get(seq);
    if (expiredAt !== undefined) {
      this.#expired.delete(seq);
      this.#remember(this.#answered, seq, expiredAt);
      this.#late++;
      return { kind: "late", seq, rttMs: Math.max(0, at - expiredAt) };
    }
    const answeredAt = this.#answered.get(seq);
    if (answeredAt !== undefined) {
      this.#duplicates++;
      return { kind: "duplicate", seq, rttMs: Math.max(0, at - answeredAt) };
    }
    return { kind: "unknown", seq };
  }

  /** Heartbeats still waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Entries held in memory (bounded by pending + 2 × history). */
  get size(): number {
    return this.#pending.size + this.#expired.size + this.#answered.size;
  }

  totals(elapsedMs: number): PingTotals {
    return { transmitted: this.#transmitted, received: this.#received, duplicates: this.#duplicates, errors: 0, late: this.#late, elapsedMs };
  }
}

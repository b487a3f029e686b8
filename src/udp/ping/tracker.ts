/**
 * Matching replies to probes by sequence number — the part classroom pingers get wrong.
 * Pure state: `sent`, `expire` and `receive` take the monotonic time and return what happened.
 * A reply after its probe timed out is "late" (and stays lost); a second reply is a duplicate.
 */
import { RttStats, type PingTotals } from "../../core/stats.js";

export type ProbeState = "pending" | "replied" | "timeout";

/** The outcome of one received reply. */
export type ReplyOutcome =
  | { kind: "reply"; seq: number; rttMs: number }
  | { kind: "duplicate"; seq: number; rttMs: number }
  | { kind: "late"; seq: number; rttMs: number }
  | { kind: "unknown"; seq: number };

interface Probe {
  sentAt: number;
  state: ProbeState;
  replies: number;
}

/** Bookkeeping for one ping run. */
export class ProbeTracker {
  readonly #probes = new Map<number, Probe>();
  readonly rtt = new RttStats();
  #transmitted = 0;
  #received = 0;
  #duplicates = 0;
  #late = 0;
  #errors = 0;

  /** Record that probe `seq` left at monotonic time `at`. */
  sent(seq: number, at: number): void {
    this.#probes.set(seq, { sentAt: at, state: "pending", replies: 0 });
    this.#transmitted++;
  }

  /** Probe `seq` timed out (no reply in time). Returns false if it had already been answered. */
  expire(seq: number): boolean {
    const p = this.#probes.get(seq);
    if (p === undefined || p.state !== "pending") return false;
    p.state = "timeout";
    return true;
  }

  /** Count an error reply (e.g. ICMP unreachable) for `seq`: it stays not received. */
  error(seq: number): boolean {
    const p = this.#probes.get(seq);
    if (p === undefined || p.state !== "pending") return false;
    p.state = "timeout";
    this.#errors++;
    return true;
  }

  /** A reply for `seq` arrived at monotonic time `at`. */
  receive(seq: number, at: number): ReplyOutcome {
    const p = this.#probes.get(seq);
    if (p === undefined) return { kind: "unknown", seq };
    const rttMs = Math.max(0, at - p.sentAt);
    p.replies++;
    if (p.state === "pending") {
      p.state = "replied";
      this.#received++;
      this.rtt.add(rttMs);
      return { kind: "reply", seq, rttMs };
    }
    if (p.state === "timeout" && p.replies === 1) {
      this.#late++;
      return { kind: "late", seq, rttMs };
    }
    this.#duplicates++;
    return { kind: "duplicate", seq, rttMs };
  }

  state(seq: number): ProbeState | undefined {
    return this.#probes.get(seq)?.state;
  }

  /** Sequence numbers still waiting for a reply. */
  pending(): number[] {
    const out: number[] = [];
    for (const [seq, p] of this.#probes) if (p.state === "pending") out.push(seq);
    return out;
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

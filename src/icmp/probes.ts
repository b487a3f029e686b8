/**
 * Echo probes in flight and what became of them: pure bookkeeping shared by ping and traceroute.
 * Sequence numbers are 16 bits on the wire; a reply is matched by sequence (the caller has
 * already checked the identifier). A reply after its probe timed out is "late" (it stays lost),
 * a second reply is a duplicate, an ICMP error counts as not received.
 */
import { RttStats, type PingTotals } from "../core/stats.js";

export type ProbeState = "pending" | "replied" | "error" | "timeout";

export interface Probe<T> {
  seq: number;
  /** CLOCK_REALTIME ns read just before sendto(). */
  txNs: bigint;
  /** Monotonic ms at send, the fallback when the kernel gives no receive timestamp. */
  sentMono: number;
  state: ProbeState;
  replies: number;
  /** Caller's data (traceroute: hop and probe index). */
  tag: T;
}

export type ReplyOutcome = "reply" | "duplicate" | "late" | "unknown";

/**
 * RTT in ms: kernel receive timestamp − send time (as iputils), or the monotonic difference when
 * there is no timestamp or CLOCK_REALTIME stepped backwards in between.
 *
 * @example
 * rttMs(1_000_000n, 1_041_000n, 5, 5.2) // 0.041
 */
export function rttMs(txNs: bigint, rxNs: bigint, sentMono: number, nowMono: number): number {
  if (rxNs > 0n && txNs > 0n && rxNs >= txNs) return Number(rxNs - txNs) / 1e6;
  return Math.max(0, nowMono - sentMono);
}

/** The probe table of one run. */
export class ProbeTable<T = undefined> {
  readonly #probes = new Map<number, Probe<T>>();
  readonly rtt = new RttStats();
  #transmitted = 0;
  #received = 0;
  #duplicates = 0;
  #errors = 0;
  #late = 0;

  /** Record a probe that left. A sequence number reused after 65536 probes replaces the old one. */
  sent(seq: number, txNs: bigint, sentMono: number, tag: T): Probe<T> {
    const p: Probe<T> = { seq: seq & 0xffff, txNs, sentMono, state: "pending", replies: 0, tag };
    this.#probes.set(p.seq, p);
    this.#transmitted++;
    return p;
  }

  get(seq: number): Probe<T> | undefined {
    return this.#probes.get(seq & 0xffff);
  }

  /** An echo reply for `seq` with the given RTT. */
  reply(seq: number, rtt: number): ReplyOutcome {
    const p = this.get(seq);
    if (p === undefined) return "unknown";
    p.replies++;
    if (p.state === "pending") {
      p.state = "replied";
      this.#received++;
      this.rtt.add(rtt);
      return "reply";
    }
    if ((p.state === "timeout" || p.state === "error") && p.replies === 1) {
      this.#late++;
      return "late";
    }
    this.#duplicates++;
    return "duplicate";
  }

  /** An ICMP error answered `seq`; false if it was no longer pending. */
  error(seq: number): boolean {
    const p = this.get(seq);
    if (p === undefined || p.state !== "pending") return false;
    p.state = "error";
    this.#errors++;
    return true;
  }

  /** `seq` timed out; false if it had been answered. */
  expire(seq: number): boolean {
    const p = this.get(seq);
    if (p === undefined || p.state !== "pending") return false;
    p.state = "timeout";
    return true;
  }

  /** Number of probes still waiting. */
  get pending(): number {
    let n = 0;
    for (const p of this.#probes.values()) if (p.state === "pending") n++;
    return n;
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

/**
 * Round-trip statistics as iputils ping keeps them: running count, sum and sum of squares,
 * so min/avg/max/mdev are O(1) per sample and need no stored samples.
 * mdev = sqrt(Σx²/n − (Σx/n)²) (iputils `ping_common.c`, `ping_print_finish`).
 */

/** A snapshot of RTT statistics in milliseconds; all fields are 0 when `count` is 0. */
export interface RttSummary {
  count: number;
  min: number;
  avg: number;
  max: number;
  mdev: number;
}

/** Numbers one RttStats keeps (count, sum, sum of squares, min, max, ewma), in this order. */
export const RTT_STATS_SLOTS = 6;

/**
 * Set a[at, at + RTT_STATS_SLOTS) to the statistics of no samples, for an RttStats kept in
 * `a` (see the RttStats constructor).
 */
export function clearRttSlots(a: number[], at: number): void {
  a[at] = 0;
  a[at + 1] = 0;
  a[at + 2] = 0;
  a[at + 3] = Infinity;
  a[at + 4] = -Infinity;
  a[at + 5] = 0;
}

/**
 * Add one sample (ms) to the statistics kept in `a` at `at`: what RttStats.add does, without
 * an RttStats object (a hot path that keeps many of them inline).
 */
export function addRttSample(a: number[], at: number, ms: number): void {
  if (!Number.isFinite(ms)) return;
  const n = (a[at] as number) + 1;
  a[at] = n;
  a[at + 1] = (a[at + 1] as number) + ms;
  a[at + 2] = (a[at + 2] as number) + ms * ms;
  if (ms < (a[at + 3] as number)) a[at + 3] = ms;
  if (ms > (a[at + 4] as number)) a[at + 4] = ms;
  // iputils' adaptive estimate: rtt += (x - rtt) / 8, seeded with the first sample.
  a[at + 5] = n === 1 ? ms : (a[at + 5] as number) + (ms - (a[at + 5] as number)) / 8;
}

/**
 * Incremental min/avg/max/mdev.
 *
 * @example
 * const s = new RttStats();
 * for (const x of [1, 2, 3, 4]) s.add(x);
 * s.summary() // { count: 4, min: 1, avg: 2.5, max: 4, mdev: 1.118 }
 */
export class RttStats {
  readonly #a: number[];
  readonly #at: number;

  /**
   * @param storage where its numbers live, at `at` (RTT_STATS_SLOTS of them, set up by
   *   clearRttSlots): a structure with many of these (the heartbeat monitor's 100 000 clients)
   *   keeps them inline in one array of doubles, not as six boxed fields of an object each.
   *   Default: its own.
   */
  constructor(storage?: number[], at = 0) {
    if (storage === undefined) {
      this.#a = [];
      this.#at = 0;
      clearRttSlots(this.#a, 0);
    } else {
      this.#a = storage;
      this.#at = at;
    }
  }

  /** Add one sample, in milliseconds. */
  add(ms: number): void {
    addRttSample(this.#a, this.#at, ms);
  }

  get count(): number {
    return this.#a[this.#at] as number;
  }

  get min(): number {
    return this.count === 0 ? 0 : (this.#a[this.#at + 3] as number);
  }

  get max(): number {
    return this.count === 0 ? 0 : (this.#a[this.#at + 4] as number);
  }

  get avg(): number {
    const n = this.count;
    return n === 0 ? 0 : (this.#a[this.#at + 1] as number) / n;
  }

  /** Mean deviation as ping prints it (population standard deviation). */
  get mdev(): number {
    const n = this.count;
    if (n === 0) return 0;
    const avg = (this.#a[this.#at + 1] as number) / n;
    const v = (this.#a[this.#at + 2] as number) / n - avg * avg;
    return v > 0 ? Math.sqrt(v) : 0;
  }

  /** Exponentially weighted moving average (weight 1/8), as ping's SIGQUIT line shows. */
  get ewma(): number {
    return this.#a[this.#at + 5] as number;
  }

  summary(): RttSummary {
    return { count: this.count, min: this.min, avg: this.avg, max: this.max, mdev: this.mdev };
  }
}

/** Counts a ping-like tool reports at the end. */
export interface PingTotals {
  transmitted: number;
  received: number;
  duplicates: number;
  /** Replies that were ICMP errors or otherwise answered with an error. */
  errors: number;
  /** Replies that arrived after their probe had timed out (counted as lost). */
  late: number;
  /** Elapsed time of the run in milliseconds. */
  elapsedMs: number;
}

/** Packet loss in percent, as ping computes it: (transmitted − received) / transmitted. */
export function lossPercent(transmitted: number, received: number): number {
  if (transmitted <= 0) return 0;
  return ((transmitted - received) * 100) / transmitted;
}

/** Format a number as C's `%g` would (6 significant digits, no trailing zeros). */
export function formatG(x: number): string {
  if (x === 0) return "0";
  const s = x.toPrecision(6);
  if (s.includes("e")) return s;
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

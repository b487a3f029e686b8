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

/** Incremental min/avg/max/mdev. */
export class RttStats {
  #n = 0;
  #sum = 0;
  #sum2 = 0;
  #min = Infinity;
  #max = -Infinity;
  #ewma = 0;

  /** Add one sample, in milliseconds. */
  add(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.#n++;
    this.#sum += ms;
    this.#sum2 += ms * ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
    // iputils' adaptive estimate: rtt += (x - rtt) / 8, seeded with the first sample.
    this.#ewma = this.#n === 1 ? ms : this.#ewma + (ms - this.#ewma) / 8;
  }

  get count(): number {
    return this.#n;
  }

  get min(): number {
    return this.#n === 0 ? 0 : this.#min;
  }

  get max(): number {
    return this.#n === 0 ? 0 : this.#max;
  }

  get avg(): number {
    return this.#n === 0 ? 0 : this.#sum / this.#n;
  }

  /** Mean deviation as ping prints it (population standard deviation). */
  get mdev(): number {
    if (this.#n === 0) return 0;
    const avg = this.#sum / this.#n;
    const v = this.#sum2 / this.#n - avg * avg;
    return v > 0 ? Math.sqrt(v) : 0;
  }

  /** Exponentially weighted moving average (weight 1/8), as ping's SIGQUIT line shows. */
  get ewma(): number {
    return this.#ewma;
  }

  summary(): RttSummary {
    return { count: this.#n, min: this.min, avg: this.avg, max: this.max, mdev: this.mdev };
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

/**
 * The phi accrual failure detector (N. Hayashibara, X. Défago, R. Yared, T. Katayama,
 * "The φ Accrual Failure Detector", SRDS 2004), as used by Cassandra and Akka.
 *
 * Instead of a yes/no timeout it outputs a suspicion level
 *     φ(t) = −log10(P_later(t − t_last)),   P_later(Δ) = 1 − F(Δ),
 * F being the normal distribution fitted to the inter-arrival times seen so far. φ = 1 means
 * a 10% chance the heartbeat is merely late, φ = 8 one in 10^8.
 *
 * Bounded memory: the paper keeps a sliding window of the last n intervals; we keep the mean
 * and variance only, exact (Welford) for the first `window` intervals and then exponentially
 * weighted with α = 1/window — the same "recent n samples" estimate in three numbers instead
 * of n, which matters with 100 000 clients. Pure functions over a plain state record, or over
 * the same three numbers kept in an array (`recordIntervalAt`, `phiOf`).
 */

/** Running inter-arrival statistics of one client (all in ms). */
export interface ArrivalStats {
  /** Intervals recorded. */
  count: number;
  mean: number;
  variance: number;
}

export interface PhiOptions {
  /** Samples the estimate effectively averages over. @default 32 */
  window?: number;
  /**
   * Lower bound of the standard deviation as a fraction of the mean: a perfectly regular
   * sender on loopback has σ ≈ 0, which would make φ explode one millisecond late. (Akka uses
   * a fixed 100 ms floor for the same reason.) With 0.25, a 1 s sender turns suspect at φ 8
   * after ~2.4 s of silence.
   * @default 0.25
   */
  minStdDevRatio?: number;
  /** Absolute lower bound of the standard deviation, ms (timer and scheduling jitter). @default 50 */
  minStdDevMs?: number;
}

/** Default `minStdDevMs`. */
export const DEFAULT_MIN_STD_DEV_MS = 50;
/** Default `minStdDevRatio`. */
export const DEFAULT_MIN_STD_DEV_RATIO = 0.25;

/** A fresh, empty estimate. */
export function newArrivalStats(): ArrivalStats {
  return { count: 0, mean: 0, variance: 0 };
}

/** Numbers one ArrivalStats takes when kept in a number array: count, mean, variance, in this order. */
export const ARRIVAL_SLOTS = 3;

/**
 * Record one inter-arrival interval (ms) into `s` (mutates and returns it).
 *
 * @example
 * const s = newArrivalStats();
 * for (const x of [1000, 1000, 1000, 1200]) recordInterval(s, x);
 * // s.mean = 1050, s.variance = 7500 (population variance)
 */
export function recordInterval(s: ArrivalStats, intervalMs: number, window = 32): ArrivalStats {
  const a = [s.count, s.mean, s.variance];
  recordIntervalAt(a, 0, intervalMs, window);
  s.count = a[0] as number;
  s.mean = a[1] as number;
  s.variance = a[2] as number;
  return s;
}

/**
 * recordInterval for statistics kept in a[at, at + ARRIVAL_SLOTS) (count, mean, variance): a
 * structure with many clients keeps them inline in one array of doubles, not as an object each.
 */
export function recordIntervalAt(a: number[], at: number, intervalMs: number, window = 32): void {
  if (!(intervalMs >= 0) || !Number.isFinite(intervalMs)) return;
  const count = (a[at] as number) + 1;
  const mean = a[at + 1] as number;
  const alpha = 1 / Math.min(count, window);
  const diff = intervalMs - mean;
  const incr = alpha * diff;
  a[at] = count;
  a[at + 1] = mean + incr;
  // Exponentially weighted variance (West 1979); with α = 1/k this is the exact population variance.
  a[at + 2] = (1 - alpha) * ((a[at + 2] as number) + diff * incr);
}

/** Standard deviation actually used for φ, after the floors. */
export function effectiveStdDev(s: ArrivalStats, options: PhiOptions = {}): number {
  return effectiveStdDevOf(s.mean, s.variance, options);
}

/** effectiveStdDev of the statistics with this `mean` and `variance`. */
export function effectiveStdDevOf(mean: number, variance: number, options: PhiOptions = {}): number {
  const floor = Math.max(options.minStdDevMs ?? DEFAULT_MIN_STD_DEV_MS, (options.minStdDevRatio ?? DEFAULT_MIN_STD_DEV_RATIO) * mean);
  return Math.max(Math.sqrt(variance), floor);
}

/**
 * −log10 of the upper tail Q(z) = P(X > z) of the standard normal distribution, accurate
 * far into the tail (no underflow to 0 → ∞): log of erfc via the Chebyshev fit of Numerical
 * Recipes (`erfcc`, fractional error < 1.2e−7 everywhere).
 *
 * @example
 * negLog10NormalTail(0) // 0.30103  (Q = 0.5)
 * negLog10NormalTail(3) // 2.86966  (Q = 0.0013499)
 */
export function negLog10NormalTail(z: number): number {
  if (Number.isNaN(z)) return 0;
  const x = z / Math.SQRT2;
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.5 * ax);
  const poly =
    -ax * ax -
    1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  // ln erfc(|x|) = ln t + poly; Q(z) = erfc(x)/2, and erfc(−x) = 2 − erfc(x).
  const lnErfcAbs = Math.log(t) + poly;
  const lnQ = x >= 0 ? lnErfcAbs - Math.LN2 : Math.log(1 - Math.exp(lnErfcAbs) / 2);
  return -lnQ / Math.LN10;
}

/**
 * The suspicion level φ after `elapsedMs` without a heartbeat. 0 until one interval is known.
 *
 * @example
 * const s = newArrivalStats();
 * for (const x of [1000, 1000, 1000, 1200]) recordInterval(s, x);
 * phi(s, 1575) // σ = max(√7500, 0.25·1050) = 262.5 → z = 2 → −log10(0.0227501) = 1.643
 */
export function phi(s: ArrivalStats, elapsedMs: number, options: PhiOptions = {}): number {
  return phiOf(s.count, s.mean, s.variance, elapsedMs, options);
}

/** phi of the statistics with this `count`, `mean` and `variance`. */
export function phiOf(count: number, mean: number, variance: number, elapsedMs: number, options: PhiOptions = {}): number {
  if (count === 0) return 0;
  const z = (elapsedMs - mean) / effectiveStdDevOf(mean, variance, options);
  return negLog10NormalTail(z);
}

/**
 * The z (standard deviations past the mean) at which φ reaches `threshold`: φ is increasing in
 * z, so "φ > threshold" is "z > this" — a comparison instead of a logarithm per client per sweep.
 *
 * @example
 * zForPhi(8) // 5.612 (Q(5.612) = 1e-8)
 */
export function zForPhi(threshold: number): number {
  let lo = -10;
  let hi = 40; // φ = 300 is beyond z = 37
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (negLog10NormalTail(mid) < threshold) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The silence (ms since the last heartbeat) at which φ reaches `threshold` — when a client
 * would turn suspect. Infinity until one interval is known.
 */
export function suspectAfterMs(s: ArrivalStats, threshold: number, options: PhiOptions = {}): number {
  if (s.count === 0) return Infinity;
  return s.mean + zForPhi(threshold) * effectiveStdDev(s, options);
}

/**
 * Retransmission timeouts with exponential backoff, as every request/response protocol over
 * UDP does it (RFC 8085 §3.1.3: back off exponentially after a loss; RFC 6298 §5.5 doubles
 * TCP's retransmission timer the same way). Pure: the schedule is computed, not waited.
 *
 * The nominal schedule starts at `initialMs` and doubles; it stops when the next timeout
 * would exceed `maxMs`. With 100 ms and 2 s that is 100, 200, 400, 800, 1600 ms: 5 attempts,
 * 3.1 s in all. Jitter (±50%, from an injected Random) spreads each wait so that clients
 * that lost the same server at the same moment do not retry in lockstep; it never changes
 * the number of attempts.
 */
import { usageError } from "../../core/errors.js";
import type { Random } from "../../core/random.js";

export interface BackoffOptions {
  /** First timeout in ms. @default 100 */
  initialMs?: number;
  /** Give up when the next timeout would exceed this many ms. @default 2000 */
  maxMs?: number;
  /** Multiply the timeout by this after each timeout. @default 2 */
  factor?: number;
  /** Randomize each timeout by ±50%. @default false */
  jitter?: boolean;
  /** Where jitter comes from (required when `jitter` is on). */
  random?: Random;
}

interface ResolvedBackoff {
  initialMs: number;
  maxMs: number;
  factor: number;
  jitter: boolean;
  random: Random | undefined;
}

/**
 * Apply defaults and check the values; throws ERR_USAGE on nonsense.
 *
 * @example
 * resolveBackoff({ initialMs: 50 }).maxMs // 2000
 */
export function resolveBackoff(o: BackoffOptions = {}): ResolvedBackoff {
  const r: ResolvedBackoff = {
    initialMs: o.initialMs ?? 100,
    maxMs: o.maxMs ?? 2000,
    factor: o.factor ?? 2,
    jitter: o.jitter ?? false,
    random: o.random,
  };
  if (!(r.initialMs > 0) || !Number.isFinite(r.initialMs)) throw usageError(`invalid initial timeout ${r.initialMs} ms (must be > 0)`);
  if (!(r.maxMs >= r.initialMs) || !Number.isFinite(r.maxMs)) {
    throw usageError(`invalid maximum timeout ${r.maxMs} ms (must be at least the initial timeout, ${r.initialMs} ms)`);
  }
  if (!(r.factor > 1) || !Number.isFinite(r.factor)) throw usageError(`invalid backoff factor ${r.factor} (must be > 1)`);
  if (r.jitter && r.random === undefined) throw usageError("jitter needs a random source");
  return r;
}

/**
 * The nominal timeouts, in ms, one per attempt.
 *
 * @example
 * backoffSchedule({ initialMs: 100, maxMs: 2000 }) // [100, 200, 400, 800, 1600]
 */
export function backoffSchedule(options: BackoffOptions = {}): number[] {
  const r = resolveBackoff(options);
  const out: number[] = [];
  // Multiplying from the start (not accumulating) keeps 0.1·2^k exact enough to compare with max.
  for (let k = 0; ; k++) {
    const t = r.initialMs * r.factor ** k;
    if (t > r.maxMs * (1 + 1e-12)) break;
    out.push(t);
  }
  return out;
}

/**
 * A cursor over the schedule: `next()` gives the wait for the next attempt (jittered when
 * asked), or undefined when it is time to give up.
 *
 * @example
 * const b = new Backoff({ initialMs: 100, maxMs: 2000 });
 * b.next(); // 100
 * b.next(); // 200
 */
export class Backoff {
  readonly #schedule: number[];
  readonly #jitter: boolean;
  readonly #random: Random | undefined;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    const r = resolveBackoff(options);
    this.#schedule = backoffSchedule(options);
    this.#jitter = r.jitter;
    this.#random = r.random;
  }

  /** How many attempts the schedule allows. */
  get attempts(): number {
    return this.#schedule.length;
  }

  /** Attempts handed out so far. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The nominal (unjittered) timeout of attempt `n` (1-based), or undefined past the end. */
  nominal(n: number): number | undefined {
    return this.#schedule[n - 1];
  }

  /** The wait for the next attempt, in ms, or undefined when the schedule is exhausted. */
  next(): number | undefined {
    const t = this.#schedule[this.#attempt];
    if (t === undefined) return undefined;
    this.#attempt++;
    return this.#jitter && this.#random ? jittered(t, this.#random) : t;
  }
}

/**
 * `ms` scaled by a uniform factor in [0.5, 1.5).
 *
 * @example
 * jittered(1000, createRandom(1)) // somewhere in [500, 1500)
 */
export function jittered(ms: number, random: Random): number {
  return ms * (0.5 + random.next());
}

/**
 * Seeded network impairments, in the manner of Linux `tc netem` (tc-netem(8)) but without root
 * and repeatable: loss (Bernoulli, or Gilbert-Elliott bursts), delay with jitter, reordering,
 * duplication, single-bit corruption and a token-bucket rate limit.
 *
 * This module is pure: `ImpairmentModel.decide(len, now)` takes a datagram's length and the
 * monotonic time and returns its fate; randomness comes from an injected `Random`. Acting on
 * the decision (timers, holding a datagram back) is `ImpairedSender`'s job (impaired-sender.ts).
 *
 * The draws for one datagram always come in the same order, each only when its impairment is
 * on: loss; duplicate; one jitter draw per copy; corrupt (then the bit); reorder. With only
 * `loss` set, that is one `next() < loss` per datagram: the same seed drops the same datagrams
 * as the servers' `--loss` always did.
 */
import { usageError } from "./errors.js";
import type { Random } from "./random.js";
import { formatSize } from "./size.js";
import { formatG } from "./stats.js";

/** What to do to datagrams. Every field off (0 / absent) means "untouched". */
export interface ImpairmentConfig {
  /** Long-run share of datagrams dropped, 0..1. @default 0 */
  loss?: number;
  /** Mean length of a loss burst (≥ 1): Gilbert-Elliott instead of independent drops. @default off */
  lossBurst?: number;
  /** Added to every datagram's travel time, ms. @default 0 */
  delayMs?: number;
  /** Each delay is drawn uniformly from delayMs ± jitterMs (never below 0), ms. @default 0 */
  jitterMs?: number;
  /** Share of datagrams held back until the next one has gone, 0..1. @default 0 */
  reorder?: number;
  /** Share of datagrams delivered twice, 0..1. @default 0 */
  duplicate?: number;
  /** Share of datagrams with one random bit flipped, 0..1. @default 0 */
  corrupt?: number;
  /** Token-bucket rate, bytes per second; over-rate datagrams wait (queued), as netem's rate. @default off */
  rateBytesPerSec?: number;
}

/** What happens to one copy of a datagram. */
export interface ImpairmentCopy {
  /** Total extra time before delivery (delay, jitter and rate-limit wait), ms. */
  delayMs: number;
  /** Flip this bit (0 = the most significant bit of byte 0). */
  corruptBit?: number;
  /** Hold it back until the next datagram has been delivered. */
  hold?: boolean;
}

export type DropReason = "loss" | "burst" | "rate";

export interface ImpairmentDecision {
  /** Set when the datagram is not delivered at all; `copies` is then empty. */
  drop?: DropReason;
  /** Zero (dropped), one, or two (duplicated) deliveries. */
  copies: ImpairmentCopy[];
  /** Short text for logs: "dropped", "delayed 23 ms, duplicated"; "" when untouched. */
  reason: string;
}

/** Datagrams each impairment acted on, since the model was made. */
export interface ImpairmentCounts {
  /** Dropped by independent (Bernoulli) loss. */
  lost: number;
  /** Dropped by the Gilbert-Elliott model (`lossBurst`). */
  lostInBursts: number;
  /** Copies given a delay by `delayMs`/`jitterMs`. */
  delayed: number;
  reordered: number;
  duplicated: number;
  corrupted: number;
  /** Copies that waited for tokens. */
  rateDelayed: number;
  /** Copies dropped because the rate queue was full. */
  rateDropped: number;
}

/** The config with every field present and checked. */
export interface ResolvedImpairment {
  loss: number;
  lossBurst: number | undefined;
  delayMs: number;
  jitterMs: number;
  reorder: number;
  duplicate: number;
  corrupt: number;
  rateBytesPerSec: number | undefined;
}

/** Longest a datagram may wait in the rate queue before the queue counts as full, ms. */
export const RATE_QUEUE_LIMIT_MS = 1000;

function share(name: string, v: number | undefined): number {
  const x = v ?? 0;
  if (!(x >= 0 && x <= 1)) throw usageError(`invalid ${name} '${x}' (must be between 0 and 1)`);
  return x;
}

function millis(name: string, v: number | undefined): number {
  const x = v ?? 0;
  if (!(x >= 0) || !Number.isFinite(x)) throw usageError(`invalid ${name} '${x}' (must be >= 0 ms)`);
  return x;
}

/**
 * Apply the defaults and reject impossible values (usage errors, one line each).
 *
 * @example
 * resolveImpairment({ loss: 0.3, lossBurst: 3 }).lossBurst // 3
 */
export function resolveImpairment(c: ImpairmentConfig): ResolvedImpairment {
  const loss = share("loss", c.loss);
  const lossBurst = c.lossBurst;
  if (lossBurst !== undefined) {
    if (!(lossBurst >= 1) || !Number.isFinite(lossBurst)) throw usageError(`invalid loss-burst '${lossBurst}' (must be a mean burst length >= 1)`);
    // p(good→bad) = P / (N(1-P)) must be a probability.
    if (loss < 1 && loss / (lossBurst * (1 - loss)) > 1) {
      throw usageError(`loss ${formatG(loss)} cannot have a mean burst of ${formatG(lossBurst)} (at most loss ${formatG(lossBurst / (lossBurst + 1))} for that burst)`);
    }
  }
  const rate = c.rateBytesPerSec;
  if (rate !== undefined && !(rate >= 1 && Number.isFinite(rate))) throw usageError(`invalid rate '${rate}' (must be at least 1 byte/s)`);
  return {
    loss,
    lossBurst,
    delayMs: millis("delay", c.delayMs),
    jitterMs: millis("jitter", c.jitterMs),
    reorder: share("reorder", c.reorder),
    duplicate: share("duplicate", c.duplicate),
    corrupt: share("corrupt", c.corrupt),
    rateBytesPerSec: rate,
  };
}

/** True when the config changes anything (servers skip the model entirely otherwise). */
export function isImpaired(c: ImpairmentConfig): boolean {
  return (c.loss ?? 0) > 0 || (c.delayMs ?? 0) > 0 || (c.jitterMs ?? 0) > 0 || (c.reorder ?? 0) > 0 ||
    (c.duplicate ?? 0) > 0 || (c.corrupt ?? 0) > 0 || c.rateBytesPerSec !== undefined;
}

function pct(x: number): string {
  return `${formatG(x * 100)}%`;
}

function msText(x: number): string {
  return `${formatG(x)}ms`;
}

/**
 * The short text a server's listening line shows; "" when nothing is impaired. The seed is
 * named when something random is on.
 *
 * @example
 * describeImpairment({ loss: 0.3, lossBurst: 3, delayMs: 20, jitterMs: 10, reorder: 0.05 }, 7)
 * // "impair: loss 30% (burst 3), delay 20ms ±10ms, reorder 5%, seed 7"
 */
export function describeImpairment(c: ImpairmentConfig, seed?: number): string {
  const parts: string[] = [];
  const loss = c.loss ?? 0;
  if (loss > 0) parts.push(`loss ${pct(loss)}${c.lossBurst !== undefined ? ` (burst ${formatG(c.lossBurst)})` : ""}`);
  const delay = c.delayMs ?? 0;
  const jitter = c.jitterMs ?? 0;
  if (delay > 0 || jitter > 0) parts.push(`delay ${msText(delay)}${jitter > 0 ? ` ±${msText(jitter)}` : ""}`);
  if ((c.reorder ?? 0) > 0) parts.push(`reorder ${pct(c.reorder ?? 0)}`);
  if ((c.duplicate ?? 0) > 0) parts.push(`duplicate ${pct(c.duplicate ?? 0)}`);
  if ((c.corrupt ?? 0) > 0) parts.push(`corrupt ${pct(c.corrupt ?? 0)}`);
  if (c.rateBytesPerSec !== undefined) parts.push(`rate ${formatSize(c.rateBytesPerSec)}/s`);
  if (parts.length === 0) return "";
  // Delay and rate alone draw nothing: a seed would only mislead.
  const random = loss > 0 || jitter > 0 || (c.reorder ?? 0) > 0 || (c.duplicate ?? 0) > 0 || (c.corrupt ?? 0) > 0;
  if (seed !== undefined && random) parts.push(`seed ${seed}`);
  return `impair: ${parts.join(", ")}`;
}

/**
 * The counters `config` can move, in display order: what a totals line shows (zeros included,
 * so its shape does not change while a server runs).
 *
 * @example
 * countedKinds({ loss: 0.3, jitterMs: 5 }) // ["lost", "delayed"]
 */
export function countedKinds(c: ImpairmentConfig): Array<keyof ImpairmentCounts> {
  const out: Array<keyof ImpairmentCounts> = [];
  if ((c.loss ?? 0) > 0) out.push(c.lossBurst === undefined ? "lost" : "lostInBursts");
  if ((c.delayMs ?? 0) > 0 || (c.jitterMs ?? 0) > 0) out.push("delayed");
  if ((c.reorder ?? 0) > 0) out.push("reordered");
  if ((c.duplicate ?? 0) > 0) out.push("duplicated");
  if ((c.corrupt ?? 0) > 0) out.push("corrupted");
  if (c.rateBytesPerSec !== undefined) out.push("rateDelayed", "rateDropped");
  return out;
}

/** Zeroed counters. */
export function emptyImpairmentCounts(): ImpairmentCounts {
  return { lost: 0, lostInBursts: 0, delayed: 0, reordered: 0, duplicated: 0, corrupted: 0, rateDelayed: 0, rateDropped: 0 };
}

/**
 * A copy of `msg` with bit `bit` flipped (bit 0 is the most significant bit of byte 0).
 *
 * @example
 * flipBit(Buffer.from([0x00]), 7) // <Buffer 01>
 */
export function flipBit(msg: Uint8Array, bit: number): Buffer {
  const out = Buffer.from(msg);
  const i = bit >>> 3;
  if (i < out.length) out[i] = (out[i] ?? 0) ^ (0x80 >>> (bit & 7));
  return out;
}

/**
 * The decision maker. One instance per path (per server); its state is the Gilbert-Elliott
 * state and the token bucket.
 *
 * Gilbert-Elliott: two states, good (deliver) and bad (drop). With mean burst length N and
 * long-run loss P, p(bad→good) = 1/N (so bursts are geometric with mean N) and
 * p(good→bad) = P / (N(1 − P)), which makes the stationary share of bad, p(g→b) / (p(g→b) + p(b→g)),
 * equal to P. Each datagram first moves the chain one step, then is dropped if the state is bad.
 *
 * Token bucket: tokens refill at `rateBytesPerSec` up to a depth of max(1500 bytes, 50 ms of
 * rate). A datagram takes its length in tokens; the balance may go negative, and a negative
 * balance is the queue: the datagram waits until the balance is back to zero. A datagram that
 * would wait more than RATE_QUEUE_LIMIT_MS is dropped instead (the queue is full).
 *
 * @example
 * const model = new ImpairmentModel({ loss: 0.3, delayMs: 20, jitterMs: 10 }, createRandom(7));
 * const d = model.decide(64, clock.monotonic()); // { copies: [{ delayMs: 27.1 }], reason: "delayed 27 ms" }
 */
export class ImpairmentModel {
  readonly config: Readonly<ResolvedImpairment>;
  readonly seed: number;
  readonly #random: Random;
  readonly #counts = emptyImpairmentCounts();
  readonly #pGoodToBad: number;
  readonly #pBadToGood: number;
  #bad = false;
  readonly #bucket: TokenBucket | undefined;

  constructor(config: ImpairmentConfig, random: Random) {
    this.config = resolveImpairment(config);
    this.#random = random;
    this.seed = random.seed;
    const { loss, lossBurst } = this.config;
    const n = lossBurst ?? 1;
    this.#pGoodToBad = loss >= 1 ? 1 : loss / (n * (1 - loss));
    this.#pBadToGood = loss >= 1 ? 0 : 1 / n;
    const rate = this.config.rateBytesPerSec;
    this.#bucket = rate === undefined ? undefined : new TokenBucket(rate);
  }

  /** Counters so far (a copy). */
  counts(): ImpairmentCounts {
    return { ...this.#counts };
  }

  /** True while the Gilbert-Elliott chain is in its bad (dropping) state. */
  get inBurst(): boolean {
    return this.#bad;
  }

  /**
   * The fate of one datagram of `len` bytes arriving at monotonic time `now` (ms).
   */
  decide(len: number, now: number): ImpairmentDecision {
    const c = this.config;
    const r = this.#random;
    const counts = this.#counts;
    if (c.loss > 0) {
      if (c.lossBurst === undefined) {
        if (r.next() < c.loss) {
          counts.lost++;
          return { drop: "loss", copies: [], reason: "dropped" };
        }
      } else {
        const u = r.next();
        this.#bad = this.#bad ? !(u < this.#pBadToGood) : u < this.#pGoodToBad;
        if (this.#bad) {
          counts.lostInBursts++;
          return { drop: "burst", copies: [], reason: "dropped (burst)" };
        }
      }
    }
    const duplicated = c.duplicate > 0 && r.next() < c.duplicate;
    const copies: ImpairmentCopy[] = [];
    const notes: string[] = [];
    let rateWaited = 0;
    for (let i = 0; i < (duplicated ? 2 : 1); i++) {
      let delay = c.delayMs;
      if (c.jitterMs > 0) delay = Math.max(0, delay + (2 * r.next() - 1) * c.jitterMs);
      const delayed = delay > 0;
      if (c.rateBytesPerSec !== undefined) {
        const wait = this.#bucket?.take(len, now, RATE_QUEUE_LIMIT_MS);
        if (wait === undefined) {
          counts.rateDropped++;
          continue;
        }
        if (wait > 0) {
          counts.rateDelayed++;
          rateWaited = Math.max(rateWaited, wait);
          delay += wait;
        }
      }
      if (delayed) counts.delayed++;
      copies.push({ delayMs: delay });
    }
    const first = copies[0];
    if (first === undefined) return { drop: "rate", copies: [], reason: "dropped (rate)" };
    if (duplicated && copies.length === 2) {
      counts.duplicated++;
      notes.push("duplicated");
    }
    if (c.corrupt > 0 && r.next() < c.corrupt && len > 0) {
      first.corruptBit = r.int(len * 8);
      counts.corrupted++;
      notes.push(`corrupted bit ${first.corruptBit}`);
    }
    if (c.reorder > 0 && r.next() < c.reorder) {
      first.hold = true;
      counts.reordered++;
      notes.push("held back (reorder)");
    }
    if (copies.some((x) => x.delayMs > 0)) {
      const each = copies.map((x) => formatG(Math.round(x.delayMs * 10) / 10)).join(" and ");
      notes.unshift(`delayed ${each} ms${rateWaited > 0 ? " (rate limit)" : ""}`);
    }
    return { copies, reason: notes.join(", ") };
  }

}

/**
 * A token bucket (the rate half of netem, and of `--rate` on the TCP servers): tokens refill at
 * `rate` bytes per second up to `depth` (default max(1500 bytes, 50 ms of rate)). Taking `len`
 * tokens may drive the balance negative; a negative balance is the queue, and the answer is how
 * long the taker waits until the balance is back to zero. Pure: the caller passes the time.
 *
 * @example
 * const b = new TokenBucket(1000);   // 1000 bytes/s, 1500 bytes deep
 * b.take(2000, 0)                    // 500: wait 500 ms
 */
export class TokenBucket {
  readonly rate: number;
  readonly depth: number;
  #tokens: number;
  #at: number | undefined;

  constructor(rate: number, depth = Math.max(1500, rate / 20)) {
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`invalid rate ${rate}`);
    this.rate = rate;
    this.depth = depth;
    this.#tokens = depth;
  }

  /** Take `len` tokens at monotonic time `now` (ms): the wait in ms, or undefined (nothing taken) when it would exceed `limitMs`. */
  take(len: number, now: number, limitMs = Infinity): number | undefined {
    if (this.#at !== undefined) this.#tokens = Math.min(this.depth, this.#tokens + ((now - this.#at) * this.rate) / 1000);
    this.#at = now;
    const after = this.#tokens - len;
    const wait = after >= 0 ? 0 : (-after * 1000) / this.rate;
    if (wait > limitMs) return undefined;
    this.#tokens = after;
    return wait;
  }
}

/**
 * A model for `config` drawing from `random`, or undefined when nothing is impaired (the fast
 * path: the caller skips impairment entirely).
 *
 * @example
 * const model = createImpairment({ loss: 0 }, createRandom(1)); // undefined
 */
export function createImpairment(config: ImpairmentConfig, random: Random): ImpairmentModel | undefined {
  const model = new ImpairmentModel(config, random);
  return isImpaired(config) ? model : undefined;
}

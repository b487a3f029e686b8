/**
 * Carries out an `ImpairmentModel`'s decisions on a path: delivers at once, later (on the
 * Clock), twice, corrupted, or held back behind the next datagram. A server puts it in front
 * of whatever it does with a datagram (its handler, or its socket's send):
 *
 *   const path = new ImpairedSender(model, clock, (msg, port, address) => handle(msg, address, port));
 *   socket.onMessage((msg, address, port) => path.send(msg, port, address));
 *
 * A copy delivered at once is the caller's own buffer (no copy is made); a copy delivered
 * later is copied first, since a receive buffer (recvmmsg's batch) is reused.
 */
import type { Clock, TimerHandle } from "./clock.js";
import { countedKinds, flipBit, type ImpairmentCounts, type ImpairmentDecision, type ImpairmentModel } from "./impair.js";

export type DeliverFn = (msg: Buffer, port: number, address: string) => void;

export interface ImpairedSenderOptions {
  /** Datagrams waiting (delayed or held) at once; beyond this a flood's datagrams are dropped. @default 10000 */
  maxPending?: number;
  /** A held-back datagram goes anyway after this long without a next one, ms. @default 2000 */
  holdLimitMs?: number;
}

export interface ImpairedSenderCounts extends ImpairmentCounts {
  /** Copies dropped because `maxPending` were already waiting. */
  overflowed: number;
}

interface Held {
  msg: Buffer;
  port: number;
  address: string;
}

export class ImpairedSender {
  readonly model: ImpairmentModel;
  readonly #clock: Clock;
  readonly #deliver: DeliverFn;
  readonly #maxPending: number;
  readonly #holdLimitMs: number;
  readonly #timers = new Set<TimerHandle>();
  #held: Held | undefined;
  #holdTimer: TimerHandle | undefined;
  #overflowed = 0;
  #closed = false;

  constructor(model: ImpairmentModel, clock: Clock, deliver: DeliverFn, options: ImpairedSenderOptions = {}) {
    this.model = model;
    this.#clock = clock;
    this.#deliver = deliver;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#holdLimitMs = options.holdLimitMs ?? 2000;
  }

  /** Datagrams waiting now (delayed, plus the one held back). */
  get pending(): number {
    return this.#timers.size + (this.#held === undefined ? 0 : 1);
  }

  counts(): ImpairedSenderCounts {
    return { ...this.model.counts(), overflowed: this.#overflowed };
  }

  /**
   * Only the counters this path's impairments can move (`countedKinds`), plus `overflowed`
   * once it is not zero: for totals lines and the lab.
   */
  shownCounts(): Record<string, number> {
    const all = this.counts();
    const out: Record<string, number> = {};
    for (const k of countedKinds(this.model.config)) out[k] = all[k];
    if (all.overflowed > 0) out.overflowed = all.overflowed;
    return out;
  }

  /** Pass one datagram through the impairments; returns what was decided for it. */
  send(msg: Buffer, port: number, address: string): ImpairmentDecision {
    const d = this.model.decide(msg.length, this.#clock.monotonic());
    if (this.#closed) return d;
    for (const c of d.copies) {
      const out = c.corruptBit === undefined ? msg : flipBit(msg, c.corruptBit);
      if (c.delayMs <= 0 && c.hold !== true) {
        this.#emit(out, port, address);
        continue;
      }
      if (this.pending >= this.#maxPending) {
        this.#overflowed++;
        continue;
      }
      const kept = out === msg ? Buffer.from(msg) : out;
      if (c.delayMs <= 0) {
        this.#hold({ msg: kept, port, address });
        continue;
      }
      const hold = c.hold === true;
      const h = this.#clock.setTimeout(() => {
        this.#timers.delete(h);
        if (this.#closed) return;
        if (hold) this.#hold({ msg: kept, port, address });
        else this.#emit(kept, port, address);
      }, c.delayMs);
      this.#timers.add(h);
    }
    return d;
  }

  #emit(msg: Buffer, port: number, address: string): void {
    this.#deliver(msg, port, address);
    // The held one goes right behind the datagram that overtook it.
    this.#release();
  }

  #hold(h: Held): void {
    // One slot: an earlier held datagram has now been overtaken by... nothing; let it go first.
    this.#release();
    this.#held = h;
    this.#holdTimer = this.#clock.setTimeout(() => {
      this.#holdTimer = undefined;
      this.#release();
    }, this.#holdLimitMs);
  }

  #release(): void {
    const h = this.#held;
    if (h === undefined) return;
    this.#held = undefined;
    if (this.#holdTimer !== undefined) {
      this.#clock.clearTimeout(this.#holdTimer);
      this.#holdTimer = undefined;
    }
    if (!this.#closed) this.#deliver(h.msg, h.port, h.address);
  }

  /** Drop everything waiting and deliver nothing more. */
  close(): void {
    this.#closed = true;
    for (const h of this.#timers) this.#clock.clearTimeout(h);
    this.#timers.clear();
    if (this.#holdTimer !== undefined) this.#clock.clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    this.#held = undefined;
  }
}

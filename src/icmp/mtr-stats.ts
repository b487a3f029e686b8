/**
 * Per-hop statistics of a continuous trace (mtr's table), pure: for each TTL the probes settled
 * and answered, the RTTs (core/stats: last, avg, best, worst, stdev) and every host that answered
 * at that TTL, in the order first seen (a load-balanced hop shows several). Hops beyond the end of
 * the path (the lowest TTL the destination, or an unreachable, answered) are left out.
 */
import { lossPercent, RttStats } from "../core/stats.js";

/** One row of the table. */
export interface HopRow {
  hop: number;
  /** Hosts that answered at this TTL, first seen first; empty when none did (mtr's "???"). */
  hosts: Array<{ address: string; name?: string; replies: number }>;
  /** Probes settled (answered or timed out). */
  sent: number;
  received: number;
  lossPercent: number;
  /** RTTs in ms; undefined before the first answer. */
  lastMs?: number;
  avgMs?: number;
  bestMs?: number;
  worstMs?: number;
  /** Population standard deviation (ping's mdev). */
  stdevMs?: number;
  /** The last annotation seen (!H ...), or "". */
  annotation: string;
}

class HopStats {
  sent = 0;
  received = 0;
  last: number | undefined;
  readonly rtt = new RttStats();
  readonly hosts = new Map<string, number>();
  annotation = "";
}

/**
 * @example
 * const p = new PathStats({ firstTtl: 1, maxHops: 30 });
 * p.answered(1, "10.0.0.1", 0.4, "", false);
 * p.lost(2);
 * p.rows() // [{ hop: 1, lossPercent: 0, ... }, { hop: 2, lossPercent: 100, ... }]
 */
export class PathStats {
  readonly #first: number;
  readonly #max: number;
  readonly #hops = new Map<number, HopStats>();
  #final: number | undefined;
  #reached = false;

  constructor(o: { firstTtl: number; maxHops: number }) {
    this.#first = o.firstTtl;
    this.#max = o.maxHops;
  }

  #hop(ttl: number): HopStats {
    let h = this.#hops.get(ttl);
    if (h === undefined) {
      h = new HopStats();
      this.#hops.set(ttl, h);
    }
    return h;
  }

  /** A probe at `ttl` was answered by `from`; `final` when the path ends there, `reached` when it is the destination. */
  answered(ttl: number, from: string, rttMs: number, annotation: string, final: boolean, reached = false): void {
    const h = this.#hop(ttl);
    h.sent++;
    h.received++;
    h.last = rttMs;
    h.rtt.add(rttMs);
    h.hosts.set(from, (h.hosts.get(from) ?? 0) + 1);
    if (annotation !== "") h.annotation = annotation;
    if (final && (this.#final === undefined || ttl < this.#final)) this.#final = ttl;
    if (reached) this.#reached = true;
  }

  /** A probe at `ttl` timed out. */
  lost(ttl: number): void {
    this.#hop(ttl).sent++;
  }

  /** The last TTL worth probing: where the path ends once known, else the maximum. */
  get lastHop(): number {
    return this.#final ?? this.#max;
  }

  get firstTtl(): number {
    return this.#first;
  }

  /** The destination answered at least once. */
  get reached(): boolean {
    return this.#reached;
  }

  /** The table, hop by hop up to the end of the path (or the last hop with data). */
  rows(names: ReadonlyMap<string, string> = new Map()): HopRow[] {
    let last = this.#final;
    if (last === undefined) {
      last = this.#first - 1;
      for (const ttl of this.#hops.keys()) if (ttl > last) last = ttl;
    }
    const out: HopRow[] = [];
    for (let ttl = this.#first; ttl <= last; ttl++) {
      const h = this.#hops.get(ttl) ?? new HopStats();
      const row: HopRow = {
        hop: ttl,
        hosts: [...h.hosts].map(([address, replies]) => {
          const name = names.get(address);
          return name === undefined ? { address, replies } : { address, name, replies };
        }),
        sent: h.sent,
        received: h.received,
        lossPercent: lossPercent(h.sent, h.received),
        annotation: h.annotation,
      };
      if (h.last !== undefined) {
        row.lastMs = h.last;
        row.avgMs = h.rtt.avg;
        row.bestMs = h.rtt.min;
        row.worstMs = h.rtt.max;
        row.stdevMs = h.rtt.mdev;
      }
      out.push(row);
    }
    return out;
  }
}

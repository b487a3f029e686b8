/**
 * Traceroute bookkeeping, pure: which probe (hop, index) to send next, what each got, which hops
 * are complete and can be printed in order, and where the path ends. Probes of later hops may be
 * in flight while earlier ones wait (as traceroute's -N simultaneous probes); results of hops
 * beyond the destination are discarded.
 */

/** What one probe got back. */
export type ProbeResult =
  | {
      kind: "answer";
      from: string;
      rttMs: number;
      /** !H !N !P !F-<mtu> !X !S ... or "" */
      annotation: string;
      /** The destination itself answered (echo reply). */
      reached: boolean;
      /** The path ends here (destination unreachable or reached). */
      final: boolean;
    }
  | { kind: "timeout" };

/** A finished hop, ready to print. */
export interface Hop {
  hop: number;
  probes: ProbeResult[];
}

export interface ProbeSlot {
  hop: number;
  index: number;
}

/**
 * @example
 * const t = new TraceState({ firstTtl: 1, maxHops: 30, queries: 3 });
 * const p = t.next(); // { hop: 1, index: 0 }
 */
export class TraceState {
  readonly #first: number;
  readonly #max: number;
  readonly #queries: number;
  readonly #results = new Map<number, Array<ProbeResult | undefined>>();
  #nextHop: number;
  #nextIndex = 0;
  #emitted: number;
  /** Lowest hop known to end the path. */
  #finalHop: number | undefined;

  constructor(o: { firstTtl: number; maxHops: number; queries: number }) {
    this.#first = o.firstTtl;
    this.#max = o.maxHops;
    this.#queries = o.queries;
    this.#nextHop = o.firstTtl;
    this.#emitted = o.firstTtl - 1;
  }

  /** The last hop worth probing: the final hop once known, else the maximum. */
  get lastHop(): number {
    return this.#finalHop ?? this.#max;
  }

  /** The next probe to send, or undefined when every useful probe has been sent. */
  next(): ProbeSlot | undefined {
    if (this.#nextIndex >= this.#queries) {
      this.#nextHop++;
      this.#nextIndex = 0;
    }
    if (this.#nextHop > this.lastHop) return undefined;
    const slot = { hop: this.#nextHop, index: this.#nextIndex++ };
    if (!this.#results.has(slot.hop)) this.#results.set(slot.hop, new Array<ProbeResult | undefined>(this.#queries).fill(undefined));
    return slot;
  }

  /** Whether next() would return a slot now. */
  get hasNext(): boolean {
    const hop = this.#nextIndex >= this.#queries ? this.#nextHop + 1 : this.#nextHop;
    return hop <= this.lastHop;
  }

  /** Record a probe's outcome; the first outcome of a slot wins. */
  record(slot: ProbeSlot, r: ProbeResult): void {
    const row = this.#results.get(slot.hop);
    if (row === undefined || row[slot.index] !== undefined) return;
    row[slot.index] = r;
    if (r.kind === "answer" && r.final && (this.#finalHop === undefined || slot.hop < this.#finalHop)) this.#finalHop = slot.hop;
  }

  /** Complete hops not yet taken, in order (each is returned once). */
  takeCompleted(): Hop[] {
    const out: Hop[] = [];
    for (;;) {
      const hop = this.#emitted + 1;
      if (hop > this.lastHop) break;
      const row = this.#results.get(hop);
      if (row === undefined || row.some((r) => r === undefined)) break;
      out.push({ hop, probes: row as ProbeResult[] });
      this.#emitted = hop;
    }
    return out;
  }

  /** True when every hop up to the end of the path has been taken. */
  get done(): boolean {
    return this.#emitted >= this.lastHop;
  }

  /** True when the destination answered at some hop. */
  get reached(): boolean {
    if (this.#finalHop === undefined) return false;
    return (this.#results.get(this.#finalHop) ?? []).some((r) => r?.kind === "answer" && r.reached);
  }

  get firstTtl(): number {
    return this.#first;
  }
}

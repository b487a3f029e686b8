/**
 * What the dashboard remembers so a page opened late still shows charts: the services'
 * totals once a second (rates over time), the latest feed events, and per heartbeat client
 * its latest samples (one-way delay, sequence numbers). Every buffer is bounded. Pure.
 */
import { LAB_LADDER_EVENTS } from "../../render/lab-ladder.js";
import type { LabEvent } from "../service.js";

/** Totals of every service at one instant. */
export interface TotalsSample {
  at: number;
  totals: Record<string, Record<string, number>>;
}

/** One accepted heartbeat of one client. */
export interface HeartbeatSample {
  at: number;
  seq: number;
  delayMs: number | null;
}

/** A fixed-capacity FIFO: pushing beyond capacity drops the oldest item. */
export class Ring<T> {
  readonly capacity: number;
  #items: T[] = [];

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.capacity) this.#items.splice(0, this.#items.length - this.capacity);
  }

  /** Oldest first. */
  toArray(): T[] {
    return [...this.#items];
  }

  get length(): number {
    return this.#items.length;
  }
}

/** Kinds too frequent for the feed: they go to charts and tables only. */
export const HIGH_RATE_KINDS: ReadonlySet<string> = new Set(["heartbeat", "datagram"]);

export interface DashboardHistoryOptions {
  /** Totals samples kept (one a second). @default 300 */
  samples?: number;
  /** Feed events kept. @default 200 */
  feed?: number;
  /** Heartbeat samples kept per client. @default 300 */
  perClient?: number;
  /** Heartbeat clients tracked (least recently heard dropped first). @default 2000 */
  clients?: number;
}

/**
 * The dashboard's bounded memory.
 *
 * @example
 * const h = new DashboardHistory();
 * h.recordTotals(clock.now(), { "udp-ping": { received: 3 } });
 * h.totals.toArray().length; // 1
 */
export class DashboardHistory {
  readonly totals: Ring<TotalsSample>;
  readonly feed: Ring<LabEvent>;
  readonly #perClient: number;
  readonly #maxClients: number;
  readonly #clients = new Map<string, Ring<HeartbeatSample>>();
  /** The last exchanges of each service, for its live ladder (render/lab-ladder.ts). */
  readonly #exchanges = new Map<string, Ring<LabEvent>>();

  constructor(options: DashboardHistoryOptions = {}) {
    this.totals = new Ring(options.samples ?? 300);
    this.feed = new Ring(options.feed ?? 200);
    this.#perClient = options.perClient ?? 300;
    this.#maxClients = options.clients ?? 2000;
  }

  recordTotals(at: number, totals: TotalsSample["totals"]): void {
    this.totals.push({ at, totals });
  }

  /** Route one event: heartbeat samples to their client's series, others to the feed. */
  recordEvent(e: LabEvent): void {
    let ring = this.#exchanges.get(e.service);
    if (ring === undefined) this.#exchanges.set(e.service, (ring = new Ring(LAB_LADDER_EVENTS)));
    ring.push(e);
    if (e.kind === "heartbeat") {
      const client = typeof e.data?.client === "string" ? e.data.client : undefined;
      const seq = typeof e.data?.seq === "number" ? e.data.seq : undefined;
      if (client === undefined || seq === undefined) return;
      const delay = e.data?.delayMs;
      this.#series(client).push({ at: e.at, seq, delayMs: typeof delay === "number" && Number.isFinite(delay) ? delay : null });
      return;
    }
    if (!HIGH_RATE_KINDS.has(e.kind)) this.feed.push(e);
  }

  /** A service's last exchanges, oldest first. */
  exchanges(service: string): LabEvent[] {
    return this.#exchanges.get(service)?.toArray() ?? [];
  }

  /** Samples of one heartbeat client, oldest first (empty when unknown). */
  clientSeries(client: string): HeartbeatSample[] {
    return this.#clients.get(client)?.toArray() ?? [];
  }

  #series(client: string): Ring<HeartbeatSample> {
    let ring = this.#clients.get(client);
    if (ring) {
      // Re-insert so Map order is "least recently heard first".
      this.#clients.delete(client);
    } else {
      ring = new Ring(this.#perClient);
      if (this.#clients.size >= this.#maxClients) {
        const oldest = this.#clients.keys().next();
        if (!oldest.done) this.#clients.delete(oldest.value);
      }
    }
    this.#clients.set(client, ring);
    return ring;
  }
}

/**
 * mtr: traceroute that never stops. Every `intervalMs` a cycle sends one probe to each TTL from
 * the first to the end of the path (the maximum until the destination or an unreachable answers);
 * each probe is settled by its answer or after `waitMs`, and goes into PathStats (./mtr-stats.ts).
 * Cycles follow an absolute schedule and overlap when the wait is longer than the interval. The
 * run ends after `cycles` cycles (their last probes settled), or on abort. Any probe method of
 * ./trace-probes.ts works, Paris included. Emits typed events; never prints.
 */
import { Resolver } from "node:dns/promises";
import type { IpFamily } from "../core/address.js";
import { systemClock, type Clock, type TimerHandle } from "../core/clock.js";
import { usageError } from "../core/errors.js";
import { TypedEmitter, publish } from "../core/events.js";
import { createRandom, type Random } from "../core/random.js";
import { PathStats, type HopRow } from "./mtr-stats.js";
import { rttMs } from "./probes.js";
import type { IcmpSocketKind } from "./socket.js";
import { checkTtlRange, openProber, openTraceTarget, type ProbeFlow, type ProbeReply, type ProberOptions, type ProbeSent, type TraceMethod, type TraceProber } from "./trace-probes.js";

export interface MtrOptions {
  host: string;
  /** Cycles to run; 0 = until aborted. @default 0 */
  cycles?: number;
  /** Time between cycle starts, ms. @default 1000 */
  intervalMs?: number;
  /** Wait for each probe, ms. @default 1000 */
  waitMs?: number;
  /** @default 30 */
  maxHops?: number;
  /** @default 1 */
  firstTtl?: number;
  /** @default "icmp" */
  method?: TraceMethod;
  /** @default false */
  paris?: boolean;
  port?: number;
  /** Opens the probe method (a seam for tests: a fake prober on a fake clock). @default openProber */
  openProber?: (o: ProberOptions) => Promise<TraceProber>;
  /** @default 32 */
  size?: number;
  /** @default true */
  resolveNames?: boolean;
  family?: IpFamily;
  /** @default "auto" */
  socket?: IcmpSocketKind | "auto";
  clock?: Clock;
  random?: Random;
  signal?: AbortSignal;
}

export type MtrEvent =
  | { kind: "start"; host: string; address: string; family: IpFamily; method: TraceMethod; paris: boolean; flow: ProbeFlow; packetBytes: number }
  /** A cycle began (its number from 1); `rows` is the table so far. */
  | { kind: "cycle"; cycle: number; rows: HopRow[] };

export interface MtrResult {
  host: string;
  address: string;
  family: IpFamily;
  method: TraceMethod;
  paris: boolean;
  cycles: number;
  rows: HopRow[];
  /** The destination answered at least once. */
  reached: boolean;
}

/**
 * @example
 * const m = new Mtr({ host: "10.77.1.2", cycles: 10, intervalMs: 100, resolveNames: false });
 * const { rows } = await m.run();
 */
export class Mtr extends TypedEmitter<{ event: [MtrEvent] }> {
  readonly #o: Required<Omit<MtrOptions, "family" | "signal" | "port">> & Pick<MtrOptions, "family" | "signal" | "port">;
  readonly #names = new Map<string, string>();
  readonly #asked = new Set<string>();

  constructor(options: MtrOptions) {
    super();
    this.#o = {
      host: options.host,
      cycles: options.cycles ?? 0,
      intervalMs: options.intervalMs ?? 1000,
      waitMs: options.waitMs ?? 1000,
      maxHops: options.maxHops ?? 30,
      firstTtl: options.firstTtl ?? 1,
      method: options.method ?? "icmp",
      paris: options.paris ?? false,
      port: options.port,
      openProber: options.openProber ?? openProber,
      size: options.size ?? 32,
      resolveNames: options.resolveNames ?? true,
      family: options.family,
      socket: options.socket ?? "auto",
      clock: options.clock ?? systemClock,
      random: options.random ?? createRandom(),
      signal: options.signal,
    };
    const o = this.#o;
    if (!Number.isInteger(o.cycles) || o.cycles < 0) throw usageError(`invalid cycles ${o.cycles}`);
    checkTtlRange(o.maxHops, o.firstTtl, o.waitMs);
    if (!(o.intervalMs > 0)) throw usageError("interval must be positive");
  }

  #publish(e: MtrEvent): void {
    this.emit("event", e);
    publish("mtr", e.kind, e);
  }

  async run(): Promise<MtrResult> {
    const o = this.#o;
    let onReply: (a: ProbeReply) => void = () => {};
    const { prober, target, ...r } = await openTraceTarget(o, (a) => onReply(a));
    const stats = new PathStats(o);
    let cycles = 0;
    try {
      this.#publish({ kind: "start", host: r.host, address: target, family: r.family, method: o.method, paris: o.paris, flow: prober.flow, packetBytes: prober.packetBytes });
      cycles = await new Promise<number>((resolve) => {
        const clock = o.clock;
        const inFlight = new Map<number, { ttl: number; sent: ProbeSent; timer: TimerHandle }>();
        const start = clock.monotonic();
        let cycle = 0;
        let cycleTimer: TimerHandle | undefined;
        let finished = false;

        const finish = (): void => {
          if (finished) return;
          finished = true;
          if (cycleTimer !== undefined) clock.clearTimeout(cycleTimer);
          for (const p of inFlight.values()) clock.clearTimeout(p.timer);
          inFlight.clear();
          onReply = () => {};
          o.signal?.removeEventListener("abort", finish);
          resolve(cycle);
        };
        const maybeDone = (): void => {
          if (o.cycles > 0 && cycle >= o.cycles && inFlight.size === 0) finish();
        };
        const settle = (key: number, a: ProbeReply | undefined): void => {
          const p = inFlight.get(key);
          if (p === undefined) return;
          inFlight.delete(key);
          clock.clearTimeout(p.timer);
          if (a === undefined) stats.lost(p.ttl);
          else {
            stats.answered(p.ttl, a.from, rttMs(p.sent.txNs, a.rxNs, p.sent.sentMono, clock.monotonic()), a.annotation, a.final, a.reached);
            this.#lookUp(a.from);
          }
          maybeDone();
        };
        const runCycle = (): void => {
          if (finished) return;
          cycle++;
          this.#publish({ kind: "cycle", cycle, rows: stats.rows(this.#names) });
          const last = stats.lastHop;
          for (let ttl = o.firstTtl; ttl <= last && !finished; ttl++) {
            let sent: ProbeSent;
            try {
              sent = prober.send(ttl);
            } catch {
              stats.lost(ttl);
              continue;
            }
            const key = sent.key;
            const old = inFlight.get(key);
            if (old !== undefined) {
              clock.clearTimeout(old.timer);
              stats.lost(old.ttl);
            }
            inFlight.set(key, { ttl, sent, timer: clock.setTimeout(() => settle(key, undefined), o.waitMs) });
          }
          if (o.cycles === 0 || cycle < o.cycles) {
            // Absolute schedule: cycle n starts at start + (n - 1) * interval.
            cycleTimer = clock.setTimeout(runCycle, start + cycle * o.intervalMs - clock.monotonic());
          } else maybeDone();
        };
        onReply = (a) => {
          if (!finished) settle(a.key, a);
        };
        if (o.signal?.aborted) {
          finish();
          return;
        }
        o.signal?.addEventListener("abort", finish, { once: true });
        runCycle();
      });
    } finally {
      prober.close();
    }
    return { host: r.host, address: target, family: r.family, method: o.method, paris: o.paris, cycles, rows: stats.rows(this.#names), reached: stats.reached };
  }

  /** Reverse DNS in the background: a name shows from the next table on. */
  #lookUp(address: string): void {
    if (!this.#o.resolveNames || this.#asked.has(address)) return;
    this.#asked.add(address);
    new Resolver({ timeout: 1000, tries: 1 }).reverse(address).then(
      (names) => {
        if (names[0] !== undefined) this.#names.set(address, names[0]);
      },
      () => {},
    );
  }
}

/**
 * mtr: traceroute that never stops. Every `intervalMs` a cycle sends one probe to each TTL from
 * the first to the end of the path (the maximum until the destination or an unreachable answers);
 * each probe is settled by its answer or after `waitMs`, and goes into PathStats (./mtr-stats.ts).
 * Cycles follow an absolute schedule and overlap when the wait is longer than the interval: the
 * probe engine (core/probe) drives them, one round per cycle and one target per TTL. The run
 * ends after `cycles` cycles (their last probes settled), or on abort. Any probe method of
 * ./trace-probes.ts works, Paris included. Emits typed events; never prints.
 */
import type { IpFamily } from "../core/address.js";
import { systemClock, type Clock } from "../core/clock.js";
import { usageError } from "../core/errors.js";
import { TypedEmitter, publish } from "../core/events.js";
import { ProbeDriver } from "../core/probe/index.js";
import { createRandom, type Random } from "../core/random.js";
import { PathStats, type HopRow } from "./mtr-stats.js";
import { rttMs } from "./probes.js";
import type { IcmpSocketKind } from "./socket.js";
import { checkTtlRange, openProber, openTraceTarget, type ProbeFlow, type ProbeReply, type ProberOptions, type ProbeSent, type TraceMethod, type TraceProber } from "./trace-probes.js";

/** Settled probes each TTL's tracker remembers, to tell a late answer from an unknown one. */
const KEPT_PROBES = 64;
/** Probe keys remembered across the run. */
const KEPT_KEYS = 4096;

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
  | { kind: "cycle"; cycle: number; rows: HopRow[] }
  /** The probe of cycle `cycle` to TTL `ttl` left. */
  | { kind: "probe"; cycle: number; ttl: number }
  /** Its answer: Time Exceeded from a router, or the end of the path (`final`; `reached`: the destination). */
  | { kind: "reply"; cycle: number; ttl: number; from: string; rttMs: number; annotation: string; final: boolean; reached: boolean }
  /** An answer after the wait: the probe was already counted lost. */
  | { kind: "late"; cycle: number; ttl: number; from: string; rttMs: number }
  | { kind: "timeout"; cycle: number; ttl: number }
  | { kind: "send-error"; cycle: number; ttl: number; message: string };

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
      cycles = await this.#drive(prober, stats, (fn) => (onReply = fn));
    } finally {
      prober.close();
    }
    return { host: r.host, address: target, family: r.family, method: o.method, paris: o.paris, cycles, rows: stats.rows(this.#names), reached: stats.reached };
  }

  /**
   * The adapter on the probe engine: a round is a cycle, a target is a TTL, so each TTL's
   * tracker decides reply / late / timeout of its probes and the driver keeps the schedule.
   */
  async #drive(prober: TraceProber, stats: PathStats, listen: (fn: (a: ProbeReply) => void) => void): Promise<number> {
    const o = this.#o;
    const clock = o.clock;
    // The prober's key → the TTL (as a target index) and cycle it was sent in; bounded, since
    // a run may last for days (the oldest keys go first, long after their probes settled).
    const keys = new Map<number, { target: number; seq: number }>();
    const driver: ProbeDriver<ProbeReply, ProbeSent> = new ProbeDriver<ProbeReply, ProbeSent>({
      clock,
      targets: o.maxHops - o.firstTtl + 1,
      count: o.cycles,
      intervalMs: o.intervalMs,
      timeoutMs: o.waitMs,
      history: KEPT_PROBES,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
      transport: {
        send: (seq) => {
          this.#publish({ kind: "cycle", cycle: seq + 1, rows: stats.rows(this.#names) });
          const out: Array<{ target: number; tag: ProbeSent; error?: unknown }> = [];
          for (let ttl = o.firstTtl; ttl <= stats.lastHop; ttl++) {
            const target = ttl - o.firstTtl;
            try {
              const sent = prober.send(ttl);
              keys.delete(sent.key);
              keys.set(sent.key, { target, seq });
              if (keys.size > KEPT_KEYS) keys.delete(keys.keys().next().value as number);
              out.push({ target, tag: sent });
            } catch (error) {
              out.push({ target, tag: { key: -1, txNs: 0n, sentMono: clock.monotonic() }, error });
            }
          }
          return out;
        },
        listen: (deliver) => {
          listen(deliver);
          return () => listen(() => {});
        },
      },
      match: (a) => {
        const k = keys.get(a.key);
        const sent = k === undefined ? undefined : driver.trackers[k.target]?.get(k.seq)?.tag;
        if (k === undefined || sent === undefined) return undefined;
        return { ...k, kind: "reply", rttMs: rttMs(sent.txNs, a.rxNs, sent.sentMono, clock.monotonic()) };
      },
      onEvent: (e) => {
        const ttl = e.target + o.firstTtl;
        const cycle = ("probe" in e ? e.probe.seq : e.seq) + 1;
        if (e.kind === "reply") {
          const a = e.datagram;
          stats.answered(ttl, a.from, e.rttMs, a.annotation, a.final, a.reached);
          this.#lookUp(a.from);
          this.#publish({ kind: "reply", cycle, ttl, from: a.from, rttMs: e.rttMs, annotation: a.annotation, final: a.final, reached: a.reached });
        } else if (e.kind === "timeout" || e.kind === "send-error") {
          stats.lost(ttl);
          this.#publish(e.kind === "timeout" ? { kind: "timeout", cycle, ttl } : { kind: "send-error", cycle, ttl, message: e.error instanceof Error ? e.error.message : String(e.error) });
        } else if (e.kind === "sent") this.#publish({ kind: "probe", cycle, ttl });
        else if (e.kind === "late") this.#publish({ kind: "late", cycle, ttl, from: e.datagram.from, rttMs: e.rttMs });
      },
    });
    return (await driver.run()).rounds;
  }

  /** Reverse DNS in the background: a name shows from the next table on. */
  #lookUp(address: string): void {
    if (!this.#o.resolveNames || this.#asked.has(address)) return;
    this.#asked.add(address);
    // node:dns loads only when a name is asked for (never with -n).
    import("node:dns/promises").then(({ Resolver }) => new Resolver({ timeout: 1000, tries: 1 }).reverse(address)).then(
      (names) => {
        if (names[0] !== undefined) this.#names.set(address, names[0]);
      },
      () => {},
    );
  }
}

/**
 * Traceroute: probes with a growing TTL / hop limit. Routers answer Time Exceeded (ICMP type 11 /
 * ICMPv6 3), the destination answers the probe (echo reply, port unreachable, SYN-ACK or RST),
 * and Destination Unreachable ends the path with its annotation. The probe method (ICMP echo as
 * `traceroute -I`, UDP as classic traceroute, TCP SYN as `traceroute -T`) and Paris traceroute's
 * constant flow live in ./trace-probes.ts. Up to `simultaneous` probes are in flight at once,
 * across hops; each is matched by what names it in the quoted header, never by arrival order.
 * Emits typed events; never prints.
 */
import { Resolver } from "node:dns/promises";
import type { IpFamily } from "../core/address.js";
import { systemClock, type Clock, type TimerHandle } from "../core/clock.js";
import { TypedEmitter, publish } from "../core/events.js";
import { usageError } from "../core/errors.js";
import { createRandom, type Random } from "../core/random.js";
import { TraceState, type Hop, type ProbeResult, type ProbeSlot } from "./hops.js";
import { rttMs } from "./probes.js";
import type { IcmpSocketKind } from "./socket.js";
import { checkTtlRange, openProber, openTraceTarget, type ProbeFlow, type ProbeReply, type ProberOptions, type ProbeSent, type TraceMethod, type TraceProber } from "./trace-probes.js";

export interface TracerouteOptions {
  host: string;
  /** Largest TTL. @default 30 */
  maxHops?: number;
  /** Probes per hop. @default 3 */
  queries?: number;
  /** Wait for each probe, ms. @default 1000 */
  waitMs?: number;
  /** First TTL. @default 1 */
  firstTtl?: number;
  /** Probes in flight at once. @default 16 */
  simultaneous?: number;
  /** Look up the name of each hop (reverse DNS). @default true */
  resolveNames?: boolean;
  /** Echo data / UDP payload bytes. @default 32 (a 60-byte IPv4 packet, as traceroute) */
  size?: number;
  /** How to probe. @default "icmp" */
  method?: TraceMethod;
  /** Keep the flow identifier constant (Paris traceroute). @default false */
  paris?: boolean;
  /** UDP: first destination port (33434); TCP: the destination port (80). */
  port?: number;
  /** Opens the probe method (a seam for tests: a fake prober on a fake clock). @default openProber */
  openProber?: (o: ProberOptions) => Promise<TraceProber>;
  family?: IpFamily;
  /** @default "auto" */
  socket?: IcmpSocketKind | "auto";
  /** @default systemClock */
  clock?: Clock;
  /** @default createRandom() */
  random?: Random;
  signal?: AbortSignal;
}

/** A hop as reported: each probe's responder (and its name), RTT and annotation. */
export interface TraceHop {
  hop: number;
  probes: Array<{ from: string; name?: string; rttMs: number; annotation: string; reached: boolean } | { from: null }>;
}

export type TracerouteEvent =
  | { kind: "start"; host: string; address: string; family: IpFamily; maxHops: number; packetBytes: number; socket: IcmpSocketKind; method: TraceMethod; paris: boolean; flow: ProbeFlow }
  | { kind: "hop"; hop: TraceHop };

export interface TracerouteResult {
  host: string;
  address: string;
  family: IpFamily;
  hops: TraceHop[];
  /** The destination answered. */
  reached: boolean;
  method: TraceMethod;
  paris: boolean;
  /** What every probe shared (ports, ICMP identifier, and with --paris the ICMP checksum). */
  flow: ProbeFlow;
}

/**
 * @example
 * const t = new Traceroute({ host: "10.77.1.2", resolveNames: false });
 * t.on("event", (e) => { if (e.kind === "hop") console.log(e.hop.hop, e.hop.probes); });
 * await t.run();
 */
export class Traceroute extends TypedEmitter<{ event: [TracerouteEvent] }> {
  readonly #o: Required<Omit<TracerouteOptions, "family" | "signal" | "port">> & Pick<TracerouteOptions, "family" | "signal" | "port">;
  readonly #names = new Map<string, Promise<string | undefined>>();

  constructor(options: TracerouteOptions) {
    super();
    this.#o = {
      host: options.host,
      maxHops: options.maxHops ?? 30,
      queries: options.queries ?? 3,
      waitMs: options.waitMs ?? 1000,
      firstTtl: options.firstTtl ?? 1,
      simultaneous: options.simultaneous ?? 16,
      resolveNames: options.resolveNames ?? true,
      size: options.size ?? 32,
      method: options.method ?? "icmp",
      paris: options.paris ?? false,
      port: options.port,
      openProber: options.openProber ?? openProber,
      socket: options.socket ?? "auto",
      clock: options.clock ?? systemClock,
      random: options.random ?? createRandom(),
      family: options.family,
      signal: options.signal,
    };
    const o = this.#o;
    checkTtlRange(o.maxHops, o.firstTtl, o.waitMs);
    if (!Number.isInteger(o.queries) || o.queries < 1 || o.queries > 10) throw usageError(`invalid probes per hop ${o.queries} (must be 1-10)`);
    if (!Number.isInteger(o.simultaneous) || o.simultaneous < 1) throw usageError(`invalid simultaneous probes ${o.simultaneous}`);
  }

  #publish(e: TracerouteEvent): void {
    this.emit("event", e);
    publish("traceroute", e.kind, e);
  }

  async run(): Promise<TracerouteResult> {
    const o = this.#o;
    let onReply: (a: ProbeReply) => void = () => {};
    const { prober, target, ...r } = await openTraceTarget(o, (a) => onReply(a));
    try {
      this.#publish({
        kind: "start",
        host: r.host,
        address: target,
        family: r.family,
        maxHops: o.maxHops,
        packetBytes: prober.packetBytes,
        socket: prober.socket,
        method: o.method,
        paris: o.paris,
        flow: prober.flow,
      });
      const { hops, reached } = await this.#drive(prober, (fn) => (onReply = fn));
      return { host: r.host, address: target, family: r.family, hops, reached, method: o.method, paris: o.paris, flow: prober.flow };
    } finally {
      prober.close();
    }
  }

  #drive(prober: TraceProber, listen: (fn: (a: ProbeReply) => void) => void): Promise<{ hops: TraceHop[]; reached: boolean }> {
    const o = this.#o;
    const clock = o.clock;
    const state = new TraceState(o);
    const inFlight = new Map<number, { slot: ProbeSlot; sent: ProbeSent; timer: TimerHandle }>();
    const hops: TraceHop[] = [];
    let output = Promise.resolve();
    let finished = false;

    return new Promise((resolve) => {
      const finish = (): void => {
        if (finished) return;
        finished = true;
        for (const p of inFlight.values()) clock.clearTimeout(p.timer);
        inFlight.clear();
        listen(() => {});
        o.signal?.removeEventListener("abort", finish);
        void output.then(() => resolve({ hops, reached: state.reached }));
      };

      const settle = (s: number, result: ProbeResult): void => {
        const p = inFlight.get(s);
        if (p === undefined) return;
        inFlight.delete(s);
        clock.clearTimeout(p.timer);
        state.record(p.slot, result);
        flush();
        if (state.done) finish();
        else pump();
      };

      const flush = (): void => {
        for (const h of state.takeCompleted()) {
          // Names are looked up in parallel; hops still come out in order.
          const named = this.#withNames(h);
          output = output.then(async () => {
            const th = await named;
            hops.push(th);
            this.#publish({ kind: "hop", hop: th });
          });
        }
      };

      const pump = (): void => {
        while (!finished && inFlight.size < o.simultaneous) {
          const slot = state.next();
          if (slot === undefined) break;
          let sent: ProbeSent;
          try {
            sent = prober.send(slot.hop);
          } catch {
            state.record(slot, { kind: "timeout" });
            continue;
          }
          const key = sent.key;
          // A key still in flight (the UDP keys cycle) would be ambiguous: the older probe loses.
          const old = inFlight.get(key);
          if (old !== undefined) {
            clock.clearTimeout(old.timer);
            state.record(old.slot, { kind: "timeout" });
          }
          const timer = clock.setTimeout(() => settle(key, { kind: "timeout" }), o.waitMs);
          inFlight.set(key, { slot, sent, timer });
        }
        flush();
        if (!finished && (state.done || inFlight.size === 0)) finish();
      };

      const onReply = (a: ProbeReply): void => {
        if (finished) return;
        const probe = inFlight.get(a.key);
        if (probe === undefined) return;
        const rtt = rttMs(probe.sent.txNs, a.rxNs, probe.sent.sentMono, clock.monotonic());
        settle(a.key, { kind: "answer", from: a.from, rttMs: rtt, annotation: a.annotation, reached: a.reached, final: a.final });
      };

      listen(onReply);
      if (o.signal?.aborted) {
        finish();
        return;
      }
      o.signal?.addEventListener("abort", finish, { once: true });
      pump();
    });
  }

  async #withNames(h: Hop): Promise<TraceHop> {
    const probes: TraceHop["probes"] = [];
    for (const p of h.probes) {
      if (p.kind === "timeout") {
        probes.push({ from: null });
        continue;
      }
      const name = this.#o.resolveNames ? await this.#name(p.from) : undefined;
      probes.push({ from: p.from, rttMs: p.rttMs, annotation: p.annotation, reached: p.reached, ...(name === undefined ? {} : { name }) });
    }
    return { hop: h.hop, probes };
  }

  #name(address: string): Promise<string | undefined> {
    let p = this.#names.get(address);
    if (p === undefined) {
      const resolver = new Resolver({ timeout: 1000, tries: 1 });
      p = resolver.reverse(address).then(
        (names) => names[0],
        () => undefined,
      );
      this.#names.set(address, p);
    }
    return p;
  }
}

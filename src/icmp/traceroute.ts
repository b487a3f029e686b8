/**
 * Traceroute: probes with a growing TTL / hop limit. Routers answer Time Exceeded (ICMP type 11 /
 * ICMPv6 3), the destination answers the probe (echo reply, port unreachable, SYN-ACK or RST),
 * and Destination Unreachable ends the path with its annotation. The probe method (ICMP echo as
 * `traceroute -I`, UDP as classic traceroute, TCP SYN as `traceroute -T`) and Paris traceroute's
 * constant flow live in ./trace-probes.ts. The probes run on the probe engine (core/probe): up to
 * `simultaneous` in flight at once, across hops, each timed out after `waitMs`; each answer is
 * matched by what names it in the quoted header, never by arrival order.
 * Emits typed events; never prints.
 */
import type { IpFamily } from "../core/address.js";
import { systemClock, type Clock } from "../core/clock.js";
import { TypedEmitter, publish } from "../core/events.js";
import { usageError } from "../core/errors.js";
import { ProbeDriver } from "../core/probe/index.js";
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
  /** One probe settled (an answer, or `from: null` for none): what --json-lines streams. */
  | { kind: "probe"; hop: number; index: number; from: string | null; rttMs?: number; annotation?: string; reached?: boolean }
  /** An answer after its probe was given up (it stays a *). */
  | { kind: "late"; hop: number; index: number; from: string; rttMs: number }
  /** A hop complete, in order, with names looked up. */
  | { kind: "hop"; hop: TraceHop };

/** What the driver keeps with each probe. */
interface TraceTag {
  slot: ProbeSlot;
  /** Undefined when the send failed. */
  sent?: ProbeSent;
}

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

  /**
   * The adapter on the probe engine: one target, one probe per round, rounds back to back with
   * at most -N pending. The tracker decides reply / late / timeout; TraceState which slot goes
   * next and which hops are complete.
   */
  async #drive(prober: TraceProber, listen: (fn: (a: ProbeReply) => void) => void): Promise<{ hops: TraceHop[]; reached: boolean }> {
    const o = this.#o;
    const clock = o.clock;
    const state = new TraceState(o);
    // The prober's key (echo sequence, UDP port or checksum, TCP sequence) → the driver's sequence.
    const keys = new Map<number, number>();
    const hops: TraceHop[] = [];
    let output = Promise.resolve();

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
    const record = (tag: TraceTag, r: ProbeResult): void => {
      state.record(tag.slot, r);
      // A probe beyond the end of the path (found meanwhile) is not part of the trace.
      if (tag.slot.hop <= state.lastHop) this.#publish({ kind: "probe", hop: tag.slot.hop, index: tag.slot.index, ...(r.kind === "timeout" ? { from: null } : { from: r.from, rttMs: r.rttMs, annotation: r.annotation, reached: r.reached }) });
      flush();
      // Probes still in flight beyond the end of the path do not matter any more.
      if (state.done) driver.stop();
    };

    const driver: ProbeDriver<ProbeReply, TraceTag> = new ProbeDriver<ProbeReply, TraceTag>({
      clock,
      intervalMs: 0,
      timeoutMs: o.waitMs,
      maxInFlight: o.simultaneous,
      lastRound: () => !state.hasNext,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
      transport: {
        send: (seq) => {
          const slot = state.next();
          if (slot === undefined) return [];
          try {
            const sent = prober.send(slot.hop);
            keys.set(sent.key, seq);
            return [{ target: 0, tag: { slot, sent } }];
          } catch (error) {
            return [{ target: 0, tag: { slot }, error }];
          }
        },
        listen: (deliver) => {
          listen(deliver);
          return () => listen(() => {});
        },
      },
      match: (a) => {
        const seq = keys.get(a.key);
        const sent = seq === undefined ? undefined : driver.trackers[0]?.get(seq)?.tag.sent;
        if (seq === undefined || sent === undefined) return undefined;
        return { target: 0, seq, kind: "reply", rttMs: rttMs(sent.txNs, a.rxNs, sent.sentMono, clock.monotonic()) };
      },
      onEvent: (e) => {
        switch (e.kind) {
          case "reply": {
            const a = e.datagram;
            record(e.probe.tag, { kind: "answer", from: a.from, rttMs: e.rttMs, annotation: a.annotation, reached: a.reached, final: a.final });
            break;
          }
          case "timeout":
          case "send-error":
            record(e.probe.tag, { kind: "timeout" });
            break;
          case "late":
            // Too late for its slot (already a *), as traceroute ignores it; reported for --json-lines.
            this.#publish({ kind: "late", hop: e.probe.tag.slot.hop, index: e.probe.tag.slot.index, from: e.datagram.from, rttMs: e.rttMs });
            break;
          default:
            break;
        }
      },
    });
    await driver.run();
    await output;
    return { hops, reached: state.reached };
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
      // node:dns loads only when a name is asked for (never with -n).
      p = import("node:dns/promises").then(({ Resolver }) => new Resolver({ timeout: 1000, tries: 1 }).reverse(address)).then(
        (names) => names[0],
        () => undefined,
      );
      this.#names.set(address, p);
    }
    return p;
  }
}

/**
 * The probe driver every prober runs on (ICMP ping, udp-ping, the heartbeat sender, traceroute,
 * mtr): it sends round k at start + k·interval (an absolute schedule, so late timers never add
 * up), keeps several probes in flight (at most `maxInFlight`, traceroute's -N), times each one
 * out, matches what comes back through one ProbeTracker per target, and ends on count,
 * deadline, abort or the adapter's stop().
 *
 * Sockets are not opened here: the adapter injects a transport (send a round, deliver what
 * arrives) and a `match` that says which target and probe a datagram answers. Timers come
 * from the injected Clock through one TimerGroup, so a run is testable on fake time.
 */
import { TimerGroup, type Clock, type TimerHandle } from "../clock.js";
import { ProbeTracker, type Probe } from "./tracker.js";

/** One probe a round put on the wire (or tried to). */
export interface ProbeSent<T> {
  target: number;
  tag: T;
  /** The send failed at once (EMSGSIZE, EHOSTUNREACH ...): the probe counts as an error. */
  error?: unknown;
}

/** Where probes go out and answers come in. */
export interface ProbeTransport<D, T> {
  /**
   * Send round `round` (0-based) with sequence number `seq` to the targets it goes to; one
   * entry per probe. An empty array sends nothing this round (a skipped heartbeat).
   */
  send(seq: number, round: number): Array<ProbeSent<T>>;
  /** Deliver each received datagram to `deliver` until the returned function is called. */
  listen(deliver: (datagram: D) => void): () => void;
}

/** What a datagram answers, as the adapter's `match` decides; undefined = not ours. */
export interface ProbeMatch {
  target: number;
  seq: number;
  /** "reply" answers the probe; "error" (an ICMP unreachable) settles it as not received. */
  kind: "reply" | "error";
  /** The RTT when the adapter knows better than the driver's clock (kernel timestamps). */
  rttMs?: number;
}

/** Why a run ended. */
export type ProbeEndReason = "count" | "deadline" | "abort" | "stopped";

/** Everything the driver reports, synchronously, as it happens. */
export type ProbeEvent<D, T> =
  | { kind: "sent"; target: number; probe: Probe<T> }
  | { kind: "send-error"; target: number; probe: Probe<T>; error: unknown }
  | { kind: "reply" | "late" | "duplicate"; target: number; probe: Probe<T>; rttMs: number; datagram: D }
  | { kind: "error"; target: number; probe: Probe<T>; datagram: D }
  | { kind: "unknown"; target: number; seq: number; datagram: D }
  | { kind: "timeout"; target: number; probe: Probe<T> }
  /** ping -O: the previous probe of `target` is still unanswered as the next one leaves. */
  | { kind: "outstanding"; target: number; probe: Probe<T> };

export interface ProbeDriverOptions<D, T> {
  clock: Clock;
  transport: ProbeTransport<D, T>;
  /** Which target and probe a datagram answers; undefined for anything else. */
  match: (datagram: D) => ProbeMatch | undefined;
  onEvent?: (e: ProbeEvent<D, T>) => void;
  /** Number of targets (each has its own tracker). @default 1 */
  targets?: number;
  /** Rounds to send; 0 = until deadline, abort or stop(). @default 0 */
  count?: number;
  /** Time between rounds, ms. */
  intervalMs: number;
  /** How long each probe waits for its answer, ms. */
  timeoutMs: number;
  /** End the run this long after the start, answered or not (ping -w). */
  deadlineMs?: number;
  /**
   * With a deadline, `count` is the number of answered probes per target to wait for, and
   * rounds go on until then (ping(8): "-w ... ping does not stop after count packets are sent").
   * @default false
   */
  countAnswers?: boolean;
  /** Report a probe still unanswered when the next one leaves (ping -O). @default false */
  reportOutstanding?: boolean;
  /** Send the next round as soon as every probe is answered, at most `intervalMs` apart (ping -f). @default false */
  flood?: boolean;
  /**
   * At most this many probes pending at once, over all targets (traceroute -N): a round that
   * is due while they are waits until one settles. Due rounds that fit leave together, without
   * a timer between them. @default Infinity
   */
  maxInFlight?: number;
  /** Asked after each round: true makes it the last one (a job that just ended). */
  lastRound?: () => boolean;
  /** Sequence number of round 0. @default 0 */
  firstSeq?: number;
  /** Sequence numbers wrap with this mask (0xffff for ICMP). @default none */
  seqMask?: number;
  /** Settled probes each tracker remembers. @default Infinity */
  history?: number;
  signal?: AbortSignal;
}

export interface ProbeRunResult<T> {
  reason: ProbeEndReason;
  /** Monotonic ms from the first round to the end. */
  elapsedMs: number;
  trackers: ReadonlyArray<ProbeTracker<T>>;
  /** Rounds sent (skipped ones included). */
  rounds: number;
}

/**
 * One run of probes.
 *
 * @example
 * const d = new ProbeDriver({ clock, transport, match, intervalMs: 1000, timeoutMs: 1000, count: 4 });
 * const r = await d.run();
 * r.trackers[0].totals(r.elapsedMs);
 */
export class ProbeDriver<D, T> {
  readonly #o: ProbeDriverOptions<D, T>;
  readonly #timers: TimerGroup;
  readonly trackers: ReadonlyArray<ProbeTracker<T>>;
  /** The probe last sent to each target, for -O. */
  readonly #last: Array<Probe<T> | undefined>;
  #start = 0;
  #anchor = 0;
  #round = 0;
  #sending = true;
  #running = false;
  #done = false;
  /** A round is due but maxInFlight probes are pending. */
  #blocked = false;
  #next: TimerHandle | undefined;
  #resolve: ((r: ProbeRunResult<T>) => void) | undefined;

  constructor(options: ProbeDriverOptions<D, T>) {
    this.#o = options;
    this.#timers = new TimerGroup(options.clock);
    const n = options.targets ?? 1;
    const history = options.history === undefined ? {} : { history: options.history };
    this.trackers = Array.from({ length: n }, () => new ProbeTracker<T>(history));
    this.#last = new Array<Probe<T> | undefined>(n).fill(undefined);
  }

  /** Monotonic time of round 0. */
  get startedAt(): number {
    return this.#start;
  }

  /** Rounds sent so far. */
  get rounds(): number {
    return this.#round;
  }

  /** False once no more rounds will be sent (count reached, last round sent, stopping). */
  get sending(): boolean {
    return this.#sending && !this.#done;
  }

  /** Start; resolves when the run ends. */
  run(): Promise<ProbeRunResult<T>> {
    if (this.#running) throw new Error("ProbeDriver.run() called twice");
    this.#running = true;
    const o = this.#o;
    return new Promise<ProbeRunResult<T>>((resolve) => {
      this.#resolve = resolve;
      this.#start = o.clock.monotonic();
      this.#anchor = this.#start;
      const unlisten = o.transport.listen((d) => this.#receive(d));
      const onAbort = (): void => this.#end("abort");
      this.#cleanup = () => {
        unlisten();
        o.signal?.removeEventListener("abort", onAbort);
      };
      if (o.signal?.aborted === true) {
        this.#end("abort");
        return;
      }
      o.signal?.addEventListener("abort", onAbort, { once: true });
      if (o.deadlineMs !== undefined) this.#timers.after(o.deadlineMs, () => this.#end("deadline"));
      this.#sendRound();
    });
  }

  #cleanup: () => void = () => {};

  /** End the run now (the heartbeat's monitors are all down). */
  stop(): void {
    this.#end("stopped");
  }

  /** Send the next round now instead of at its time; with `last`, it is the final one. */
  sendNow(last = false): void {
    if (this.#done || !this.#sending) return;
    if (this.#next !== undefined) this.#o.clock.clearTimeout(this.#next);
    this.#next = undefined;
    // Rounds after this one keep their spacing from it.
    this.#anchor = this.#o.clock.monotonic() - this.#round * this.#o.intervalMs;
    this.#sendRound(last);
  }

  #seq(round: number): number {
    const s = (this.#o.firstSeq ?? 0) + round;
    return this.#o.seqMask === undefined ? s : s & this.#o.seqMask;
  }

  #emit(e: ProbeEvent<D, T>): void {
    this.#o.onEvent?.(e);
  }

  /** ping -w with -c: the count is of answered probes, and rounds go on until then. */
  get #answersMode(): boolean {
    return this.#o.countAnswers === true && this.#o.deadlineMs !== undefined && (this.#o.count ?? 0) > 0;
  }

  /**
   * Every target's probes settled, once no more rounds are sent. A drained target stays drained
   * then (nothing is sent to it again), so the scan resumes where the last one stopped: a reply
   * per target does not rescan the targets before it (fping-style runs have hundreds).
   */
  #drained(): boolean {
    while (this.#drainedUpTo < this.trackers.length && this.trackers[this.#drainedUpTo]?.pendingCount === 0) this.#drainedUpTo++;
    return this.#drainedUpTo === this.trackers.length;
  }

  /** Targets before this index had nothing pending after the last round left (see #drained). */
  #drainedUpTo = 0;

  /** Probes pending over all targets. */
  #pending(): number {
    let n = 0;
    for (const t of this.trackers) n += t.pendingCount;
    return n;
  }

  #sendRound(last = false): void {
    this.#next = undefined;
    const window = this.#o.maxInFlight ?? Infinity;
    // With a window, rounds already due leave in one burst (at most `window` of them, so a
    // run whose sends all fail at once still yields to the event loop).
    for (let burst = 1; ; burst++) {
      if (!this.#sendOne(last)) return;
      const o = this.#o;
      const due = this.#anchor + this.#round * o.intervalMs;
      const delay = due - o.clock.monotonic();
      if (delay > 0 || window === Infinity || burst >= window) {
        this.#next = this.#timers.after(Math.max(0, delay), () => this.#sendRound());
        return;
      }
    }
  }

  /** Send one round if it may leave; false when no next round is to be scheduled now. */
  #sendOne(last: boolean): boolean {
    if (this.#done || !this.#sending) return false;
    const o = this.#o;
    if (o.maxInFlight !== undefined && this.#pending() >= o.maxInFlight) {
      this.#blocked = true;
      return false;
    }
    const round = this.#round;
    const seq = this.#seq(round);
    if (o.reportOutstanding === true) {
      for (const [i, p] of this.#last.entries()) if (p !== undefined && p.state === "pending") this.#emit({ kind: "outstanding", target: i, probe: p });
    }
    const now = o.clock.monotonic();
    // A round due at the deadline itself does not leave (its timer may fire first).
    if (o.deadlineMs !== undefined && now - this.#start >= o.deadlineMs) {
      this.#end("deadline");
      return false;
    }
    this.#round++;
    // The probes of a round leave together, so they share one deadline and one timer (a
    // timer per probe costs a closure and a callback each, 200 a round for fping-style runs).
    const sent: Array<{ target: number; tracker: ProbeTracker<T>; probe: Probe<T> }> = [];
    for (const s of o.transport.send(seq, round)) {
      // The adapter may have stopped the run (or the signal fired) while sending.
      if (this.#done) return false;
      const tracker = this.trackers[s.target];
      if (tracker === undefined) continue;
      const probe = tracker.sent(seq, now, s.tag);
      this.#last[s.target] = probe;
      if (s.error !== undefined) {
        tracker.error(seq);
        this.#emit({ kind: "send-error", target: s.target, probe, error: s.error });
        continue;
      }
      this.#emit({ kind: "sent", target: s.target, probe });
      sent.push({ target: s.target, tracker, probe });
    }
    if (sent.length > 0) {
      this.#timers.after(o.timeoutMs, () => {
        for (const { target, tracker, probe } of sent) {
          if (this.#done) return;
          if (tracker.get(seq) !== probe || !tracker.expire(seq)) continue;
          this.#emit({ kind: "timeout", target, probe });
          this.#settled();
        }
      });
    }
    if (this.#done) return false;
    const count = o.count ?? 0;
    if (last || o.lastRound?.() === true || (!this.#answersMode && count !== 0 && this.#round >= count)) {
      this.#sending = false;
      this.#settled();
      return false;
    }
    return !this.#done && this.#sending;
  }

  #receive(d: D): void {
    if (this.#done) return;
    const m = this.#o.match(d);
    if (m === undefined) return;
    const tracker = this.trackers[m.target];
    if (tracker === undefined) return;
    const now = this.#o.clock.monotonic();
    if (m.kind === "error") {
      const probe = tracker.get(m.seq);
      if (probe === undefined) {
        this.#emit({ kind: "unknown", target: m.target, seq: m.seq, datagram: d });
        return;
      }
      if (tracker.error(m.seq)) {
        this.#emit({ kind: "error", target: m.target, probe, datagram: d });
        this.#settled();
      }
      return;
    }
    const out = tracker.receive(m.seq, now, m.rttMs);
    if (out.kind === "unknown") {
      this.#emit({ kind: "unknown", target: m.target, seq: m.seq, datagram: d });
      return;
    }
    this.#emit({ kind: out.kind, target: m.target, probe: out.probe, rttMs: out.rttMs, datagram: d });
    if (out.kind === "reply") {
      this.#settled();
      if (this.#o.flood === true && !this.#done && this.#sending && this.trackers.every((t) => t.pendingCount === 0)) this.sendNow();
    }
  }

  /** A probe settled: a blocked round may leave; end when nothing more will be sent and nothing is pending. */
  #settled(): void {
    if (this.#done) return;
    if (this.#blocked && this.#sending && this.#pending() < (this.#o.maxInFlight ?? Infinity)) {
      this.#blocked = false;
      this.#sendRound();
      if (this.#done) return;
    }
    if (this.#answersMode && this.trackers.every((t) => t.answered >= (this.#o.count ?? 0))) {
      this.#end("count");
      return;
    }
    if (!this.#sending && this.#drained()) this.#end("count");
  }

  #end(reason: ProbeEndReason): void {
    if (this.#done) return;
    this.#done = true;
    this.#timers.clear();
    this.#cleanup();
    const elapsedMs = this.#o.clock.monotonic() - this.#start;
    this.#resolve?.({ reason, elapsedMs, trackers: this.trackers, rounds: this.#round });
  }
}

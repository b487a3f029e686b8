/**
 * The heartbeat monitor's options (with their defaults and validation) and its counters.
 */
import { usageError } from "../../core/errors.js";
import { resolveImpairment, type ImpairmentConfig } from "../../core/impair.js";
import type { Random } from "../../core/random.js";
import type { Clock } from "../../core/clock.js";
import type { WireTap } from "../../core/udp-socket.js";
import type { PhiOptions } from "./detector.js";

export interface HeartbeatMonitorOptions {
  /** Shown every datagram received and sent (`--pcap`). */
  tap?: WireTap;
  /** Address to bind. @default "0.0.0.0" */
  host?: string;
  /** Port to bind; 0 picks one. @default 12001 */
  port?: number;
  /** A client silent this long (ms) is declared stopped. @default 3000 */
  deadAfterMs?: number;
  /** A client is suspect when phi exceeds this before `deadAfterMs`. @default 8 */
  phiThreshold?: number;
  /** Tuning of the phi estimate. @default {} */
  phiOptions?: PhiOptions;
  /** Clients silent this long (ms) are forgotten. @default 3_600_000 */
  forgetAfterMs?: number;
  /** Most clients tracked at once; the longest-silent one goes first. @default 100000 */
  maxClients?: number;
  /** Fraction of incoming heartbeats to drop (loss demonstration). @default 0 */
  loss?: number;
  /** Seed for the drops and the other impairments. @default random */
  seed?: number;
  /** Impairments applied to arriving heartbeats; its `loss`, when set, wins over `loss`. @default {} */
  impair?: ImpairmentConfig;
  /** A heartbeat held back by `impair.reorder` goes anyway after this long without a next one, ms. @default 2000 */
  holdLimitMs?: number;
  /** Inject a PRNG instead of a seed (tests). */
  random?: Random;
  /** Period of the status sweep, ms. @default deadAfterMs / 20, within 20…250 */
  sweepIntervalMs?: number;
  /** Answer each heartbeat with `<seq> <time_diff>`. @default true */
  reply?: boolean;
  /**
   * Read and answer heartbeats in batches (recvmmsg/sendmmsg through wirekit's addon) when the
   * addon is built; false = node:dgram, one datagram per callback. @default true
   */
  batch?: boolean;
  /** @default systemClock */
  clock?: Clock;
  /**
   * A client that announces its interval (`int=`) is stopped after this many of its intervals
   * of silence; `deadAfterMs` is for clients that announce none. @default 3
   */
  deadAfterBeats?: number;
  /** Upper bound of an announced client's deadline, ms. @default forgetAfterMs */
  maxDeadAfterMs?: number;
  /**
   * Clients that must exist: one not heard within its deadline (ms after the monitor started;
   * default `deadAfterMs`) is reported never-seen.
   */
  expect?: ReadonlyArray<{ id: string; deadlineMs?: number }>;
  /** Client id → secret: those clients must send a valid `mac=` (see protocol.ts). */
  keys?: ReadonlyMap<string, string>;
  /** Refuse heartbeats from clients that have no key. @default false */
  keysRequired?: boolean;
  /** A keyed heartbeat whose timestamp is further than this from the monitor's clock is refused, ms. @default 30000 */
  maxSkewMs?: number;
}

/** Counters since the monitor started. */
export interface HeartbeatMonitorTotals {
  /** Heartbeats accepted (duplicates included). */
  heartbeats: number;
  /** Clients tracked now. */
  clients: number;
  /** Heartbeats lost (gaps not filled in later), over all clients ever seen. */
  lost: number;
  reordered: number;
  duplicates: number;
  restarts: number;
  malformed: number;
  /** Heartbeats dropped on purpose (`loss`, `lossBurst`, `rateBytesPerSec`). */
  dropped: number;
  forgotten: number;
  evicted: number;
  /** Heartbeats refused (`keys`): wrong or missing MAC, skewed, replayed, unkeyed. */
  refused: number;
  /** Clients reported never-seen (`expect`). */
  neverSeen: number;
}

/** Options with every default applied. */
export interface ResolvedMonitorOptions {
  deadAfterMs: number;
  phiThreshold: number;
  phiOptions: PhiOptions;
  forgetAfterMs: number;
  maxClients: number;
  loss: number;
  /** Everything done to arriving heartbeats (loss included). */
  impairment: ImpairmentConfig;
  sweepIntervalMs: number;
  reply: boolean;
  deadAfterBeats: number;
  maxDeadAfterMs: number;
  keysRequired: boolean;
  maxSkewMs: number;
}

/**
 * Apply the defaults and reject impossible values (usage errors).
 *
 * @example
 * resolveMonitorOptions({ deadAfterMs: 2000 }).sweepIntervalMs // 100
 */
export function resolveMonitorOptions(o: HeartbeatMonitorOptions): ResolvedMonitorOptions {
  const deadAfterMs = o.deadAfterMs ?? 3000;
  const r: ResolvedMonitorOptions = {
    deadAfterMs,
    phiThreshold: o.phiThreshold ?? 8,
    phiOptions: o.phiOptions ?? {},
    forgetAfterMs: o.forgetAfterMs ?? 3_600_000,
    maxClients: o.maxClients ?? 100_000,
    loss: o.impair?.loss ?? o.loss ?? 0,
    impairment: { ...o.impair, loss: o.impair?.loss ?? o.loss ?? 0 },
    sweepIntervalMs: o.sweepIntervalMs ?? Math.min(250, Math.max(20, deadAfterMs / 20)),
    reply: o.reply ?? true,
    deadAfterBeats: o.deadAfterBeats ?? 3,
    maxDeadAfterMs: o.maxDeadAfterMs ?? o.forgetAfterMs ?? 3_600_000,
    keysRequired: o.keysRequired ?? false,
    maxSkewMs: o.maxSkewMs ?? 30_000,
  };
  if (!(r.deadAfterMs > 0)) throw usageError(`invalid dead-after ${r.deadAfterMs} ms (must be > 0)`);
  if (!(r.phiThreshold > 0)) throw usageError(`invalid phi threshold ${r.phiThreshold} (must be > 0)`);
  if (!(r.forgetAfterMs >= r.deadAfterMs)) throw usageError("forget-after must be at least dead-after");
  if (!Number.isInteger(r.maxClients) || r.maxClients < 1) throw usageError(`invalid max-clients ${r.maxClients}`);
  if (!(r.loss >= 0 && r.loss <= 1)) throw usageError(`invalid loss '${r.loss}' (must be between 0 and 1)`);
  resolveImpairment(r.impairment);
  if (!(r.deadAfterBeats > 0)) throw usageError(`invalid dead-after-beats ${r.deadAfterBeats} (must be > 0)`);
  if (!(r.maxDeadAfterMs > 0)) throw usageError(`invalid max-dead-after ${r.maxDeadAfterMs} ms (must be > 0)`);
  if (r.maxDeadAfterMs > r.forgetAfterMs) throw usageError("max-dead-after must be at most forget-after");
  if (!(r.maxSkewMs > 0)) throw usageError(`invalid max-skew ${r.maxSkewMs} ms (must be > 0)`);
  if (r.keysRequired && o.keys === undefined) throw usageError("keys-required needs keys");
  if (!(r.sweepIntervalMs > 0)) throw usageError(`invalid sweep interval ${r.sweepIntervalMs}`);
  return r;
}

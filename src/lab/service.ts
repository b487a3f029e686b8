/**
 * What every service of `wirekit lab` looks like: something that starts on a host and port,
 * tells which client command to point at it, counts what it did, shows a live view for the
 * dashboard, and closes cleanly.
 */
import type { ImpairmentConfig } from "../core/impair.js";
import { usageError } from "../core/errors.js";
import { systemClock, type Clock } from "../core/clock.js";

/** What `wirekit lab --impair SERVICE:key=value,...` gives one service. */
export interface LabImpairment {
  config: ImpairmentConfig;
  /** Seed for the impairments. @default random */
  seed?: number;
}

/**
 * The part of a lab impairment a TCP service takes: delay and rate. Anything else (loss,
 * jitter, reorder, duplicate, corrupt) has no meaning on a byte stream and is a usage error.
 *
 * @example
 * tcpImpairment("http", { config: { delayMs: 100 } }) // { delayMs: 100 }
 */
export function tcpImpairment(service: string, impair: LabImpairment | undefined): { delayMs?: number; rateBytesPerSec?: number } {
  if (impair === undefined) return {};
  const c = impair.config;
  const datagramOnly = (["loss", "lossBurst", "jitterMs", "reorder", "duplicate", "corrupt"] as const).filter((k) => (c[k] ?? 0) > 0);
  if (datagramOnly.length > 0) {
    const flag = { loss: "loss", lossBurst: "loss-burst", jitterMs: "jitter", reorder: "reorder", duplicate: "duplicate", corrupt: "corrupt" }[datagramOnly[0] as (typeof datagramOnly)[number]];
    throw usageError(`--impair ${service}: '${flag}' applies to datagrams; a TCP service takes delay and rate`);
  }
  const out: { delayMs?: number; rateBytesPerSec?: number } = {};
  if ((c.delayMs ?? 0) > 0) out.delayMs = c.delayMs;
  if (c.rateBytesPerSec !== undefined) out.rateBytesPerSec = c.rateBytesPerSec;
  return out;
}

/**
 * A service's impairment counters as totals keys that cannot clash with its own ("lost" is
 * also the heartbeat monitor's): `impairedLost`, `impairedDelayed`, ...
 */
export function impairedTotals(counts: Readonly<Record<string, number>> | undefined): Record<string, number> {
  if (counts === undefined) return {};
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) out[`impaired${k.charAt(0).toUpperCase()}${k.slice(1)}`] = v;
  return out;
}

/** One thing that happened in a service, for the dashboard's feed. */
export interface LabEvent {
  /** Service name ("heartbeat"). */
  service: string;
  /** Event kind ("lost", "stopped", "request", ...). */
  kind: string;
  /** Wall-clock ms. */
  at: number;
  /** One human-readable line. */
  text: string;
  /** Structured fields (JSON-serializable). */
  data?: Record<string, unknown>;
}

export interface RunningService {
  /** Bound address and port (the port may differ from the default when 0 was asked). */
  address: string;
  port: number;
  transport: "udp" | "tcp";
  /** The client command a person would try against it. */
  clientCommand: string;
  /** What its impairments are, as its listening line says ("impair: loss 30%, seed 7"); absent when none. */
  impairment?: string;
  /** Counters for the totals line, the dashboard and /metrics. */
  totals(): Record<string, number>;
  /**
   * A JSON-serializable view for the dashboard (counters plus recent items, a client table...).
   * Each service documents its shape beside its entry in services.ts.
   */
  snapshot?(): Record<string, unknown>;
  /** Live events; returns an unsubscribe function. */
  subscribe?(listener: (e: LabEvent) => void): () => void;
  /**
   * Keys of `totals()` that are gauges (values that go up and down, like cache entries or
   * clients alive). Every other key is a monotonic counter. Used for `/metrics`.
   * @default []
   */
  gauges?: readonly string[];
  /**
   * Serve a dashboard route under `/service/<name>/<path>` (e.g. the mail sink's
   * `messages/<id>`). Returns undefined for "not found".
   */
  route?(path: string): LabHttpResponse | undefined;
  close(): Promise<void>;
}

/** What a service's dashboard route answers. */
export interface LabHttpResponse {
  status: number;
  contentType: string;
  body: string | Uint8Array;
  /** Extra headers (Content-Disposition for a download, ...). */
  headers?: Record<string, string>;
}

/** Where `demo()` sends its client: the service as it is running. */
export interface LabDemoTarget {
  address: string;
  port: number;
  signal?: AbortSignal;
  /** The other running services by name (the proxy's demo fetches the web server through itself). */
  peers?: Readonly<Record<string, { address: string; port: number }>>;
}

export interface LabService {
  /** Short name, also the `--no-<name>` flag. */
  name: string;
  description: string;
  defaultPort: number;
  /** Takes `impair` in start() (`wirekit lab --impair NAME:...`). @default false */
  impairable?: boolean;
  /** Refuse (usageError) an impairment this service cannot apply, before anything starts. */
  checkImpairment?(impair: LabImpairment): void;
  /**
   * Start on `host:port`. `peers` holds the services started before this one (in display
   * order), so a client command can name them (the proxy's points at the lab's web server).
   */
  start(options: { host: string; port: number; peers?: Readonly<Record<string, { address: string; port: number }>>; impair?: LabImpairment }): Promise<RunningService>;
  /**
   * `wirekit lab --demo`: run this tool's client once against the running server and
   * resolve to one line saying what happened (the client's statistics line). Each tool adds
   * its own when it lands; a service without `demo` is listed as "no demo client".
   * A failing client rejects; the lab reports it and the other demos still run.
   *
   * @example
   * demo: async ({ address, port }) => {
   *   const r = await udpPing({ host: address, port, count: 5, intervalMs: 200 });
   *   return `${r.totals.transmitted} sent, ${r.totals.received} received`;
   * },
   */
  demo?(target: LabDemoTarget): Promise<string>;
}

/** What every wirekit server is to the lab: something that emits one typed `event`. */
export interface EventSource<E> {
  on(event: "event", listener: (e: E) => void): unknown;
  off(event: "event", listener: (e: E) => void): unknown;
}

/** The last `size` items, for a snapshot's "recent" list. */
export class RecentRing<T> {
  readonly #items: T[] = [];
  constructor(readonly size: number) {}

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.size) this.#items.shift();
  }

  /** Copies, oldest first. */
  oldestFirst(): T[] {
    return this.#items.map((x) => ({ ...x }));
  }

  /** Copies, newest first. */
  newestFirst(): T[] {
    return this.oldestFirst().reverse();
  }
}

/**
 * A lab service over a server: what `serviceFromServer` needs to know about it. `E` is the
 * server's event union, `R` what one event adds to the snapshot's recent list.
 */
export interface ServerServiceSpec<E extends { kind: string }, R> {
  /** The service's name, as in LabEvent.service. */
  name: string;
  server: EventSource<E> & { address: string; port: number };
  transport: "udp" | "tcp";
  clientCommand: string;
  /** The listening line's impairment text; "" or absent when none. */
  impairment?: string;
  totals(): Record<string, number>;
  gauges?: readonly string[];
  /** Keep the last `size` items of the events `item` maps (undefined = not kept) for the snapshot. */
  recent?: { size: number; item(e: E): R | undefined };
  /** The dashboard's view; `recent` is the ring (empty when `recent` is not set). */
  snapshot?(recent: RecentRing<R>): Record<string, unknown>;
  /** How an event reaches the dashboard's feed. */
  feed: {
    /** The event's line, from the render layer (the line the CLI prints). */
    render(e: E): string;
    /** Feed kind per event kind; a kind not listed stays out of the feed. @default every kind, under its own name */
    kinds?: Partial<Record<E["kind"], string>>;
    /** Structured fields (JSON-serializable). @default none */
    data?(e: E): Record<string, unknown>;
    /** When it happened, wall ms. @default the event's `at`, else now */
    at?(e: E): number;
  };
  route?(path: string): LabHttpResponse | undefined;
  /** For events without an `at`. @default systemClock */
  clock?: Pick<Clock, "now">;
  /** Close the server (the adapter has stopped listening by then). */
  close(): Promise<void>;
}

/**
 * The one lab adapter: a RunningService over a server's `event`. It keeps the recent ring
 * (listening from the start when there is one), and while the dashboard is subscribed turns
 * each event into a LabEvent with the render layer's line. Without a ring it listens only
 * while someone is subscribed, so a server with no dashboard builds no events.
 *
 * @example
 * return serviceFromServer({ name: "proxy", server, transport: "tcp", clientCommand, totals,
 *   feed: { render: renderProxyServerEvent, at: (e) => e.record.at, data: (e) => ({ ...e.record }) } });
 */
export function serviceFromServer<E extends { kind: string }, R extends object>(spec: ServerServiceSpec<E, R>): RunningService {
  const clock = spec.clock ?? systemClock;
  const ring = new RecentRing<R>(spec.recent?.size ?? 0);
  const listeners = new Set<(e: LabEvent) => void>();
  const kinds = spec.feed.kinds as Readonly<Record<string, string | undefined>> | undefined;
  const onEvent = (e: E): void => {
    const item = spec.recent?.item(e);
    if (item !== undefined) ring.push(item);
    if (listeners.size === 0) return;
    const kind = kinds === undefined ? e.kind : kinds[e.kind];
    if (kind === undefined) return;
    const at = spec.feed.at?.(e) ?? ("at" in e && typeof e.at === "number" ? e.at : clock.now());
    const le: LabEvent = { service: spec.name, kind, at, text: spec.feed.render(e) };
    const data = spec.feed.data?.(e);
    if (data !== undefined) le.data = data;
    for (const l of listeners) l(le);
  };
  let attached = false;
  const attach = (on: boolean): void => {
    if (on === attached) return;
    attached = on;
    if (on) spec.server.on("event", onEvent);
    else spec.server.off("event", onEvent);
  };
  if (spec.recent !== undefined) attach(true);
  const running: RunningService = {
    address: spec.server.address,
    port: spec.server.port,
    transport: spec.transport,
    clientCommand: spec.clientCommand,
    totals: spec.totals,
    subscribe(listener) {
      listeners.add(listener);
      attach(true);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && spec.recent === undefined) attach(false);
      };
    },
    close: async () => {
      listeners.clear();
      attach(false);
      await spec.close();
    },
  };
  if (spec.impairment !== undefined && spec.impairment !== "") running.impairment = spec.impairment;
  if (spec.snapshot !== undefined) {
    const snapshot = spec.snapshot;
    running.snapshot = () => snapshot(ring);
  }
  if (spec.gauges !== undefined) running.gauges = spec.gauges;
  if (spec.route !== undefined) running.route = spec.route;
  return running;
}

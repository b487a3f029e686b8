/**
 * The heartbeat monitor's Prometheus endpoint (`heartbeat serve --metrics HOST:PORT`): per client
 * its status, phi, seconds since its last heartbeat, counters and delay; and the monitor's
 * totals. Values are read from the monitor at scrape time (text format 0.0.4, written directly,
 * as the lab's /metrics). The client label's cardinality is bounded by the monitor's
 * `maxClients`, since only tracked clients are exported.
 */
import { createServer, type Server } from "node:http";
import { Worker } from "node:worker_threads";
import { fromSystemError } from "../../core/errors.js";
import { shownStatus, type ClientSnapshot } from "./events.js";
import type { HeartbeatMonitorTotals } from "./monitor-options.js";

/** What the metrics read of a monitor. */
export interface MetricsSource {
  clients(): ClientSnapshot[];
  totals(): HeartbeatMonitorTotals;
  /** Wall-clock ms now (the monitor's clock). */
  wallNow(): number;
  /** Expected clients not heard yet (exported with status never-seen once past their deadline). */
  expected?(): Array<{ id: string; neverSeen: boolean }>;
}

type Reader = (c: ClientSnapshot, now: number) => number;

const PER_CLIENT: ReadonlyArray<[name: string, help: string, read: Reader]> = [
  ["phi", "phi-accrual suspicion of the client (higher: more likely stopped)", (c) => (Number.isFinite(c.phi) ? c.phi : 1e9)],
  ["seconds_since_last_heartbeat", "seconds since the client's last heartbeat", (c, now) => Math.max(0, now - c.lastSeen) / 1000],
  ["received_total", "heartbeats received from the client", (c) => c.received],
  ["lost_total", "heartbeats of the client never received (gaps in its sequence)", (c) => c.lost],
  ["reordered_total", "heartbeats of the client that arrived out of order", (c) => c.reordered],
  ["duplicates_total", "duplicate heartbeats of the client", (c) => c.duplicates],
  ["restarts_total", "restarts of the client (a new run id or sequence reset)", (c) => c.restarts],
  ["failed", "1 while the client reports a failure (status=fail or a nonzero exit code, until its next ok)", (c) => (c.failed ? 1 : 0)],
  ["deadline_seconds", "silence after which the client is declared stopped (its int= x --dead-after-beats, or --dead-after)", (c) => c.deadAfterMs / 1000],
  ["job_duration_seconds", "run time the client last reported (dur=)", (c) => (c.jobMs === null ? Number.NaN : c.jobMs / 1000)],
  ["delay_seconds_avg", "mean one-way delay of the client's heartbeats (includes the clock offset)", (c) => (c.delayMs === null ? Number.NaN : c.delayMs.avg / 1000)],
];

/** The heartbeat metrics as text, rendered at each scrape. */
export interface HeartbeatMetrics {
  readonly contentType: string;
  /** The whole exposition, from one snapshot of the monitor. */
  metrics(): Promise<string>;
  /** The same as UTF-8 bytes (what the endpoint sends; no intermediate string). */
  render(): Buffer;
}

const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A label value in the text format: backslash, double quote and newline escaped. */
function labelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

function sampleValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
}

const family = (name: string, help: string): string => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;

/**
 * Lines appended straight into one growing buffer: each line's string dies young, so a 70 MB
 * exposition costs no long-lived string (as one concatenated string it was mostly GC time).
 */
class TextBuffer {
  #buf: Buffer;
  #pos = 0;
  #pending = "";
  /** Every string put is ASCII (true for our names and numbers; the caller says for labels): copied as latin1, no UTF-8 pass. */
  readonly #ascii: boolean;
  constructor(size: number, ascii: boolean) {
    this.#buf = Buffer.allocUnsafe(Math.max(65536, size));
    this.#ascii = ascii;
  }
  /** Append a line; lines are gathered into ~16 KiB strings before each copy into the buffer. */
  put(s: string): void {
    this.#pending += s;
    if (this.#pending.length >= 16384) this.#flush();
  }
  #flush(): void {
    const s = this.#pending;
    this.#pending = "";
    const need = this.#ascii ? s.length : Buffer.byteLength(s, "utf8");
    if (this.#pos + need > this.#buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + need));
      this.#buf.copy(next, 0, 0, this.#pos);
      this.#buf = next;
    }
    this.#pos += this.#buf.write(s, this.#pos, this.#ascii ? "latin1" : "utf8");
  }
  bytes(): Buffer {
    this.#flush();
    return this.#buf.subarray(0, this.#pos);
  }
}

// eslint-disable-next-line no-control-regex -- "every code unit below 0x80" is the test
const ASCII = /^[\x00-\x7f]*$/;

/**
 * One scrape's numbers, taken on the monitor's thread and nothing else: plain arrays that can go
 * to a worker thread, which turns them into text while the monitor goes on taking heartbeats.
 */
export interface MetricsData {
  /** Client ids, already escaped as label values. */
  ids: string[];
  /** Shown status per client (alive, suspect, stopped, failed). */
  status: string[];
  /** PER_CLIENT values, metric-major: values[m * ids.length + i]; NaN = not exported. */
  values: Float64Array;
  /** The last status= per client, escaped; null when none. */
  reported: Array<string | null>;
  /** Expected clients past their deadline, escaped. */
  neverSeen: string[];
  totals: Array<[string, number]>;
  /** Every string above is ASCII (then copied without a UTF-8 pass). */
  ascii: boolean;
}

/** Take a scrape's numbers from the monitor (its one snapshot per scrape). */
export function collectMetrics(source: MetricsSource): MetricsData {
  const now = source.wallNow();
  const clients = source.clients();
  const n = clients.length;
  const ids = new Array<string>(n);
  const status = new Array<string>(n);
  const reported = new Array<string | null>(n);
  const values = new Float64Array(PER_CLIENT.length * n);
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = clients[i] as ClientSnapshot;
    const id = labelValue(c.id);
    ids[i] = id;
    if (ascii && !ASCII.test(id)) ascii = false;
    status[i] = shownStatus(c);
    const r = c.reportedStatus === null ? null : labelValue(c.reportedStatus);
    if (r !== null && ascii && !ASCII.test(r)) ascii = false;
    reported[i] = r;
    for (let m = 0; m < PER_CLIENT.length; m++) values[m * n + i] = (PER_CLIENT[m] as (typeof PER_CLIENT)[number])[2](c, now);
  }
  const neverSeen = (source.expected?.() ?? []).filter((e) => e.neverSeen).map((e) => labelValue(e.id));
  if (ascii && !neverSeen.every((id) => ASCII.test(id))) ascii = false;
  const totals = Object.entries(source.totals()).map(([k, v]): [string, number] => [k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase(), v]);
  return { ids, status, values, reported, neverSeen, totals, ascii };
}

/** The text of one scrape (pure; the endpoint runs it on a worker thread). `sizeHint`: the last scrape's bytes. */
export function renderMetrics(d: MetricsData, sizeHint = 0): Buffer {
  const n = d.ids.length;
  const ids = d.ids;
  // Room for the last scrape's size and some growth, so the buffer is seldom copied.
  const out = new TextBuffer(sizeHint + (sizeHint >> 3) + 65536, d.ascii);
  out.put(family("wirekit_heartbeat_client_status", "1 for the client's current status (alive, suspect, stopped, failed, never-seen)"));
  for (const id of d.neverSeen) out.put(`wirekit_heartbeat_client_status{client="${id}",status="never-seen"} 1\n`);
  for (let i = 0; i < n; i++) out.put(`wirekit_heartbeat_client_status{client="${ids[i]}",status="${d.status[i]}"} 1\n`);
  for (let m = 0; m < PER_CLIENT.length; m++) {
    const [name, help] = PER_CLIENT[m] as (typeof PER_CLIENT)[number];
    const metric = `wirekit_heartbeat_client_${name}`;
    out.put(`\n${family(metric, help)}`);
    const base = m * n;
    for (let i = 0; i < n; i++) {
      const v = d.values[base + i] as number;
      if (!Number.isNaN(v)) out.put(`${metric}{client="${ids[i]}"} ${sampleValue(v)}\n`);
    }
  }
  out.put(`\n${family("wirekit_heartbeat_client_last_status", "1 for the last status= the client sent (ok, fail, or an exit code)")}`);
  for (let i = 0; i < n; i++) {
    const r = d.reported[i];
    if (r !== null && r !== undefined) out.put(`wirekit_heartbeat_client_last_status{client="${ids[i]}",status="${r}"} 1\n`);
  }
  out.put(`\n${family("wirekit_heartbeat_monitor", "the monitor's totals (heartbeats, clients, lost, malformed, ...)")}`);
  for (const [k, v] of d.totals) out.put(`wirekit_heartbeat_monitor{total="${k}"} ${sampleValue(v)}\n`);
  return out.bytes();
}

/**
 * The monitor's metrics in the Prometheus text format 0.0.4, written directly from one snapshot
 * per scrape: at 100,000 clients a scrape is some 70 MB of text once a second, which a general
 * metrics registry (a labelled gauge set per client and metric) could not keep up with.
 *
 * @example
 * const text = await createHeartbeatMetrics(monitor).metrics();
 */
export function createHeartbeatMetrics(source: MetricsSource): HeartbeatMetrics {
  let lastSize = 0;
  const render = (): Buffer => {
    const bytes = renderMetrics(collectMetrics(source), lastSize);
    lastSize = bytes.length;
    return bytes;
  };
  return { contentType: CONTENT_TYPE, render, metrics: async () => render().toString("utf8") };
}

/**
 * Renders scrapes on a worker thread (metrics-worker.ts), one at a time: concurrent scrapes
 * share the one in progress. If the worker cannot run, the text is made on this thread.
 */
class OffThreadRenderer {
  readonly #source: MetricsSource;
  #worker: Worker | undefined;
  #failed = false;
  #inFlight: Promise<Buffer> | undefined;
  #lastSize = 0;

  constructor(source: MetricsSource) {
    this.#source = source;
  }

  render(): Promise<Buffer> {
    this.#inFlight ??= this.#render().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  async #render(): Promise<Buffer> {
    const data = collectMetrics(this.#source);
    const w = this.#failed ? undefined : this.#start();
    if (w === undefined) {
      const b = renderMetrics(data, this.#lastSize);
      this.#lastSize = b.length;
      return b;
    }
    return new Promise<Buffer>((resolve, reject) => {
      const onMessage = (m: { ok: boolean; buffer?: ArrayBuffer; offset?: number; length?: number; message?: string }): void => {
        w.off("error", onError);
        if (m.ok && m.buffer !== undefined) resolve(Buffer.from(m.buffer, m.offset ?? 0, m.length ?? 0));
        else reject(new Error(m.message ?? "metrics worker failed"));
      };
      const onError = (err: Error): void => {
        w.off("message", onMessage);
        this.#failed = true;
        this.#worker = undefined;
        reject(err);
      };
      w.once("message", onMessage);
      w.once("error", onError);
      w.postMessage({ data }, [data.values.buffer as ArrayBuffer]);
    }).catch(() => {
      // The worker broke: this scrape, and the later ones, on this thread.
      const b = renderMetrics(collectMetrics(this.#source), this.#lastSize);
      this.#lastSize = b.length;
      return b;
    });
  }

  #start(): Worker | undefined {
    if (this.#worker !== undefined) return this.#worker;
    try {
      const w = new Worker(new URL("./metrics-worker.js", import.meta.url));
      w.unref();
      this.#worker = w;
      return w;
    } catch {
      this.#failed = true;
      return undefined;
    }
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    if (w !== undefined) await w.terminate();
  }
}

export interface MetricsEndpoint {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serve `GET /metrics` on HOST:PORT (127.0.0.1 unless told otherwise); anything else is 404.
 *
 * @example
 * const ep = await startHeartbeatMetrics(monitor, { host: "127.0.0.1", port: 9101 });
 */
export async function startHeartbeatMetrics(source: MetricsSource, options: { host?: string; port: number }): Promise<MetricsEndpoint> {
  const renderer = new OffThreadRenderer(source);
  const host = options.host ?? "127.0.0.1";
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found: the metrics are at /metrics\n");
      return;
    }
    renderer.render().then(
      (body) => {
        res.writeHead(200, { "Content-Type": CONTENT_TYPE, "Content-Length": body.length });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      () => res.writeHead(500, { "Content-Type": "text/plain" }).end("metrics failed\n"),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(fromSystemError(err, `metrics: bind ${host}:${options.port}`)));
    server.listen(options.port, host, () => resolve());
  });
  const a = server.address();
  const port = a !== null && typeof a === "object" ? a.port : options.port;
  return {
    address: host,
    port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await renderer.close();
    },
  };
}

/**
 * The heartbeat monitor's Prometheus endpoint (`heartbeat serve --metrics HOST:PORT`): per client
 * its status, phi, seconds since its last heartbeat, counters and delay; and the monitor's
 * totals. Values are read from the monitor at scrape time, in one synchronous pass on its thread,
 * so one scrape is one moment's values (text format 0.0.4, written directly, as the lab's
 * /metrics). Non-integer values carry at most 6 decimals (microseconds, for the seconds). The
 * client label's cardinality is bounded by the monitor's `maxClients`, since only tracked
 * clients are exported.
 */
import { shownStatus, type ClientSnapshot } from "./events.js";
import type { HeartbeatMonitorTotals } from "./monitor-options.js";
import { defaultLineWriter, packSuffixes, sampleValue, writeFamilyLines, type FamilyLines, type LineLabels, type LineWriter } from "./metrics-lines.js";

/**
 * What a scrape reads of one client: ClientSnapshot's fields, the delay flattened. A monitor
 * hands out one reused row per client (`forEachMetricsRow`), so a 100,000-client scrape does
 * not build 100,000 snapshot objects.
 */
export type MetricsRow = Pick<
  ClientSnapshot,
  "id" | "status" | "failed" | "phi" | "lastSeen" | "received" | "lost" | "reordered" | "duplicates" | "restarts" | "deadAfterMs" | "jobMs" | "reportedStatus"
> & {
  /** Mean one-way delay, ms; null before the first one. */
  delayAvgMs: number | null;
};

/** What the metrics read of a monitor. */
export interface MetricsSource {
  clients(): ClientSnapshot[];
  totals(): HeartbeatMonitorTotals;
  /** Wall-clock ms now (the monitor's clock). */
  wallNow(): number;
  /** Expected clients not heard yet (exported with status never-seen once past their deadline). */
  expected?(): Array<{ id: string; neverSeen: boolean }>;
  /**
   * Every tracked client as a row, synchronously; the row object may be reused between calls
   * (copy what you keep). When absent, a scrape reads `clients()`.
   */
  forEachMetricsRow?(visit: (row: MetricsRow) => void): void;
}

/** The per-client families, in the order `readRow` writes their values. */
const PER_CLIENT: ReadonlyArray<[name: string, help: string]> = [
  ["phi", "phi-accrual suspicion of the client (higher: more likely stopped)"],
  ["seconds_since_last_heartbeat", "seconds since the client's last heartbeat"],
  ["received_total", "heartbeats received from the client"],
  ["lost_total", "heartbeats of the client never received (gaps in its sequence)"],
  ["reordered_total", "heartbeats of the client that arrived out of order"],
  ["duplicates_total", "duplicate heartbeats of the client"],
  ["restarts_total", "restarts of the client (a new run id or sequence reset)"],
  ["failed", "1 while the client reports a failure (status=fail or a nonzero exit code, until its next ok)"],
  ["deadline_seconds", "silence after which the client is declared stopped (its int= x --dead-after-beats, or --dead-after)"],
  ["job_duration_seconds", "run time the client last reported (dur=)"],
  ["delay_seconds_avg", "mean one-way delay of the client's heartbeats (includes the clock offset)"],
];

/**
 * One client's PER_CLIENT values, in PER_CLIENT's order, into out[base ...]; NaN = no sample.
 * One plain function rather than a reader per family: it runs for every client of a scrape.
 */
function readRow(c: MetricsRow, now: number, out: Float64Array, base: number): void {
  out[base] = Number.isFinite(c.phi) ? c.phi : 1e9;
  out[base + 1] = Math.max(0, now - c.lastSeen) / 1000;
  out[base + 2] = c.received;
  out[base + 3] = c.lost;
  out[base + 4] = c.reordered;
  out[base + 5] = c.duplicates;
  out[base + 6] = c.restarts;
  out[base + 7] = c.failed ? 1 : 0;
  out[base + 8] = c.deadAfterMs / 1000;
  out[base + 9] = c.jobMs === null ? Number.NaN : c.jobMs / 1000;
  out[base + 10] = c.delayAvgMs === null ? Number.NaN : c.delayAvgMs / 1000;
}
/** Values per client, readRow's and PER_CLIENT's length alike. */
const METRICS = 11;
if (PER_CLIENT.length !== METRICS) throw new Error("metrics: PER_CLIENT and readRow disagree");

/** The shown statuses (shownStatus), by the code a scrape carries them as. */
const SHOWN = ["alive", "suspect", "stopped", "failed"] as const;
const SHOWN_CODE: Record<(typeof SHOWN)[number], number> = { alive: 0, suspect: 1, stopped: 2, failed: 3 };

/** The heartbeat metrics as text, rendered at each scrape. */
export interface HeartbeatMetrics {
  readonly contentType: string;
  /** The whole exposition, from one snapshot of the monitor. */
  metrics(): Promise<string>;
  /** The same as UTF-8 bytes (what the endpoint sends; no intermediate string). */
  render(): Buffer;
}

/** The text format's media type (0.0.4). */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A label value in the text format: backslash, double quote and newline escaped. */
function labelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

const family = (name: string, help: string): string => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;

/**
 * One scrape's numbers, taken on the monitor's thread in one synchronous pass (so they are all
 * of one moment: no heartbeat is taken in between), in a form that goes to a worker thread
 * cheaply: typed arrays (in SharedArrayBuffers for the endpoint: neither copied nor
 * transferred), the labels as their bytes among them. The arrays may be longer than `count`.
 */
export interface MetricsData {
  /** Tracked clients. */
  count: number;
  /** Client ids as label values (escaped, UTF-8), each followed by "\n" (an escaped value holds no newline). */
  labels: Uint8Array;
  /** starts[i]: where client i's label begins in `labels`; starts[count] is the end of the last "\n". */
  starts: Int32Array;
  /** Shown status per client, as an index into SHOWN (alive, suspect, stopped, failed). */
  status: Uint8Array;
  /** PER_CLIENT values, client-major: values[i * METRICS + m]; NaN = not exported. */
  values: Float64Array;
  /** Per client, the index in `reportedTexts` of its last status=, or -1 when none. */
  reported: Int32Array;
  /** The distinct last status= values, escaped. */
  reportedTexts: string[];
  /** Expected clients past their deadline, escaped. */
  neverSeen: string[];
  totals: Array<[string, number]>;
}

/** A snapshot as a row (for sources without `forEachMetricsRow`). */
function rowOf(c: ClientSnapshot): MetricsRow {
  return { ...c, delayAvgMs: c.delayMs === null ? null : c.delayMs.avg };
}

/** Storage for a scrape's numbers, reused from one scrape to the next (see `collectMetrics`). */
export interface MetricsColumns {
  values: Float64Array;
  status: Uint8Array;
  reported: Int32Array;
  labels: Uint8Array;
  /** One more than the clients (starts[i + 1] ends client i's label). */
  starts: Int32Array;
}

/**
 * Columns for `clients` clients; `shared`: in SharedArrayBuffers, which a worker thread reads
 * without a copy and which are reused, so a scrape allocates no new 10 MB of them each time.
 */
export function metricsColumns(clients: number, shared: boolean, labelBytes = 0): MetricsColumns {
  const n = Math.max(16, clients);
  const mem = (bytes: number): ArrayBufferLike => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  return {
    values: new Float64Array(mem(n * METRICS * 8)),
    status: new Uint8Array(mem(n)),
    reported: new Int32Array(mem(n * 4)),
    // Room for ids of 15 bytes, grown when longer ones need it.
    labels: new Uint8Array(mem(Math.max(labelBytes, n * 16))),
    starts: new Int32Array(mem((n + 1) * 4)),
  };
}

/** `from`'s first `used` bytes in a new label array of the same kind, at least `size` long. */
function grownLabels(from: Uint8Array, used: number, size: number): Uint8Array {
  const bytes = Math.max(size, from.length * 2);
  const to = new Uint8Array(from.buffer instanceof SharedArrayBuffer ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  to.set(from.subarray(0, used));
  return to;
}

/**
 * Take a scrape's numbers from the monitor, in one synchronous pass: every value is of the same
 * moment (no heartbeat is taken in between). Into `columns` when they are big enough (else
 * into new ones of the same kind, which the returned data holds).
 */
export function collectMetrics(source: MetricsSource, columns?: MetricsColumns): MetricsData {
  const now = source.wallNow();
  const clients = source.totals().clients;
  const shared = columns !== undefined && columns.status.buffer instanceof SharedArrayBuffer;
  let { values, status, reported, labels, starts } = columns !== undefined && columns.status.length >= clients ? columns : metricsColumns(clients + (clients >> 3), shared);
  let p = 0;
  const reportedTexts: string[] = [];
  const reportedIndex = new Map<string, number>();
  let n = 0;
  const take = (c: MetricsRow): void => {
    if (n === status.length) {
      // More rows than the monitor counted (a source whose totals lag): grow.
      const more = metricsColumns(n * 2, shared);
      more.values.set(values);
      more.status.set(status);
      more.reported.set(reported);
      more.starts.set(starts);
      ({ values, status, reported, starts } = more);
    }
    // The label's bytes, copied from the id's code units: ids from the wire are printable ASCII
    // without a quote or backslash. Any other (a state file's, say) is escaped and UTF-8-encoded.
    const id = c.id;
    if (p + id.length + 1 > labels.length) labels = grownLabels(labels, p, p + id.length + 1);
    let k = 0;
    for (; k < id.length; k++) {
      const ch = id.charCodeAt(k);
      if (ch >= 0x80 || ch === 0x5c || ch === 0x22 || ch === 0x0a) break;
      labels[p + k] = ch;
    }
    if (k === id.length) p += k;
    else {
      const escaped = Buffer.from(labelValue(id), "utf8");
      if (p + escaped.length + 1 > labels.length) labels = grownLabels(labels, p, p + escaped.length + 1);
      labels.set(escaped, p);
      p += escaped.length;
    }
    labels[p++] = 0x0a;
    starts[n + 1] = p;
    status[n] = SHOWN_CODE[shownStatus(c)];
    if (c.reportedStatus === null) reported[n] = -1;
    else {
      let k = reportedIndex.get(c.reportedStatus);
      if (k === undefined) {
        k = reportedTexts.push(labelValue(c.reportedStatus)) - 1;
        reportedIndex.set(c.reportedStatus, k);
      }
      reported[n] = k;
    }
    const base = n * METRICS;
    readRow(c, now, values, base);
    n++;
  };
  if (source.forEachMetricsRow !== undefined) source.forEachMetricsRow(take);
  else for (const c of source.clients()) take(rowOf(c));
  const neverSeen = (source.expected?.() ?? []).filter((e) => e.neverSeen).map((e) => labelValue(e.id));
  const totals = Object.entries(source.totals()).map(([k, v]): [string, number] => [k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase(), v]);
  return { count: n, labels, starts, status, values, reported, reportedTexts, neverSeen, totals };
}

/**
 * The exposition written byte by byte into one buffer: constant parts (names, `{client="`,
 * `",status="alive"} 1`) as prepared bytes, each client's label bytes made once per scrape and
 * copied into every family, and numbers written as digits without a string (metrics-lines.ts
 * writes the per-client lines: in the addon when it loads). Non-integers are written with at most
 * 6 decimals (microsecond resolution for the seconds).
 */
class ByteWriter {
  buf: Uint8Array;
  pos = 0;
  readonly #shared: boolean;
  /** Into `into` when given (grown into a new SharedArrayBuffer when too small), else new memory. */
  constructor(size: number, into?: SharedArrayBuffer) {
    this.#shared = into !== undefined;
    // A lent buffer is used even when short of the hint: room() grows it only if the text needs it.
    this.buf = into !== undefined ? new Uint8Array(into) : this.#alloc(Math.max(65536, size));
  }
  #alloc(size: number): Uint8Array {
    return this.#shared ? new Uint8Array(new SharedArrayBuffer(size)) : bytesOf(Buffer.allocUnsafeSlow(size));
  }
  /** Room for `k` more bytes; returns the buffer to write into (it may have moved). */
  room(k: number): Uint8Array {
    if (this.pos + k <= this.buf.length) return this.buf;
    const next = this.#alloc(Math.max(this.buf.length * 2, this.pos + k));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    return next;
  }
  text(s: string): void {
    const b = bytesOf(Buffer.from(s, "utf8"));
    this.room(b.length).set(b, this.pos);
    this.pos += b.length;
  }
}

/** The same memory as a plain Uint8Array (one element kind for every copy loop). */
function bytesOf(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

const latin1 = (s: string): Uint8Array => bytesOf(Buffer.from(s, "latin1"));
const STATUS_PREFIX = latin1('wirekit_heartbeat_client_status{client="');
const STATUS_SUFFIXES = packSuffixes(SHOWN.map((s) => latin1(`",status="${s}"} 1\n`)));
const VALUE_SUFFIX = packSuffixes([latin1('"} ')]);
const LAST_STATUS_PREFIX = latin1('wirekit_heartbeat_client_last_status{client="');
const METRIC_PREFIX = PER_CLIENT.map(([name]) => latin1(`wirekit_heartbeat_client_${name}{client="`));

/**
 * The text of one scrape (pure; the endpoint runs it on a worker thread). `sizeHint`: the last
 * scrape's bytes. `into`: write there (the result is a view of it, or of a bigger
 * SharedArrayBuffer when it was too small), so scrapes reuse their memory. `writer`: who writes
 * the per-client lines (metrics-lines.ts: the addon when it loads; the bytes are the same).
 */
export function renderMetrics(d: MetricsData, sizeHint = 0, into?: SharedArrayBuffer, writer: LineWriter = defaultLineWriter()): Buffer {
  const n = d.count;
  const bytes = d.labels;
  const starts = d.starts.subarray(0, n + 1);
  // The status family has a line for every client: it writes each label, the others copy it.
  const labels: LineLabels = { bytes, starts, at: new Int32Array(n) };
  // Room for the last scrape's size and some growth, so the buffer is seldom copied.
  const out = new ByteWriter(sizeHint + (sizeHint >> 3) + 65536, into);
  out.text(family("wirekit_heartbeat_client_status", "1 for the client's current status (alive, suspect, stopped, failed, never-seen)"));
  for (const id of d.neverSeen) out.text(`wirekit_heartbeat_client_status{client="${id}",status="never-seen"} 1\n`);
  const lines = (first: boolean, f: FamilyLines): void => writeFamilyLines(out, labels, first, f, writer);
  lines(true, { prefix: STATUS_PREFIX, ...STATUS_SUFFIXES, pick: d.status.subarray(0, n), values: null, stride: METRICS, m: 0 });
  for (let m = 0; m < METRICS; m++) {
    const [name, help] = PER_CLIENT[m] as (typeof PER_CLIENT)[number];
    out.text(`\n${family(`wirekit_heartbeat_client_${name}`, help)}`);
    lines(false, { prefix: METRIC_PREFIX[m] as Uint8Array, ...VALUE_SUFFIX, pick: null, values: d.values, stride: METRICS, m });
  }
  out.text(`\n${family("wirekit_heartbeat_client_last_status", "1 for the last status= the client sent (ok, fail, or an exit code)")}`);
  const reported = packSuffixes(d.reportedTexts.map((t) => bytesOf(Buffer.from(`",status="${t}"} 1\n`, "utf8"))));
  lines(false, { prefix: LAST_STATUS_PREFIX, ...reported, pick: d.reported.subarray(0, n), values: null, stride: METRICS, m: 0 });
  out.text(`\n${family("wirekit_heartbeat_monitor", "the monitor's totals (heartbeats, clients, lost, malformed, ...)")}`);
  for (const [k, v] of d.totals) out.text(`wirekit_heartbeat_monitor{total="${k}"} ${sampleValue(v)}\n`);
  return Buffer.from(out.buf.buffer, out.buf.byteOffset, out.pos);
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
  return { contentType: METRICS_CONTENT_TYPE, render, metrics: async () => render().toString("utf8") };
}

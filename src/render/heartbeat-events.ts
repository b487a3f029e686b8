/**
 * The line shown for each heartbeat monitor event, shared by the CLI (`heartbeat serve`), the
 * lab dashboard and the pcap comments (render/pcap's users). Pure: an event in, a line out.
 * And the monitor's client table and summary, and the lines `heartbeat serve` starts and ends
 * with: listening, metrics, the fleet (--keys, --expect, --state) and the hooks' totals.
 */
import { printableMessage, type ClientSnapshot, type HeartbeatEvent, type RefusalReason } from "../udp/heartbeat/events.js";
import type { HeartbeatMonitor } from "../udp/heartbeat/monitor.js";
import type { HookTotals } from "../udp/heartbeat/alerts.js";
import { formatHostPort } from "../core/address.js";
import { formatG } from "../core/stats.js";
import { ms3, renderImpairmentTotals, renderTable, renderTotals, seconds1, snakeKeys } from "./text.js";

function statusWords(e: { status: string; message: string | null; jobMs: number | null }): string {
  const st = /^\d/.test(e.status) ? `exit code ${e.status}` : `status ${e.status}`;
  return `${st}${e.jobMs === null ? "" : ` after ${seconds1(e.jobMs)}`}${e.message === null ? "" : `: "${printableMessage(e.message)}"`}`;
}

const REFUSAL: Readonly<Record<RefusalReason, string>> = {
  "bad-mac": "wrong MAC",
  "no-mac": "no MAC from a keyed client",
  skew: "timestamp outside --max-skew",
  replay: "replay",
  unkeyed: "client has no key (--keys-required)",
};

export { seconds1 };

/** "0.061 ms" with the precision ping uses for small values. */
export function millis(ms: number): string {
  const a = Math.abs(ms);
  return `${a < 10 ? ms.toFixed(3) : a < 100 ? ms.toFixed(2) : a < 10_000 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
}

function restartWhy(e: Extract<HeartbeatEvent, { kind: "restarted" }>): string {
  switch (e.reason) {
    case "run":
      return `new run ${e.run ?? "?"}`;
    case "seq-back":
      return `seq fell back from ${e.previousSeq} to ${e.seq}`;
    case "seq-jump":
      return `seq jumped from ${e.previousSeq} to ${e.seq}`;
  }
}

/**
 * The line shown for an event.
 *
 * @example
 * describeHeartbeatEvent({ kind: "lost", client: "web-1", from: 40, to: 43, count: 4 }) // "lost seq 40-43 from web-1"
 */
export function describeHeartbeatEvent(e: HeartbeatEvent): string {
  switch (e.kind) {
    case "client-joined":
      return `new client ${e.client}${e.client === e.address ? "" : ` (${e.address})`}, first seq ${e.seq}`;
    case "heartbeat":
      return `heartbeat from ${e.client}: seq ${e.seq}, delay ${millis(e.delayMs)}`;
    case "lost":
      return `lost seq ${e.from === e.to ? e.from : `${e.from}-${e.to}`} from ${e.client}`;
    case "reordered":
      return `reordered seq ${e.seq} from ${e.client} (arrived after seq ${e.highest}; no longer lost)`;
    case "duplicate":
      return `duplicate seq ${e.seq} from ${e.client}`;
    case "suspect":
      return `${e.client} suspect: phi ${e.phi.toFixed(1)} after ${seconds1(e.silentMs)} without a heartbeat`;
    case "stopped":
      return `${e.client} stopped: no heartbeat for ${seconds1(e.silentMs)} (last seq ${e.lastSeq})`;
    case "resumed":
      return `${e.client} resumed after ${seconds1(e.silentMs)}${e.from === "suspect" ? " (was suspect)" : ""}`;
    case "restarted":
      return `${e.client} restarted (${restartWhy(e)})`;
    case "malformed":
      return `ignored ${e.count} malformed datagram${e.count === 1 ? "" : "s"} (last from ${e.from}: ${e.reason})`;
    case "forgotten":
      return `forgot ${e.client}: silent for ${seconds1(e.silentMs)}`;
    case "evicted":
      return `warning: client table full (${e.maxClients}); dropped ${e.client}, silent for ${seconds1(e.silentMs)}`;
    case "failed":
      return `${e.client} failed: ${statusWords(e)}`;
    case "recovered":
      return `${e.client} ok again: ${statusWords(e)}`;
    case "never-seen":
      return `${e.client} never seen: expected within ${seconds1(e.deadlineMs)}`;
    case "refused":
      return `refused heartbeat from ${e.from}${e.client === null ? "" : ` as ${e.client}`}: ${REFUSAL[e.reason]} (${e.detail})${e.suppressed > 0 ? `; ${e.suppressed} more refused from there since the last report` : ""}`;
  }
}

function clientRow(c: ClientSnapshot, nowWall: number): string[] {
  const d = c.delayMs;
  return [
    c.id,
    c.failed && c.status !== "dead" ? "failed" : c.status,
    String(c.received),
    String(c.lost),
    c.lossPercent.toFixed(1),
    String(c.reordered),
    String(c.duplicates),
    d === null ? "-" : `${ms3(d.min)}/${ms3(d.avg)}/${ms3(d.max)}`,
    `${seconds1(Math.max(0, nowWall - c.lastSeen))} ago`,
    c.reportedStatus === null ? "-" : c.reportedMessage === null ? c.reportedStatus : `${c.reportedStatus} "${printableMessage(c.reportedMessage, 40)}"`,
  ];
}

/** The client table printed at exit and every --summary-every. */
export function renderClientTable(clients: ClientSnapshot[], nowWall: number, expected: ReadonlyArray<{ id: string; neverSeen: boolean }> = []): string {
  if (clients.length === 0 && expected.length === 0) return "no clients\n";
  // The "reported" column (status= and msg=) only when some client reports anything.
  const reported = clients.some((c) => c.reportedStatus !== null);
  const header = ["client", "status", "received", "lost", "loss %", "reordered", "dups", "delay min/avg/max ms", "last seen", ...(reported ? ["reported"] : [])];
  const waiting = expected.map((e) => [e.id, e.neverSeen ? "never-seen" : "expected", "0", "-", "-", "-", "-", "-", "never", ...(reported ? ["-"] : [])]);
  const rows = clients.map((c) => {
    const row = clientRow(c, nowWall);
    return reported ? row : row.slice(0, -1);
  });
  return renderTable(header, rows.concat(waiting));
}

/** What `heartbeat serve` prints at exit and every --summary-every: the client table and the totals. */
export function renderMonitorSummary(monitor: HeartbeatMonitor): string {
  const t = monitor.totals();
  return (
    renderClientTable(monitor.clients(), monitor.wallNow(), monitor.expected()) +
    `${t.heartbeats} heartbeat${t.heartbeats === 1 ? "" : "s"} from ${t.clients} client${t.clients === 1 ? "" : "s"}, ${t.lost} lost, ${t.reordered} reordered, ` +
    `${t.duplicates} duplicates, ${t.restarts} restarts, ${t.malformed} malformed${t.dropped > 0 ? `, ${t.dropped} dropped (impairment)` : ""}` +
    `${t.refused > 0 ? `, ${t.refused} refused` : ""}${t.neverSeen > 0 ? `, ${t.neverSeen} never seen` : ""}\n` +
    renderImpairmentTotals(monitor.impairmentTotals()) +
    "delay = monitor receive time - sender timestamp; it includes the offset between the hosts' clocks\n"
  );
}

/** The same summary as one JSON line (`heartbeat serve --json`). */
export function renderMonitorJsonSummary(monitor: HeartbeatMonitor): string {
  return `${JSON.stringify(snakeKeys({ kind: "summary", at: new Date(monitor.wallNow()).toISOString(), totals: monitor.totals(), clients: monitor.clients(), expected: monitor.expected() }))}\n`;
}

/** What the listening lines read of a started monitor (a HeartbeatMonitor is one). */
export interface ListeningMonitor {
  address: string;
  port: number;
  options: { readonly phiThreshold: number };
}

/**
 * The line a started monitor prints:
 * "listening on 0.0.0.0:12001 (dead after 3.0 s, suspect at phi > 8, impair: loss 20%, seed 7)".
 */
export function renderMonitorListening(monitor: ListeningMonitor, deadAfterMs: number, impairText: string): string {
  const lossNote = impairText === "" ? "" : `, ${impairText}`;
  return `listening on ${formatHostPort(monitor.address, monitor.port)} (dead after ${seconds1(deadAfterMs)}, suspect at phi > ${formatG(monitor.options.phiThreshold)}${lossNote})`;
}

/**
 * The listening line of `heartbeat serve --json` (with its newline): where, the deadline, the
 * phi threshold, the loss, and the impairments with their seed (null when none).
 */
export function renderMonitorListeningJson(monitor: ListeningMonitor & { seed: number }, deadAfterMs: number, loss: number, impairText: string): string {
  const impaired = impairText !== "";
  return `${JSON.stringify({ kind: "listening", address: monitor.address, port: monitor.port, dead_after_ms: deadAfterMs, phi: monitor.options.phiThreshold, loss, impairment: impaired ? impairText : null, seed: impaired ? monitor.seed : null })}\n`;
}

/** "metrics on http://127.0.0.1:9101/metrics" (no newline). */
export function renderMetricsLine(at: { address: string; port: number }): string {
  return `metrics on http://${formatHostPort(at.address, at.port)}/metrics`;
}

/** What the monitor's fleet options amount to, for {@link renderFleetLines}; a part is absent when its option is not given. */
export interface FleetSummary {
  /** --keys: how many clients have a key, whether unkeyed ones are refused, --max-skew. */
  keys?: { clients: number; required: boolean; maxSkewMs: number };
  /** --expect: how many clients are expected. */
  expected?: number;
  /** --state: the file, and what was loaded from it (absent: a new file). */
  state?: { path: string; loaded?: { clients: number; expectedNotSeen: number } };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The fleet lines `heartbeat serve` prints after its listening line (each with its newline):
 * "keys for 3 clients, unkeyed clients refused, max skew 30.0 s", "expecting 2 clients",
 * "state loaded from s.json: 2 clients, 1 expected not seen yet". "" with none of them.
 */
export function renderFleetLines(f: FleetSummary): string {
  let out = "";
  if (f.keys !== undefined) out += `keys for ${plural(f.keys.clients, "client")}${f.keys.required ? ", unkeyed clients refused" : ""}, max skew ${seconds1(f.keys.maxSkewMs)}\n`;
  if (f.expected !== undefined) out += `expecting ${plural(f.expected, "client")}\n`;
  if (f.state !== undefined) {
    const l = f.state.loaded;
    out += l === undefined ? `state in ${f.state.path} (new)\n` : `state loaded from ${f.state.path}: ${plural(l.clients, "client")}, ${l.expectedNotSeen} expected not seen yet\n`;
  }
  return out;
}

/** The hooks' totals at exit (with its newline): "hooks: 3 alerts, 2 delivered, 1 failed, 0 retried, 0 timed out, 0 dropped". */
export function renderHookTotals(h: HookTotals): string {
  return `hooks: ${renderTotals({ alerts: h.alerts, delivered: h.delivered, failed: h.failed, retried: h.retried, timedOut: h.timedOut, dropped: h.dropped })}\n`;
}

/** The same totals as one JSON line (`heartbeat serve --json`). */
export function renderHookTotalsJson(h: HookTotals): string {
  return `${JSON.stringify({ kind: "hooks", ...(snakeKeys(h) as object) })}\n`;
}

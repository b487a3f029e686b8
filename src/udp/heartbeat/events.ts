/**
 * The heartbeat monitor's events, and the one-line text each one is shown as — the same line
 * in the CLI and in the lab dashboard's feed (pure formatting, no printing here).
 */
import { escapeText } from "../../core/escape.js";
import type { ClientStatus, RestartReason } from "./tracker.js";

/** Everything the monitor reports, as it happens. `client` is the client id. */
export type HeartbeatEvent =
  | { kind: "client-joined"; client: string; address: string; seq: number; run?: string }
  | { kind: "heartbeat"; client: string; address: string; seq: number; delayMs: number }
  | { kind: "lost"; client: string; from: number; to: number; count: number }
  | { kind: "reordered"; client: string; seq: number; highest: number }
  | { kind: "duplicate"; client: string; seq: number }
  | { kind: "suspect"; client: string; phi: number; silentMs: number }
  | { kind: "stopped"; client: string; silentMs: number; lastSeq: number }
  | { kind: "resumed"; client: string; silentMs: number; from: "suspect" | "dead" }
  | { kind: "restarted"; client: string; seq: number; previousSeq: number; reason: RestartReason; run?: string; previousRun?: string }
  | { kind: "malformed"; count: number; from: string; reason: string }
  | { kind: "forgotten"; client: string; silentMs: number }
  | { kind: "evicted"; client: string; silentMs: number; maxClients: number }
  | { kind: "failed"; client: string; status: string; message: string | null; jobMs: number | null }
  | { kind: "recovered"; client: string; status: string; message: string | null; jobMs: number | null }
  | { kind: "never-seen"; client: string; deadlineMs: number }
  | { kind: "refused"; from: string; client: string | null; reason: RefusalReason; detail: string; suppressed: number };

/** Why a heartbeat was refused (`--keys`). */
export type RefusalReason = "bad-mac" | "no-mac" | "skew" | "replay" | "unkeyed";

export type HeartbeatEventKind = HeartbeatEvent["kind"];

/** Listener tuple per event kind, for TypedEmitter. */
export type HeartbeatMonitorEvents = { [K in HeartbeatEventKind]: [Extract<HeartbeatEvent, { kind: K }>] };

/** Every event kind, in a stable order (the CLI subscribes to all of them). */
export const HEARTBEAT_EVENT_KINDS: readonly HeartbeatEventKind[] = [
  "client-joined",
  "heartbeat",
  "lost",
  "reordered",
  "duplicate",
  "suspect",
  "stopped",
  "resumed",
  "restarted",
  "malformed",
  "forgotten",
  "evicted",
  "failed",
  "recovered",
  "never-seen",
  "refused",
];

/**
 * A message a client sent, safe to print on one line: control characters, backslashes and
 * non-ASCII bytes escaped (the project's one escaping, core/escape.ts).
 *
 * @example
 * printableMessage("disk\nfull") // "disk\\nfull"
 */
export function printableMessage(text: string, max = 200): string {
  return escapeText(text, max);
}

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

/** Seconds with one decimal: "3.0 s". */
export function seconds1(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

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

/** One client as the summary table, `--json` and the dashboard show it. */
export interface ClientSnapshot {
  id: string;
  address: string;
  status: ClientStatus;
  phi: number;
  received: number;
  lost: number;
  lossPercent: number;
  reordered: number;
  duplicates: number;
  restarts: number;
  lastSeq: number;
  run: string | null;
  /** Wall-clock ms. */
  firstSeen: number;
  lastSeen: number;
  /** One-way delay (receive − send timestamp), including the clock offset between the hosts. */
  delayMs: { min: number; avg: number; max: number; mdev: number } | null;
  /** Inter-arrival time of heartbeats. */
  intervalMs: { mean: number; stdDev: number; count: number } | null;
  /** The interval the client announced (`int=`), and the silence after which it is stopped. */
  announcedIntervalMs: number | null;
  deadAfterMs: number;
  /** Last `status=`, `msg=` (raw text: escape it to print) and `dur=` the client sent. */
  reportedStatus: string | null;
  reportedMessage: string | null;
  jobMs: number | null;
  /** A fail was reported and no ok since. */
  failed: boolean;
}

/**
 * The status shown in tables, metrics and alerts: stopped (dead) first, then failed, then
 * alive or suspect.
 */
export function shownStatus(c: Pick<ClientSnapshot, "status" | "failed">): "alive" | "suspect" | "stopped" | "failed" {
  return c.status === "dead" ? "stopped" : c.failed ? "failed" : c.status;
}

/**
 * The heartbeat monitor's events: one union, `HeartbeatEvent`, emitted as the monitor's one
 * `event`. The line each one is shown as is render/heartbeat-events.ts's.
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

/** The monitor's one event, for TypedEmitter: every `HeartbeatEvent`, told apart by `kind`. */
export type HeartbeatMonitorEvents = { event: [HeartbeatEvent] };

/** Every event kind, in a stable order. */
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

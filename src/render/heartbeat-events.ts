/**
 * The line shown for each heartbeat monitor event, shared by the CLI (`heartbeat serve`), the
 * lab dashboard and the pcap comments (render/pcap's users). Pure: an event in, a line out.
 */
import { printableMessage, type HeartbeatEvent, type RefusalReason } from "../udp/heartbeat/events.js";

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


/**
 * `wirekit heartbeat HOST PORT` (the sender) as a ladder: each heartbeat to each monitor, the
 * acknowledgements, a missed heartbeat as an arrow ending in a cross, late and duplicate acks,
 * the monitor going down and coming back, and datagrams the sender ignored. And the sender's
 * line per event, its statistics, its --json documents and its status line.
 */
import { formatHostPort } from "../core/address.js";
import { formatDuration } from "../core/duration.js";
import { millis } from "./heartbeat-events.js";
import { ignoredDecision, ms3, renderPingStatistics, seconds1 } from "./text.js";
import type { HeartbeatSenderEvent, HeartbeatSenderResult } from "../udp/heartbeat/sender.js";
import type { Ladder, LadderRow, MessageRow } from "./ladder.js";
import { ignoredDatagramRow } from "./ladder.js";
import { msText, type Timed } from "./record.js";

/** The sender's decision on an event's datagram (a pcap comment / ladder note); undefined for a plain exchange. */
export function heartbeatSenderDecision(e: HeartbeatSenderEvent, timeoutMs: number): string | undefined {
  switch (e.kind) {
    case "late":
      return `late ack for seq ${e.seq} (RTT ${e.rttMs.toFixed(3)} ms > ${msText(timeoutMs)}), counted missed`;
    case "duplicate":
      return `duplicate ack for seq ${e.seq}, not counted again`;
    case "miss":
      return `no ack within ${msText(timeoutMs)}: seq ${e.seq} missed (${e.consecutive} in a row)`;
    case "ignored":
      return ignoredDecision(e.reason, e.from);
    default:
      return undefined;
  }
}

export function heartbeatLadder(log: ReadonlyArray<Timed<HeartbeatSenderEvent>>, options: { timeoutMs: number }): Ladder {
  const starts = log.flatMap((t) => (t.event.kind === "start" ? [t.event] : []));
  const monitors = Math.max(1, starts.length);
  const lane = (m: number | undefined): number => 1 + Math.min(monitors - 1, m ?? 0);
  const rows: LadderRow[] = [];
  const sent = new Map<string, MessageRow>();
  const late = new Set<string>();
  for (const t of log) if (t.event.kind === "late") late.add(`${t.event.seq}/${t.event.monitor ?? 0}`);
  for (const { at, event: e } of log) {
    const decision = heartbeatSenderDecision(e, options.timeoutMs);
    const d = decision === undefined ? {} : { decision };
    switch (e.kind) {
      case "sent":
        for (let m = 0; m < monitors; m++) {
          const row: MessageRow = { kind: "message", from: 0, to: 1 + m, lines: [`heartbeat seq ${e.seq} (${e.bytes} bytes)`], at };
          sent.set(`${e.seq}/${m}`, row);
          rows.push(row);
        }
        break;
      case "reply":
        rows.push({ kind: "message", from: lane(e.monitor), to: 0, lines: [`ack seq ${e.seq}, RTT ${e.rttMs.toFixed(3)} ms`], at });
        break;
      case "late":
        rows.push({ kind: "message", from: lane(e.monitor), to: 0, lines: [`ack seq ${e.seq}, RTT ${e.rttMs.toFixed(3)} ms`], at, fate: "late", ...d });
        break;
      case "duplicate":
        rows.push({ kind: "message", from: lane(e.monitor), to: 0, lines: [`ack seq ${e.seq} again`], at, fate: "duplicate", ...d });
        break;
      case "miss": {
        const key = `${e.seq}/${e.monitor ?? 0}`;
        const row = sent.get(key);
        if (row !== undefined && !late.has(key)) {
          row.fate = "lost";
          if (decision !== undefined) row.decision = decision;
        }
        rows.push({ kind: "note", tone: "warn", text: `timeout: seq ${e.seq}, no ack after ${msText(options.timeoutMs)}`, at });
        break;
      }
      case "down":
        rows.push({ kind: "note", tone: "warn", text: `monitor down: ${e.misses} heartbeats missed in a row`, at });
        break;
      case "up":
        rows.push({ kind: "note", text: `monitor up again with seq ${e.seq}, after ${msText(e.downForMs)}`, at });
        break;
      case "ignored":
        rows.push(ignoredDatagramRow(e.bytes, e.from, at, decision));
        break;
      case "skipped":
        rows.push({ kind: "note", text: `seq ${e.seq} skipped (not sent)`, at });
        break;
      case "send-error":
        rows.push({ kind: "note", tone: "warn", text: `send failed for seq ${e.seq}: ${e.message}`, at });
        break;
      case "start":
        break;
    }
  }
  const client = starts[0];
  return {
    title: "heartbeat",
    lifelines: [
      { id: "C", label: client === undefined ? "sender" : `sender ${client.id}` },
      ...(starts.length === 0 ? [{ id: "M0", label: "monitor" }] : starts.map((s, i) => ({ id: `M${i}`, label: `monitor ${formatHostPort(s.server.address, s.server.port)}` }))),
    ],
    rows,
  };
}

/**
 * The line `wirekit heartbeat HOST PORT` prints for a sender event (with its newline), or
 * undefined for one it does not show; `quiet` keeps only the server going down or up and errors.
 * `monitor`: with several monitors, the HOST:PORT the event is about, put first in brackets.
 */
export function renderHeartbeatSenderEvent(e: HeartbeatSenderEvent, quiet: boolean, monitor?: string): string | undefined {
  const line = senderEventLine(e, quiet);
  return line === undefined || monitor === undefined ? line : `[${monitor}] ${line}`;
}

function senderEventLine(e: HeartbeatSenderEvent, quiet: boolean): string | undefined {
  switch (e.kind) {
    case "start":
      return quiet ? undefined : `HEARTBEAT ${e.host} (${formatHostPort(e.server.address, e.server.port)}) as ${e.id} (run ${e.run}), every ${formatDuration(e.intervalMs)}\n`;
    case "reply":
      return quiet ? undefined : `reply seq=${e.seq} rtt=${ms3(e.rttMs)} ms delay=${millis(e.delayMs)}\n`;
    case "late":
      return quiet ? undefined : `late reply seq=${e.seq} rtt=${ms3(e.rttMs)} ms delay=${millis(e.delayMs)}\n`;
    case "duplicate":
      return quiet ? undefined : `reply seq=${e.seq} rtt=${ms3(e.rttMs)} ms (DUP!)\n`;
    case "miss":
      return quiet ? undefined : `no reply for seq ${e.seq}\n`;
    case "down":
      return `server is assumed to be down after ${e.misses} consecutive misses\n`;
    case "up":
      return `server is answering again (seq ${e.seq}, down for ${seconds1(e.downForMs)})\n`;
    case "send-error":
      return `send failed for seq ${e.seq}: ${e.message}\n`;
    case "ignored":
    case "sent":
    case "skipped":
      return undefined;
  }
}

/** The `--json` document of a sender run, for one monitor. */
export function heartbeatSenderJson(r: HeartbeatSenderResult): unknown {
  const t = r.totals;
  return {
    host: r.host,
    server: r.server,
    id: r.id,
    run: r.run,
    sent: t.transmitted,
    replies: t.received,
    late: t.late,
    duplicates: t.duplicates,
    loss_percent: t.transmitted === 0 ? 0 : ((t.transmitted - t.received) * 100) / t.transmitted,
    time_ms: Math.round(t.elapsedMs),
    rtt_ms: r.rtt.count === 0 ? null : { min: r.rtt.min, avg: r.rtt.avg, max: r.rtt.max, mdev: r.rtt.mdev },
    server_down: r.down,
    down_events: r.downEvents,
  };
}

/** The `--json` document of a sender run: the first monitor's fields, and with several monitors one document each. */
export function heartbeatSenderDocument(r: HeartbeatSenderResult): unknown {
  return r.monitors === undefined ? heartbeatSenderJson(r) : { ...(heartbeatSenderJson(r) as object), monitors: r.monitors.map(heartbeatSenderJson) };
}

/** How `-- COMMAND` ended, for the sender's last line and its JSON. */
export interface SenderJobOutcome {
  /** Exit code; a signal is 128 + its number, as a shell reports it. */
  code: number;
  ms: number;
  /** "exit code 0", "killed by SIGTERM", "cannot run x: ..." */
  message: string;
}

/** The `--json-lines` summary line (with its newline): the `--json` document, and how COMMAND ended. */
export function renderHeartbeatSenderJsonLinesSummary(r: HeartbeatSenderResult, job?: SenderJobOutcome): string {
  return `${JSON.stringify({ kind: "summary", ...(heartbeatSenderDocument(r) as object), ...(job === undefined ? {} : { command: { code: job.code, ms: job.ms, message: job.message } }) })}\n`;
}

/** The statistics block of each monitor, ping's format (named HOST, or HOST:PORT with several monitors). */
export function renderHeartbeatSenderStatistics(r: HeartbeatSenderResult): string {
  const each = r.monitors ?? [r];
  return each.map((m) => renderPingStatistics(each.length === 1 ? m.host : formatHostPort(m.host, m.server.port), "heartbeat", m.totals, m.rtt)).join("");
}

/** The line after `-- COMMAND` ends (with its newline): "command: exit code 0, after 1.2 s; reported status=0". */
export function renderHeartbeatJobLine(j: SenderJobOutcome): string {
  return `command: ${j.message}, after ${seconds1(j.ms)}; reported status=${j.code}\n`;
}

/** The line a status request (SIGUSR1 / Ctrl-T) prints during a run: "3/5 heartbeats answered\n". */
export function renderHeartbeatSenderProgress(replies: number, sent: number): string {
  return `${replies}/${sent} heartbeats answered\n`;
}

/** A sender run in one line (the lab's --demo): '5 heartbeats as client "web-1", 5 answered, rtt avg 0.120 ms'. */
export function renderHeartbeatSenderSummaryLine(r: HeartbeatSenderResult): string {
  const t = r.totals;
  const rtt = r.rtt.count > 0 ? `, rtt avg ${ms3(r.rtt.avg)} ms` : "";
  return `${t.transmitted} heartbeats as client "${r.id}", ${t.received} answered${rtt}${r.down ? " (monitor declared down)" : ""}`;
}

/**
 * `wirekit udp-ping` as a ladder: each ping and its reply with times, a timed-out ping as an
 * arrow ending in a cross, a late reply drawn past its deadline, duplicates, and datagrams the
 * client ignored with their source. The same decisions, per datagram, are the pcap comments.
 */
import { formatHostPort } from "../core/address.js";
import type { UdpPingEvent, UdpPingResult } from "../udp/ping/client.js";
import { formatG, lossPercent } from "../core/stats.js";
import type { UdpPingServer, UdpPingServerEvent, UdpPingServerTotals } from "../udp/ping/server.js";
import { describeImpairment } from "../core/impair.js";
import { escapeBytes } from "../core/escape.js";
import { ms3, renderIgnoredLine } from "./text.js";
import type { Ladder, LadderRow, MessageRow } from "./ladder.js";
import { ignoredDatagramRow } from "./ladder.js";
import { msText, type Timed } from "./record.js";

/**
 * The line for a udp-ping server event (no newline): who sent what, and what the impairments
 * did to it. The same line in `udp-ping serve` and the lab's feed.
 *
 * @example
 * renderUdpPingServerEvent(e) // "127.0.0.1:57638 Ping 1 2026-11-23 18:18:07.300  dropped"
 */
export function renderUdpPingServerEvent(e: UdpPingServerEvent): string {
  return `${formatHostPort(e.from.address, e.from.port)} ${escapeBytes(e.message)}${e.impairment !== undefined ? `  ${e.impairment}` : ""}`;
}

/** The line a started server prints: "listening on 127.0.0.1:12000 (impair: loss 30%, seed 7)". */
export function renderUdpPingListening(server: UdpPingServer): string {
  const impairText = describeImpairment(server.impairment, server.seed);
  return `listening on ${formatHostPort(server.address, server.port)} (${impairText === "" ? "no impairment" : impairText})`;
}

/** The server's totals line at exit: "10 received, 7 replied, 3 dropped". */
export function renderUdpPingServerTotals(t: UdpPingServerTotals): string {
  return `${t.received} received, ${t.replied} replied, ${t.dropped} dropped`;
}

/** The line a status request (SIGUSR1 / Ctrl-T) prints during a run: "3/4 packets\n". */
export function renderUdpPingProgress(sent: number, received: number): string {
  return `${received}/${sent} packets\n`;
}

/** What the server's impairments did to a datagram, as its pcap comment; undefined when untouched. */
export function udpPingServerDecision(e: UdpPingServerEvent, seed: number): string | undefined {
  return e.impairment === undefined ? undefined : `${e.impairment} (simulated, seed ${seed})`;
}

/**
 * The line `wirekit udp-ping` prints for a pinger event (with its newline), or undefined for
 * one it does not show: `quiet` keeps errors only, `verbose` adds the datagrams it ignored.
 */
export function renderUdpPingEvent(e: UdpPingEvent, quiet: boolean, verbose: boolean): string | undefined {
  switch (e.kind) {
    case "start":
      return quiet ? undefined : `UDP-PING ${e.host} (${formatHostPort(e.server.address, e.server.port)}) from local ${formatHostPort(e.local.address, e.local.port)}\n`;
    case "reply":
      return quiet ? undefined : `Reply from ${e.from.address}: ${e.message}, RTT=${ms3(e.rttMs)} ms\n`;
    case "duplicate":
      return quiet ? undefined : `Reply from ${e.from.address}: seq ${e.seq}, RTT=${ms3(e.rttMs)} ms (DUP!)\n`;
    case "late":
      return quiet ? undefined : `Late reply for seq ${e.seq} (RTT=${ms3(e.rttMs)} ms)\n`;
    case "timeout":
      return quiet ? undefined : `Request timed out (seq ${e.seq})\n`;
    case "foreign":
      return verbose ? renderIgnoredLine(e.bytes, e.from, "not the server") : undefined;
    case "garbage":
      return verbose ? `ignored ${e.bytes} bytes from the server: ${e.reason}\n` : undefined;
    case "send-error":
      return `send failed for seq ${e.seq}: ${e.message}\n`;
    case "sent":
      return undefined;
  }
}

/** The decision the pinger took on an event's datagram, as a pcap comment / ladder note; undefined for a plain exchange. */
export function udpPingDecision(e: UdpPingEvent, timeoutMs: number): string | undefined {
  switch (e.kind) {
    case "late":
      return `late reply for seq ${e.seq} (RTT ${e.rttMs.toFixed(3)} ms > timeout ${msText(timeoutMs)}), counted lost`;
    case "duplicate":
      return `duplicate reply for seq ${e.seq} (DUP!), not counted again`;
    case "timeout":
      return `no reply within ${msText(timeoutMs)}: seq ${e.seq} counted lost`;
    case "foreign":
      return `ignored: from ${formatHostPort(e.from.address, e.from.port)}, not the server`;
    case "garbage":
      return `ignored: ${e.reason}`;
    default:
      return undefined;
  }
}

export function udpPingLadder(log: ReadonlyArray<Timed<UdpPingEvent>>, options: { timeoutMs: number }): Ladder {
  const start = log.find((t) => t.event.kind === "start")?.event;
  const rows: LadderRow[] = [];
  const sent = new Map<number, MessageRow>();
  const late = new Set<number>();
  for (const t of log) if (t.event.kind === "late") late.add(t.event.seq);
  for (const { at, event: e } of log) {
    const decision = udpPingDecision(e, options.timeoutMs);
    switch (e.kind) {
      case "sent": {
        const row: MessageRow = { kind: "message", from: 0, to: 1, lines: [`PING seq ${e.seq} (${e.bytes} bytes)`], at };
        sent.set(e.seq, row);
        rows.push(row);
        break;
      }
      case "reply":
        rows.push({ kind: "message", from: 1, to: 0, lines: [`reply seq ${e.seq}, RTT ${e.rttMs.toFixed(3)} ms`], at });
        break;
      case "duplicate":
        rows.push({ kind: "message", from: 1, to: 0, lines: [`reply seq ${e.seq} again`], at, fate: "duplicate", ...(decision ? { decision } : {}) });
        break;
      case "late":
        rows.push({ kind: "message", from: 1, to: 0, lines: [`reply seq ${e.seq}, RTT ${e.rttMs.toFixed(3)} ms`], at, fate: "late", ...(decision ? { decision } : {}) });
        break;
      case "timeout": {
        // The client cannot tell a lost ping from a lost reply; unless a late reply shows the
        // ping did arrive, draw the ping as the one that was lost.
        const row = sent.get(e.seq);
        if (row !== undefined && !late.has(e.seq)) {
          row.fate = "lost";
          if (decision !== undefined) row.decision = decision;
        }
        rows.push({ kind: "note", tone: "warn", text: `timeout: seq ${e.seq}, no reply after ${msText(options.timeoutMs)}`, at });
        break;
      }
      case "foreign":
        rows.push(ignoredDatagramRow(e.bytes, e.from, at, decision));
        break;
      case "garbage":
        rows.push(ignoredDatagramRow(e.bytes, undefined, at, decision));
        break;
      case "send-error":
        rows.push({ kind: "note", tone: "warn", text: `send failed for seq ${e.seq}: ${e.message}`, at });
        break;
      case "start":
        break;
    }
  }
  return {
    title: "udp-ping",
    lifelines: [
      { id: "C", label: start?.kind === "start" ? `client ${formatHostPort(start.local.address, start.local.port)}` : "client" },
      { id: "S", label: start?.kind === "start" ? `server ${formatHostPort(start.server.address, start.server.port)}` : "server" },
    ],
    rows,
  };
}

/** The `--json` document of a run (and the summary of `--json-lines`). */
export function udpPingJson(r: UdpPingResult): unknown {
  return {
    host: r.host,
    server: r.server,
    pings: r.pings.map((p) => ({ seq: p.seq, status: p.status, rtt_ms: p.rttMs ?? null, duplicates: p.duplicates })),
    summary: {
      transmitted: r.totals.transmitted,
      received: r.totals.received,
      duplicates: r.totals.duplicates,
      late: r.totals.late,
      loss_percent: lossPercent(r.totals.transmitted, r.totals.received),
      time_ms: Math.round(r.totals.elapsedMs),
      rtt_ms: r.rtt.count === 0 ? null : { min: r.rtt.min, avg: r.rtt.avg, max: r.rtt.max, mdev: r.rtt.mdev },
      foreign_datagrams: r.foreign,
    },
  };
}

/**
 * A run in one line (the lab's --demo):
 * "5 packets transmitted, 4 received, 20% packet loss, rtt min/avg/max = 0.052/0.071/0.103 ms".
 */
export function renderUdpPingSummaryLine(r: UdpPingResult): string {
  const t = r.totals;
  const rtt = r.rtt.count > 0 ? `, rtt min/avg/max = ${ms3(r.rtt.min)}/${ms3(r.rtt.avg)}/${ms3(r.rtt.max)} ms` : "";
  return `${t.transmitted} packets transmitted, ${t.received} received, ${formatG(lossPercent(t.transmitted, t.received))}% packet loss${rtt}`;
}

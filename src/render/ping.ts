/**
 * `wirekit ping` as a ladder: each echo request and its reply (with TTL and RTT), a timed-out
 * request as an arrow ending in a cross, late and duplicate replies, ICMP errors from a router,
 * replies whose data differs from what was sent, and packets ping ignored. With several targets,
 * one lifeline per target. And its text: the Windows-style line per event, the --json-lines
 * object, the statistics block and the table of several targets.
 */
import type { IcmpPingEvent, IcmpPingResult } from "../icmp/ping.js";
import type { IcmpErrorMessage } from "../icmp/message/index.js";
import { systemClock } from "../core/clock.js";
import { formatG, lossPercent } from "../core/stats.js";
import { ms3, renderJsonLine, renderTable } from "./text.js";
import type { Ladder, LadderRow, MessageRow } from "./ladder.js";
import { msText, type Timed } from "./record.js";

/** ping's decision on an event's packet (a pcap comment / ladder note); undefined for a plain exchange. */
export function pingDecision(e: IcmpPingEvent, timeoutMs: number): string | undefined {
  switch (e.kind) {
    case "late":
      return `late reply for seq ${e.seq} (RTT ${e.rttMs.toFixed(3)} ms > ${msText(timeoutMs)}), counted lost`;
    case "duplicate":
      return `duplicate reply for seq ${e.seq} (DUP!)`;
    case "timeout":
      return `no reply within ${msText(timeoutMs)}: seq ${e.seq} counted lost`;
    case "wrong-data":
      return `reply data differs from the request at byte #${e.mismatch.index}`;
    case "error":
    case "advisory":
      return `${e.text} from ${e.from}`;
    case "ignored":
      return `ignored: ${e.reason} (from ${e.from})`;
    default:
      return undefined;
  }
}

export function pingLadder(log: ReadonlyArray<Timed<IcmpPingEvent>>, options: { timeoutMs: number }): Ladder {
  const starts = log.flatMap((t) => (t.event.kind === "start" ? [t.event] : []));
  const lane = (target: number | undefined): number => 1 + Math.min(Math.max(0, starts.length - 1), target ?? 0);
  const rows: LadderRow[] = [];
  const sent = new Map<string, MessageRow>();
  const answers = new Map<string, MessageRow>();
  const late = new Set<string>();
  for (const t of log) if (t.event.kind === "late") late.add(`${t.event.target ?? 0}/${t.event.seq}`);
  for (const { at, event: e } of log) {
    const key = `${e.target ?? 0}/${"seq" in e ? e.seq : ""}`;
    const decision = pingDecision(e, options.timeoutMs);
    const d = decision === undefined ? {} : { decision };
    const s = lane(e.target);
    switch (e.kind) {
      case "sent": {
        const row: MessageRow = { kind: "message", from: 0, to: s, lines: [`echo request seq ${e.seq}`], at };
        sent.set(key, row);
        rows.push(row);
        break;
      }
      case "reply": {
        const row: MessageRow = { kind: "message", from: s, to: 0, lines: [`echo reply seq ${e.seq}, ${e.bytes} bytes${e.ttl === undefined ? "" : `, ttl ${e.ttl}`}, RTT ${e.rttMs.toFixed(3)} ms`], at };
        answers.set(key, row);
        rows.push(row);
        break;
      }
      case "duplicate": {
        const row: MessageRow = { kind: "message", from: s, to: 0, lines: [`echo reply seq ${e.seq} again`], at, fate: "duplicate", ...d };
        answers.set(key, row);
        rows.push(row);
        break;
      }
      case "late":
        rows.push({ kind: "message", from: s, to: 0, lines: [`echo reply seq ${e.seq}`], at, fate: "late", ...d });
        break;
      case "wrong-data": {
        const row = answers.get(key);
        if (row !== undefined && decision !== undefined) row.decision = decision;
        break;
      }
      case "timeout": {
        const row = sent.get(key);
        if (row !== undefined && !late.has(key)) {
          row.fate = "lost";
          if (decision !== undefined) row.decision = decision;
        }
        rows.push({ kind: "note", tone: "warn", text: `timeout: seq ${e.seq}, no reply after ${msText(options.timeoutMs)}`, at });
        break;
      }
      case "error":
      case "advisory":
        rows.push({ kind: "message", from: s, to: 0, lines: [`ICMP ${e.text} from ${e.from} (seq ${e.seq})`], at, ...d });
        break;
      case "ignored":
        rows.push({ kind: "message", from: s, to: 0, lines: [`ICMP from ${e.from}`], at, fate: "ignored", ...d });
        break;
      case "outstanding":
        rows.push({ kind: "note", text: `no reply yet for seq ${e.seq}`, at });
        break;
      case "send-error":
        rows.push({ kind: "note", tone: "warn", text: `send failed for seq ${e.seq}: ${e.message}`, at });
        break;
      case "local-error":
        rows.push({ kind: "note", tone: "warn", text: `seq ${e.seq} not sent: larger than the path MTU ${e.mtu}`, at });
        break;
      case "start":
        break;
    }
  }
  return {
    title: "ping",
    lifelines: [
      { id: "C", label: "this host" },
      ...(starts.length === 0 ? [{ id: "T0", label: "target" }] : starts.map((s, i) => ({ id: `T${i}`, label: s.host === s.address ? s.address : `${s.host} (${s.address})` }))),
    ],
    rows,
  };
}

/** How per-probe lines look: ping -D's timestamps (wall ms from `now`, default the system clock), ping -M's wording of fragmentation errors. */
export interface LineStyle {
  timestamps?: boolean;
  pmtu?: boolean;
  now?: () => number;
}

/** The table that closes a run with several targets: one row per target. */
export function renderTargetTable(results: readonly IcmpPingResult[], names: readonly string[]): string {
  const rows = results.map((r, i) => {
    const t = r.totals;
    const rtt = r.rtt.count === 0 ? "-" : `${ms3(r.rtt.min)}/${ms3(r.rtt.avg)}/${ms3(r.rtt.max)}/${ms3(r.rtt.mdev)}`;
    const name = names[i] ?? r.host;
    return [name === r.address ? name : `${name} [${r.address}]`, String(t.transmitted), String(t.received), `${lossText(lossPercent(t.transmitted, t.received))}%`, rtt];
  });
  return `\n${renderTable(["target", "sent", "received", "loss", "rtt min/avg/max/mdev ms"], rows)}`;
}

/** One --json-lines object: the event with its wall time, snake_case, without the raw ICMP message. */
export function pingJsonLine(e: IcmpPingEvent, nowMs: number, target: string | undefined): string {
  const { target: _index, ...rest } = e;
  const plain = "error" in rest ? { ...rest, error: undefined } : rest;
  return renderJsonLine({ ...plain, ...(target === undefined ? {} : { target }) }, nowMs);
}

/** One line per event, in the lab's Windows-style format. */
export function renderPingEvent(e: IcmpPingEvent, style: LineStyle = {}): string | undefined {
  const line = eventText(e, style);
  if (line === undefined || style.timestamps !== true || e.kind === "start") return line;
  // ping -D: the wall time as [seconds.microseconds].
  return `[${((style.now?.() ?? systemClock.now()) / 1000).toFixed(6)}] ${line}`;
}

function eventText(e: IcmpPingEvent, style: LineStyle): string | undefined {
  switch (e.kind) {
    case "start": {
      const who = e.host === e.address ? e.address : `${e.host} [${e.address}]`;
      return `Pinging ${who} with ${e.size} bytes of data:\n`;
    }
    case "reply":
      return `Reply from ${e.from}: bytes=${e.bytes} time=${ms3(e.rttMs)}ms${e.ttl === undefined ? "" : ` TTL=${e.ttl}`}${e.differentAddress ? " (DIFFERENT ADDRESS!)" : ""}\n`;
    case "duplicate":
      return `Reply from ${e.from}: bytes=${e.bytes} time=${ms3(e.rttMs)}ms${e.ttl === undefined ? "" : ` TTL=${e.ttl}`} (DUP!)\n`;
    case "late":
      return `Late reply from ${e.from}: icmp_seq=${e.seq} time=${ms3(e.rttMs)}ms (counted as lost)\n`;
    case "wrong-data":
      // iputils' wording (ping_common.c), on its own line after the reply it concerns.
      return `wrong data byte #${e.mismatch.index} should be 0x${e.mismatch.expected.toString(16)} but was 0x${e.mismatch.actual.toString(16)}\n`;
    case "timeout":
      return "Request timed out.\n";
    case "error":
    case "advisory":
      return `Reply from ${e.from}: ${style.pmtu === true ? pmtuText(e.error) ?? e.text : e.text}\n`;
    case "send-error":
      // With -M, a refusal above the path MTU is reported by the local-error line that follows.
      return style.pmtu === true && e.code === "EMSGSIZE" ? undefined : `Transmit failed: ${e.message}.\n`;
    case "local-error":
      return `Local error: Frag needed and DF set (mtu = ${e.mtu})\n`;
    case "outstanding":
      return `No answer yet for icmp_seq=${e.seq}\n`;
    case "sent":
    case "ignored":
      return undefined;
  }
}

/** ping(8)'s wording of "fragmentation needed" and "packet too big", with the MTU the router gave. */
function pmtuText(err: IcmpErrorMessage): string | undefined {
  if (err.kind === "dest-unreachable" && err.family === 4 && err.code === 4) return `Frag needed and DF set (mtu = ${err.nextHopMtu ?? 0})`;
  if (err.kind === "packet-too-big") return `Packet too big: mtu = ${err.mtu}`;
  return undefined;
}

/** The line a status request (SIGUSR1 / Ctrl-T) prints during a run: "3/4 packets, 25% loss\n". */
export function renderPingProgress(sent: number, received: number): string {
  return `${received}/${sent} packets, ${formatG(lossPercent(sent, received))}% loss\n`;
}

/** The one header of a run over several targets, in place of each target's start line. */
export function renderPingManyHeader(targets: number, size: number): string {
  return `Pinging ${targets} targets with ${size} bytes of data:\n`;
}

/** The line after the start line with -p, naming the pattern the data is filled with, as iputils does: "PATTERN: 0xff00\n". */
export function renderPingPattern(pattern: Uint8Array): string {
  return `PATTERN: 0x${Buffer.from(pattern).toString("hex")}\n`;
}

/** The Windows-style statistics block. */
export function renderIcmpPingStatistics(r: IcmpPingResult): string {
  const t = r.totals;
  const lost = t.transmitted - t.received;
  let out = `\nPing statistics for ${r.address}:\n`;
  out += `    Packets: Sent = ${t.transmitted}, Received = ${t.received}, Lost = ${lost} (${lossText(lossPercent(t.transmitted, t.received))}% loss),\n`;
  if (t.duplicates > 0 || t.late > 0) out += `    Duplicates = ${t.duplicates}, Late = ${t.late}\n`;
  if (t.corrupted > 0) out += `    Corrupted = ${t.corrupted} (wrong data, included in Received and Duplicates)\n`;
  if (r.rtt.count > 0) {
    out += "Approximate round trip times in milli-seconds:\n";
    out += `    Minimum = ${ms3(r.rtt.min)}ms, Maximum = ${ms3(r.rtt.max)}ms, Average = ${ms3(r.rtt.avg)}ms, Std dev = ${ms3(r.rtt.mdev)}ms\n`;
  }
  return out;
}

/** Loss as Windows shows it (a whole number) when exact, else one decimal, never rounded to 0 or 100. */
export function lossText(pct: number): string {
  if (Number.isInteger(pct)) return String(pct);
  const s = (Math.floor(pct * 10) / 10).toFixed(1);
  return s === "0.0" ? formatG(Number(pct.toPrecision(1))) : s;
}

/** The `--json` document of one target (and the summary of `--json-lines`). */
export function pingJson(r: IcmpPingResult): unknown {
  return {
    host: r.host,
    address: r.address,
    family: r.family,
    socket: r.socket,
    pings: r.pings.map((p) => ({
      seq: p.seq,
      status: p.status,
      rtt_ms: p.rttMs ?? null,
      ttl: p.ttl ?? null,
      from: p.from ?? null,
      error: p.error ?? null,
      duplicates: p.duplicates,
      wrong_data: p.wrongData === undefined ? null : { index: p.wrongData.index, expected: p.wrongData.expected, actual: p.wrongData.actual },
    })),
    summary: {
      transmitted: r.totals.transmitted,
      received: r.totals.received,
      lost: r.totals.transmitted - r.totals.received,
      errors: r.totals.errors,
      duplicates: r.totals.duplicates,
      late: r.totals.late,
      corrupted: r.totals.corrupted,
      loss_percent: lossPercent(r.totals.transmitted, r.totals.received),
      time_ms: Math.round(r.totals.elapsedMs),
      rtt_ms: r.rtt.count === 0 ? null : { min: r.rtt.min, avg: r.rtt.avg, max: r.rtt.max, mdev: r.rtt.mdev },
    },
  };
}

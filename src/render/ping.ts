/**
 * `wirekit ping` as a ladder: each echo request and its reply (with TTL and RTT), a timed-out
 * request as an arrow ending in a cross, late and duplicate replies, ICMP errors from a router,
 * replies whose data differs from what was sent, and packets ping ignored. With several targets,
 * one lifeline per target.
 */
import type { IcmpPingEvent } from "../icmp/ping.js";
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

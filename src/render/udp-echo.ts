/**
 * `wirekit udp-echo HOST PORT` as a ladder: the request and each retransmission with the
 * backoff interval it waits, each timeout, datagrams ignored (a forged reply: its source and
 * why), and the reply.
 */
import { formatHostPort } from "../core/address.js";
import type { UdpEchoClientEvent, UdpEchoResult } from "../udp/echo/client.js";
import type { Ladder, LadderRow, MessageRow } from "./ladder.js";
import { msText, type Timed } from "./record.js";

/** The client's decision on an event's datagram (a pcap comment / ladder note); undefined for none. */
export function udpEchoDecision(e: UdpEchoClientEvent): string | undefined {
  switch (e.kind) {
    case "attempt":
      return e.attempt > 1 ? `retransmission ${e.attempt - 1}, timeout ${msText(e.timeoutMs)}` : undefined;
    case "timeout":
      return `no reply within ${msText(e.waitedMs)}${e.nextTimeoutMs === undefined ? ": giving up" : `: retransmit, next timeout ${msText(e.nextTimeoutMs)}`}`;
    case "ignored":
      return `ignored: ${e.reason} (from ${formatHostPort(e.from.address, e.from.port)})`;
    default:
      return undefined;
  }
}

/** `doneAt`: when `run()` resolved, on the log's time base (the reply's arrival). */
export function udpEchoLadder(log: ReadonlyArray<Timed<UdpEchoClientEvent>>, result: UdpEchoResult | undefined, doneAt: number): Ladder {
  const start = log.find((t) => t.event.kind === "start")?.event;
  const rows: LadderRow[] = [];
  const attempts = new Map<number, MessageRow>();
  for (const { at, event: e } of log) {
    const decision = udpEchoDecision(e);
    const d = decision === undefined ? {} : { decision };
    switch (e.kind) {
      case "attempt": {
        const id = start?.kind === "start" ? `id ${start.requestId}, ` : "";
        const row: MessageRow = { kind: "message", from: 0, to: 1, lines: [`request ${id}attempt ${e.attempt} (wait ${msText(e.timeoutMs)})`], at, ...d };
        attempts.set(e.attempt, row);
        rows.push(row);
        break;
      }
      case "timeout": {
        // A timed-out attempt is drawn lost unless its reply came later after all.
        const row = attempts.get(e.attempt);
        if (row !== undefined && !(result?.status === "reply" && result.reply !== undefined && result.reply.attempts === e.attempt)) {
          row.fate = "lost";
          row.decision = decision;
        }
        rows.push({ kind: "note", tone: "warn", text: `timeout after ${msText(e.waitedMs)}${e.nextTimeoutMs === undefined ? ", giving up" : `, backoff: next wait ${msText(e.nextTimeoutMs)}`}`, at });
        break;
      }
      case "ignored":
        rows.push({ kind: "message", from: 1, to: 0, lines: [`${e.bytes} bytes from ${formatHostPort(e.from.address, e.from.port)}`], at, fate: "ignored", ...d });
        break;
      case "send-error":
        rows.push({ kind: "note", tone: "warn", text: `send failed (attempt ${e.attempt}): ${e.error.message}`, at });
        break;
      case "start":
        break;
    }
  }
  if (result?.status === "reply" && result.reply !== undefined) {
    const r = result.reply;
    const verified = r.fromServer && r.idMatches;
    rows.push({
      kind: "message",
      from: 1,
      to: 0,
      lines: [`reply ${r.bytes === undefined ? "" : `(${r.bytes} bytes echoed) `}RTT ${r.rttMs.toFixed(3)} ms`],
      at: doneAt,
      ...(verified ? {} : { fate: "ignored" as const, decision: `UNVERIFIED (${r.fromServer ? "wrong request id" : `from ${formatHostPort(r.from.address, r.from.port)}, not the server`}), accepted because of --no-verify` }),
    });
  } else if (result !== undefined) rows.push({ kind: "note", tone: "warn", text: result.status === "gave-up" ? `gave up after ${result.attempts} attempts` : result.status, at: doneAt });
  return {
    title: "udp-echo",
    lifelines: [
      { id: "C", label: start?.kind === "start" ? `client ${formatHostPort(start.local.address, start.local.port)}` : "client" },
      { id: "S", label: start?.kind === "start" ? `server ${formatHostPort(start.server.address, start.server.port)}` : "server" },
    ],
    rows,
  };
}

/**
 * `wirekit udp-echo HOST PORT` as a ladder: the request and each retransmission with the
 * backoff interval it waits, each timeout, datagrams ignored (a forged reply: its source and
 * why), and the reply. And the lines of the client and of send-big, per event, their last
 * line and their --json documents.
 */
import { formatHostPort } from "../core/address.js";
import { formatG } from "../core/stats.js";
import type { UdpEchoClientEvent, UdpEchoResult } from "../udp/echo/client.js";
import type { SendBigEvent, SendBigResult } from "../udp/echo/bigsend.js";
import { missingPartsOf } from "../udp/echo/reassembly.js";
import { printableMessage } from "./udp-echo-server.js";
import { ignoredDecision, renderIgnoredLine, seconds1 } from "./text.js";
import type { Ladder, LadderRow, MessageRow } from "./ladder.js";
import { ignoredDatagramRow } from "./ladder.js";
import { msText, type Timed } from "./record.js";

/** The client's decision on an event's datagram (a pcap comment / ladder note); undefined for none. */
export function udpEchoDecision(e: UdpEchoClientEvent): string | undefined {
  switch (e.kind) {
    case "attempt":
      return e.attempt > 1 ? `retransmission ${e.attempt - 1}, timeout ${msText(e.timeoutMs)}` : undefined;
    case "timeout":
      return `no reply within ${msText(e.waitedMs)}${e.nextTimeoutMs === undefined ? ": giving up" : `: retransmit, next timeout ${msText(e.nextTimeoutMs)}`}`;
    case "ignored":
      return ignoredDecision(e.reason, e.from);
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
        rows.push(ignoredDatagramRow(e.bytes, e.from, at, decision));
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

function ms(x: number): string {
  return `${Math.round(x)} ms`;
}

/** The line `wirekit udp-echo HOST PORT` prints for a client event (with its newline), or undefined. */
export function renderUdpEchoClientEvent(e: UdpEchoClientEvent): string | undefined {
  switch (e.kind) {
    case "start":
      return `local ${formatHostPort(e.local.address, e.local.port)}\n`;
    case "attempt":
      return undefined;
    case "timeout":
      return e.nextTimeoutMs === undefined
        ? `attempt ${e.attempt}: no reply in ${ms(e.waitedMs)}\n`
        : `attempt ${e.attempt}: no reply in ${ms(e.waitedMs)}, retrying with ${ms(e.nextTimeoutMs)}\n`;
    case "ignored":
      return renderIgnoredLine(e.bytes, e.from, e.reason);
    case "send-error":
      return `attempt ${e.attempt}: ${e.error.message}\n`;
  }
}

/** The line `wirekit udp-echo send-big` prints for an event (with its newline), or undefined. */
export function renderSendBigEvent(e: SendBigEvent): string | undefined {
  switch (e.kind) {
    case "start":
      return undefined;
    case "single":
      if (e.status === "sent") return "packet sent\n";
      if (e.status === "too-big") return `packet too big, cannot send: ${e.bytes} bytes > ${e.limit}, the largest UDP payload over IPv${e.family}\n`;
      return `packet not sent: ${e.error}\n`;
    case "part":
      return undefined;
    case "parts-sent": {
      const last = e.lastPartBytes === e.partBytes ? "" : ` (the last ${e.lastPartBytes})`;
      const failed = e.failed > 0 ? `, ${e.failed} failed to send` : "";
      return `sent ${e.count} datagram${e.count === 1 ? "" : "s"} of ${e.partBytes} bytes${last}${failed}\n`;
    }
    case "reply":
      return `server: ${printableMessage(Buffer.from(e.text, "utf8"), 200)}\n`;
    case "ignored":
      return renderIgnoredLine(e.bytes, e.from, e.reason);
  }
}

/** The line that ends `wirekit udp-echo HOST PORT`: the reply, or why there is none. */
export function renderUdpEchoOutcome(r: UdpEchoResult): string {
  const secs = seconds1(r.elapsedMs);
  switch (r.status) {
    case "reply": {
      const p = r.reply;
      if (p === undefined) return "";
      const from = formatHostPort(p.from.address, p.from.port);
      const warn = p.fromServer && p.idMatches ? "" : ` (UNVERIFIED: ${p.fromServer ? "wrong request id" : "not the server"}, accepted because of --no-verify)`;
      const tries = p.attempts > 1 ? `, ${p.attempts} attempts, ${ms(p.elapsedMs)} since the first` : "";
      return `reply from ${from} in ${p.rttMs.toFixed(3)} ms${tries}${warn}: ${printableMessage(Buffer.from(p.text, "utf8"), 200)}\n`;
    }
    case "gave-up":
      return `gave up after ${r.attempts} attempts (${secs}): server down or network dropping everything\n`;
    case "aborted":
      return `interrupted after ${r.attempts} attempt${r.attempts === 1 ? "" : "s"} (${secs}), no reply\n`;
    case "send-failed":
      return `cannot send: ${r.error ?? "send failed"}\n`;
  }
}

/**
 * `wirekit udp-echo HOST PORT --json`: the result, the timeout of each attempt and the
 * datagrams ignored, from the run's events.
 */
export function udpEchoJson(r: UdpEchoResult, events: readonly UdpEchoClientEvent[]): unknown {
  return {
    status: r.status,
    server: r.server,
    local: r.local,
    request_id: r.requestId,
    message_bytes: r.messageBytes,
    attempts: r.attempts,
    elapsed_ms: r.elapsedMs,
    timeouts_ms: events.flatMap((e) => (e.kind === "attempt" ? [e.timeoutMs] : [])),
    ignored: events.flatMap((e) => (e.kind === "ignored" ? [{ from: e.from, bytes: e.bytes, reason: e.reason }] : [])),
    reply: r.reply === undefined ? null : {
      text: r.reply.text, id: r.reply.id ?? null, from: r.reply.from, from_server: r.reply.fromServer,
      id_matches: r.reply.idMatches, bytes: r.reply.bytes ?? null, rtt_ms: r.reply.rttMs, elapsed_ms: r.reply.elapsedMs,
    },
    ...(r.error !== undefined ? { error: r.error } : {}),
  };
}

/** `wirekit udp-echo send-big --json`. */
export function sendBigJson(r: SendBigResult): unknown {
  return {
    single: r.single, size: r.size, limit: r.limit, parts: r.parts, part_bytes: r.partBytes, message_id: r.messageId,
    confirmation: r.confirmation, confirmation_text: r.confirmationText ?? null,
  };
}

/**
 * The line that ends `wirekit udp-echo send-big` when the server gave no verdict (with its
 * newline); "" when it did (its verdict was the last line) or when `waitMs` is 0 (none asked).
 * `interrupted`: the run was stopped (Ctrl-C) before the verdict.
 */
export function renderSendBigOutcome(r: SendBigResult, waitMs: number, interrupted: boolean): string {
  if (waitMs === 0 || r.confirmation !== "none") return "";
  if (interrupted) return "interrupted before the server's verdict\n";
  return `no verdict from the server in ${formatG(waitMs / 1000)} s (is it a wirekit udp-echo server?)\n`;
}

/** A verified reply in one line (the lab's --demo): "I received ... (attempt 1, RTT 0.210 ms, request id checked)". */
export function renderUdpEchoReplyLine(reply: NonNullable<UdpEchoResult["reply"]>): string {
  return `${printableMessage(Buffer.from(reply.text, "utf8"), 200)} (attempt ${reply.attempts}, RTT ${reply.rttMs.toFixed(3)} ms, request id checked)`;
}

/** send-big's word on a part the server's verdict names missing. */
export const MISSING_PART = "reported missing in the server's verdict";

/** send-big's decision on a datagram it sent or received (a pcap comment / ladder note); undefined for none. */
export function sendBigDecision(e: SendBigEvent): string | undefined {
  switch (e.kind) {
    case "part":
      return e.error === undefined ? `part ${e.number}/${e.count}` : `part ${e.number}/${e.count}: send failed: ${e.error}`;
    case "reply":
      return e.forParts ? `the server's verdict on the split send: ${e.text.startsWith("incomplete") ? "incomplete" : "complete"}` : "the server's reply to the single datagram";
    case "ignored":
      return ignoredDecision(e.reason, e.from);
    default:
      return undefined;
  }
}

/**
 * `wirekit udp-echo send-big` as a ladder: the big datagram (refused by the OS above the UDP
 * limit: a note, it never left), each part datagram, the server's verdict, and datagrams
 * ignored. A part the verdict names missing ends in a cross; no verdict in `waitMs` is a timeout.
 * `doneAt`: when the run ended, on the log's time base.
 */
export function sendBigLadder(log: ReadonlyArray<Timed<SendBigEvent>>, result: SendBigResult | undefined, options: { waitMs: number; doneAt: number }): Ladder {
  const start = log.find((t) => t.event.kind === "start")?.event;
  const rows: LadderRow[] = [];
  const parts = new Map<number, MessageRow>();
  let count = 0;
  for (const { at, event: e } of log) {
    const decision = sendBigDecision(e);
    if (e.kind === "part") count = e.count;
    switch (e.kind) {
      case "single":
        if (e.status === "sent") rows.push({ kind: "message", from: 0, to: 1, lines: [`one datagram of ${e.bytes} bytes`], at });
        else if (e.status === "too-big") rows.push({ kind: "note", tone: "warn", text: `one datagram of ${e.bytes} bytes: refused by the OS (EMSGSIZE), above ${e.limit}, the largest UDP payload over IPv${e.family}; never sent`, at });
        else rows.push({ kind: "note", tone: "warn", text: `one datagram of ${e.bytes} bytes: not sent: ${e.error}`, at });
        break;
      case "part": {
        const row: MessageRow = { kind: "message", from: 0, to: 1, lines: [`part ${e.number}/${e.count} (${e.bytes} bytes)`], at, ...(e.error === undefined ? {} : { fate: "lost" as const, decision: decision ?? "" }) };
        parts.set(e.number, row);
        rows.push(row);
        break;
      }
      case "reply": {
        if (e.forParts) {
          for (const n of missingPartsOf(e.text, count)) {
            const row = parts.get(n);
            if (row !== undefined && row.fate === undefined) Object.assign(row, { fate: "lost", decision: MISSING_PART });
          }
        }
        rows.push({ kind: "message", from: 1, to: 0, lines: [e.forParts ? `verdict: ${e.text}` : `reply: ${e.text}`], at, ...(decision === undefined ? {} : { decision }) });
        break;
      }
      case "ignored":
        rows.push(ignoredDatagramRow(e.bytes, e.from, at, decision));
        break;
      case "start":
      case "parts-sent":
        break;
    }
  }
  if (result !== undefined && result.confirmation === "none" && options.waitMs > 0) rows.push({ kind: "note", tone: "warn", text: `timeout: no verdict from the server within ${msText(options.waitMs)}`, at: options.doneAt });
  return {
    title: start?.kind === "start" ? `udp-echo send-big: ${start.size} bytes, message ${start.messageId}` : "udp-echo send-big",
    lifelines: [
      { id: "C", label: start?.kind === "start" ? `sender ${formatHostPort(start.local.address, start.local.port)}` : "sender" },
      { id: "S", label: start?.kind === "start" ? `server ${formatHostPort(start.server.address, start.server.port)}` : "server" },
    ],
    rows,
  };
}

/**
 * The SMTP exchange as a ladder diagram, for a lab report: client and server lifelines, every
 * command (client → server, solid) and every reply line (server → client, dashed, with its code),
 * the TLS upgrade as a band across both lifelines after which the lifelines turn green.
 * The transcript is already redacted (AUTH secrets masked) when it gets here. And the text that
 * closes `wirekit mail`: its outcome lines and its --json document.
 */
import { formatHostPort } from "../core/address.js";
import { transcriptLines, type TranscriptEntry } from "../smtp/transcript.js";
import { formatReply } from "../smtp/reply.js";
import type { SendMailResult } from "../smtp/session.js";
import { escapeBytes } from "../core/escape.js";
import { renderLadderMermaid, renderLadderSvg, type Ladder, type LadderRow } from "./ladder.js";

export { escapeXml } from "./ladder.js";

export interface DiagramOptions {
  /** Title at the top. @default "SMTP session" */
  title?: string;
  /** Label of the client lifeline. @default "client (wirekit)" */
  client?: string;
  /** Label of the server lifeline. @default "server HOST:PORT" from the transcript */
  server?: string;
}

function rows(transcript: readonly TranscriptEntry[]): LadderRow[] {
  const out: LadderRow[] = [];
  for (const e of transcript) {
    switch (e.kind) {
      case "client":
        out.push({ kind: "message", from: 0, to: 1, lines: [e.text], at: e.at });
        break;
      case "message":
        out.push({ kind: "message", from: 0, to: 1, lines: [`<message, ${e.octets} octets>`], at: e.at });
        break;
      case "server":
        out.push({ kind: "message", from: 1, to: 0, lines: e.lines, at: e.at });
        break;
      case "tls":
        out.push({ kind: "note", tone: "tls", text: `TLS established: ${e.protocol} ${e.cipher}${e.verified ? " (certificate verified)" : " (certificate NOT verified)"}`, at: e.at });
        break;
      default:
        out.push({ kind: "note", text: (transcriptLines(e)[0] ?? "").replace(/^\* /, "") });
    }
  }
  return out;
}

function serverLabel(transcript: readonly TranscriptEntry[]): string {
  const c = transcript.find((e) => e.kind === "connect");
  return c?.kind === "connect" ? `server ${formatHostPort(c.host, c.port)}` : "server";
}

/** The transcript as a Ladder (what `--diagram` renders). */
export function smtpLadder(transcript: readonly TranscriptEntry[], options: DiagramOptions = {}): Ladder {
  return {
    title: options.title ?? "SMTP session",
    lifelines: [
      { id: "C", label: options.client ?? "client (wirekit)" },
      { id: "S", label: options.server ?? serverLabel(transcript) },
    ],
    rows: rows(transcript),
  };
}

/**
 * Render the transcript as an SVG document.
 *
 * @example
 * const svg = renderDiagramSvg(result.transcript);
 * svg.startsWith("<?xml") // true
 */
export function renderDiagramSvg(transcript: readonly TranscriptEntry[], options: DiagramOptions = {}): string {
  return renderLadderSvg(smtpLadder(transcript, options));
}

/**
 * Render the transcript as Mermaid `sequenceDiagram` text.
 *
 * @example
 * renderDiagramMermaid(result.transcript).split("\n")[0] // "sequenceDiagram"
 */
export function renderDiagramMermaid(transcript: readonly TranscriptEntry[], options: DiagramOptions = {}): string {
  return renderLadderMermaid(smtpLadder(transcript, options));
}

/** Server text for the terminal: control characters a peer sent (ESC, BEL...) are shown escaped, never sent raw. */
export function printable(s: string): string {
  return escapeBytes(Buffer.from(s, "utf8"), Infinity);
}

/** What `wirekit mail` prints once the session is over: refused recipients, then the acceptance. */
export function renderMailOutcome(r: SendMailResult): string {
  let out = "";
  for (const rc of r.outcome.recipients) {
    if (!rc.accepted && rc.reply !== undefined) out += `recipient refused: <${rc.address}>: ${printable(formatReply(rc.reply))}\n`;
  }
  if (r.outcome.status === "accepted" && r.outcome.reply !== undefined) {
    const n = r.outcome.recipients.filter((x) => x.accepted).length;
    const partial = n < r.outcome.recipients.length ? ` (${n} of ${r.outcome.recipients.length} recipients)` : "";
    out += `message accepted: ${printable(formatReply(r.outcome.reply))}${partial}\n`;
  }
  return out;
}

/** The `--json` document of a session. */
export function mailJson(r: SendMailResult, server: { host: string; port: number }, messageId: string): unknown {
  const o = r.outcome;
  const reply = (x: typeof o.reply) => (x === undefined ? null : { code: x.code, enhanced: x.enhanced === undefined ? null : `${x.enhanced.class}.${x.enhanced.subject}.${x.enhanced.detail}`, lines: x.lines });
  return {
    server,
    message_id: messageId,
    status: o.status,
    phase: o.phase ?? null,
    reply: reply(o.reply),
    error: o.error === undefined ? null : o.error,
    tls: o.tls,
    auth_mechanism: o.authMechanism ?? null,
    capabilities: o.capabilities === undefined ? null : { domain: o.capabilities.domain, keywords: Object.fromEntries(o.capabilities.keywords) },
    recipients: o.recipients.map((x) => ({ address: x.address, accepted: x.accepted, reply: reply(x.reply) })),
    transcript: r.transcript,
  };
}

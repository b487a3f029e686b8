/**
 * The SMTP exchange as a ladder diagram, for a lab report: client and server lifelines, every
 * command (client → server, solid) and every reply line (server → client, dashed, with its code),
 * the TLS upgrade as a band across both lifelines after which the lifelines turn green.
 * The transcript is already redacted (AUTH secrets masked) when it gets here.
 */
import { formatHostPort } from "../core/address.js";
import { transcriptLines, type TranscriptEntry } from "../smtp/transcript.js";
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

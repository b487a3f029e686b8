/**
 * The exchange as a sequence diagram, for a lab report: client and server lifelines, every
 * command (client → server, solid) and every reply line (server → client, dashed, with its code),
 * the TLS upgrade as a band across both lifelines after which the lifelines turn green.
 * Two outputs: a self-contained SVG written here (no browser, no fonts to fetch; XML-escaped so
 * server text cannot break it) and Mermaid text for tools that render Mermaid.
 */
import { formatHostPort } from "../core/address.js";
import { transcriptLines, type TranscriptEntry } from "./transcript.js";

export interface DiagramOptions {
  /** Title at the top. @default "SMTP session" */
  title?: string;
  /** Label of the client lifeline. @default "client (wirekit)" */
  client?: string;
  /** Label of the server lifeline. @default "server HOST:PORT" from the transcript */
  server?: string;
}

type Row =
  | { kind: "arrow"; dir: "c2s" | "s2c"; lines: string[]; at: number }
  | { kind: "band"; text: string; tls: boolean; at: number };

function rows(transcript: readonly TranscriptEntry[]): Row[] {
  const out: Row[] = [];
  for (const e of transcript) {
    switch (e.kind) {
      case "client":
        out.push({ kind: "arrow", dir: "c2s", lines: [e.text], at: e.at });
        break;
      case "message":
        out.push({ kind: "arrow", dir: "c2s", lines: [`<message, ${e.octets} octets>`], at: e.at });
        break;
      case "server":
        out.push({ kind: "arrow", dir: "s2c", lines: e.lines, at: e.at });
        break;
      case "tls":
        out.push({ kind: "band", text: `TLS established: ${e.protocol} ${e.cipher}${e.verified ? " (certificate verified)" : " (certificate NOT verified)"}`, tls: true, at: e.at });
        break;
      default:
        out.push({ kind: "band", text: (transcriptLines(e)[0] ?? "").replace(/^\* /, ""), tls: false, at: e.at });
    }
  }
  return out;
}

function serverLabel(transcript: readonly TranscriptEntry[]): string {
  const c = transcript.find((e) => e.kind === "connect");
  return c?.kind === "connect" ? `server ${formatHostPort(c.host, c.port)}` : "server";
}

/** Escape text for XML character data and attribute values; drop characters XML forbids. */
export function escapeXml(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex -- matching the control characters XML 1.0 forbids is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "\ufffd")
    .replace(/[\ud800-\udfff]/g, (c, i: number, str: string) => {
      const code = c.charCodeAt(0);
      const ok = code < 0xdc00 ? (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00 : i > 0 && (str.charCodeAt(i - 1) & 0xfc00) === 0xd800;
      return ok ? c : "\ufffd";
    })
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const CHAR_W = 7.3; // monospace 12px advance, roughly
const LINE_H = 16;

/**
 * Render the transcript as an SVG document.
 *
 * @example
 * const svg = renderDiagramSvg(result.transcript);
 * svg.startsWith("<?xml") // true
 */
export function renderDiagramSvg(transcript: readonly TranscriptEntry[], options: DiagramOptions = {}): string {
  const rs = rows(transcript);
  const widest = Math.max(30, ...rs.flatMap((r) => (r.kind === "arrow" ? r.lines.map((l) => [...l].length) : [[...r.text].length * 0.85])));
  const clientLabel = options.client ?? "client (wirekit)";
  const srvLabel = options.server ?? serverLabel(transcript);
  // Actor boxes grow with their label (a long host name), and the picture grows with them.
  const boxW = (label: string): number => Math.max(170, Math.ceil([...label].length * CHAR_W) + 24);
  const [clientW, serverW] = [boxW(clientLabel), boxW(srvLabel)];
  const gap = Math.max(460, Math.ceil(widest * CHAR_W) + 60, (clientW + serverW) / 2 + 30);
  const left = 110;
  const cx = Math.max(left + 90, clientW / 2 + 10);
  const sx = cx + gap;
  const width = sx + Math.max(110, serverW / 2 + 10);
  const top = 96;
  let y = top;
  const body: string[] = [];
  const segments: Array<{ from: number; to: number; tls: boolean }> = [];
  let secure = false;
  let segStart = top - 14;
  for (const r of rs) {
    if (r.kind === "band") {
      const h = 26;
      if (r.tls) {
        segments.push({ from: segStart, to: y + h / 2, tls: secure });
        secure = true;
        segStart = y + h / 2;
      }
      body.push(
        `<rect x="${cx - 60}" y="${y}" width="${gap + 120}" height="${h}" rx="4" class="${r.tls ? "tls" : "note"}"/>`,
        `<text x="${(cx + sx) / 2}" y="${y + 17}" text-anchor="middle" class="band">${escapeXml(r.text)}</text>`,
      );
      y += h + 14;
      continue;
    }
    const n = r.lines.length;
    const arrowY = y + LINE_H * n + 2;
    const textX = r.dir === "c2s" ? cx + 12 : sx - 12;
    const anchor = r.dir === "c2s" ? "start" : "end";
    r.lines.forEach((l, i) => {
      body.push(`<text x="${textX}" y="${y + LINE_H * (i + 1) - 3}" text-anchor="${anchor}" class="${r.dir}">${escapeXml(l)}</text>`);
    });
    const [x1, x2] = r.dir === "c2s" ? [cx, sx - 2] : [sx, cx + 2];
    body.push(`<line x1="${x1}" y1="${arrowY}" x2="${x2}" y2="${arrowY}" class="${r.dir}" marker-end="url(#${r.dir === "c2s" ? "head" : "head2"})"/>`);
    body.push(`<text x="${left - 10}" y="${arrowY + 4}" text-anchor="end" class="time">+${r.at.toFixed(1)} ms</text>`);
    y = arrowY + 14;
  }
  segments.push({ from: segStart, to: y + 10, tls: secure });
  const height = y + 80;
  const lifelines = segments.flatMap((s) =>
    [cx, sx].map((x) => `<line x1="${x}" y1="${s.from}" x2="${x}" y2="${s.to}" class="${s.tls ? "life tlslife" : "life"}"/>`),
  );
  const title = options.title ?? "SMTP session";
  const head = (x: number, label: string, yy: number): string => {
    const w = boxW(label);
    return `<rect x="${x - w / 2}" y="${yy}" width="${w}" height="30" rx="5" class="actor"/><text x="${x}" y="${yy + 20}" text-anchor="middle" class="actor">${escapeXml(label)}</text>`;
  };
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1f4e99"/></marker>` +
      `<marker id="head2" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8a4b08"/></marker>` +
      `<style>text.c2s{fill:#1f4e99}text.s2c{fill:#8a4b08}line.c2s{stroke:#1f4e99;stroke-width:1.5}line.s2c{stroke:#8a4b08;stroke-width:1.5;stroke-dasharray:6 4}` +
      `line.life{stroke:#999;stroke-width:2}line.tlslife{stroke:#2e8b57;stroke-width:4}rect.actor{fill:#f4f4f4;stroke:#444}text.actor{font-weight:bold}` +
      `rect.tls{fill:#e3f4ea;stroke:#2e8b57}rect.note{fill:#fdf6e3;stroke:#c9b77d}text.band{fill:#333}text.time{fill:#888;font-size:10px}text.title{font-size:15px;font-weight:bold}</style></defs>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${(cx + sx) / 2}" y="24" text-anchor="middle" class="title">${escapeXml(title)}</text>`,
    head(cx, clientLabel, 40),
    head(sx, srvLabel, 40),
    ...lifelines,
    ...body,
    head(cx, clientLabel, y + 18),
    head(sx, srvLabel, y + 18),
    `</svg>`,
    ``,
  ].join("\n");
}

function mermaidText(s: string): string {
  // Mermaid entity codes keep ";", "#", "<" and ">" from being read as syntax or HTML.
  const codes: Record<string, string> = { "#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;" };
  return s.replace(/[#;<>]/g, (c) => codes[c] ?? c).replace(/[\r\n]/g, " ");
}

/**
 * Render the transcript as Mermaid `sequenceDiagram` text.
 *
 * @example
 * renderDiagramMermaid(result.transcript).split("\n")[0] // "sequenceDiagram"
 */
export function renderDiagramMermaid(transcript: readonly TranscriptEntry[], options: DiagramOptions = {}): string {
  const out = ["sequenceDiagram", `  participant C as ${mermaidText(options.client ?? "client (wirekit)")}`, `  participant S as ${mermaidText(options.server ?? serverLabel(transcript))}`];
  for (const r of rows(transcript)) {
    if (r.kind === "band") out.push(`  Note over C,S: ${mermaidText(r.text)}`);
    else out.push(`  ${r.dir === "c2s" ? "C->>S" : "S-->>C"}: ${r.lines.map(mermaidText).join("<br/>")}`);
  }
  return `${out.join("\n")}\n`;
}

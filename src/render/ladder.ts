/**
 * The ladder (sequence) diagram every tool draws with `--diagram`: lifelines left to right, one
 * arrow per message with its time, and the tool's decision on that message written under it
 * ("dropped: no reply within 1000 ms", "late reply for seq 3, counted lost", "ignored: wrong
 * request id", "cache HIT"). Grown out of the SMTP diagram, which is one user of it
 * (render/smtp.ts). Three outputs of one model: a self-contained SVG (no fonts or scripts to
 * fetch; every text XML-escaped, so a peer's text cannot break it), Mermaid `sequenceDiagram`
 * text, and plain text for a terminal or a lab report.
 *
 * Pure: a Ladder in, a string out. The per-tool adapters beside this file build the Ladder from
 * the tool's typed events.
 */
import { escapeText } from "../core/escape.js";
import { formatHostPort } from "../core/address.js";

export interface Lifeline {
  /** Short id for Mermaid (letters and digits). */
  id: string;
  label: string;
}

/**
 * What became of a message:
 * - delivered: it arrived and was used (the default);
 * - lost: it never arrived as far as the tool can tell (the arrow ends in a cross halfway);
 * - late: it arrived after its deadline (drawn past a deadline mark);
 * - duplicate: a second copy of something already counted;
 * - ignored: it arrived and the tool refused it (forged, wrong id, malformed);
 * - inferred: not seen by the tool itself, deduced from what it saw (a proxy's upstream fetch).
 */
export type Fate = "delivered" | "lost" | "late" | "duplicate" | "ignored" | "inferred";

export type LadderRow =
  | {
      kind: "message";
      /** Index into `lifelines`. */
      from: number;
      to: number;
      /** The message text, one line each (an SMTP multi-line reply has several). */
      lines: string[];
      /** Milliseconds since the start of the exchange. */
      at: number;
      fate?: Fate;
      /** The tool's decision on this message, shown under it. */
      decision?: string;
    }
  | {
      kind: "note";
      text: string;
      /** "tls" bands turn the lifelines green from there on (the SMTP STARTTLS upgrade). */
      tone?: "note" | "warn" | "tls";
      at?: number;
    };

export interface Ladder {
  title: string;
  lifelines: Lifeline[];
  rows: LadderRow[];
}

export type MessageRow = Extract<LadderRow, { kind: "message" }>;

/**
 * A datagram a UDP client received and ignored (not from the server, or not a reply to it),
 * drawn from the server's lifeline (1) to the client's (0) with the reason as its decision.
 *
 * @example
 * ignoredDatagramRow(12, { address: "127.0.0.1", port: 9 }, 3.2, "ignored: not from the server")
 */
export function ignoredDatagramRow(bytes: number, from: { address: string; port: number } | undefined, at: number, decision: string | undefined): MessageRow {
  const line = from === undefined ? `${bytes} bytes` : `${bytes} bytes from ${formatHostPort(from.address, from.port)}`;
  return { kind: "message", from: 1, to: 0, lines: [line], at, fate: "ignored", ...(decision ? { decision } : {}) };
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
const FATE_CLASS: Record<Fate, string> = { delivered: "", lost: " lost", late: " late", duplicate: " dup", ignored: " ignored", inferred: " inferred" };

function msgLines(r: MessageRow): string[] {
  return r.decision === undefined ? r.lines : [...r.lines, r.decision];
}

/**
 * Render the ladder as an SVG document. Rightward arrows are solid (class c2s), leftward ones
 * dashed (s2c); the decision under an arrow has class "decision".
 *
 * @example
 * renderLadderSvg({ title: "t", lifelines: [{ id: "C", label: "client" }, { id: "S", label: "server" }], rows: [] }).startsWith("<?xml") // true
 */
export function renderLadderSvg(ladder: Ladder): string {
  const n = Math.max(2, ladder.lifelines.length);
  const labels = Array.from({ length: n }, (_, i) => ladder.lifelines[i]?.label ?? "");
  const boxW = (label: string): number => Math.max(170, Math.ceil([...label].length * CHAR_W) + 24);
  // One gap between neighbours, wide enough for the widest text over the span it crosses.
  let gap = 460;
  for (const r of ladder.rows) {
    if (r.kind === "message") {
      const span = Math.max(1, Math.abs(r.to - r.from));
      const widest = Math.max(30, ...msgLines(r).map((l) => [...l].length));
      gap = Math.max(gap, Math.ceil((widest * CHAR_W + 60) / span));
    } else gap = Math.max(gap, Math.ceil(([...r.text].length * 0.85 * CHAR_W + 60) / (n - 1)));
  }
  for (let i = 0; i + 1 < n; i++) gap = Math.max(gap, (boxW(labels[i] ?? "") + boxW(labels[i + 1] ?? "")) / 2 + 30);
  const left = 110;
  const x0 = Math.max(left + 90, boxW(labels[0] ?? "") / 2 + 10);
  const xs = labels.map((_, i) => x0 + i * gap);
  const xLast = xs[n - 1] ?? x0;
  const width = xLast + Math.max(110, boxW(labels[n - 1] ?? "") / 2 + 10);
  const top = 96;
  let y = top;
  const body: string[] = [];
  const segments: Array<{ from: number; to: number; tls: boolean }> = [];
  let secure = false;
  let segStart = top - 14;
  const time = (at: number, yy: number): string => `<text x="${left - 10}" y="${yy + 4}" text-anchor="end" class="time">+${at.toFixed(1)} ms</text>`;
  for (const r of ladder.rows) {
    if (r.kind === "note") {
      const h = 26;
      const tls = r.tone === "tls";
      if (tls) {
        segments.push({ from: segStart, to: y + h / 2, tls: secure });
        secure = true;
        segStart = y + h / 2;
      }
      body.push(
        `<rect x="${x0 - 60}" y="${y}" width="${xLast - x0 + 120}" height="${h}" rx="4" class="${tls ? "tls" : r.tone === "warn" ? "warn" : "note"}"/>`,
        `<text x="${(x0 + xLast) / 2}" y="${y + 17}" text-anchor="middle" class="band">${escapeXml(r.text)}</text>`,
      );
      if (r.at !== undefined && !tls) body.push(time(r.at, y + 13));
      y += h + 14;
      continue;
    }
    const fx = xs[r.from] ?? x0;
    const tx = xs[r.to] ?? xLast;
    const right = tx > fx;
    const dir = right ? "c2s" : "s2c";
    const fate = r.fate ?? "delivered";
    const lines = r.lines;
    const all = msgLines(r);
    const arrowY = y + LINE_H * lines.length + 2;
    const textX = right ? fx + 12 : fx - 12;
    const anchor = right ? "start" : "end";
    lines.forEach((l, i) => {
      body.push(`<text x="${textX}" y="${y + LINE_H * (i + 1) - 3}" text-anchor="${anchor}" class="${dir}${FATE_CLASS[fate]}">${escapeXml(l)}</text>`);
    });
    const cls = `${dir}${FATE_CLASS[fate]}`;
    if (fate === "lost") {
      // The arrow stops halfway and ends in a cross: it never reached the other lifeline.
      const mx = (fx + tx) / 2;
      body.push(`<line x1="${fx}" y1="${arrowY}" x2="${mx}" y2="${arrowY}" class="${cls}"/>`);
      body.push(`<path d="M${mx - 6},${arrowY - 6} L${mx + 6},${arrowY + 6} M${mx - 6},${arrowY + 6} L${mx + 6},${arrowY - 6}" class="cross"/>`);
    } else {
      const end = right ? tx - 2 : tx + 2;
      body.push(`<line x1="${fx}" y1="${arrowY}" x2="${end}" y2="${arrowY}" class="${cls}" marker-end="url(#${right ? "head" : "head2"})"/>`);
      if (fate === "late") {
        // The deadline passed before the reply came: a short red bar across the arrow near its tail.
        const dx = fx + (tx - fx) * 0.25;
        body.push(`<line x1="${dx}" y1="${arrowY - 8}" x2="${dx}" y2="${arrowY + 8}" class="deadline"/>`);
      }
    }
    const afterY = arrowY + (all.length > lines.length ? LINE_H : 0);
    if (all.length > lines.length) {
      body.push(`<text x="${textX}" y="${arrowY + LINE_H - 2}" text-anchor="${anchor}" class="decision ${dir}">${escapeXml(all[all.length - 1] ?? "")}</text>`);
    }
    body.push(time(r.at, arrowY));
    y = afterY + 14;
  }
  segments.push({ from: segStart, to: y + 10, tls: secure });
  const height = y + 80;
  const lifelines = segments.flatMap((s) => xs.map((x) => `<line x1="${x}" y1="${s.from}" x2="${x}" y2="${s.to}" class="${s.tls ? "life tlslife" : "life"}"/>`));
  const head = (x: number, label: string, yy: number): string => {
    const w = boxW(label);
    return `<rect x="${x - w / 2}" y="${yy}" width="${w}" height="30" rx="5" class="actor"/><text x="${x}" y="${yy + 20}" text-anchor="middle" class="actor">${escapeXml(label)}</text>`;
  };
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">`,
    `<title>${escapeXml(ladder.title)}</title>`,
    `<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1f4e99"/></marker>` +
      `<marker id="head2" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8a4b08"/></marker>` +
      `<style>text.c2s{fill:#1f4e99}text.s2c{fill:#8a4b08}line.c2s{stroke:#1f4e99;stroke-width:1.5}line.s2c{stroke:#8a4b08;stroke-width:1.5;stroke-dasharray:6 4}` +
      `line.lost{stroke:#b22222}text.lost{fill:#b22222}path.cross{stroke:#b22222;stroke-width:2.5}line.late{stroke:#c05800}text.late{fill:#c05800}line.deadline{stroke:#b22222;stroke-width:2}` +
      `line.ignored{stroke:#999;stroke-dasharray:2 3}text.ignored{fill:#777}line.dup{stroke:#6a3d9a}text.dup{fill:#6a3d9a}line.inferred{stroke:#aaa;stroke-dasharray:1 3}text.inferred{fill:#888}` +
      `text.decision{fill:#b22222;font-style:italic;font-size:11px}` +
      `line.life{stroke:#999;stroke-width:2}line.tlslife{stroke:#2e8b57;stroke-width:4}rect.actor{fill:#f4f4f4;stroke:#444}text.actor{font-weight:bold}` +
      `rect.tls{fill:#e3f4ea;stroke:#2e8b57}rect.note{fill:#fdf6e3;stroke:#c9b77d}rect.warn{fill:#fde8e8;stroke:#d08080}text.band{fill:#333}text.time{fill:#888;font-size:10px}text.title{font-size:15px;font-weight:bold}</style></defs>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${(x0 + xLast) / 2}" y="24" text-anchor="middle" class="title">${escapeXml(ladder.title)}</text>`,
    ...xs.map((x, i) => head(x, labels[i] ?? "", 40)),
    ...lifelines,
    ...body,
    ...xs.map((x, i) => head(x, labels[i] ?? "", y + 18)),
    `</svg>`,
    ``,
  ].join("\n");
}

/** Text for a Mermaid message or note: entity codes keep ";", "#", "<" and ">" from being read as syntax or HTML. */
export function mermaidText(s: string): string {
  const codes: Record<string, string> = { "#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;" };
  return s.replace(/[#;<>]/g, (c) => codes[c] ?? c).replace(/[\r\n]/g, " ");
}

/**
 * Render the ladder as Mermaid `sequenceDiagram` text: rightward arrows solid (`->>`), leftward
 * dashed (`-->>`), a lost message as an arrow ending in a cross (`-x`), a decision as a note.
 *
 * @example
 * renderLadderMermaid(ladder).split("\n")[0] // "sequenceDiagram"
 */
export function renderLadderMermaid(ladder: Ladder): string {
  const ids = ladder.lifelines.map((l) => l.id);
  const first = ids[0] ?? "C";
  const last = ids[ids.length - 1] ?? "S";
  const out = ["sequenceDiagram", ...ladder.lifelines.map((l) => `  participant ${l.id} as ${mermaidText(l.label)}`)];
  for (const r of ladder.rows) {
    if (r.kind === "note") {
      out.push(`  Note over ${first},${last}: ${mermaidText(r.text)}`);
      continue;
    }
    const from = ids[r.from] ?? first;
    const to = ids[r.to] ?? last;
    const dashed = r.to < r.from || r.fate === "inferred";
    const arrow = r.fate === "lost" ? (dashed ? "--x" : "-x") : dashed ? "-->>" : "->>";
    out.push(`  ${from}${arrow}${to}: ${r.lines.map(mermaidText).join("<br/>")}`);
    if (r.decision !== undefined) out.push(`  Note over ${r.from < r.to ? from : to},${r.from < r.to ? to : from}: ${mermaidText(r.decision)}`);
  }
  return `${out.join("\n")}\n`;
}

/**
 * Render the ladder as plain text, one line per message (control characters a peer sent shown
 * escaped, as on the terminal):
 *
 *        client                         server
 *     +0.0 ms  |--- seq 1 -------------------->|
 *     +0.4 ms  |<-- reply seq 1 ---------------|
 *     +1.0 ms  |--- seq 2 --------X            |  dropped: no reply within 1000 ms
 *
 * The columns are fixed.
 */
export function renderLadderText(input: Ladder): string {
  const ladder = printableLadder(input);
  const n = Math.max(2, ladder.lifelines.length);
  const labels = Array.from({ length: n }, (_, i) => ladder.lifelines[i]?.label ?? "");
  const widest = Math.max(20, ...ladder.rows.map((r) => (r.kind === "message" ? Math.max(...r.lines.map((l) => [...l].length)) / Math.max(1, Math.abs(r.to - r.from)) : 0)));
  const col = Math.min(76, Math.max(24, Math.ceil(widest) + 10, ...labels.map((l) => [...l].length + 2)));
  const margin = 12;
  const xs = labels.map((_, i) => margin + i * col);
  const lineWidth = (xs[n - 1] ?? 0) + 1;
  const blank = (): string[] => Array.from({ length: lineWidth }, (_, i) => (xs.includes(i) ? "|" : " "));
  const put = (cells: string[], at: number, s: string): void => {
    [...s].forEach((c, i) => {
      if (at + i >= 0 && at + i < cells.length) cells[at + i] = c;
    });
  };
  const out: string[] = [];
  const head = Array.from({ length: lineWidth + 30 }, () => " ");
  labels.forEach((l, i) => put(head, Math.max(0, (xs[i] ?? 0) - Math.floor([...l].length / 2)), l));
  out.push(head.join("").trimEnd());
  for (const r of ladder.rows) {
    const t = r.at === undefined ? "" : `+${r.at.toFixed(1)} ms`;
    const prefix = (cells: string[]): string => t.padStart(margin - 2) + cells.join("").slice(margin - 2);
    if (r.kind === "note") {
      out.push(`${t.padStart(margin - 2)}  == ${r.text} ==`);
      continue;
    }
    r.lines.forEach((line, li) => {
      const cells = blank();
      const fx = xs[r.from] ?? 0;
      const tx = xs[r.to] ?? 0;
      const [lo, hi] = fx < tx ? [fx, tx] : [tx, fx];
      const last = li === r.lines.length - 1;
      const fate = r.fate ?? "delivered";
      const fill = fate === "inferred" || fate === "ignored" ? "." : "-";
      // Only the last line carries the arrow; the lines above it are its text.
      if (last) for (let x = lo + 1; x < hi; x++) cells[x] = fill;
      const room = hi - lo - 8;
      const label = [...line].length > room ? `${[...line].slice(0, Math.max(0, room - 1)).join("")}~` : line;
      if (last) {
        if (fate === "lost") {
          // The cross sits past the label (halfway at least), toward the lifeline it never reached.
          const mx = Math.min(hi - 2, Math.max(Math.floor((lo + hi) / 2), lo + 4 + [...label].length + 3));
          cells[mx] = "X";
          if (fx < tx) for (let x = mx + 1; x < hi; x++) cells[x] = " ";
          else for (let x = lo + 1; x < mx; x++) cells[x] = " ";
        } else if (fx < tx) cells[hi - 1] = ">";
        else cells[lo + 1] = "<";
      }
      put(cells, lo + 4, ` ${label} `);
      let s = (li === 0 ? prefix(cells) : " ".repeat(margin - 2) + cells.join("").slice(margin - 2)).trimEnd();
      if (last && r.decision !== undefined) s += `  ${r.decision}`;
      out.push(s);
    });
  }
  return `${out.join("\n")}\n`;
}

/** Every text of the ladder with control characters escaped (escapeText), for the text output. */
function printableLadder(l: Ladder): Ladder {
  const t = (s: string): string => escapeText(s, 2000);
  return {
    title: t(l.title),
    lifelines: l.lifelines.map((x) => ({ id: x.id, label: t(x.label) })),
    rows: l.rows.map((r) => (r.kind === "note" ? { ...r, text: t(r.text) } : { ...r, lines: r.lines.map(t), ...(r.decision === undefined ? {} : { decision: t(r.decision) }) })),
  };
}

/** The output formats of `--diagram FILE`, by the file's extension. */
export type LadderFormat = "svg" | "mermaid" | "text";

/** The format for a file name, or undefined when its extension names none. */
export function ladderFormat(path: string): LadderFormat | undefined {
  const m = /\.([a-z]+)$/i.exec(path);
  const ext = m?.[1]?.toLowerCase();
  return ext === "svg" ? "svg" : ext === "mmd" || ext === "mermaid" ? "mermaid" : ext === "txt" ? "text" : undefined;
}

export function renderLadder(ladder: Ladder, format: LadderFormat): string {
  return format === "svg" ? renderLadderSvg(ladder) : format === "mermaid" ? renderLadderMermaid(ladder) : renderLadderText(ladder);
}

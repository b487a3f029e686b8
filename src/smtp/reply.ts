/**
 * SMTP replies: line framing from a byte stream, multi-line replies and enhanced status codes.
 *
 * Implements RFC 5321 §4.2 (reply lines `NNN-text` continued, `NNN text` final, §4.2.1 the
 * meaning of the first digit) and RFC 3463 / RFC 2034 (enhanced status codes `class.subject.detail`
 * at the start of the text when the server advertises ENHANCEDSTATUSCODES).
 * Pure: bytes in, replies out; never throws on what the server sends.
 */
import { decoded, parseFailure, type Decoded } from "../core/errors.js";

/** An enhanced status code (RFC 3463), e.g. 2.0.0 or 5.1.1. */
export interface EnhancedStatus {
  class: 2 | 4 | 5;
  subject: number;
  detail: number;
}

/** One complete server reply (possibly several lines). */
export interface SmtpReply {
  /** Three-digit reply code, e.g. 250. */
  code: number;
  /** Enhanced status code found at the start of the first line's text, if any. */
  enhanced?: EnhancedStatus;
  /** The text of each line, without the code and separator (enhanced code kept). */
  lines: string[];
  /** The raw lines as received (for the transcript), without CRLF. */
  raw: string[];
}

/** One decoded reply line. */
export interface ReplyLine {
  code: number;
  /** True for `NNN-text` (more lines follow). */
  continued: boolean;
  text: string;
}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;

/**
 * Decode one reply line (without its CRLF).
 *
 * @example
 * decodeReplyLine("250-SIZE 10240000") // { ok: true, value: { code: 250, continued: true, text: "SIZE 10240000" } }
 */
export function decodeReplyLine(line: string): Decoded<ReplyLine> {
  if (line.length < 3) return parseFailure(`reply line too short: '${line}'`, { needed: 3, got: line.length });
  const digits = line.slice(0, 3);
  if (!/^[2-5][0-9][0-9]$/.test(digits)) return parseFailure(`reply line does not start with a reply code: '${line.slice(0, 40)}'`, { offset: 0 });
  const sep = line.charAt(3);
  if (sep !== "" && sep !== " " && sep !== "-") return parseFailure(`bad separator after reply code: '${line.slice(0, 40)}'`, { offset: 3 });
  return decoded({ code: Number(digits), continued: sep === "-", text: line.slice(4) });
}

/**
 * The enhanced status code at the start of `text`, if any.
 *
 * @example
 * parseEnhancedStatus("2.1.5 Ok") // { class: 2, subject: 1, detail: 5 }
 */
export function parseEnhancedStatus(text: string): EnhancedStatus | undefined {
  const m = ENHANCED.exec(text);
  if (!m) return undefined;
  return { class: Number(m[1]) as 2 | 4 | 5, subject: Number(m[2]), detail: Number(m[3]) };
}

/** "2.0.0" */
export function formatEnhancedStatus(e: EnhancedStatus): string {
  return `${e.class}.${e.subject}.${e.detail}`;
}

/** The reply as one line for messages: "250 2.0.0 Ok: queued as X" (continuation lines joined). */
export function formatReply(r: SmtpReply): string {
  return `${r.code} ${r.lines.join(" / ")}`.trimEnd();
}

/** Text of the reply without the enhanced status code. */
export function replyText(r: SmtpReply): string {
  return r.lines.map((l, i) => (i === 0 && r.enhanced ? l.replace(ENHANCED, "").trimStart() : l)).join("\n");
}

/** 2xx, 3xx (intermediate), 4xx (temporary failure), 5xx (permanent failure). */
export function replyClass(r: SmtpReply): "positive" | "intermediate" | "temporary" | "permanent" {
  if (r.code < 300) return "positive";
  if (r.code < 400) return "intermediate";
  if (r.code < 500) return "temporary";
  return "permanent";
}

/** Longest reply line we accept (RFC 5321 §4.5.3.1.5 says 512; real servers send more). */
export const MAX_REPLY_LINE = 8192;
/** Most lines in one reply before we call it a protocol error. */
export const MAX_REPLY_LINES = 1000;

/** What `ReplyReader.push` produces: complete replies, or a protocol error. */
export type ReplyEvent = { kind: "reply"; reply: SmtpReply } | { kind: "error"; reason: string };

/**
 * Turns received bytes into complete replies. Lines may be split across chunks at any byte
 * (also inside a UTF-8 sequence or between CR and LF); a bare LF is accepted as a line end,
 * as most clients do.
 *
 * @example
 * const r = new ReplyReader();
 * r.push(Buffer.from("250-a\r\n250 b\r\n")) // [{ kind: "reply", reply: { code: 250, lines: ["a", "b"], ... } }]
 */
export class ReplyReader {
  #pending: Buffer[] = [];
  #pendingLength = 0;
  #lines: ReplyLine[] = [];
  #raw: string[] = [];
  #failed = false;

  /** Feed bytes; returns the replies (and at most one error) completed by them. */
  push(chunk: Buffer): ReplyEvent[] {
    const out: ReplyEvent[] = [];
    if (this.#failed) return out;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      const line = this.#pendingLength > 0 ? Buffer.concat([...this.#pending, piece]) : piece;
      this.#pending = [];
      this.#pendingLength = 0;
      start = nl + 1;
      const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
      const ev = this.#line(line.toString("utf8", 0, end));
      if (ev !== undefined) {
        out.push(ev);
        if (ev.kind === "error") {
          this.#failed = true;
          return out;
        }
      }
    }
    if (start < chunk.length) {
      const rest = Buffer.from(chunk.subarray(start));
      this.#pending.push(rest);
      this.#pendingLength += rest.length;
      if (this.#pendingLength > MAX_REPLY_LINE) {
        this.#failed = true;
        out.push({ kind: "error", reason: `reply line longer than ${MAX_REPLY_LINE} bytes` });
      }
    }
    return out;
  }

  /** Bytes received but not yet part of a complete reply (a partial line or lines of an unfinished reply). */
  get bufferedBytes(): number {
    return this.#pendingLength + this.#raw.reduce((n, l) => n + l.length + 2, 0);
  }

  /** Forget everything buffered (RFC 3207 §6: after STARTTLS nothing from before the handshake counts). */
  discard(): number {
    const n = this.bufferedBytes;
    this.#pending = [];
    this.#pendingLength = 0;
    this.#lines = [];
    this.#raw = [];
    return n;
  }

  #line(text: string): ReplyEvent | undefined {
    const d = decodeReplyLine(text);
    if (!d.ok) return { kind: "error", reason: d.error.reason };
    const first = this.#lines[0];
    if (first !== undefined && first.code !== d.value.code) {
      return { kind: "error", reason: `reply code changed inside a multi-line reply (${first.code} then ${d.value.code})` };
    }
    this.#lines.push(d.value);
    this.#raw.push(text);
    if (this.#lines.length > MAX_REPLY_LINES) return { kind: "error", reason: `reply longer than ${MAX_REPLY_LINES} lines` };
    if (d.value.continued) return undefined;
    const lines = this.#lines.map((l) => l.text);
    const reply: SmtpReply = { code: d.value.code, lines, raw: this.#raw };
    const enhanced = parseEnhancedStatus(lines[0] ?? "");
    if (enhanced !== undefined && String(enhanced.class) === String(d.value.code).charAt(0)) reply.enhanced = enhanced;
    this.#lines = [];
    this.#raw = [];
    return { kind: "reply", reply };
  }
}

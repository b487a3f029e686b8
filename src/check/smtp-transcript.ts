/**
 * The SMTP dialogue a student's client had with the sink, rebuilt from the relay's timed chunks:
 * the server's replies (multi-line ones joined, RFC 5321 §4.2.1) with the time each reached the
 * client, and the client's lines, split into commands and message data (after DATA, up to the
 * line "."), each with how many replies the client had when it sent it. Pure.
 */
import type { TapChunk } from "./tap.js";

export interface SmtpReply {
  code: number;
  /** The reply's lines, CRLF removed. */
  lines: string[];
  /** When the client got its last line. */
  at: number;
}

export interface SmtpCommand {
  /** The line without CRLF. */
  line: string;
  /** Upper-cased first word ("HELO", "MAIL", ...); "." for the end of data; "" for an AUTH continuation line. */
  verb: string;
  at: number;
  /** Replies the client had received when it sent this line. */
  repliesBefore: number;
  /** The line ended with CRLF (not a bare LF). */
  crlf: boolean;
}

export interface SmtpDialogue {
  replies: SmtpReply[];
  commands: SmtpCommand[];
  /** The message data between DATA and the final dot (or the end of the connection). */
  data: string;
  /** The data was ended by a line with a single dot. */
  dataEnded: boolean;
  /** The first data line arrived before the 354 did. */
  dataBefore354: boolean;
}

interface TimedLine {
  text: string;
  crlf: boolean;
  at: number;
}

function lines(chunks: readonly TapChunk[], dir: "c2s" | "s2c"): TimedLine[] {
  const out: TimedLine[] = [];
  let rest = "";
  for (const c of chunks) {
    if (c.dir !== dir) continue;
    rest += c.data.toString("latin1");
    let nl: number;
    while ((nl = rest.indexOf("\n")) !== -1) {
      const raw = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      out.push({ text: raw.endsWith("\r") ? raw.slice(0, -1) : raw, crlf: raw.endsWith("\r"), at: c.at });
    }
  }
  if (rest !== "") out.push({ text: rest, crlf: false, at: chunks.at(-1)?.at ?? 0 });
  return out;
}

/** Replies from the server's lines: "250-..." continues, "250 ..." ends. */
export function parseReplies(chunks: readonly TapChunk[]): SmtpReply[] {
  const out: SmtpReply[] = [];
  let cur: string[] = [];
  for (const l of lines(chunks, "s2c")) {
    cur.push(l.text);
    const m = /^(\d{3})([ -]|$)/.exec(l.text);
    if (m !== null && m[2] !== "-") {
      out.push({ code: Number(m[1]), lines: cur, at: l.at });
      cur = [];
    }
  }
  return out;
}

/** Rebuild the dialogue of one connection. */
export function parseDialogue(chunks: readonly TapChunk[]): SmtpDialogue {
  const replies = parseReplies(chunks);
  const repliesAt = (t: number): number => replies.filter((r) => r.at <= t).length;
  const commands: SmtpCommand[] = [];
  let mode: "command" | "auth" | "data" | "after" = "command";
  let authLeft = 0;
  let data: string[] = [];
  let dataEnded = false;
  let dataBefore354 = false;
  let dataCmdAt = 0;
  for (const l of lines(chunks, "c2s")) {
    const before = repliesAt(l.at);
    if (mode === "data") {
      if (l.text === ".") {
        dataEnded = true;
        mode = "command";
        commands.push({ line: l.text, verb: ".", at: l.at, repliesBefore: before, crlf: l.crlf });
      } else {
        if (data.length === 0) {
          const r354 = replies.find((r) => r.code === 354);
          dataBefore354 = r354 === undefined || r354.at > l.at || dataCmdAt > l.at;
        }
        data.push(l.text);
      }
      continue;
    }
    const verb = mode === "auth" && authLeft > 0 ? "" : (l.text.split(/[ :]/)[0] ?? "").toUpperCase();
    commands.push({ line: l.text, verb, at: l.at, repliesBefore: before, crlf: l.crlf });
    if (verb === "") {
      authLeft--;
      if (authLeft === 0) mode = "command";
    } else if (verb === "AUTH") {
      const parts = l.text.trim().split(/\s+/);
      // AUTH LOGIN: user and password follow; AUTH LOGIN <user>: the password follows; AUTH PLAIN: one line unless given inline.
      const mech = (parts[1] ?? "").toUpperCase();
      authLeft = mech === "LOGIN" ? (parts.length > 2 ? 1 : 2) : mech === "PLAIN" && parts.length === 2 ? 1 : 0;
      mode = authLeft > 0 ? "auth" : "command";
    } else if (verb === "DATA") {
      mode = "data";
      dataCmdAt = l.at;
      data = [];
    }
  }
  return { replies, commands, data: data.join("\r\n"), dataEnded, dataBefore354 };
}

/** True when `s` is well-formed base64 (RFC 4648 §4) of at least one byte. */
export function isBase64(s: string): boolean {
  return s.length > 0 && s.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(s);
}

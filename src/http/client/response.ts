/**
 * An incremental HTTP/1.1 response parser that keeps the head exactly as received (status
 * line, field names in their order and case) and frames the body per RFC 9112 §6.3:
 * no body for HEAD, 1xx, 204 and 304; chunked (§7.1, extensions and trailers skipped);
 * Content-Length; else until the connection closes. Pure: bytes in, events out, no throw.
 */
import { isFieldName, lowerFieldName } from "../header-list.js";
import { CR, LF, SP, latin1 } from "../h1/field-line.js";

/** The response head as received. */
export interface ResponseHead {
  /** "HTTP/1.1 200 OK" without CRLF. */
  statusLine: string;
  version: string;
  status: number;
  reason: string;
  /** Field lines in order, as [name, value] with the name's case preserved. */
  headers: Array<[string, string]>;
  /** The raw head bytes (status line through the empty line). */
  raw: Buffer;
}

export type ResponseEvent =
  | { kind: "head"; head: ResponseHead; interim: boolean }
  | { kind: "body"; data: Buffer }
  | { kind: "end" }
  | { kind: "error"; reason: string };

type State =
  | { s: "head" }
  | { s: "length"; left: number }
  | { s: "chunk-size" }
  | { s: "chunk-data"; left: number }
  | { s: "chunk-crlf" }
  | { s: "trailers" }
  | { s: "close" }
  | { s: "done" };

const MAX_HEAD = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** First value of a header, case-insensitive. */
export function headerValue(head: ResponseHead, name: string): string | undefined {
  const n = lowerFieldName(name);
  const list = head.headers;
  for (let i = 0; i < list.length; i++) {
    const field = list[i] as [string, string];
    if (isFieldName(field[0], n)) return field[1];
  }
  return undefined;
}

/**
 * Parse one response (plus interim 1xx responses before it).
 *
 * @example
 * const p = new ResponseParser("GET");
 * p.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")); // head, body "hi", end
 */
export class ResponseParser {
  #buf: Buffer = EMPTY;
  #state: State = { s: "head" };
  /** Where the search for the end of the head resumes: no CRLFCRLF starts before it. */
  #scanned = 0;

  constructor(readonly method: string) {}

  /** True once the whole response was read. */
  get done(): boolean {
    return this.#state.s === "done";
  }

  /** Bytes received but not yet consumed: after `done`, anything here came after the response. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Feed bytes; returns what they completed. */
  push(chunk: Buffer): ResponseEvent[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: ResponseEvent[] = [];
    for (;;) {
      const before = this.#buf.length;
      const st = this.#state.s;
      const events = out.length;
      this.#step(out);
      if (this.#state.s === "done" || (out.length > events && (out[out.length - 1] as ResponseEvent).kind === "error")) break;
      if (this.#buf.length === before && this.#state.s === st) break;
    }
    return out;
  }

  /** The connection closed: ends a close-delimited body, or reports truncation. */
  end(): ResponseEvent[] {
    const s = this.#state.s;
    if (s === "done") return [];
    if (s === "close") {
      this.#state = { s: "done" };
      return [{ kind: "end" }];
    }
    return [{ kind: "error", reason: s === "head" ? "connection closed before a complete response head" : "connection closed before the end of the body" }];
  }

  #step(out: ResponseEvent[]): void {
    const st = this.#state;
    switch (st.s) {
      case "head": {
        const i = headEnd(this.#buf, this.#scanned);
        if (i === -1) {
          // A head arriving in many pieces is searched once, not once per piece.
          this.#scanned = Math.max(0, this.#buf.length - 3);
          if (this.#buf.length > MAX_HEAD) out.push({ kind: "error", reason: "response head larger than 64 KiB" });
          return;
        }
        this.#scanned = 0;
        const text = latin1(this.#buf, 0, i + 4);
        this.#drop(i + 4);
        const head = parseHead(text);
        if (head === undefined) return void out.push({ kind: "error", reason: "malformed status line" });
        const interim = head.status >= 100 && head.status < 200 && head.status !== 101;
        out.push({ kind: "head", head, interim });
        if (interim) return;
        this.#state = this.#framing(head);
        if (this.#state.s === "done") out.push({ kind: "end" });
        return;
      }
      case "length": {
        const n = Math.min(st.left, this.#buf.length);
        if (n > 0) out.push({ kind: "body", data: this.#take(n) });
        this.#state = st.left - n === 0 ? { s: "done" } : { s: "length", left: st.left - n };
        if (this.#state.s === "done") out.push({ kind: "end" });
        return;
      }
      case "close":
        if (this.#buf.length > 0) out.push({ kind: "body", data: this.#take(this.#buf.length) });
        return;
      case "chunk-size": {
        const i = this.#buf.indexOf("\r\n");
        if (i === -1) {
          if (this.#buf.length > 4096) out.push({ kind: "error", reason: "chunk size line too long" });
          return;
        }
        const line = this.#buf.subarray(0, i).toString("latin1");
        this.#buf = this.#buf.subarray(i + 2);
        const m = /^([0-9a-fA-F]{1,15})[ \t]*(;.*)?$/.exec(line);
        if (!m) return void out.push({ kind: "error", reason: `bad chunk size '${line.slice(0, 40)}'` });
        const size = parseInt(m[1] ?? "0", 16);
        this.#state = size === 0 ? { s: "trailers" } : { s: "chunk-data", left: size };
        return;
      }
      case "chunk-data": {
        const n = Math.min(st.left, this.#buf.length);
        if (n > 0) out.push({ kind: "body", data: this.#take(n) });
        this.#state = st.left - n === 0 ? { s: "chunk-crlf" } : { s: "chunk-data", left: st.left - n };
        return;
      }
      case "chunk-crlf":
        if (this.#buf.length < 2) return;
        if (this.#buf[0] !== 0x0d || this.#buf[1] !== 0x0a) return void out.push({ kind: "error", reason: "missing CRLF after chunk data" });
        this.#buf = this.#buf.subarray(2);
        this.#state = { s: "chunk-size" };
        return;
      case "trailers": {
        const i = this.#buf.indexOf("\r\n");
        if (i === -1) return;
        this.#buf = this.#buf.subarray(i + 2);
        if (i === 0) {
          this.#state = { s: "done" };
          out.push({ kind: "end" });
        }
        return;
      }
      case "done":
        return;
    }
  }

  /** A copy of the first `n` buffered bytes (no event keeps a view of a receive buffer); they are consumed. */
  #take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    this.#buf.copy(out, 0, 0, n);
    this.#drop(n);
    return out;
  }

  /** Consume `n` buffered bytes (all of them, the usual case, without making an empty view). */
  #drop(n: number): void {
    this.#buf = n === this.#buf.length ? EMPTY : this.#buf.subarray(n);
  }

  #framing(head: ResponseHead): State {
    if (this.method === "HEAD" || head.status === 204 || head.status === 304 || (this.method === "CONNECT" && head.status < 300)) return { s: "done" };
    const te = headerValue(head, "transfer-encoding");
    if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) return { s: "chunk-size" };
    if (te !== undefined) return { s: "close" };
    const cl = headerValue(head, "content-length");
    if (cl !== undefined && /^\s*\d+\s*$/.test(cl)) {
      const n = Number(cl);
      return n === 0 ? { s: "done" } : { s: "length", left: n };
    }
    return { s: "close" };
  }
}

/** A parsed head; `raw` is made from the head's latin1 text (the same bytes) only when asked for. */
class ParsedHead implements ResponseHead {
  readonly #text: string;
  #raw: Buffer | undefined;

  constructor(
    readonly statusLine: string,
    readonly version: string,
    readonly status: number,
    readonly reason: string,
    readonly headers: Array<[string, string]>,
    text: string,
  ) {
    this.#text = text;
  }

  get raw(): Buffer {
    return (this.#raw ??= Buffer.from(this.#text, "latin1"));
  }
}

/**
 * Where the first CRLFCRLF in `buf` at or after `from` starts, or -1. A loop over the bytes: a
 * head is a few hundred of them, and Buffer#indexOf with a string needle costs a native call that
 * encodes the needle each time (an in-process timing of the proxy's misses: 2.7 us of the parse).
 */
function headEnd(buf: Buffer, from: number): number {
  const last = buf.length - 4;
  for (let i = from; i <= last; i++) {
    if (buf[i] === CR && buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) return i;
  }
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** What String#trim removes that latin1 text can hold: HTAB, LF, VT, FF, CR, SP and NBSP. */
function isTrimmed(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === SP || c === 0xa0;
}

/**
 * The status line and the field lines of a head (`head` is its latin1 text, ending with
 * CRLFCRLF). Lenient, as a client reading what it asked for may be: a line without a colon is
 * skipped and values are kept whatever bytes they hold (whoever relays them checks them: the
 * proxy's ClientReply). Read in place, without splitting the text or running a regex: the status
 * line as /^(HTTP\/\d(?:\.\d)?) (\d{3})(?: (.*))?$/ reads it (a reason holds no CR or LF), each
 * value trimmed as String#trim would, in one slice.
 */
function parseHead(head: string): ResponseHead | undefined {
  const end = head.length - 4;
  let eol = head.indexOf("\r\n");
  if (eol === -1 || eol > end) eol = end;
  const statusLine = head.slice(0, eol);
  if (!statusLine.startsWith("HTTP/") || !isDigit(statusLine.charCodeAt(5))) return undefined;
  const v = statusLine.charCodeAt(6) === 0x2e && isDigit(statusLine.charCodeAt(7)) ? 8 : 6;
  const d1 = statusLine.charCodeAt(v + 1);
  const d2 = statusLine.charCodeAt(v + 2);
  const d3 = statusLine.charCodeAt(v + 3);
  if (statusLine.charCodeAt(v) !== SP || !isDigit(d1) || !isDigit(d2) || !isDigit(d3)) return undefined;
  let reason = "";
  if (statusLine.length > v + 4) {
    if (statusLine.charCodeAt(v + 4) !== SP) return undefined;
    reason = statusLine.slice(v + 5);
    if (reason.includes("\r") || reason.includes("\n")) return undefined;
  }
  const status = (d1 - 0x30) * 100 + (d2 - 0x30) * 10 + (d3 - 0x30);
  const headers: Array<[string, string]> = [];
  // The next colon at or after the line's start, searched again only once passed: many lines
  // without one must not make the scan quadratic.
  let colon = -1;
  while (eol < end) {
    const start = eol + 2;
    eol = head.indexOf("\r\n", start);
    if (eol === -1 || eol > end) eol = end;
    if (colon < start) {
      colon = head.indexOf(":", start);
      if (colon === -1 || colon >= end) break;
    }
    if (colon === start || colon >= eol) continue;
    let a = colon + 1;
    let b = eol;
    while (a < b && isTrimmed(head.charCodeAt(a))) a++;
    while (b > a && isTrimmed(head.charCodeAt(b - 1))) b--;
    headers.push([head.slice(start, colon), head.slice(a, b)]);
  }
  return new ParsedHead(statusLine, statusLine.slice(0, v), status, reason, headers, head);
}

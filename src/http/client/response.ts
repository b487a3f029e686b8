/**
 * An incremental HTTP/1.1 response parser that keeps the head exactly as received (status
 * line, field names in their order and case) and frames the body per RFC 9112 §6.3:
 * no body for HEAD, 1xx, 204 and 304; chunked (§7.1, extensions and trailers skipped);
 * Content-Length; else until the connection closes. Pure: bytes in, events out, no throw.
 */
import { isFieldName, lowerFieldName } from "../header-list.js";
import { latin1 } from "../h1/field-line.js";

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
        const i = this.#buf.indexOf("\r\n\r\n");
        if (i === -1) {
          if (this.#buf.length > MAX_HEAD) out.push({ kind: "error", reason: "response head larger than 64 KiB" });
          return;
        }
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
  #raw: Buffer | undefined;

  constructor(
    readonly statusLine: string,
    readonly version: string,
    readonly status: number,
    readonly reason: string,
    readonly headers: Array<[string, string]>,
    readonly text: string,
  ) {}

  get raw(): Buffer {
    return (this.#raw ??= Buffer.from(this.text, "latin1"));
  }
}

/**
 * The status line and the field lines of a head (`head` is its latin1 text, ending with
 * CRLFCRLF). Lenient, as a client reading what it asked for may be: a line without a colon is
 * skipped and values are kept whatever bytes they hold (whoever relays them checks them: the
 * proxy's ClientReply). Lines are found in place, without splitting the text into an array.
 */
function parseHead(head: string): ResponseHead | undefined {
  const end = head.length - 4;
  let eol = head.indexOf("\r\n");
  if (eol === -1 || eol > end) eol = end;
  const statusLine = head.slice(0, eol);
  const m = /^(HTTP\/\d(?:\.\d)?) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) return undefined;
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
    headers.push([head.slice(start, colon), head.slice(colon + 1, eol).trim()]);
  }
  return new ParsedHead(statusLine, m[1] ?? "", Number(m[2]), m[3] ?? "", headers, head);
}

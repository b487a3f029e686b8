/**
 * The strict HTTP/1.1 request-head parser of wirekit's own engine (RFC 9112 §2–§3, §5, §6;
 * RFC 9110 §5, §7.2, §10.1.1). Pure: bytes in, a verdict out. It never guesses: whatever two
 * implementations might read differently (request smuggling, RFC 9112 §11.2) is rejected.
 *
 * Decisions beyond the RFC's MUSTs, all on the strict side (test/http/h1/differential.test.ts lists
 * each one llhttp does not share):
 * - bare LF is not a line terminator (RFC 9112 §2.2 allows accepting it; we answer 400), and a CR
 *   not followed by LF is 400 wherever it is;
 * - at most 4 empty lines before the request line;
 * - the request line is method SP target SP version with exactly one SP each; no HTTP/0.9 form;
 *   the target is visible ASCII (0x21-0x7E) and at most maxTargetBytes (414, found before the
 *   line ends);
 * - HTTP/1.x with x > 1 is 505, not "treated as 1.1" (RFC 9110 §2.5 SHOULD): no such version
 *   exists and llhttp rejects it too, so accepting it only widens what two parsers may disagree on;
 * - Content-Length: exactly 1*DIGIT, one field only (no "5, 5" lists, no repeated field);
 * - no HTAB at all in Content-Length and Transfer-Encoding field lines (llhttp treats a trailing
 *   one as part of the value);
 * - Transfer-Encoding: `chunked` alone (any case); other codings before it are 501, a final coding
 *   other than chunked, a repeated chunked or an empty element is 400; with Content-Length, or in
 *   an HTTP/1.0 request, 400;
 * - the Host value must be a uri-host with an optional port (no userinfo, path, spaces);
 * - more than maxFields fields, or a head over maxHeadBytes, is 431;
 * - absolute-form needs `http://` or `https://` and an authority without userinfo (RFC 9110 §4.2.4);
 * - Expect is only read on HTTP/1.1 (RFC 9110 §10.1.1: a 1.0 100-continue is ignored);
 * - a method outside IMPLEMENTED_METHODS is 400: the registered methods that llhttp also knows,
 *   plus PURGE, so a method llhttp refuses never reaches a handler here either. RFC 9110 §9.1
 *   suggests 501, but the refusal comes at the first byte no implemented method starts with,
 *   before garbage can be told from a method name, and garbage is a bad request.
 * Syntax errors (and the target's form, and Content-Length) are found at the byte that makes them
 * certain, so a connection can answer and close early; the Host and Transfer-Encoding rules are
 * checked once the head is complete. The chunked body is decoded by ChunkedDecoder (chunked.ts).
 */
import { fieldTokens } from "../header-list.js";
import {
  CR,
  DEFAULT_LIMITS,
  FIELD_INCOMPLETE,
  HTAB,
  LF,
  SP,
  TCHAR,
  fieldAt,
  fieldError,
  isNameAt,
  latin1,
  scanFieldLine,
  type ParseLimits,
} from "./field-line.js";

import { MAX_METHOD_LENGTH, isMethodPrefix, knownMethod } from "./method.js";
import { checkTarget, isHostValue } from "./request-target.js";
import { checkTransferCoding, hasTab, parseLength } from "./framing.js";

export { DEFAULT_LIMITS, type ParseLimits } from "./field-line.js";
export { IMPLEMENTED_METHODS } from "./method.js";
export { ChunkedDecoder, type ChunkResult } from "./chunked.js";

/** The request line and fields of one request. */
export interface RequestHead {
  /** Method token, case-sensitive, as sent. */
  method: string;
  /** Request target exactly as sent. */
  target: string;
  version: "1.0" | "1.1";
  /** Field lines in order, names as sent, values with surrounding OWS trimmed. */
  headers: Array<[string, string]>;
}

/** How the body of the request is delimited (RFC 9112 §6.3). */
export type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

export type HeadResult =
  | { kind: "incomplete" }
  | {
      kind: "head";
      head: RequestHead;
      framing: Framing;
      /** The connection may carry another request after this one. */
      keepAlive: boolean;
      /** HTTP/1.1 `Expect: 100-continue`. */
      expectContinue: boolean;
      /** HTTP/1.1 Expect with another expectation: the engine answers 417 (RFC 9110 §10.1.1). */
      expectUnsupported: boolean;
      /** Bytes of the head, including any leading empty lines and the final CRLFCRLF. */
      consumed: number;
    }
  | { kind: "error"; status: 400 | 414 | 431 | 501 | 505; reason: string };

type ErrorResult = Extract<HeadResult, { kind: "error" }>;

/** Scratch for field offsets, 4 per field; grown when a caller allows more fields. */
let fieldOffsets = new Int32Array(4 * 128);

const MAX_LEADING_EMPTY_LINES = 4;
const INCOMPLETE: HeadResult = Object.freeze({ kind: "incomplete" });
const NO_FRAMING: Framing = Object.freeze({ kind: "none" });
const CHUNKED: Framing = Object.freeze({ kind: "chunked" });
const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f];

function fail(status: ErrorResult["status"], reason: string): ErrorResult {
  return { kind: "error", status, reason };
}

function bad(reason: string): ErrorResult {
  return { kind: "error", status: 400, reason };
}

function tooLargeOrMore(len: number, limits: ParseLimits): HeadResult {
  return len >= limits.maxHeadBytes ? fail(431, "request head too large") : INCOMPLETE;
}

/**
 * Parses one request head from the start of `buf`. Stateless: call it again with the grown buffer
 * after each read.
 *
 * @param seen how many bytes of `buf` an earlier call already answered `incomplete` for. When the
 *   bytes since then hold no LF, no line can have ended, so the answer is `incomplete` again without
 *   a rescan (unless a size limit may have been crossed): a head that trickles in byte by byte costs
 *   one scan per line, not one per read. An error inside the unfinished line is then reported when
 *   the line ends (or the limit is reached) instead of at once. The final verdict is the same.
 * @returns `incomplete` while more bytes are needed, `head` with the framing of the body and the
 *   number of bytes used, or `error` with the status to answer (then close the connection).
 * @example
 * parseRequestHead(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
 * // { kind: "head", head: { method: "GET", target: "/", version: "1.1", headers: [["Host", "a"]] },
 * //   framing: { kind: "none" }, keepAlive: true, expectContinue: false, expectUnsupported: false, consumed: 27 }
 */
export function parseRequestHead(buf: Buffer, limits: ParseLimits = DEFAULT_LIMITS, seen = 0): HeadResult {
  const len = buf.length;
  if (seen > 0 && seen < len && len < limits.maxHeadBytes && buf.indexOf(LF, seen) < 0) {
    // Still inside the request line, the target may just have grown past its limit (414).
    if (len <= limits.maxTargetBytes || buf.indexOf(LF) >= 0) return INCOMPLETE;
  }
  const end = len < limits.maxHeadBytes ? len : limits.maxHeadBytes;
  let pos = 0;
  let c = 0;

  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
  let empty = 0;
  while (pos < end && buf[pos] === CR) {
    if (pos + 1 >= end) return tooLargeOrMore(len, limits);
    if (buf[pos + 1] !== LF) return bad("bare CR");
    pos += 2;
    if (++empty > MAX_LEADING_EMPTY_LINES) return bad("too many empty lines before the request line");
  }

  const methodStart = pos;
  const methodStop = Math.min(end, methodStart + MAX_METHOD_LENGTH + 1);
  while (pos < methodStop && TCHAR[buf[pos] as number] === 1) pos++;
  if (pos - methodStart > MAX_METHOD_LENGTH) return bad("unknown method");
  let method: string | undefined;
  if (pos < end && buf[pos] === SP && pos > methodStart) {
    method = knownMethod(buf, methodStart, pos);
    if (method === undefined) return bad("unknown method");
  } else {
    // A token no implemented method starts with is refused now, as llhttp does, whatever follows.
    if (!isMethodPrefix(buf, methodStart, pos)) return bad("unknown method");
    if (pos >= end) return tooLargeOrMore(len, limits);
    return bad(buf[pos] === LF ? "bare LF" : "invalid method");
  }
  pos++;

  // The target: visible ASCII up to one SP. 414 as soon as it alone is too long, complete or not.
  const targetStart = pos;
  const targetStop = Math.min(len, targetStart + limits.maxTargetBytes + 1);
  while (pos < targetStop) {
    c = buf[pos] as number;
    if (c <= SP || c >= 0x7f) break;
    pos++;
  }
  if (pos - targetStart > limits.maxTargetBytes) return fail(414, "request-target too long");
  if (pos >= end) return tooLargeOrMore(len, limits);
  if (c === CR || c === LF) return bad("request line without HTTP version");
  if (c !== SP) return bad("invalid byte in request-target");
  if (pos === targetStart) return bad("empty request-target");
  const targetEnd = pos++;

  for (let i = 0; i < 5; i++, pos++) {
    if (pos >= end) return tooLargeOrMore(len, limits);
    if (buf[pos] !== HTTP_SLASH[i]) return bad("invalid HTTP version");
  }
  // DIGIT "." DIGIT CR LF, checked byte by byte so a cut input fails exactly as the whole would.
  for (let i = 0; i < 5; i++) {
    if (pos + i >= end) return tooLargeOrMore(len, limits);
    const b = buf[pos + i] as number;
    if (i === 1 ? b !== 0x2e : i === 3 ? b !== CR : i === 4 ? b !== LF : b < 0x30 || b > 0x39) {
      return bad(i === 4 ? "bare CR" : b === LF ? "bare LF" : "invalid HTTP version");
    }
  }
  const major = (buf[pos] as number) - 0x30;
  const minor = (buf[pos + 2] as number) - 0x30;
  pos += 5;
  if (major !== 1 || minor > 1) return fail(505, "HTTP version not supported");
  const version = minor === 1 ? "1.1" : "1.0";
  // The target's form, as soon as the request line is complete (origin-form needs no check).
  let checkedTarget: string | undefined;
  if (method === "CONNECT" || buf[targetStart] !== 0x2f) {
    checkedTarget = latin1(buf, targetStart, targetEnd);
    const targetError = checkTarget(method, checkedTarget);
    if (targetError !== undefined) return bad(targetError);
  }

  // Field offsets first, strings later: one latin1 decode of the whole head, then slices of it.
  let fields = 0;
  let at = fieldOffsets;
  let host = -1;
  let hostCount = 0;
  let contentLength = -1;
  let lengthCount = 0;
  let te = -1;
  let teCount = 0;
  let conn = -1;
  let connCount = 0;
  let expect = -1;
  let expectCount = 0;
  for (;;) {
    if (pos >= end) return tooLargeOrMore(len, limits);
    c = buf[pos] as number;
    if (c === CR) {
      if (pos + 1 >= end) return tooLargeOrMore(len, limits);
      if (buf[pos + 1] !== LF) return bad("bare CR");
      pos += 2;
      break;
    }
    // obs-fold, or whitespace between the start line and the first field (RFC 9112 §2.2, §5.2).
    if (c === SP || c === HTAB) return bad("obs-fold or leading whitespace in a field line");
    if (c === LF) return bad("bare LF");
    const next = scanFieldLine(buf, pos, end);
    if (next < 0) return next === FIELD_INCOMPLETE ? tooLargeOrMore(len, limits) : bad(fieldError(next));
    if (fields >= limits.maxFields) return fail(431, "too many header fields");
    if (at.length < 4 * (fields + 1)) {
      const grown = new Int32Array(at.length * 2);
      grown.set(at);
      at = fieldOffsets = grown;
    }
    const ns = fieldAt[0] as number;
    const ne = fieldAt[1] as number;
    const o = 4 * fields;
    at[o] = ns;
    at[o + 1] = ne;
    at[o + 2] = fieldAt[2] as number;
    at[o + 3] = fieldAt[3] as number;
    switch (ne - ns) {
      case 4:
        if (isNameAt(buf, ns, ne, "host")) {
          hostCount++;
          host = fields;
        }
        break;
      case 6:
        if (isNameAt(buf, ns, ne, "expect")) {
          expectCount++;
          expect = fields;
        }
        break;
      case 10:
        if (isNameAt(buf, ns, ne, "connection")) {
          connCount++;
          conn = fields;
        }
        break;
      case 14:
        if (isNameAt(buf, ns, ne, "content-length")) {
          if (hasTab(buf, ne, next)) return bad("HTAB in a framing field");
          // Refused at the field, as llhttp does, not at the end of the head.
          if (lengthCount > 0) return bad("more than one Content-Length field");
          contentLength = parseLength(buf, fieldAt[2] as number, fieldAt[3] as number);
          if (contentLength < 0) return bad("invalid Content-Length");
          lengthCount++;
        }
        break;
      case 17:
        if (isNameAt(buf, ns, ne, "transfer-encoding")) {
          if (hasTab(buf, ne, next)) return bad("HTAB in a framing field");
          teCount++;
          te = fields;
        }
        break;
    }
    fields++;
    pos = next;
  }

  const text = latin1(buf, 0, pos);
  // Pushed, not preallocated: a packed array stays fast for whoever reads it.
  const headers: Array<[string, string]> = [];
  for (let o = 0; o < 4 * fields; o += 4) headers.push([text.slice(at[o], at[o + 1]), text.slice(at[o + 2], at[o + 3])]);
  const target = checkedTarget ?? text.slice(targetStart, targetEnd);

  // RFC 9112 §3.2: a 1.1 request without Host, or with more than one, is 400.
  if (hostCount > 1) return bad("more than one Host field");
  if (hostCount === 0 && version === "1.1") return bad("missing Host field");
  if (hostCount === 1 && !isHostValue(valueAt(headers, host), 0, valueAt(headers, host).length, false)) return bad("invalid Host value");

  let framing = NO_FRAMING;
  if (teCount > 0) {
    // RFC 9112 §6.1: CL with TE is a smuggling attempt; TE in 1.0 may be a 1.1 proxy's leftover.
    if (lengthCount > 0) return bad("Transfer-Encoding with Content-Length");
    if (version === "1.0") return bad("Transfer-Encoding in an HTTP/1.0 request");
    const teError = checkTransferCoding(joinedValues(buf, at, headers, "transfer-encoding", teCount, te));
    if (teError !== undefined) return fail(teError.status, teError.reason);
    framing = CHUNKED;
  } else if (lengthCount > 0) {
    framing = { kind: "length", length: contentLength };
  }

  let keepAlive = version === "1.1";
  if (connCount > 0) {
    const v = joinedValues(buf, at, headers, "connection", connCount, conn).toLowerCase();
    // The usual single token without splitting; lists go through fieldTokens.
    if (v === "close") keepAlive = false;
    else if (v === "keep-alive") keepAlive = true;
    else {
      const tokens = fieldTokens(v);
      if (tokens.includes("close")) keepAlive = false;
      else if (version === "1.0" && tokens.includes("keep-alive")) keepAlive = true;
    }
  }

  let expectContinue = false;
  let expectUnsupported = false;
  if (expectCount > 0 && version === "1.1") {
    const tokens = fieldTokens(joinedValues(buf, at, headers, "expect", expectCount, expect));
    for (const t of tokens) {
      if (t === "100-continue") expectContinue = true;
      else expectUnsupported = true;
    }
    if (expectUnsupported) expectContinue = false;
  }

  return {
    kind: "head",
    head: { method, target, version, headers },
    framing,
    keepAlive,
    expectContinue,
    expectUnsupported,
    consumed: pos,
  };
}

function valueAt(headers: ReadonlyArray<[string, string]>, i: number): string {
  return (headers[i] as [string, string])[1];
}

/** All values of one field joined as a list (RFC 9110 §5.3); `last` is its index when count is 1. */
function joinedValues(buf: Buffer, at: Int32Array, headers: ReadonlyArray<[string, string]>, name: string, count: number, last: number): string {
  if (count === 1) return valueAt(headers, last);
  const out: string[] = [];
  for (let i = 0; i < headers.length; i++) {
    if (isNameAt(buf, at[4 * i] as number, at[4 * i + 1] as number, name)) out.push(valueAt(headers, i));
  }
  return out.join(", ");
}

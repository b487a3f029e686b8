/**
 * The message-body framing fields of a request (RFC 9112 §6): Content-Length and
 * Transfer-Encoding, read strictly. Pure.
 */
import { HTAB, TCHAR } from "./field-line.js";

/**
 * HTAB anywhere in buf[start, end). Framing fields may only use SP as OWS here: llhttp keeps a
 * trailing HTAB as part of Content-Length and Transfer-Encoding, so accepting it would let the two
 * parsers frame one body two ways.
 */
export function hasTab(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] === HTAB) return true;
  return false;
}

/** Content-Length in buf[start, end) as a number, or -1 unless it is 1*DIGIT within Number.MAX_SAFE_INTEGER. */
export function parseLength(buf: Buffer, start: number, end: number): number {
  if (end === start || end - start > 16) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= Number.MAX_SAFE_INTEGER ? n : -1;
}

/** The registered transfer codings other than chunked (RFC 9112 §7, IANA registry). */
const KNOWN_CODINGS = new Set(["compress", "deflate", "gzip", "x-compress", "x-gzip", "trailers", "identity"]);

/**
 * Checks a Transfer-Encoding list: only a final, single `chunked` is served (RFC 9112 §6.1,
 * §6.3). A known coding as the final one cannot be framed: 400. A coding this server does not
 * know at all (`xchunked`) is 501, as RFC 9112 §6.1 asks for an unrecognised coding.
 */
export function checkTransferCoding(v: string): { status: 400 | 501; reason: string } | undefined {
  const codings = v.split(",");
  let unsupported = false;
  for (let i = 0; i < codings.length; i++) {
    const raw = (codings[i] as string).replace(/^[ \t]+|[ \t]+$/g, "");
    const semi = raw.indexOf(";");
    const name = (semi < 0 ? raw : raw.slice(0, semi).replace(/[ \t]+$/, "")).toLowerCase();
    if (name === "" || !isToken(name)) return { status: 400, reason: "invalid Transfer-Encoding" };
    const last = i === codings.length - 1;
    if (name === "chunked") {
      if (!last) return { status: 400, reason: "chunked is not the final transfer coding" };
      if (semi >= 0) return { status: 400, reason: "chunked with parameters" };
    } else {
      if (last) return KNOWN_CODINGS.has(name) ? { status: 400, reason: "final transfer coding is not chunked" } : { status: 501, reason: `unknown transfer coding '${name}'` };
      unsupported = true;
    }
  }
  return unsupported ? { status: 501, reason: "unsupported transfer coding" } : undefined;
}

function isToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) return false;
  }
  return true;
}

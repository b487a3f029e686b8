/**
 * MIME encodings, all producing 7-bit ASCII lines short enough for any mail server:
 * base64 wrapped at 76 columns (RFC 2045 §6.8), quoted-printable (RFC 2045 §6.7), encoded words
 * for non-ASCII header text (RFC 2047), parameter values with charset and continuations
 * (RFC 2231 §3–4, for non-ASCII file names), header folding (RFC 5322 §2.2.3) so every line
 * stays under 78 characters, and the header-injection check (a CR or LF in a value would start
 * a new header line of the attacker's choosing).
 */
import { WirekitError } from "../../core/errors.js";

/** Longest header line we produce, without CRLF (RFC 5322 §2.1.1 "SHOULD be no more than 78"). */
export const HEADER_LINE_LIMIT = 76;
/** Longest encoded word we produce (RFC 2047 §2 allows 75; shorter leaves room for the field name). */
const MAX_ENCODED_WORD = 62;

/**
 * Refuse a user-supplied header value with CR, LF or NUL in it (header injection).
 *
 * @example
 * assertHeaderValue("Subject", "hi\r\nBcc: victim@example.com") // throws ERR_USAGE
 */
export function assertHeaderValue(field: string, value: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new WirekitError("ERR_USAGE", `header injection refused: ${field} contains a line break or NUL`, { context: { field } });
  }
}

/**
 * Base64 with a CRLF every `width` characters (no CRLF after the last line).
 *
 * @example
 * encodeBase64Wrapped(Buffer.alloc(60)).split("\r\n").map((l) => l.length) // [76, 4]
 */
export function encodeBase64Wrapped(data: Uint8Array, width = 76): string {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
  if (b64.length <= width) return b64;
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return lines.join("\r\n");
}

const HEX = "0123456789ABCDEF";

function qpEscape(b: number): string {
  return `=${HEX[b >> 4]}${HEX[b & 15]}`;
}

/**
 * Quoted-printable: CRLF line breaks in the input stay hard breaks, other bytes outside
 * printable ASCII (and "=") become =XX, whitespace at a line end is encoded, and soft breaks
 * ("=" CRLF) keep every line at 76 characters or fewer.
 *
 * @example
 * encodeQuotedPrintable(Buffer.from("café = ok")) // "caf=C3=A9 =3D ok"
 */
export function encodeQuotedPrintable(data: Uint8Array): string {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1");
  const out: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    let cur = "";
    for (let i = 0; i < line.length; i++) {
      const b = line.charCodeAt(i);
      const last = i === line.length - 1;
      let tok: string;
      if (b === 0x20 || b === 0x09) tok = last ? qpEscape(b) : line.charAt(i);
      else if (b >= 33 && b <= 126 && b !== 0x3d) tok = line.charAt(i);
      else tok = qpEscape(b);
      // Room for the token plus the "=" of a soft break, unless this token ends the line.
      const room = last ? 76 : 75;
      if (cur.length + tok.length > room) {
        out.push(`${cur}=`);
        cur = "";
      }
      cur += tok;
    }
    out.push(cur);
  }
  return out.join("\r\n");
}

/** True when the text needs a MIME encoding to travel as 7-bit lines of at most `maxLine` octets. */
export function needsTransferEncoding(text: string, maxLine = 76): boolean {
  if (/[^\t\n\r\x20-\x7e]/.test(text)) return true;
  return text.split(/\r\n|\r|\n/).some((l) => l.length > maxLine || /[ \t]$/.test(l));
}

function splitByBudget(value: string, cost: (s: string) => number, budget: number): string[] {
  const parts: string[] = [];
  let cur = "";
  for (const ch of value) {
    if (cur !== "" && cost(cur + ch) > budget) {
      parts.push(cur);
      cur = "";
    }
    cur += ch;
  }
  if (cur !== "") parts.push(cur);
  return parts;
}

function qWordPayload(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    if (b === 0x20) out += "_";
    else if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x21 || b === 0x2a || b === 0x2b || b === 0x2d || b === 0x2f) out += String.fromCharCode(b);
    else out += qpEscape(b);
  }
  return out;
}

/**
 * Encode header text as RFC 2047 encoded words (UTF-8, B or Q, whichever is shorter), split at
 * character boundaries into words of at most 62 characters, separated by spaces so the header
 * can be folded between them.
 *
 * @example
 * encodeWords("Grüße") // "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?="
 */
export function encodeWords(value: string): string {
  const budget = MAX_ENCODED_WORD - "=?UTF-8?X??=".length;
  const b = splitByBudget(value, (s) => Math.ceil(Buffer.byteLength(s, "utf8") / 3) * 4, budget).map(
    (p) => `=?UTF-8?B?${Buffer.from(p, "utf8").toString("base64")}?=`,
  );
  const q = splitByBudget(value, (s) => qWordPayload(s).length, budget).map((p) => `=?UTF-8?Q?${qWordPayload(p)}?=`);
  const bs = b.join(" ");
  const qs = q.join(" ");
  return qs.length <= bs.length ? qs : bs;
}

/**
 * Unstructured header text (Subject, display names inside phrases): kept as is when plain
 * ASCII that can be folded, otherwise encoded words.
 *
 * @example
 * encodeUnstructured("Hello") // "Hello"
 */
export function encodeUnstructured(value: string): string {
  const plain = /^[\x20-\x7e]*$/.test(value) && !value.includes("=?") && value.split(" ").every((w) => w.length <= 60);
  return plain ? value : encodeWords(value);
}

const ATTR_CHAR = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

/**
 * A MIME parameter as one or more `name=value` segments: a quoted string when the value is
 * short ASCII, otherwise RFC 2231 `name*=utf-8''%XX` with continuations `name*0*=`, `name*1*=`.
 *
 * @example
 * encodeParameter("filename", "résumé.pdf") // ["filename*=utf-8''r%C3%A9sum%C3%A9.pdf"]
 */
export function encodeParameter(name: string, value: string): string[] {
  if (/^[A-Za-z0-9!#$%&'*+\-.^_`{|}~]+$/.test(value) && value.length <= 50) return [`${name}=${value}`];
  if (/^[\x20-\x7e]*$/.test(value) && value.length <= 50) {
    return [`${name}="${value.replace(/[\\"]/g, "\\$&")}"`];
  }
  const pieces: string[] = [];
  for (const ch of value) {
    pieces.push(ATTR_CHAR.test(ch) ? ch : [...Buffer.from(ch, "utf8")].map(qpEscape).join("").replace(/=/g, "%"));
  }
  const segments: string[] = [];
  let cur = "";
  for (const p of pieces) {
    if (cur.length + p.length > 48) {
      segments.push(cur);
      cur = "";
    }
    cur += p;
  }
  if (cur !== "" || segments.length === 0) segments.push(cur);
  if (segments.length === 1) return [`${name}*=utf-8''${segments[0] ?? ""}`];
  return segments.map((s, i) => `${name}*${i}*=${i === 0 ? "utf-8''" : ""}${s}`);
}

/**
 * A header line `Name: value`, folded (CRLF before a space) so lines stay at 76 characters or
 * fewer where the value has spaces to fold at. `value` must already be 7-bit (encoded).
 *
 * @example
 * foldHeader("Subject", "a ".repeat(50)).split("\r\n").every((l) => l.length <= 76) // true
 */
export function foldHeader(name: string, value: string): string {
  const words = value.split(" ");
  const lines: string[] = [];
  let line = `${name}:`;
  let hasWord = false;
  for (const w of words) {
    if (hasWord && line.length + 1 + w.length > HEADER_LINE_LIMIT) {
      lines.push(line);
      line = ` ${w}`;
    } else {
      line += ` ${w}`;
    }
    hasWord = true;
  }
  lines.push(line);
  return lines.join("\r\n");
}

/**
 * A header with parameters, e.g. `Content-Type: text/plain; charset=utf-8`, folded between
 * parameters.
 *
 * @example
 * foldHeaderWithParams("Content-Type", "text/plain", [["charset", "utf-8"]]) // "Content-Type: text/plain; charset=utf-8"
 */
export function foldHeaderWithParams(name: string, value: string, params: ReadonlyArray<readonly [string, string]>): string {
  const segments = [value, ...params.flatMap(([k, v]) => encodeParameter(k, v))];
  return foldHeader(name, segments.join("; "));
}

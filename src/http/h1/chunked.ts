/**
 * The chunked transfer coding decoder (RFC 9112 §7.1): chunk-size, chunk extensions (parsed and
 * dropped), data, last-chunk and the trailer section. Incremental: it accepts input cut anywhere,
 * down to one byte at a time. Pure.
 *
 * Strict, like the head parser: sizes are 1*HEXDIG with at most 15 digits and no more than
 * Number.MAX_SAFE_INTEGER; no whitespace anywhere on the size line (RFC 9112 §7.1.1 lets a
 * recipient accept BWS around ';' and '=', llhttp does not, and neither do we); every line ends in
 * CRLF; chunk data is followed by exactly CRLF; trailers obey the head's field-line rules.
 */
import {
  COLON,
  CR,
  DEFAULT_LIMITS,
  HTAB,
  LF,
  SP,
  TCHAR,
  VALUE_BYTE,
  fieldAt,
  fieldError,
  isNameAt,
  latin1,
  scanFieldLine,
  type ParseLimits,
} from "./field-line.js";

/**
 * What one push yielded. `data` are views into the pushed buffer (copy them to keep them past the
 * next push); `consumed` is how much of it the body used, and once `done`, the rest of the buffer
 * belongs to the next request.
 */
export type ChunkResult =
  | { kind: "data"; data: Buffer[]; consumed: number; done: boolean; trailers?: Array<[string, string]> }
  | { kind: "error"; reason: string };

const enum State {
  SizeStart,
  Size,
  SizeLf,
  ExtName,
  ExtNameRest,
  ExtValueStart,
  ExtToken,
  ExtQuoted,
  ExtQuotedEscape,
  ExtAfterQuoted,
  Data,
  DataCr,
  DataLf,
  TrailerLineStart,
  TrailerLine,
  TrailerLineLf,
  TrailerEndLf,
  Done,
  Failed,
}

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

/** qdtext and the bytes a quoted-pair may escape, minus '"' and '\' (RFC 9110 §5.6.4). */
const QDTEXT = new Uint8Array(256);
QDTEXT[HTAB] = 1;
for (let c = 0x20; c <= 0xff; c++) if (c !== 0x22 && c !== 0x5c && c !== 0x7f) QDTEXT[c] = 1;

const MAX_SIZE_DIGITS = 15;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LF_BUF = Buffer.from("\n");

/** Fields that only mean something in the head: Content-Length, Transfer-Encoding, Host. */
function isHeadOnlyField(line: Buffer, start: number, end: number): boolean {
  return isNameAt(line, start, end, "host") || isNameAt(line, start, end, "content-length") || isNameAt(line, start, end, "transfer-encoding");
}

/**
 * Decodes one chunked body.
 *
 * @example
 * const d = new ChunkedDecoder();
 * d.push(Buffer.from("3\r\nabc\r\n0\r\n\r\nGET")) // { kind: "data", data: [<abc>], consumed: 13, done: true, trailers: [] }
 */
export class ChunkedDecoder {
  readonly #limits: ParseLimits;
  #state = State.SizeStart;
  #size = 0;
  #digits = 0;
  #remaining = 0;
  #extBytes = 0;
  #trailerBytes = 0;
  #line: Buffer[] = [];
  #nameBytes = 0;
  #inValue = false;
  #trailers: Array<[string, string]> = [];
  #error = "";

  constructor(limits: ParseLimits = DEFAULT_LIMITS) {
    this.#limits = limits;
  }

  /** Feeds the next bytes of the body. After an error, every push returns the same error. */
  push(buf: Buffer): ChunkResult {
    const data: Buffer[] = [];
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      const c = buf[pos] as number;
      switch (this.#state) {
        case State.SizeStart: {
          const h = HEX[c] as number;
          if (h < 0) return this.#fail("invalid chunk size");
          this.#size = h;
          this.#digits = 1;
          this.#extBytes = 0;
          this.#state = State.Size;
          pos++;
          break;
        }
        case State.Size: {
          const h = HEX[c] as number;
          if (h >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) return this.#fail("chunk size too long");
            this.#size = this.#size * 16 + h;
            if (this.#size > Number.MAX_SAFE_INTEGER) return this.#fail("chunk size too large");
          } else if (c === CR) {
            this.#state = State.SizeLf;
          } else if (c === SEMI) {
            this.#extBytes = 1;
            this.#state = State.ExtName;
          } else {
            return this.#fail("invalid chunk size line");
          }
          pos++;
          break;
        }
        case State.SizeLf:
          if (c !== LF) return this.#fail("bare CR in chunk size line");
          pos++;
          if (this.#size === 0) {
            this.#state = State.TrailerLineStart;
          } else {
            this.#remaining = this.#size;
            this.#state = State.Data;
          }
          break;
        case State.Data: {
          const n = Math.min(this.#remaining, len - pos);
          data.push(buf.subarray(pos, pos + n));
          pos += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (c !== CR) return this.#fail("chunk data not followed by CRLF");
          this.#state = State.DataLf;
          pos++;
          break;
        case State.DataLf:
          if (c !== LF) return this.#fail("chunk data not followed by CRLF");
          this.#state = State.SizeStart;
          pos++;
          break;
        case State.TrailerLineStart:
          if (c === CR) {
            this.#state = State.TrailerEndLf;
            pos++;
            break;
          }
          if (c === SP || c === HTAB) return this.#fail("obs-fold in trailer section");
          if (c === LF) return this.#fail("bare LF in trailer section");
          this.#nameBytes = 0;
          this.#inValue = false;
          this.#state = State.TrailerLine;
          break;
        case State.TrailerLine: {
          // Checked byte by byte, so a bad trailer fails as soon as it arrives (as in the head).
          let i = pos;
          for (; i < len; i++) {
            const b = buf[i] as number;
            if (this.#inValue) {
              if (VALUE_BYTE[b] === 1) continue;
              if (b === CR) break;
              return this.#fail(b === LF ? "bare LF in trailer section" : "invalid byte in trailer value");
            }
            if (TCHAR[b] === 1) this.#nameBytes++;
            else if (b === COLON && this.#nameBytes > 0) this.#inValue = true;
            else return this.#fail(b === LF ? "bare LF in trailer section" : "invalid trailer field name");
          }
          const stop = i < len ? i + 1 : len;
          if (!this.#countTrailer(stop - pos)) return this.#fail("trailer section too large");
          this.#line.push(buf.subarray(pos, stop));
          pos = stop;
          if (i < len) this.#state = State.TrailerLineLf;
          break;
        }
        case State.TrailerLineLf: {
          if (c !== LF) return this.#fail("bare CR in trailer section");
          pos++;
          if (!this.#countTrailer(1)) return this.#fail("trailer section too large");
          this.#line.push(LF_BUF);
          const line = Buffer.concat(this.#line);
          this.#line = [];
          const next = scanFieldLine(line, 0, line.length);
          if (next !== line.length) return this.#fail(`${next < 0 ? fieldError(next) : "bare CR"} in trailer section`);
          if (this.#trailers.length >= this.#limits.maxFields) return this.#fail("too many trailer fields");
          // RFC 9110 §6.5.1: framing and routing cannot change after the head; a trailer that
          // tries is an attack on whoever merges trailers into the header section.
          if (isHeadOnlyField(line, fieldAt[0] as number, fieldAt[1] as number)) {
            return this.#fail("framing or routing field in trailer section");
          }
          this.#trailers.push([latin1(line, fieldAt[0] as number, fieldAt[1] as number), latin1(line, fieldAt[2] as number, fieldAt[3] as number)]);
          this.#state = State.TrailerLineStart;
          break;
        }
        case State.TrailerEndLf:
          if (c !== LF) return this.#fail("bare CR after trailer section");
          this.#state = State.Done;
          return { kind: "data", data, consumed: pos + 1, done: true, trailers: this.#trailers };
        case State.Done:
          return { kind: "data", data, consumed: pos, done: true, trailers: this.#trailers };
        case State.Failed:
          return { kind: "error", reason: this.#error };
        default:
          // chunk-ext bytes from the first ';' up to the CR.
          if (c !== CR && ++this.#extBytes > this.#limits.maxChunkExtBytes) return this.#fail("chunk extensions too large");
          if (!this.#extension(c)) return this.#fail("invalid chunk extension");
          pos++;
      }
    }
    if (this.#state === State.Failed) return { kind: "error", reason: this.#error };
    return { kind: "data", data, consumed: pos, done: this.#state === State.Done };
  }

  /** One byte of `*( ";" ext-name [ "=" ext-value ] )` after the first ';' (RFC 9112 §7.1.1). */
  #extension(c: number): boolean {
    switch (this.#state) {
      case State.ExtName:
        if (TCHAR[c] !== 1) return false;
        this.#state = State.ExtNameRest;
        return true;
      case State.ExtNameRest:
      case State.ExtToken:
        if (TCHAR[c] === 1) return true;
        if (c === EQUALS && this.#state === State.ExtNameRest) this.#state = State.ExtValueStart;
        else return this.#extensionEnd(c);
        return true;
      case State.ExtValueStart:
        if (c === DQUOTE) this.#state = State.ExtQuoted;
        else if (TCHAR[c] === 1) this.#state = State.ExtToken;
        else return false;
        return true;
      case State.ExtQuoted:
        if (c === DQUOTE) this.#state = State.ExtAfterQuoted;
        else if (c === BACKSLASH) this.#state = State.ExtQuotedEscape;
        else if (QDTEXT[c] !== 1) return false;
        return true;
      case State.ExtQuotedEscape:
        if (QDTEXT[c] !== 1 && c !== DQUOTE && c !== BACKSLASH) return false;
        this.#state = State.ExtQuoted;
        return true;
      case State.ExtAfterQuoted:
        return this.#extensionEnd(c);
      default:
        return false;
    }
  }

  /** After a complete extension: another ';' or the CR ending the size line. */
  #extensionEnd(c: number): boolean {
    if (c === SEMI) this.#state = State.ExtName;
    else if (c === CR) this.#state = State.SizeLf;
    else return false;
    return true;
  }

  #countTrailer(n: number): boolean {
    this.#trailerBytes += n;
    return this.#trailerBytes <= this.#limits.maxTrailerBytes;
  }

  #fail(reason: string): ChunkResult {
    this.#state = State.Failed;
    this.#error = reason;
    return { kind: "error", reason };
  }
}

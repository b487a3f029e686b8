/**
 * The message on the wire after DATA (RFC 5321 §4.1.1.4, §4.5.2, §4.5.3.1.6, §2.3.8):
 * every line ends in CRLF (a bare LF or a bare CR becomes CRLF), a line that starts with "."
 * gets a second "." (dot-stuffing, so the server never sees an early end of data), no line is
 * longer than 998 octets, and the data ends with CRLF "." CRLF.
 * Pure and streaming: the state (line start, pending CR, line length) carries across chunks, so
 * a chunk boundary between CR and LF, or just before a ".", changes nothing.
 */
import { WirekitError } from "../core/errors.js";

/** Longest line allowed on the wire, without its CRLF (RFC 5321 §4.5.3.1.6: 1000 with CRLF). */
export const MAX_LINE_OCTETS = 998;

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/**
 * Streaming dot-stuffer. Throws ERR_USAGE when a line would exceed 998 octets: such a message
 * must be encoded (quoted-printable, base64) before sending, not silently broken.
 *
 * @example
 * const s = new DotStuffer();
 * Buffer.concat([s.push(Buffer.from(".hi\n")), s.end()]).toString() // "..hi\r\n.\r\n"
 */
export class DotStuffer {
  #atLineStart = true;
  #pendingCr = false;
  #lineLength = 0;
  #line = 1;
  #octetsIn = 0;

  /** Stuff one chunk; returns the bytes to send. */
  push(chunk: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(chunk.length * 2 + 2);
    let o = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (this.#pendingCr) {
        this.#pendingCr = false;
        out[o++] = CR;
        out[o++] = LF;
        this.#newLine();
        if (b === LF) continue;
      }
      if (b === CR) {
        this.#pendingCr = true;
        continue;
      }
      if (b === LF) {
        out[o++] = CR;
        out[o++] = LF;
        this.#newLine();
        continue;
      }
      if (this.#atLineStart && b === DOT) {
        out[o++] = DOT;
        this.#lineLength++;
      }
      this.#atLineStart = false;
      out[o++] = b;
      if (++this.#lineLength > MAX_LINE_OCTETS) {
        throw new WirekitError("ERR_USAGE", `message line ${this.#line} is longer than ${MAX_LINE_OCTETS} octets (RFC 5321 §4.5.3.1.6); encode the body first`);
      }
    }
    this.#octetsIn += chunk.length;
    return out.subarray(0, o);
  }

  /** Finish: terminate the last line if needed and add the end-of-data line "." CRLF. */
  end(): Buffer {
    const parts: number[] = [];
    if (this.#pendingCr || !this.#atLineStart) parts.push(CR, LF);
    this.#pendingCr = false;
    this.#atLineStart = true;
    parts.push(DOT, CR, LF);
    return Buffer.from(parts);
  }

  /** Octets fed in so far. */
  get octetsIn(): number {
    return this.#octetsIn;
  }

  #newLine(): void {
    this.#atLineStart = true;
    this.#lineLength = 0;
    this.#line++;
  }
}

/**
 * Dot-stuff a whole message at once.
 *
 * @example
 * dotStuff(Buffer.from("a\n.\nb")).toString() // "a\r\n..\r\nb\r\n.\r\n"
 */
export function dotStuff(message: Uint8Array): Buffer {
  const s = new DotStuffer();
  return Buffer.concat([s.push(message), s.end()]);
}

/**
 * The reverse, as a server does (RFC 5321 §4.5.2): strip the end line and one leading "." of
 * each line. For tests and for showing what the server will store.
 */
export function dotUnstuff(wire: Buffer): Buffer {
  let text = wire.toString("latin1");
  if (text.endsWith("\r\n.\r\n")) text = text.slice(0, -3);
  else if (text === ".\r\n") text = "";
  return Buffer.from(text.replace(/(^|\r\n)\./g, "$1"), "latin1");
}

/** Normalise every line end to CRLF (bare LF and bare CR alike). */
export function toCrlf(text: string): string {
  return text.replace(/\r\n|\r|\n/g, "\r\n");
}

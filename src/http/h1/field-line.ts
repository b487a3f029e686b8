/**
 * The byte-level grammar the request head and the chunked trailer section share (RFC 9110 §5.1,
 * §5.5, §5.6.2; RFC 9112 §5): the tchar table, the field-value byte table, the parse limits, and
 * one strict field-line scanner. Pure.
 */

/** Size bounds for one request head and its chunked framing. */
export interface ParseLimits {
  /** Bytes of the head, from the first byte to the end of the empty line. @default 16384 */
  maxHeadBytes: number;
  /** Bytes of the request-target; longer is 414 (RFC 9112 §3). @default 8192 */
  maxTargetBytes: number;
  /** Field lines in the head (and in a trailer section); more is 431. @default 100 */
  maxFields: number;
  /** Bytes of the extensions on one chunk-size line, from the first ';' to the CR. @default 4096 */
  maxChunkExtBytes: number;
  /** Bytes of the trailer field lines (CRLFs included) after the last chunk. @default 16384 */
  maxTrailerBytes: number;
}

export const DEFAULT_LIMITS: ParseLimits = Object.freeze({
  maxHeadBytes: 16384,
  maxTargetBytes: 8192,
  maxFields: 100,
  maxChunkExtBytes: 4096,
  maxTrailerBytes: 16384,
});

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;

/** 1 for tchar (RFC 9110 §5.6.2): "!#$%&'*+-.^_`|~", DIGIT, ALPHA. */
export const TCHAR: Uint8Array = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** 1 for the bytes a field value may hold: field-vchar (VCHAR / obs-text), SP, HTAB (RFC 9110 §5.5). */
export const VALUE_BYTE: Uint8Array = new Uint8Array(256);
VALUE_BYTE[HTAB] = 1;
for (let c = 0x20; c <= 0x7e; c++) VALUE_BYTE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) VALUE_BYTE[c] = 1;

/** Node's Buffer has latin1Slice (faster than toString("latin1", …)); @types/node does not declare it. */
interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

/** A slice of `buf` as a latin1 string (one char per byte, so no byte is lost or replaced). */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Latin1Buffer).latin1Slice(start, end);
}

/** Result codes of scanFieldLine besides a position. */
export const FIELD_INCOMPLETE = -1;
export const FIELD_BAD_NAME = -2;
export const FIELD_BAD_VALUE = -3;
export const FIELD_BARE_LF = -4;
export const FIELD_BARE_CR = -5;
export const FIELD_NO_COLON = -6;

/**
 * Where the last successful scanFieldLine found the name and the OWS-trimmed value:
 * [nameStart, nameEnd, valueStart, valueEnd]. Module scratch, so scanning allocates nothing.
 */
export const fieldAt = new Int32Array(4);

/**
 * Scans one field line `name ":" OWS value OWS CRLF` starting at `pos` (which is not CR, SP or
 * HTAB: the caller handles the end of the section and rejects obs-fold). Returns the position
 * after the LF and sets fieldAt, or a negative FIELD_* code. Stops at `end`.
 */
export function scanFieldLine(buf: Buffer, pos: number, end: number): number {
  const nameStart = pos;
  let c = 0;
  while (pos < end) {
    c = buf[pos] as number;
    if (TCHAR[c] !== 1) break;
    pos++;
  }
  if (pos >= end) return FIELD_INCOMPLETE;
  // No whitespace between name and colon (RFC 9112 §5.1): it is a smuggling vector.
  if (c !== COLON) return c === LF ? FIELD_BARE_LF : c === CR ? FIELD_NO_COLON : FIELD_BAD_NAME;
  if (pos === nameStart) return FIELD_BAD_NAME;
  const nameEnd = pos;
  pos++;
  while (pos < end && ((c = buf[pos] as number) === SP || c === HTAB)) pos++;
  const valueStart = pos;
  let valueEnd = pos;
  while (pos < end) {
    c = buf[pos] as number;
    if (VALUE_BYTE[c] !== 1) break;
    pos++;
    if (c !== SP && c !== HTAB) valueEnd = pos;
  }
  if (pos >= end) return FIELD_INCOMPLETE;
  if (c === LF) return FIELD_BARE_LF;
  if (c !== CR) return FIELD_BAD_VALUE;
  if (pos + 1 >= end) return FIELD_INCOMPLETE;
  if (buf[pos + 1] !== LF) return FIELD_BARE_CR;
  fieldAt[0] = nameStart;
  fieldAt[1] = nameEnd;
  fieldAt[2] = valueStart;
  fieldAt[3] = valueEnd;
  return pos + 2;
}

/**
 * True when buf[start, end) is `lower` in any case. Only for names made of letters, digits and
 * '-': OR-ing 0x20 folds case for letters and maps no other tchar onto one.
 */
export function isNameAt(buf: Buffer, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if (((buf[start + i] as number) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** Short log reason for a negative scanFieldLine code. */
export function fieldError(code: number): string {
  switch (code) {
    case FIELD_BAD_NAME:
      return "invalid field name";
    case FIELD_BAD_VALUE:
      return "invalid byte in field value";
    case FIELD_BARE_LF:
      return "bare LF";
    case FIELD_BARE_CR:
      return "bare CR";
    default:
      return "field line without colon";
  }
}

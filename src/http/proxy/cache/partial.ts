/**
 * Partial entries (RFC 9111 §3.3, §3.4; RFC 9110 §14), pure: a 206 from the origin is stored
 * as the parts of a representation it carries, parts of the same representation (the same
 * strong validator) are combined, a request whose ranges all lie inside stored parts is served
 * from them, and once the parts cover the whole representation they become a complete entry.
 *
 * A partial entry's body is its parts' bytes one after another, in order; `meta.parts` says
 * which bytes of the representation they are.
 */
import { getField, type HeaderList } from "../../header-list.js";
import { strongMatch } from "../../static/conditional.js";
import type { ByteRange } from "../../static/range.js";

/** What a partial entry holds of its representation: sorted, disjoint, non-adjacent ranges. */
export interface StoredParts {
  /** The representation's complete length (the `/N` of Content-Range). */
  completeLength: number;
  /** Inclusive byte ranges, as [first, last] pairs (JSON in the entry's head). */
  ranges: Array<[number, number]>;
}

/** One part the origin sent: where its bytes sit in the representation. */
export interface ReceivedPart {
  range: ByteRange;
  completeLength: number;
}

/**
 * The single part a 206 carries, from its `Content-Range: bytes A-B/N` (a complete length is
 * required: `/*` cannot be combined). Undefined for anything else (multipart/byteranges included).
 *
 * @example
 * receivedPart([["Content-Range", "bytes 0-99/1000"]]) // { range: { start: 0, end: 99 }, completeLength: 1000 }
 */
export function receivedPart(headers: HeaderList): ReceivedPart | undefined {
  const m = /^\s*bytes\s+(\d{1,15})-(\d{1,15})\/(\d{1,15})\s*$/i.exec(getField(headers, "content-range") ?? "");
  if (m === null) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const completeLength = Number(m[3]);
  if (end < start || end >= completeLength) return undefined;
  return { range: { start, end }, completeLength };
}

/**
 * The strong validator parts must share to be combined (RFC 9111 §3.4): a strong ETag, or
 * without an ETag a Last-Modified (taken with the complete length, which the caller compares).
 * Undefined when the response has neither (or only a weak ETag): such parts are not stored.
 *
 * @example
 * strongValidator([["ETag", '"v1"']])   // 'etag "v1"'
 * strongValidator([["ETag", 'W/"v1"']]) // undefined
 */
export function strongValidator(headers: HeaderList): string | undefined {
  const etag = getField(headers, "etag")?.trim();
  if (etag !== undefined) return strongMatch(etag, etag) ? `etag ${etag}` : undefined;
  const lm = getField(headers, "last-modified")?.trim();
  return lm === undefined || lm === "" ? undefined : `last-modified ${lm}`;
}

/** May a new part join stored parts? The same strong validator and the same complete length. */
export function sameRepresentation(stored: HeaderList, parts: StoredParts, received: HeaderList, part: ReceivedPart): boolean {
  const a = strongValidator(stored);
  return a !== undefined && a === strongValidator(received) && parts.completeLength === part.completeLength;
}

/** Bytes of a stored partial body to copy into a combined one: `length` bytes from `offset`. */
export interface BodySpan {
  offset: number;
  length: number;
}

/**
 * How stored parts (or none) and a new part combine, without their bytes: the new parts (the
 * union of the ranges), and the combined body's layout — the stored bytes that come before the
 * new part (`before`, spans of the stored body), the new part's bytes, then the stored bytes
 * after it (`after`). The new bytes win where they overlap, and in that order the combined body
 * can be written as a stream: old bytes, the part as it arrives, old bytes.
 *
 * @example
 * combineLayout({ completeLength: 20, ranges: [[0, 3], [10, 12]] }, { range: { start: 2, end: 10 }, completeLength: 20 })
 * // { parts: { completeLength: 20, ranges: [[0, 12]] }, before: [{ offset: 0, length: 2 }], after: [{ offset: 5, length: 2 }] }
 */
export function combineLayout(stored: StoredParts | undefined, part: ReceivedPart): { parts: StoredParts; before: BodySpan[]; after: BodySpan[] } {
  const { start, end } = part.range;
  const before: BodySpan[] = [];
  const after: BodySpan[] = [];
  const all: Array<[number, number]> = [[start, end]];
  let off = 0;
  for (const [s, e] of stored?.ranges ?? []) {
    all.push([s, e]);
    if (s < start) before.push({ offset: off, length: Math.min(e, start - 1) - s + 1 });
    if (e > end) {
      const from = Math.max(s, end + 1);
      after.push({ offset: off + from - s, length: e - from + 1 });
    }
    off += e - s + 1;
  }
  const ranges: Array<[number, number]> = [];
  for (const [s, e] of all.sort((x, y) => x[0] - y[0])) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && s <= last[1] + 1) last[1] = Math.max(last[1], e);
    else ranges.push([s, e]);
  }
  return { parts: { completeLength: part.completeLength, ranges }, before, after };
}

/**
 * Combine stored parts (or none) held in memory with a new part: the union of the ranges, the
 * new bytes winning where they overlap (the layout of `combineLayout`). Returns the new parts
 * and their body.
 *
 * @example
 * combineParts(undefined, Buffer.from("abc"), { range: { start: 0, end: 2 }, completeLength: 6 })
 * // { parts: { completeLength: 6, ranges: [[0, 2]] }, body: <"abc"> }
 */
export function combineParts(stored: { parts: StoredParts; body: Buffer } | undefined, body: Buffer, part: ReceivedPart): { parts: StoredParts; body: Buffer } {
  const layout = combineLayout(stored?.parts, part);
  const old = stored?.body ?? Buffer.alloc(0);
  const span = (p: BodySpan): Buffer => old.subarray(p.offset, p.offset + p.length);
  const pieces = [...layout.before.map(span), body.subarray(0, part.range.end - part.range.start + 1), ...layout.after.map(span)];
  return { parts: layout.parts, body: Buffer.concat(pieces, partsLength(layout.parts)) };
}

/** True when the parts are the whole representation (the entry can become a complete one). */
export function isWhole(parts: StoredParts): boolean {
  const [only] = parts.ranges;
  return parts.ranges.length === 1 && only !== undefined && only[0] === 0 && only[1] === parts.completeLength - 1;
}

/**
 * Where the bytes of `range` start in a partial entry's body, when they all lie inside one
 * stored part; undefined when any of them is missing (the request goes to the origin).
 *
 * @example
 * offsetOf({ completeLength: 100, ranges: [[0, 9], [50, 59]] }, { start: 52, end: 55 }) // 12
 */
export function offsetOf(parts: StoredParts, range: ByteRange): number | undefined {
  let off = 0;
  for (const [s, e] of parts.ranges) {
    if (range.start >= s && range.end <= e) return off + range.start - s;
    off += e - s + 1;
  }
  return undefined;
}

/** Fields of a 206 that describe the part, not the representation: not kept with the parts. */
export const PART_FIELDS: ReadonlySet<string> = new Set(["content-range", "content-length"]);

/** Does a decoded JSON value have the shape of StoredParts? (Checks what a file or a shared store hands back.) */
export function isStoredParts(v: unknown): v is StoredParts {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  if (!Number.isSafeInteger(p.completeLength) || !Array.isArray(p.ranges) || p.ranges.length === 0) return false;
  let prev = -2;
  for (const r of p.ranges as unknown[]) {
    if (!Array.isArray(r) || r.length !== 2 || !Number.isSafeInteger(r[0]) || !Number.isSafeInteger(r[1])) return false;
    const [s, e] = r as [number, number];
    if (s <= prev + 1 || e < s || e >= (p.completeLength as number)) return false;
    prev = e;
  }
  return true;
}

/** The body length parts hold. */
export function partsLength(parts: StoredParts): number {
  let n = 0;
  for (const [s, e] of parts.ranges) n += e - s + 1;
  return n;
}

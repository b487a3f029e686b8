/**
 * Range requests, RFC 9110 §14: parse `Range: bytes=...` against a representation length,
 * and the pieces of a multipart/byteranges body (§14.6). Pure.
 */

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What to do with a Range header: ignore it (absent, not `bytes`, or malformed — §14.2 says
 * an invalid Range is ignored), serve the ranges, or answer 416.
 */
export type RangeDecision =
  | { kind: "ignore" }
  | { kind: "ranges"; ranges: ByteRange[] }
  | { kind: "unsatisfiable" };

/** Most ranges accepted in one request; more looks like a denial-of-service attempt. */
export const MAX_RANGES = 16;

/**
 * Parse a Range header for a representation of `size` bytes. Overlapping or adjacent
 * ranges are coalesced (§14.2 lets a server do so).
 *
 * @example
 * parseRange("bytes=0-99", 1000)  // { kind: "ranges", ranges: [{ start: 0, end: 99 }] }
 * parseRange("bytes=-10", 1000)   // { kind: "ranges", ranges: [{ start: 990, end: 999 }] }
 * parseRange("bytes=2000-", 1000) // { kind: "unsatisfiable" }
 */
export function parseRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: "ignore" };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return { kind: "ignore" };
  const specs = (m[1] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (specs.length === 0 || specs.length > MAX_RANGES) return { kind: "ignore" };
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === "" && r[2] === "")) return { kind: "ignore" };
    if (r[1] === "") {
      // suffix-byte-range-spec: the last N bytes
      const n = Number(r[2]);
      if (n === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(r[1]);
    if (r[2] !== "" && Number(r[2]) < start) return { kind: "ignore" }; // last-pos < first-pos: invalid
    const end = r[2] === "" ? size - 1 : Number(r[2]);
    if (start >= size) continue; // unsatisfiable on its own
    ranges.push({ start, end: Math.min(end, size - 1) });
  }
  if (ranges.length === 0) return { kind: "unsatisfiable" };
  return { kind: "ranges", ranges: coalesce(ranges) };
}

function coalesce(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** `bytes 0-99/1000` for Content-Range. */
export function contentRange(r: ByteRange, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}

/** The head of one part of a multipart/byteranges body. */
export function multipartPartHead(boundary: string, contentType: string, r: ByteRange, size: number, first: boolean): string {
  return `${first ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: ${contentRange(r, size)}\r\n\r\n`;
}

/** The closing delimiter of a multipart/byteranges body. */
export function multipartTail(boundary: string): string {
  return `\r\n--${boundary}--\r\n`;
}

/** Total body length of a multipart/byteranges response, for Content-Length. */
export function multipartLength(boundary: string, contentType: string, ranges: readonly ByteRange[], size: number): number {
  let n = Buffer.byteLength(multipartTail(boundary));
  ranges.forEach((r, i) => {
    n += Buffer.byteLength(multipartPartHead(boundary, contentType, r, size, i === 0)) + (r.end - r.start + 1);
  });
  return n;
}

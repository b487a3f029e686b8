/**
 * The on-disk format of one cache entry, pure. A file is
 *
 *   "WKCACHE1" | u32 BE meta length | meta JSON | body | footer
 *   footer = u32 BE body length (high) | u32 BE (low) | SHA-256(meta JSON ‖ body) | "WKCEND01"
 *
 * The body length is only known at the end (chunked responses), so it lives in the footer and
 * must agree with the file size: a truncated file loses its footer magic or the agreement, and
 * a corrupted one fails the hash. Neither is ever served.
 */
import { decoded, parseFailure, type Decoded } from "../../../core/errors.js";
import type { StoredMeta } from "./policy.js";
import { isStoredParts } from "./partial.js";

export const HEAD_MAGIC = Buffer.from("WKCACHE1", "latin1");
export const FOOTER_MAGIC = Buffer.from("WKCEND01", "latin1");
export const FOOTER_LENGTH = 8 + 32 + 8;
/** Largest meta JSON accepted when reading (a defence against garbage files). */
export const MAX_META_LENGTH = 1 << 20;

/**
 * Encode the head (magic, length, meta JSON).
 *
 * @example
 * const head = encodeHead(meta); // write head, then the body, then encodeFooter(...)
 */
export function encodeHead(meta: DiskMeta): Buffer {
  const { url, status, statusMessage, headers, requestTime, responseTime, varyNames, varyValues, parts } = meta;
  const json = Buffer.from(JSON.stringify({ url, status, statusMessage, headers, requestTime, responseTime, varyNames, varyValues, ...(parts === undefined ? {} : { parts }) }), "utf8");
  const out = Buffer.allocUnsafe(12 + json.length);
  HEAD_MAGIC.copy(out, 0);
  out.writeUInt32BE(json.length, 8);
  json.copy(out, 12);
  return out;
}

/** The meta as stored in the head (the body length is in the footer). */
export type DiskMeta = Omit<StoredMeta, "bodyLength">;

/** The meta decoded from the start of a file, and the head's length in bytes. */
export interface DecodedHead {
  meta: DiskMeta;
  headLength: number;
}

/** Decode a head from the first bytes of a file (needs at least the whole head). */
export function decodeHead(buf: Buffer): Decoded<DecodedHead> {
  if (buf.length < 12) return parseFailure("cache entry: short head", { needed: 12, got: buf.length });
  if (!buf.subarray(0, 8).equals(HEAD_MAGIC)) return parseFailure("cache entry: bad magic", { offset: 0 });
  const len = buf.readUInt32BE(8);
  if (len > MAX_META_LENGTH) return parseFailure("cache entry: meta too long", { offset: 8 });
  if (buf.length < 12 + len) return parseFailure("cache entry: truncated meta", { needed: 12 + len, got: buf.length });
  let meta: unknown;
  try {
    meta = JSON.parse(buf.subarray(12, 12 + len).toString("utf8"));
  } catch {
    return parseFailure("cache entry: meta is not JSON", { offset: 12 });
  }
  if (!isStoredMeta(meta)) return parseFailure("cache entry: meta has the wrong shape", { offset: 12 });
  return decoded({ meta, headLength: 12 + len });
}

/** Does a decoded JSON value have the shape of a stored head's meta? (Also checks what a shared store hands back.) */
export function isStoredMeta(v: unknown): v is DiskMeta {
  if (typeof v !== "object" || v === null) return false;
  const m = v as Record<string, unknown>;
  return (
    typeof m.url === "string" &&
    typeof m.status === "number" &&
    typeof m.statusMessage === "string" &&
    Array.isArray(m.headers) &&
    m.headers.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === "string" && typeof h[1] === "string") &&
    typeof m.requestTime === "number" &&
    typeof m.responseTime === "number" &&
    Array.isArray(m.varyNames) &&
    Array.isArray(m.varyValues) &&
    (m.parts === undefined || isStoredParts(m.parts))
  );
}

/** Encode the footer for a body of `bodyLength` bytes whose running hash is `sha256`. */
export function encodeFooter(bodyLength: number, sha256: Buffer): Buffer {
  const out = Buffer.alloc(FOOTER_LENGTH);
  out.writeUInt32BE(Math.floor(bodyLength / 2 ** 32), 0);
  out.writeUInt32BE(bodyLength % 2 ** 32, 4);
  sha256.copy(out, 8, 0, 32);
  FOOTER_MAGIC.copy(out, 40);
  return out;
}

/** What the footer says. */
export interface DecodedFooter {
  bodyLength: number;
  sha256: Buffer;
}

/** Decode the last FOOTER_LENGTH bytes of a file. */
export function decodeFooter(buf: Buffer): Decoded<DecodedFooter> {
  if (buf.length !== FOOTER_LENGTH) return parseFailure("cache entry: short footer", { needed: FOOTER_LENGTH, got: buf.length });
  if (!buf.subarray(40).equals(FOOTER_MAGIC)) return parseFailure("cache entry: bad footer magic", { offset: 40 });
  const bodyLength = buf.readUInt32BE(0) * 2 ** 32 + buf.readUInt32BE(4);
  return decoded({ bodyLength, sha256: Buffer.from(buf.subarray(8, 40)) });
}

/** The size a complete file must have. */
export function expectedFileSize(headLength: number, bodyLength: number): number {
  return headLength + bodyLength + FOOTER_LENGTH;
}

/**
 * The on-disk format of one cache entry, pure. A file is
 *
 *   "WKCACHE2" | u32 BE meta length | meta JSON | body | block table | footer
 *   block table = SHA-256 of each BLOCK (64 KiB) of the body, in order (the last one shorter)
 *   footer = u32 BE body length (high) | u32 BE (low) | SHA-256(meta JSON ‖ block table) | "WKCEND02"
 *
 * The body length is only known at the end (chunked responses), so it lives in the footer and
 * must agree with the file size: a truncated file loses its footer magic or the agreement. A
 * reader checks the table against the footer's hash (which covers the meta too), then each
 * block against its digest before any of its bytes are used: a corrupted file is never served,
 * and a range of a large entry reads and checks only the blocks it touches. Files of the first
 * format ("WKCACHE1": one hash of the whole body, no table) fail the head's magic and are
 * discarded by the start-up scan.
 */
import { createHash } from "node:crypto";
import { decoded, parseFailure, type Decoded } from "../../../core/errors.js";
import type { StoredMeta } from "./policy.js";
import { isStoredParts } from "./partial.js";

export const HEAD_MAGIC = Buffer.from("WKCACHE2", "latin1");
export const FOOTER_MAGIC = Buffer.from("WKCEND02", "latin1");
export const FOOTER_LENGTH = 8 + 32 + 8;
/** The body is checked by blocks of this size when read by ranges. */
export const BLOCK = 64 * 1024;
/** Bytes of one block digest (SHA-256). */
export const DIGEST_LENGTH = 32;
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

/** Encode the footer for a body of `bodyLength` bytes whose meta JSON and block table hash to `tableSha256`. */
export function encodeFooter(bodyLength: number, tableSha256: Buffer): Buffer {
  const out = Buffer.alloc(FOOTER_LENGTH);
  out.writeUInt32BE(Math.floor(bodyLength / 2 ** 32), 0);
  out.writeUInt32BE(bodyLength % 2 ** 32, 4);
  tableSha256.copy(out, 8, 0, 32);
  FOOTER_MAGIC.copy(out, 40);
  return out;
}

/** What the footer says. */
export interface DecodedFooter {
  bodyLength: number;
  /** SHA-256(meta JSON ‖ block table). */
  tableSha256: Buffer;
}

/** Decode the last FOOTER_LENGTH bytes of a file. */
export function decodeFooter(buf: Buffer): Decoded<DecodedFooter> {
  if (buf.length !== FOOTER_LENGTH) return parseFailure("cache entry: short footer", { needed: FOOTER_LENGTH, got: buf.length });
  if (!buf.subarray(40).equals(FOOTER_MAGIC)) return parseFailure("cache entry: bad footer magic", { offset: 40 });
  const bodyLength = buf.readUInt32BE(0) * 2 ** 32 + buf.readUInt32BE(4);
  return decoded({ bodyLength, tableSha256: Buffer.from(buf.subarray(8, 40)) });
}

/** How many blocks a body of `bodyLength` bytes has. */
export function blockCount(bodyLength: number): number {
  return Math.ceil(bodyLength / BLOCK);
}

/** Bytes of the block table of a body of `bodyLength` bytes. */
export function tableLength(bodyLength: number): number {
  return blockCount(bodyLength) * DIGEST_LENGTH;
}

/** The size a complete file must have. */
export function expectedFileSize(headLength: number, bodyLength: number): number {
  return headLength + bodyLength + tableLength(bodyLength) + FOOTER_LENGTH;
}

/**
 * The block table of a body fed in pieces of any size (the SHA-256 of each BLOCK), and at the
 * end the table and the footer.
 *
 * @example
 * const h = new BodyHasher(head); h.update(chunk); const tail = h.tail(); // block table ‖ footer
 */
export class BodyHasher {
  readonly #meta: Buffer;
  #block = createHash("sha256");
  #inBlock = 0;
  #length = 0;
  readonly #digests: Buffer[] = [];

  /** @param head the encoded head (its meta JSON is hashed with the table) */
  constructor(head: Buffer) {
    this.#meta = head.subarray(12);
  }

  update(chunk: Buffer): void {
    this.#length += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(BLOCK - this.#inBlock, chunk.length - at);
      this.#block.update(n === chunk.length ? chunk : chunk.subarray(at, at + n));
      this.#inBlock += n;
      at += n;
      if (this.#inBlock === BLOCK) {
        this.#digests.push(this.#block.digest());
        this.#block = createHash("sha256");
        this.#inBlock = 0;
      }
    }
  }

  /** The block table and the footer, once the whole body was fed (call once). */
  tail(): Buffer {
    if (this.#inBlock > 0) this.#digests.push(this.#block.digest());
    const tableLen = this.#digests.length * DIGEST_LENGTH;
    const out = Buffer.allocUnsafe(tableLen + FOOTER_LENGTH);
    this.#digests.forEach((d, i) => d.copy(out, i * DIGEST_LENGTH));
    const table = out.subarray(0, tableLen);
    encodeFooter(this.#length, createHash("sha256").update(this.#meta).update(table).digest()).copy(out, tableLen);
    return out;
  }
}

/**
 * The block table and footer of a body held whole.
 *
 * @example
 * writeWhole(tmp, [head, body, encodeTail(head, body)]);
 */
export function encodeTail(head: Buffer, body: Buffer): Buffer {
  const h = new BodyHasher(head);
  h.update(body);
  return h.tail();
}

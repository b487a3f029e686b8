/**
 * The UDP echo lab's wire format (RFC 768 datagrams, no further standard). Pure functions only.
 *
 * - Request: `<id> <message>`, where `<id>` is 16 hex digits (a random 64-bit request ID) and
 *   `<message>` is any bytes. A datagram without that prefix is a plain message (the lab's
 *   original client, `nc -u`, ...).
 * - Reply: `I received from you a message of N bytes`, prefixed by `<id> ` when the request
 *   carried one. N counts the message's bytes (UTF-8 bytes, not characters), without the ID.
 * - Part: one piece of a message too big for one datagram: a 20-byte binary header (magic
 *   "WKP\x01", 64-bit message ID, part number, part count, total size) and the piece.
 */
import { decoded, parseFailure, type Decoded } from "../../core/errors.js";
import type { Random } from "../../core/random.js";
import { MAX_UDP_PAYLOAD_V4, MAX_UDP_PAYLOAD_V6 } from "../ping/protocol.js";

export { MAX_UDP_PAYLOAD_V4, MAX_UDP_PAYLOAD_V6 };

/** Length of a request ID in hex digits (64 bits). */
export const REQUEST_ID_LENGTH = 16;

const ID_RE = /^[0-9a-fA-F]{16}$/;
const SPACE = 0x20;

/**
 * A fresh random 64-bit request ID as 16 lowercase hex digits. Pass an unguessable source
 * (`secureRandom`) in real use: an attacker who can predict the ID can forge a reply.
 *
 * @example
 * newRequestId(secureRandom) // "5c1f0a3e9d2b4471"
 */
export function newRequestId(random: Random): string {
  return random.bytes(8).toString("hex");
}

/**
 * True for a well-formed request ID (16 hex digits).
 *
 * @example
 * isRequestId("5c1f0a3e9d2b4471") // true
 */
export function isRequestId(text: string): boolean {
  return ID_RE.test(text);
}

function hasIdPrefix(buf: Uint8Array): boolean {
  if (buf.length < REQUEST_ID_LENGTH + 1 || buf[REQUEST_ID_LENGTH] !== SPACE) return false;
  for (let i = 0; i < REQUEST_ID_LENGTH; i++) {
    const b = buf[i] as number;
    const hex = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
    if (!hex) return false;
  }
  return true;
}

/**
 * Frame a request: `<id> <message>`.
 *
 * @example
 * encodeRequest("00000000000000ff", "hello").toString() // "00000000000000ff hello"
 */
export function encodeRequest(id: string, message: string | Uint8Array): Buffer {
  if (!isRequestId(id)) throw new RangeError(`invalid request id '${id}' (need 16 hex digits)`);
  const body = typeof message === "string" ? Buffer.from(message, "utf8") : Buffer.from(message);
  return Buffer.concat([Buffer.from(`${id} `, "latin1"), body]);
}

/** A request as the server sees it. */
export interface EchoRequest {
  /** The request ID, exactly as sent, or undefined for a plain datagram. */
  id?: string;
  /** The message bytes (after the ID and its space). A copy, safe to keep. */
  message: Buffer;
}

/**
 * Split a datagram into request ID and message. Never fails: a datagram without a
 * well-formed ID prefix is a plain message.
 *
 * @example
 * decodeRequest(Buffer.from("00000000000000ff hi")) // { id: "00000000000000ff", message: <"hi"> }
 */
export function decodeRequest(buf: Uint8Array): EchoRequest {
  if (hasIdPrefix(buf)) {
    return {
      id: Buffer.from(buf.subarray(0, REQUEST_ID_LENGTH)).toString("latin1"),
      message: Buffer.from(buf.subarray(REQUEST_ID_LENGTH + 1)),
    };
  }
  return { message: Buffer.from(buf) };
}

/**
 * The reply text for a message of `bytes` bytes (the lab's wording).
 *
 * @example
 * replyText(5) // "I received from you a message of 5 bytes"
 */
export function replyText(bytes: number): string {
  return `I received from you a message of ${bytes} bytes`;
}

/**
 * The server's reply datagram: the reply text, prefixed by the request's ID when it had one.
 *
 * @example
 * encodeReply({ id: "00000000000000ff", message: Buffer.from("héllo") }).toString()
 * // "00000000000000ff I received from you a message of 6 bytes"
 */
export function encodeReply(request: EchoRequest): Buffer {
  return encodeTextReply(request.id, replyText(request.message.length));
}

/**
 * A reply datagram with arbitrary text (reassembly reports), ID-prefixed when `id` is set.
 *
 * @example
 * encodeTextReply("00000000000000ff", "hi").toString() // "00000000000000ff hi"
 */
export function encodeTextReply(id: string | undefined, text: string): Buffer {
  return Buffer.from(id === undefined ? text : `${id} ${text}`, "utf8");
}

/** A reply as the client sees it. */
export interface EchoReply {
  /** The request ID the reply carries (as sent), or undefined. */
  id?: string;
  /** The text after the ID (UTF-8; invalid bytes become U+FFFD). */
  text: string;
  /** N from "I received from you a message of N bytes", when the text is that sentence. */
  bytes?: number;
}

const REPLY_RE = /^I received from you a message of (\d{1,10}) bytes/;

/**
 * Decode any datagram as a reply. Never fails; fields are absent when the datagram does not
 * carry them. The client decides what to trust.
 *
 * @example
 * decodeReply(Buffer.from("00000000000000ff I received from you a message of 5 bytes"))
 * // { id: "00000000000000ff", text: "I received from you a message of 5 bytes", bytes: 5 }
 */
export function decodeReply(buf: Uint8Array): EchoReply {
  const r = decodeRequest(buf);
  const text = r.message.toString("utf8");
  const m = REPLY_RE.exec(text);
  const out: EchoReply = { text };
  if (r.id !== undefined) out.id = r.id;
  if (m) out.bytes = Number(m[1]);
  return out;
}

/**
 * Two request IDs are the same request (hex digits compare case-insensitively).
 *
 * @example
 * sameRequestId("00000000000000FF", "00000000000000ff") // true
 */
export function sameRequestId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Parts of a message split over several datagrams.

/** "WKP" + format version 1: no text request starts with these bytes (0x01 is not printable). */
export const PART_MAGIC = Buffer.from([0x57, 0x4b, 0x50, 0x01]);
/** Bytes of the part header: magic 4, message ID 8, part number 2, part count 2, total size 4. */
export const PART_HEADER_BYTES = 20;
/** Most parts one message may have (the part number is 16 bits). */
export const MAX_PARTS = 65535;

/** One part: `number` counts from 1 to `count`. */
export interface Part {
  /** Message ID, 16 hex digits (also the request ID of the server's report). */
  id: string;
  number: number;
  count: number;
  /** Size of the whole message in bytes. */
  total: number;
  /** This part's bytes (a copy). */
  data: Buffer;
}

/**
 * How many bytes part `number` of a `total`-byte message in `count` parts carries: every part
 * ceil(total/count) bytes, the last one the rest. Fixing the split in the format lets the
 * receiver reject overlapping or inconsistent parts instead of trusting offsets.
 *
 * @example
 * partLength(20000, 3, 3) // 6666 (the first two carry 6667)
 */
export function partLength(total: number, count: number, number: number): number {
  const chunk = Math.ceil(total / count);
  return Math.max(0, Math.min(chunk, total - (number - 1) * chunk));
}

/**
 * Check that a message of `total` bytes can be cut into `count` parts: every part non-empty
 * (so ceil(total/count)·(count−1) < total), and at most MAX_PARTS.
 * Returns a reason when it cannot, undefined when it can.
 *
 * @example
 * checkSplit(10, 6) // "6 parts of 2 bytes would leave the last one empty"
 */
export function checkSplit(total: number, count: number): string | undefined {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTS) return `part count must be 1-${MAX_PARTS}`;
  if (!Number.isInteger(total) || total < 0 || total > 0xffffffff) return "total size must be 0-4294967295 bytes";
  if (total === 0) return count === 1 ? undefined : "an empty message has exactly one part";
  if (partLength(total, count, count) <= 0) return `${count} parts of ${Math.ceil(total / count)} bytes would leave the last one empty`;
  return undefined;
}

/**
 * Cut `message` into `count` part datagrams (header + piece), numbered 1..count.
 *
 * @example
 * encodeParts("00000000000000ff", Buffer.alloc(80000, "a"), 16).length // 16 datagrams of 5020 bytes
 */
export function encodeParts(id: string, message: Uint8Array, count: number): Buffer[] {
  if (!isRequestId(id)) throw new RangeError(`invalid message id '${id}'`);
  const problem = checkSplit(message.length, count);
  if (problem !== undefined) throw new RangeError(problem);
  const chunk = Math.ceil(message.length / count);
  const out: Buffer[] = [];
  for (let n = 1; n <= count; n++) {
    const piece = message.subarray((n - 1) * chunk, (n - 1) * chunk + partLength(message.length, count, n));
    const d = Buffer.allocUnsafe(PART_HEADER_BYTES + piece.length);
    PART_MAGIC.copy(d, 0);
    d.write(id.toLowerCase(), 4, 8, "hex");
    d.writeUInt16BE(n, 12);
    d.writeUInt16BE(count, 14);
    d.writeUInt32BE(message.length, 16);
    d.set(piece, PART_HEADER_BYTES);
    out.push(d);
  }
  return out;
}

/**
 * True when the datagram starts with the part magic (it is meant to be a part).
 *
 * @example
 * isPart(encodeParts("00000000000000ff", Buffer.from("ab"), 2)[0]) // true
 */
export function isPart(buf: Uint8Array): boolean {
  return buf.length >= PART_MAGIC.length && PART_MAGIC.every((b, i) => buf[i] === b);
}

/**
 * Decode a part datagram; anything inconsistent is a ParseError, never an exception:
 * short header, number outside 1..count, impossible split, or a piece of the wrong length.
 *
 * @example
 * const d = decodePart(datagram);
 * if (d.ok) console.log(d.value.number, "of", d.value.count);
 */
export function decodePart(buf: Uint8Array): Decoded<Part> {
  if (!isPart(buf)) return parseFailure("part: missing magic 'WKP\\x01'", { offset: 0 });
  if (buf.length < PART_HEADER_BYTES) return parseFailure("part: header too short", { needed: PART_HEADER_BYTES, got: buf.length });
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const id = b.toString("hex", 4, 12);
  const number = b.readUInt16BE(12);
  const count = b.readUInt16BE(14);
  const total = b.readUInt32BE(16);
  if (count === 0 || number === 0 || number > count) return parseFailure(`part: number ${number} outside 1..${count}`, { offset: 12 });
  const problem = checkSplit(total, count);
  if (problem !== undefined) return parseFailure(`part: ${problem}`, { offset: 14 });
  const expected = partLength(total, count, number);
  const got = buf.length - PART_HEADER_BYTES;
  if (got !== expected) return parseFailure(`part ${number}/${count} of a ${total}-byte message must carry ${expected} bytes`, { needed: expected, got, offset: PART_HEADER_BYTES });
  return decoded({ id, number, count, total, data: Buffer.from(buf.subarray(PART_HEADER_BYTES)) });
}

/**
 * The largest UDP payload for an address family (IPv4 65507, IPv6 65527).
 *
 * @example
 * maxUdpPayload(4) // 65507
 */
export function maxUdpPayload(family: 4 | 6): number {
  return family === 6 ? MAX_UDP_PAYLOAD_V6 : MAX_UDP_PAYLOAD_V4;
}

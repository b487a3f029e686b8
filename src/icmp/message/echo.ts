/**
 * Echo Request / Echo Reply: ICMP types 8 / 0 (RFC 792) and ICMPv6 types 128 / 129 (RFC 4443 §4).
 * Layout: type, code, checksum, identifier (16), sequence number (16), data.
 */
import { internetChecksum } from "./checksum.js";
import { ICMP, ICMP6 } from "./names.js";
import type { EchoMessage, IcmpFamily, IcmpHead } from "./types.js";

export interface EchoRequest {
  family: IcmpFamily;
  id: number;
  seq: number;
  /** The data after the 8-byte header. */
  data: Uint8Array;
}

/**
 * Encode an echo request. The IPv4 checksum is computed here; the ICMPv6 checksum covers a
 * pseudo-header with our source address, so it is left 0 for the kernel to fill (RFC 3542 §3.1,
 * Linux does it on every ICMPv6 socket), as it also does for ping sockets.
 *
 * @example
 * encodeEchoRequest({ family: 4, id: 0xbeef, seq: 1, data: Buffer.alloc(56) })
 */
export function encodeEchoRequest(req: EchoRequest): Buffer {
  // From the pool (a probe per target and round): every byte is written below.
  const b = Buffer.allocUnsafe(8 + req.data.length);
  b[0] = req.family === 4 ? ICMP.ECHO_REQUEST : ICMP6.ECHO_REQUEST;
  b[1] = 0;
  b.writeUInt16BE(0, 2);
  b.writeUInt16BE(req.id & 0xffff, 4);
  b.writeUInt16BE(req.seq & 0xffff, 6);
  b.set(req.data, 8);
  if (req.family === 4) b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/**
 * The echo data ping sends: the send time (wall clock, ns, big-endian u64) in the first 8 bytes,
 * as the lab asks, then the byte pattern 0x08 0x09 ... like iputils, so sizes are easy to see.
 */
export function echoPayload(size: number, wallNs: bigint, pattern?: Uint8Array): Buffer {
  // From the pool, a copy of the run's data (built once: a probe per target and round, and a
  // short CLI run never gets a byte loop out of the interpreter), then the timestamp.
  const b = Buffer.allocUnsafe(size);
  b.set(echoTemplate(size, pattern));
  if (size >= 8) b.writeBigUInt64BE(BigInt.asUintN(64, wallNs), 0);
  return b;
}

/** The last data built by echoTemplate, with what it was built for (a run uses one). */
let lastTemplate: { size: number; pattern: Uint8Array | undefined; data: Buffer } | undefined;

/** The echo data without its timestamp: 0x00 0x01 ... or ping -p's pattern after the first 8 bytes. */
function echoTemplate(size: number, pattern: Uint8Array | undefined): Buffer {
  const p = pattern !== undefined && pattern.length > 0 ? pattern : undefined;
  const last = lastTemplate;
  if (last !== undefined && last.size === size && (last.pattern === p || (p !== undefined && last.pattern !== undefined && Buffer.compare(last.pattern, p) === 0))) return last.data;
  const b = Buffer.alloc(size);
  if (p !== undefined) {
    // ping -p: the pattern repeats over the data after the timestamp, as iputils fills it.
    const from = size >= 8 ? 8 : 0;
    for (let i = from; i < size; i++) b[i] = p[(i - from) % p.length] ?? 0;
  } else for (let i = 0; i < size; i++) b[i] = i & 0xff;
  lastTemplate = { size, pattern: p === undefined ? undefined : Uint8Array.from(p), data: b };
  return b;
}

/** The first byte where an echo reply's data differs from what was sent. */
export interface EchoDataMismatch {
  /** Index into the echo data (after the 8-byte ICMP header), as iputils' `#N`. */
  index: number;
  expected: number;
  actual: number;
}

/**
 * Compare echo reply data with the data sent, over the bytes both have (a short reply is a
 * truncation, reported by its byte count, not here). Undefined when they agree.
 *
 * @example
 * firstDataMismatch(Buffer.from([1, 2, 3]), Buffer.from([1, 9, 3])) // { index: 1, expected: 2, actual: 9 }
 */
export function firstDataMismatch(sent: Uint8Array, received: Uint8Array): EchoDataMismatch | undefined {
  const n = Math.min(sent.length, received.length);
  // The usual answer (they agree) from one native comparison, not a byte loop per reply.
  if (Buffer.compare(Buffer.from(sent.buffer, sent.byteOffset, n), Buffer.from(received.buffer, received.byteOffset, n)) === 0) return undefined;
  for (let i = 0; i < n; i++) {
    const expected = sent[i] ?? 0;
    const actual = received[i] ?? 0;
    if (expected !== actual) return { index: i, expected, actual };
  }
  return undefined;
}

/** Read the send timestamp back from echo data (undefined if too short). */
export function echoPayloadTime(data: Uint8Array): bigint | undefined {
  if (data.length < 8) return undefined;
  return Buffer.from(data.buffer, data.byteOffset, 8).readBigUInt64BE(0);
}

/** Body decoder for echo messages: `word` holds id (high 16) and sequence (low 16). */
export function decodeEchoBody(head: IcmpHead, word: number, data: Uint8Array): EchoMessage {
  const request = head.family === 4 ? head.type === ICMP.ECHO_REQUEST : head.type === ICMP6.ECHO_REQUEST;
  return {
    kind: request ? "echo-request" : "echo-reply",
    ...head,
    id: word >>> 16,
    seq: word & 0xffff,
    data: Buffer.from(data),
  };
}

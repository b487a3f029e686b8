/**
 * The TCP segments traceroute -T needs (and the pseudo-header sum UDP shares), pure: a SYN (RFC 9293 §3.1, with an MSS option as every
 * real SYN carries) with its checksum over the IPv4 or IPv6 pseudo-header (RFC 9293 §3.1,
 * RFC 8200 §8.1), and the few header fields of an answer (ports, sequence, acknowledgment, flags).
 */
import { isIPv4 } from "node:net";
import { internetChecksum } from "./message/checksum.js";

export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** The SYN we send: 20 bytes of header and a 4-byte MSS option. */
export const SYN_BYTES = 24;

export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
}

/** The 4 or 16 bytes of a numeric IPv4 or IPv6 address. */
export function addressBytes(a: string): Buffer {
  if (isIPv4(a)) return Buffer.from(a.split(".").map((x) => Number.parseInt(x, 10)));
  // Expand "::" and read eight 16-bit groups.
  const [head = "", tail = ""] = a.includes("::") ? a.split("::") : [a, ""];
  const h = head === "" ? [] : head.split(":");
  const t = tail === "" ? [] : tail.split(":");
  const groups = a.includes("::") ? [...h, ...new Array<string>(8 - h.length - t.length).fill("0"), ...t] : h;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(Number.parseInt(g, 16) & 0xffff, i * 2));
  return b;
}

/** The (unfolded) sum of the pseudo-header for `length` bytes of IP protocol `protocol` from `src` to `dst`. */
export function pseudoHeaderSum(src: string, dst: string, protocol: number, length: number): number {
  const s = addressBytes(src);
  const d = addressBytes(dst);
  let sum = 0;
  for (const a of [s, d]) for (let i = 0; i < a.length; i += 2) sum += ((a[i] ?? 0) << 8) | (a[i + 1] ?? 0);
  return sum + protocol + Math.floor(length / 0x10000) + (length & 0xffff);
}

/** The pseudo-header sum for `length` bytes of TCP. */
export function tcpPseudoHeaderSum(src: string, dst: string, length: number): number {
  return pseudoHeaderSum(src, dst, 6, length);
}

/**
 * A SYN from `src`:`srcPort` to `dst`:`dstPort` with sequence number `seq`.
 *
 * @example
 * encodeSyn({ src: "10.0.0.2", dst: "10.0.0.1", srcPort: 40000, dstPort: 80, seq: 1 }).length // 24
 */
export function encodeSyn(o: { src: string; dst: string; srcPort: number; dstPort: number; seq: number }): Buffer {
  const b = Buffer.alloc(SYN_BYTES);
  b.writeUInt16BE(o.srcPort & 0xffff, 0);
  b.writeUInt16BE(o.dstPort & 0xffff, 2);
  b.writeUInt32BE(o.seq >>> 0, 4);
  b[12] = (SYN_BYTES / 4) << 4;
  b[13] = TCP_FLAGS.SYN;
  b.writeUInt16BE(64240, 14); // window
  b[20] = 2; // MSS option
  b[21] = 4;
  b.writeUInt16BE(isIPv4(o.dst) ? 1460 : 1440, 22);
  b.writeUInt16BE(internetChecksum(b, tcpPseudoHeaderSum(o.src, o.dst, b.length)), 16);
  return b;
}

/**
 * Any segment without options (20-byte header): flags, window and payload as given, checksum
 * over the pseudo-header. `--pcap` builds the TCP tools' streams from these.
 *
 * @example
 * encodeTcpSegment({ src: "127.0.0.1", dst: "127.0.0.1", srcPort: 40000, dstPort: 80, seq: 1, ack: 1, flags: TCP_FLAGS.ACK, payload: Buffer.from("GET") }).length // 23
 */
export function encodeTcpSegment(o: TcpHeader & { src: string; dst: string; window?: number; payload?: Uint8Array }): Buffer {
  const payload = o.payload ?? new Uint8Array(0);
  const b = Buffer.alloc(20 + payload.length);
  b.writeUInt16BE(o.srcPort & 0xffff, 0);
  b.writeUInt16BE(o.dstPort & 0xffff, 2);
  b.writeUInt32BE(o.seq >>> 0, 4);
  b.writeUInt32BE(o.ack >>> 0, 8);
  b[12] = 5 << 4;
  b[13] = o.flags & 0xff;
  b.writeUInt16BE(o.window ?? 65535, 14);
  b.set(payload, 20);
  b.writeUInt16BE(internetChecksum(b, tcpPseudoHeaderSum(o.src, o.dst, b.length)), 16);
  return b;
}

/** Read the header at the start of `b`; undefined when shorter than 20 bytes. */
export function decodeTcpHeader(b: Uint8Array): TcpHeader | undefined {
  if (b.length < 20) return undefined;
  const v = Buffer.from(b.buffer, b.byteOffset, b.length);
  return { srcPort: v.readUInt16BE(0), dstPort: v.readUInt16BE(2), seq: v.readUInt32BE(4), ack: v.readUInt32BE(8), flags: v[13] ?? 0 };
}

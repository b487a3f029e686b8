/**
 * The UDP datagrams traceroute -U sends, pure (RFC 768): header, payload and the checksum over
 * the IPv4 / IPv6 pseudo-header. For Paris traceroute the checksum itself names the probe, as
 * paris-traceroute does: the first two payload bytes are chosen so that the checksum comes out
 * as the wanted value, and the next two carry it (an echoing service gives it back).
 */
import { internetChecksum } from "./message/checksum.js";
import { pseudoHeaderSum } from "./tcp-segment.js";

export interface UdpDatagram {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * Encode a datagram with its checksum (0 is sent as 0xffff, RFC 768).
 *
 * @example
 * encodeUdp({ src: "10.0.0.2", dst: "10.0.0.1", srcPort: 40000, dstPort: 33434, payload: Buffer.alloc(32) }).length // 40
 */
export function encodeUdp(d: UdpDatagram): Buffer {
  const b = Buffer.alloc(8 + d.payload.length);
  b.writeUInt16BE(d.srcPort & 0xffff, 0);
  b.writeUInt16BE(d.dstPort & 0xffff, 2);
  b.writeUInt16BE(b.length, 4);
  b.set(d.payload, 8);
  const c = internetChecksum(b, pseudoHeaderSum(d.src, d.dst, 17, b.length));
  b.writeUInt16BE(c === 0 ? 0xffff : c, 6);
  return b;
}

/**
 * A datagram whose checksum is `checksum` (1-0xfffe): payload = [compensation, checksum, pattern].
 *
 * @example
 * encodeUdpWithChecksum({ src: "10.0.0.2", dst: "10.0.0.1", srcPort: 40000, dstPort: 33434, size: 32 }, 0x1234).readUInt16BE(6) // 0x1234
 */
export function encodeUdpWithChecksum(d: Omit<UdpDatagram, "payload"> & { size: number }, checksum: number): Buffer {
  const payload = Buffer.alloc(Math.max(4, d.size));
  for (let i = 4; i < payload.length; i++) payload[i] = 0x40 + (i & 0x3f);
  payload.writeUInt16BE(checksum & 0xffff, 2);
  const b = Buffer.alloc(8 + payload.length);
  b.writeUInt16BE(d.srcPort & 0xffff, 0);
  b.writeUInt16BE(d.dstPort & 0xffff, 2);
  b.writeUInt16BE(b.length, 4);
  b.set(payload, 8);
  // With the checksum field and the compensation word both 0 the sum is S; the field must read
  // ~(S + w) = checksum, so w = ~checksum - S in one's complement arithmetic.
  const s = fold(0xffff & ~internetChecksum(b, pseudoHeaderSum(d.src, d.dst, 17, b.length)));
  const w = fold((~checksum & 0xffff) + (~s & 0xffff));
  b.writeUInt16BE(w === 0 ? 0xffff : w, 8);
  b.writeUInt16BE(checksum & 0xffff, 6);
  return b;
}

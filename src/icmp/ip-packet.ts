/**
 * A whole IP packet around a transport payload, pure: the IPv4 header (RFC 791: 20 bytes, DF,
 * header checksum) or IPv6 header (RFC 8200: 40 bytes) in front of a UDP datagram or TCP
 * segment. The tools that see payloads, not packets, build these for `--pcap` (LINKTYPE_RAW).
 */
import { isIPv4 } from "node:net";
import { internetChecksum } from "./message/checksum.js";
import { addressBytes, encodeTcpSegment } from "./tcp-segment.js";
import { encodeUdp } from "./udp-datagram.js";

export interface IpPacketFields {
  src: string;
  dst: string;
  /** 17 UDP, 6 TCP, 1 ICMP, 58 ICMPv6. */
  protocol: number;
  /** TTL / hop limit. @default 64 */
  ttl?: number;
  /** IPv4 identification. @default 0 */
  id?: number;
  payload: Uint8Array;
}

/**
 * The packet: header + payload. Both addresses must be of one family.
 *
 * @example
 * encodeIpPacket({ src: "127.0.0.1", dst: "127.0.0.1", protocol: 17, payload: Buffer.alloc(8) }).length // 28
 */
export function encodeIpPacket(p: IpPacketFields): Buffer {
  const ttl = p.ttl ?? 64;
  if (isIPv4(p.src)) {
    const h = Buffer.alloc(20);
    h[0] = 0x45;
    h.writeUInt16BE(20 + p.payload.length, 2);
    h.writeUInt16BE((p.id ?? 0) & 0xffff, 4);
    h.writeUInt16BE(0x4000, 6); // DF, offset 0
    h[8] = ttl;
    h[9] = p.protocol;
    addressBytes(p.src).copy(h, 12);
    addressBytes(p.dst).copy(h, 16);
    h.writeUInt16BE(internetChecksum(h), 10);
    return Buffer.concat([h, p.payload]);
  }
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(p.payload.length, 4);
  h[6] = p.protocol;
  h[7] = ttl;
  addressBytes(p.src).copy(h, 8);
  addressBytes(p.dst).copy(h, 24);
  return Buffer.concat([h, p.payload]);
}

/** An IPv4 or IPv6 packet carrying one UDP datagram, checksums included. */
export function encodeUdpPacket(src: { address: string; port: number }, dst: { address: string; port: number }, payload: Uint8Array, id = 0): Buffer {
  const udp = encodeUdp({ src: src.address, dst: dst.address, srcPort: src.port, dstPort: dst.port, payload });
  return encodeIpPacket({ src: src.address, dst: dst.address, protocol: 17, payload: udp, id });
}

/** An IPv4 or IPv6 packet carrying one TCP segment, checksums included. */
export function encodeTcpPacket(src: { address: string; port: number }, dst: { address: string; port: number }, seg: { seq: number; ack: number; flags: number; payload?: Uint8Array }, id = 0): Buffer {
  const tcp = encodeTcpSegment({ src: src.address, dst: dst.address, srcPort: src.port, dstPort: dst.port, ...seg });
  return encodeIpPacket({ src: src.address, dst: dst.address, protocol: 6, payload: tcp, id });
}

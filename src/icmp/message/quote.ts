/**
 * The original datagram quoted in an ICMP error: an IPv4 header plus at least 8 bytes (RFC 792;
 * Linux quotes up to 576 bytes in all, RFC 1812 §4.3.2.3) or an IPv6 header plus as much as fits
 * in the minimum MTU (RFC 4443 §2.4 c). We need the quoted echo id and sequence to match it.
 */
import { decodeIpv4Header, decodeIpv6Header } from "./ipv4-header.js";
import type { IcmpFamily, QuotedDatagram, QuotedIcmp, QuotedTransport } from "./types.js";

function quotedTransport(protocol: number, b: Uint8Array, off: number): QuotedTransport | undefined {
  if (b.length - off < 8 || (protocol !== 6 && protocol !== 17)) return undefined;
  const u16 = (i: number): number => ((b[off + i] ?? 0) << 8) | (b[off + i + 1] ?? 0);
  if (protocol === 17) return { protocol: "udp", srcPort: u16(0), dstPort: u16(2), length: u16(4), checksum: u16(6) };
  return { protocol: "tcp", srcPort: u16(0), dstPort: u16(2), seq: (u16(4) * 0x10000 + u16(6)) >>> 0 };
}

function quotedIcmp(b: Uint8Array, off: number): QuotedIcmp | undefined {
  if (b.length - off < 8) return undefined;
  return {
    type: b[off] ?? 0,
    code: b[off + 1] ?? 0,
    id: ((b[off + 4] ?? 0) << 8) | (b[off + 5] ?? 0),
    seq: ((b[off + 6] ?? 0) << 8) | (b[off + 7] ?? 0),
  };
}

/**
 * Read a quoted datagram (with its IP header). Never fails: what cannot be read is left out.
 *
 * @example
 * decodeQuotedDatagram(4, quote).icmp // { type: 8, code: 0, id: 48879, seq: 7 }
 */
export function decodeQuotedDatagram(family: IcmpFamily, b: Uint8Array): QuotedDatagram {
  const ip = family === 4 ? decodeIpv4Header(b, true) : decodeIpv6Header(b);
  if (!ip.ok) return { length: b.length };
  const q: QuotedDatagram = { ip: ip.value, length: b.length };
  const icmp = ip.value.protocol === (family === 4 ? 1 : 58) ? quotedIcmp(b, ip.value.headerLength) : undefined;
  if (icmp !== undefined) q.icmp = icmp;
  const transport = quotedTransport(ip.value.protocol, b, ip.value.headerLength);
  if (transport !== undefined) q.transport = transport;
  return q;
}

/** A quote that is just the ICMP message we sent (a ping socket's error queue gives that). */
export function decodeQuotedIcmpOnly(b: Uint8Array): QuotedDatagram {
  const q: QuotedDatagram = { length: b.length };
  const icmp = quotedIcmp(b, 0);
  if (icmp !== undefined) q.icmp = icmp;
  return q;
}

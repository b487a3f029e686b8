/**
 * The original datagram quoted in an ICMP error: an IPv4 header plus at least 8 bytes (RFC 792;
 * Linux quotes up to 576 bytes in all, RFC 1812 §4.3.2.3) or an IPv6 header plus as much as fits
 * in the minimum MTU (RFC 4443 §2.4 c). We need the quoted echo id and sequence to match it.
 */
import { decodeIpv4Header, decodeIpv6Header } from "./ipv4-header.js";
import type { IcmpFamily, QuotedDatagram, QuotedIcmp } from "./types.js";

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
  return q;
}

/** A quote that is just the ICMP message we sent (a ping socket's error queue gives that). */
export function decodeQuotedIcmpOnly(b: Uint8Array): QuotedDatagram {
  const q: QuotedDatagram = { length: b.length };
  const icmp = quotedIcmp(b, 0);
  if (icmp !== undefined) q.icmp = icmp;
  return q;
}

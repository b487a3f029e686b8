/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) headers, read-only: what ping needs from a received packet
 * (TTL, length, addresses) and from the original datagram quoted inside an ICMP error.
 */
import { decoded, parseFailure, type Decoded } from "../../core/errors.js";

/** The fields of an IP header that ping and traceroute use. */
export interface IpHeader {
  version: 4 | 6;
  /** Header length in bytes (IHL × 4 for IPv4; 40 for IPv6, extension headers not included). */
  headerLength: number;
  /** Total length (IPv4) or header + payload length (IPv6), as the header claims. */
  totalLength: number;
  /** TTL (IPv4) or hop limit (IPv6). */
  ttl: number;
  /** Protocol (IPv4) or next header (IPv6): 1 = ICMP, 58 = ICMPv6, 6 = TCP, 17 = UDP. */
  protocol: number;
  src: string;
  dst: string;
}

/** Dotted-quad text of 4 bytes at `off`. */
export function ipv4Text(b: Uint8Array, off: number): string {
  return `${b[off] ?? 0}.${b[off + 1] ?? 0}.${b[off + 2] ?? 0}.${b[off + 3] ?? 0}`;
}

/** RFC 5952 text of 16 bytes at `off` (lower case, longest zero run compressed). */
export function ipv6Text(b: Uint8Array, off: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[off + 2 * i] ?? 0) << 8) | (b[off + 2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/**
 * Decode an IPv4 header. `quoted` relaxes the length check for headers quoted inside ICMP
 * errors, whose total length describes the original datagram, not the bytes we have.
 *
 * @example
 * decodeIpv4Header(packet) // { ok: true, value: { version: 4, headerLength: 20, ttl: 64, ... } }
 */
export function decodeIpv4Header(b: Uint8Array, quoted = false): Decoded<IpHeader> {
  if (b.length < 20) return parseFailure("IPv4 header: need 20 bytes", { needed: 20, got: b.length });
  const version = (b[0] ?? 0) >> 4;
  if (version !== 4) return parseFailure(`IPv4 header: version ${version}`, { offset: 0 });
  const headerLength = ((b[0] ?? 0) & 0x0f) * 4;
  if (headerLength < 20 || headerLength > b.length) {
    return parseFailure("IPv4 header: bad header length", { offset: 0, needed: headerLength, got: b.length });
  }
  const totalLength = ((b[2] ?? 0) << 8) | (b[3] ?? 0);
  if (!quoted && totalLength < headerLength) return parseFailure("IPv4 header: total length below header length", { offset: 2 });
  return decoded({
    version: 4,
    headerLength,
    totalLength,
    ttl: b[8] ?? 0,
    protocol: b[9] ?? 0,
    src: ipv4Text(b, 12),
    dst: ipv4Text(b, 16),
  });
}

/** Decode the fixed 40-byte IPv6 header (extension headers are not walked). */
export function decodeIpv6Header(b: Uint8Array): Decoded<IpHeader> {
  if (b.length < 40) return parseFailure("IPv6 header: need 40 bytes", { needed: 40, got: b.length });
  const version = (b[0] ?? 0) >> 4;
  if (version !== 6) return parseFailure(`IPv6 header: version ${version}`, { offset: 0 });
  return decoded({
    version: 6,
    headerLength: 40,
    totalLength: 40 + (((b[4] ?? 0) << 8) | (b[5] ?? 0)),
    ttl: b[7] ?? 0,
    protocol: b[6] ?? 0,
    src: ipv6Text(b, 8),
    dst: ipv6Text(b, 24),
  });
}

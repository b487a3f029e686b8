/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
 * the data taken as big-endian 16-bit words, an odd final byte padded with zero on the right.
 * ICMP (RFC 792) covers the ICMP message; ICMPv6 (RFC 4443 §2.3) also covers a pseudo-header.
 */

/**
 * Compute the Internet checksum of `data` (plus an optional starting sum, e.g. a pseudo-header).
 *
 * @example
 * internetChecksum(Uint8Array.of(0x08, 0, 0, 0, 0xbe, 0xef, 0, 1)) // 0x3910
 */
export function internetChecksum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum += ((data[i] ?? 0) << 8) | (data[i + 1] ?? 0);
  if (data.length & 1) sum += (data[data.length - 1] ?? 0) << 8;
  // Fold the carries back in (twice is enough for any length below 128 KiB; loop for safety).
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** True when `data` (checksum field included) sums to the all-ones value, i.e. is intact. */
export function isChecksumValid(data: Uint8Array, initial = 0): boolean {
  return internetChecksum(data, initial) === 0;
}

/** The partial sum of the ICMPv6 pseudo-header (RFC 8200 §8.1) for `length` bytes of ICMPv6. */
export function icmpv6PseudoHeaderSum(src: Uint8Array, dst: Uint8Array, length: number): number {
  let sum = 0;
  for (const a of [src, dst]) for (let i = 0; i < 16; i += 2) sum += ((a[i] ?? 0) << 8) | (a[i + 1] ?? 0);
  sum += Math.floor(length / 0x10000) + (length & 0xffff);
  return sum + 58; // next header = ICMPv6
}

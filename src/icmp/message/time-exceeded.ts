/** Time Exceeded: ICMP type 11 (RFC 792) and ICMPv6 type 3 (RFC 4443 §3.3), codes 0 and 1. */
import type { ErrorBodyDecoder, TimeExceeded } from "./types.js";

/**
 * The Windows-style text of a Time Exceeded code.
 *
 * @example
 * timeExceededText(4, 0) // "TTL expired in transit."
 */
export function timeExceededText(family: 4 | 6, code: number): string {
  if (code === 0) return family === 4 ? "TTL expired in transit." : "Hop limit exceeded in transit.";
  if (code === 1) return "Fragment reassembly time exceeded.";
  return `Time exceeded (code ${code}).`;
}

export const decodeTimeExceeded: ErrorBodyDecoder = (head, _word, original): TimeExceeded => ({
  kind: "time-exceeded",
  ...head,
  text: timeExceededText(head.family, head.code),
  original,
});

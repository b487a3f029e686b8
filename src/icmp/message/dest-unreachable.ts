/**
 * Destination Unreachable: ICMP type 3 (RFC 792, codes 0-5; RFC 1122 §3.2.2.1, codes 6-12;
 * RFC 1812 §5.2.7.1, codes 13-15; RFC 1191 next-hop MTU for code 4) and ICMPv6 type 1
 * (RFC 4443 §3.1, codes 0-7). Texts follow the Windows ping the lab copies; annotations are
 * traceroute's.
 */
import type { DestUnreachable, ErrorBodyDecoder } from "./types.js";

/** [text, traceroute annotation] for each ICMP code. */
const V4_CODES: ReadonlyArray<readonly [string, string]> = [
  ["Destination net unreachable.", "!N"],
  ["Destination host unreachable.", "!H"],
  ["Destination protocol unreachable.", "!P"],
  ["Destination port unreachable.", ""],
  ["Fragmentation needed and DF set.", "!F"],
  ["Source route failed.", "!S"],
  ["Destination network unknown.", "!N"],
  ["Destination host unknown.", "!H"],
  ["Source host isolated.", "!N"],
  ["Destination network administratively prohibited.", "!X"],
  ["Destination host administratively prohibited.", "!X"],
  ["Destination network unreachable for TOS.", "!N"],
  ["Destination host unreachable for TOS.", "!H"],
  ["Communication administratively prohibited.", "!X"],
  ["Host precedence violation.", "!V"],
  ["Precedence cutoff in effect.", "!C"],
];

const V6_CODES: ReadonlyArray<readonly [string, string]> = [
  ["Destination net unreachable.", "!N"], // no route to destination
  ["Communication administratively prohibited.", "!X"],
  ["Beyond scope of source address.", "!S"],
  ["Destination host unreachable.", "!H"], // address unreachable
  ["Destination port unreachable.", ""],
  ["Source address failed ingress/egress policy.", "!X"],
  ["Reject route to destination.", "!X"],
  ["Error in source routing header.", "!S"],
];

/**
 * The text and traceroute annotation of a Destination Unreachable code.
 *
 * @example
 * destUnreachableText(4, 1) // { text: "Destination host unreachable.", annotation: "!H" }
 */
export function destUnreachableText(family: 4 | 6, code: number, mtu?: number): { text: string; annotation: string } {
  const row = (family === 4 ? V4_CODES : V6_CODES)[code];
  if (row === undefined) return { text: `Destination unreachable (code ${code}).`, annotation: `!<${code}>` };
  if (family === 4 && code === 4) {
    const m = mtu === undefined || mtu === 0 ? "" : ` (next-hop MTU ${mtu})`;
    return { text: `Fragmentation needed and DF set${m}.`, annotation: `!F-${mtu ?? 0}` };
  }
  return { text: row[0], annotation: row[1] };
}

/** Body decoder: for code 4 the low 16 bits of the second word are the next-hop MTU (RFC 1191). */
export const decodeDestUnreachable: ErrorBodyDecoder = (head, word, original): DestUnreachable => {
  const mtu = head.family === 4 && head.code === 4 ? word & 0xffff : undefined;
  const { text, annotation } = destUnreachableText(head.family, head.code, mtu);
  const m: DestUnreachable = { kind: "dest-unreachable", ...head, text, annotation, original };
  if (mtu !== undefined && mtu > 0) m.nextHopMtu = mtu;
  return m;
};

/**
 * Parameter Problem: ICMP type 12 (RFC 792; code 1 RFC 1108, code 2 RFC 1812) with an 8-bit
 * pointer in the first byte of the second word, and ICMPv6 type 4 (RFC 4443 §3.4) with a 32-bit
 * pointer.
 */
import type { ErrorBodyDecoder, ParamProblem } from "./types.js";

const V4 = ["Parameter problem", "Parameter problem: missing required option", "Parameter problem: bad length"];
const V6 = [
  "Parameter problem: erroneous header field",
  "Parameter problem: unrecognized next header",
  "Parameter problem: unrecognized IPv6 option",
  "Parameter problem: first fragment has incomplete header chain",
];

/**
 * @example
 * paramProblemText(4, 0, 9) // "Parameter problem (pointer 9)."
 */
export function paramProblemText(family: 4 | 6, code: number, pointer: number): string {
  const base = (family === 4 ? V4 : V6)[code] ?? `Parameter problem (code ${code})`;
  return `${base} (pointer ${pointer}).`;
}

export const decodeParamProblem: ErrorBodyDecoder = (head, word, original): ParamProblem => {
  const pointer = head.family === 4 ? word >>> 24 : word >>> 0;
  return { kind: "param-problem", ...head, pointer, text: paramProblemText(head.family, head.code, pointer), original };
};

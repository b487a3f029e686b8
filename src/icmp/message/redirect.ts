/** Redirect: ICMP type 5 (RFC 792), the second word is the gateway address, codes 0-3. */
import { ipv4Text } from "./ipv4-header.js";
import type { ErrorBodyDecoder, Redirect } from "./types.js";

const WHAT = ["network", "host", "TOS and network", "TOS and host"];

/**
 * @example
 * redirectText(1, "10.0.0.254") // "Redirect host (new nexthop: 10.0.0.254)."
 */
export function redirectText(code: number, gateway: string): string {
  return `Redirect ${WHAT[code] ?? `code ${code}`} (new nexthop: ${gateway}).`;
}

export const decodeRedirect: ErrorBodyDecoder = (head, word, original): Redirect => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, word >>> 0);
  const gateway = ipv4Text(b, 0);
  return { kind: "redirect", ...head, gateway, text: redirectText(head.code, gateway), original };
};

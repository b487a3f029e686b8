/** Packet Too Big: ICMPv6 type 2 (RFC 4443 §3.2), the second word is the next-hop MTU. */
import type { ErrorBodyDecoder, PacketTooBig } from "./types.js";

export const decodePacketTooBig: ErrorBodyDecoder = (head, word, original): PacketTooBig => {
  const mtu = word >>> 0;
  return { kind: "packet-too-big", ...head, mtu, text: `Packet too big (next-hop MTU ${mtu}).`, annotation: `!F-${mtu}`, original };
};

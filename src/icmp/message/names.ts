/** Names of ICMP (IANA "ICMP Type Numbers") and ICMPv6 (IANA "ICMPv6 Parameters") types. */
import type { IcmpFamily } from "./types.js";

const V4: Readonly<Record<number, string>> = {
  0: "Echo Reply",
  3: "Destination Unreachable",
  4: "Source Quench",
  5: "Redirect",
  8: "Echo Request",
  9: "Router Advertisement",
  10: "Router Solicitation",
  11: "Time Exceeded",
  12: "Parameter Problem",
  13: "Timestamp",
  14: "Timestamp Reply",
  15: "Information Request",
  16: "Information Reply",
  17: "Address Mask Request",
  18: "Address Mask Reply",
  42: "Extended Echo Request",
  43: "Extended Echo Reply",
};

const V6: Readonly<Record<number, string>> = {
  1: "Destination Unreachable",
  2: "Packet Too Big",
  3: "Time Exceeded",
  4: "Parameter Problem",
  128: "Echo Request",
  129: "Echo Reply",
  130: "Multicast Listener Query",
  131: "Multicast Listener Report",
  132: "Multicast Listener Done",
  133: "Router Solicitation",
  134: "Router Advertisement",
  135: "Neighbor Solicitation",
  136: "Neighbor Advertisement",
  137: "Redirect",
  143: "Multicast Listener Report v2",
  160: "Extended Echo Request",
  161: "Extended Echo Reply",
};

/** ICMP type numbers used by the codec. */
export const ICMP = { ECHO_REPLY: 0, DEST_UNREACH: 3, SOURCE_QUENCH: 4, REDIRECT: 5, ECHO_REQUEST: 8, TIME_EXCEEDED: 11, PARAM_PROBLEM: 12 } as const;
/** ICMPv6 type numbers used by the codec. */
export const ICMP6 = { DEST_UNREACH: 1, PACKET_TOO_BIG: 2, TIME_EXCEEDED: 3, PARAM_PROBLEM: 4, ECHO_REQUEST: 128, ECHO_REPLY: 129 } as const;

/**
 * The registered name of an ICMP / ICMPv6 type, or "Type N".
 *
 * @example
 * icmpTypeName(4, 11) // "Time Exceeded"
 */
export function icmpTypeName(family: IcmpFamily, type: number): string {
  return (family === 4 ? V4 : V6)[type] ?? `Type ${type}`;
}

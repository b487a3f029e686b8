/**
 * The decoded ICMP (RFC 792) and ICMPv6 (RFC 4443) messages: a discriminated union on `kind`.
 * Error messages carry what we could read of the original datagram they quote, which is how a
 * ping matches an error to the echo request it answers.
 */
import type { IpHeader } from "./ipv4-header.js";

export type IcmpFamily = 4 | 6;

/** The echo header found inside a quoted datagram (enough to match id and sequence). */
export interface QuotedIcmp {
  type: number;
  code: number;
  id: number;
  seq: number;
}

/**
 * The first 8 bytes of a quoted UDP (RFC 768) or TCP (RFC 9293) header: the ports, and for UDP
 * its length and checksum, for TCP its sequence number. Traceroute's UDP and TCP probes are told
 * apart by these.
 */
export type QuotedTransport =
  | { protocol: "udp"; srcPort: number; dstPort: number; length: number; checksum: number }
  | { protocol: "tcp"; srcPort: number; dstPort: number; seq: number };

/** The original datagram an ICMP error quotes (RFC 792: IP header + at least 8 bytes). */
export interface QuotedDatagram {
  /** Absent when the quote has no IP header (errors from a ping socket's error queue). */
  ip?: IpHeader;
  /** The quoted ICMP header, when the original was ICMP and at least 8 bytes of it are there. */
  icmp?: QuotedIcmp;
  /** The quoted UDP or TCP header, when the original was one and 8 bytes of it are there. */
  transport?: QuotedTransport;
  /** Bytes of quote available. */
  length: number;
}

/** What every message has: the family, type, code, and a human-readable text. */
export interface IcmpHead {
  family: IcmpFamily;
  type: number;
  code: number;
}

export interface EchoMessage extends IcmpHead {
  kind: "echo-request" | "echo-reply";
  id: number;
  seq: number;
  /** A copy of the echo data. */
  data: Buffer;
}

interface ErrorBase extends IcmpHead {
  /** Windows-style sentence for the ping output, e.g. "Destination host unreachable." */
  text: string;
  original: QuotedDatagram;
}

/** ICMP type 3 / ICMPv6 type 1. */
export interface DestUnreachable extends ErrorBase {
  kind: "dest-unreachable";
  /** traceroute's annotation: !N !H !P !F-<mtu> !S !X !V !C, or "" (port unreachable = arrived). */
  annotation: string;
  /** Next-hop MTU of "fragmentation needed" (RFC 1191), when the router gave one. */
  nextHopMtu?: number;
}

/** ICMP type 11 / ICMPv6 type 3. */
export interface TimeExceeded extends ErrorBase {
  kind: "time-exceeded";
}

/** ICMP type 12 / ICMPv6 type 4. */
export interface ParamProblem extends ErrorBase {
  kind: "param-problem";
  /** Octet offset of the offending field in the original datagram. */
  pointer: number;
}

/** ICMP type 5 (RFC 792). */
export interface Redirect extends ErrorBase {
  kind: "redirect";
  gateway: string;
}

/** ICMP type 4 (RFC 792, deprecated by RFC 6633 but still decoded). */
export interface SourceQuench extends ErrorBase {
  kind: "source-quench";
}

/** ICMPv6 type 2 (RFC 4443 §3.2). */
export interface PacketTooBig extends ErrorBase {
  kind: "packet-too-big";
  mtu: number;
  annotation: string;
}

/** Any other type: decoded as far as the header, never an error. */
export interface OtherMessage extends IcmpHead {
  kind: "other";
  text: string;
  body: Buffer;
}

export type IcmpErrorMessage = DestUnreachable | TimeExceeded | ParamProblem | Redirect | SourceQuench | PacketTooBig;
export type IcmpMessage = EchoMessage | IcmpErrorMessage | OtherMessage;

/**
 * A body decoder of the type table: the head, the second 32-bit word of the message (bytes 4-7:
 * id/seq, pointer, MTU, gateway) and the quoted original datagram for error types.
 */
export type ErrorBodyDecoder = (head: IcmpHead, word: number, original: QuotedDatagram) => IcmpErrorMessage;

/** True for the error kinds (they quote an original datagram). */
export function isIcmpError(m: IcmpMessage): m is IcmpErrorMessage {
  return m.kind !== "echo-request" && m.kind !== "echo-reply" && m.kind !== "other";
}

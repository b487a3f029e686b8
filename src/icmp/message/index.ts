/**
 * ICMP and ICMPv6 messages, pure codec (after golang.org/x/net/icmp): the common header (type,
 * code, checksum), the Internet checksum, and a table from type to body decoder, one small file
 * per message type.
 * RFC 792 (ICMP), RFC 1071 (checksum), RFC 1191 (next-hop MTU), RFC 1812 (codes 13-15),
 * RFC 4443 (ICMPv6).
 *
 * Decoders never throw on bad input: they return `{ ok: false, error }`.
 */
import { decoded, parseFailure, type Decoded } from "../../core/errors.js";
import { isChecksumValid } from "./checksum.js";
import { decodeDestUnreachable } from "./dest-unreachable.js";
import { decodeEchoBody } from "./echo.js";
import { decodeIpv4Header, type IpHeader } from "./ipv4-header.js";
import { icmpTypeName, ICMP, ICMP6 } from "./names.js";
import { decodePacketTooBig } from "./packet-too-big.js";
import { decodeParamProblem } from "./param-problem.js";
import { decodeQuotedDatagram, decodeQuotedIcmpOnly } from "./quote.js";
import { decodeRedirect } from "./redirect.js";
import { decodeSourceQuench } from "./source-quench.js";
import { decodeTimeExceeded } from "./time-exceeded.js";
import type { ErrorBodyDecoder, IcmpErrorMessage, IcmpFamily, IcmpHead, IcmpMessage } from "./types.js";

export * from "./types.js";
export { internetChecksum, isChecksumValid, icmpv6PseudoHeaderSum } from "./checksum.js";
export { encodeEchoRequest, echoPayload, echoPayloadTime, firstDataMismatch, type EchoDataMismatch, type EchoRequest } from "./echo.js";
export { decodeIpv4Header, decodeIpv6Header, ipv4Text, ipv6Text, type IpHeader } from "./ipv4-header.js";
export { icmpTypeName, ICMP, ICMP6 } from "./names.js";
export { destUnreachableText } from "./dest-unreachable.js";
export { timeExceededText } from "./time-exceeded.js";
export { decodeQuotedDatagram } from "./quote.js";

/** Error types and their body decoders, per family. Adding a type = one file + one row. */
const ERROR_DECODERS: Readonly<Record<IcmpFamily, Readonly<Record<number, ErrorBodyDecoder>>>> = {
  4: {
    [ICMP.DEST_UNREACH]: decodeDestUnreachable,
    [ICMP.SOURCE_QUENCH]: decodeSourceQuench,
    [ICMP.REDIRECT]: decodeRedirect,
    [ICMP.TIME_EXCEEDED]: decodeTimeExceeded,
    [ICMP.PARAM_PROBLEM]: decodeParamProblem,
  },
  6: {
    [ICMP6.DEST_UNREACH]: decodeDestUnreachable,
    [ICMP6.PACKET_TOO_BIG]: decodePacketTooBig,
    [ICMP6.TIME_EXCEEDED]: decodeTimeExceeded,
    [ICMP6.PARAM_PROBLEM]: decodeParamProblem,
  },
};

function isEchoType(family: IcmpFamily, type: number): boolean {
  return family === 4 ? type === ICMP.ECHO_REPLY || type === ICMP.ECHO_REQUEST : type === ICMP6.ECHO_REPLY || type === ICMP6.ECHO_REQUEST;
}

export interface DecodeIcmpOptions {
  /**
   * Verify the checksum (IPv4 only: the ICMPv6 checksum covers a pseudo-header with addresses
   * the caller may not know, and the kernel verifies it for ICMPv6 sockets).
   * @default true
   */
  verifyChecksum?: boolean;
}

/**
 * Decode one ICMP (family 4) or ICMPv6 (family 6) message, starting at its type byte.
 *
 * @example
 * const r = decodeIcmp(4, bytes);
 * if (r.ok && r.value.kind === "echo-reply") console.log(r.value.id, r.value.seq);
 */
export function decodeIcmp(family: IcmpFamily, b: Uint8Array, options: DecodeIcmpOptions = {}): Decoded<IcmpMessage> {
  if (b.length < 8) return parseFailure("ICMP message: need 8 bytes", { needed: 8, got: b.length });
  if (family === 4 && (options.verifyChecksum ?? true) && !isChecksumValid(b)) {
    return parseFailure("ICMP message: bad checksum", { offset: 2 });
  }
  const head: IcmpHead = { family, type: b[0] ?? 0, code: b[1] ?? 0 };
  const word = (((b[4] ?? 0) << 24) | ((b[5] ?? 0) << 16) | ((b[6] ?? 0) << 8) | (b[7] ?? 0)) >>> 0;
  const rest = b.subarray(8);
  if (isEchoType(family, head.type)) return decoded(decodeEchoBody(head, word, rest));
  const errorDecoder = ERROR_DECODERS[family][head.type];
  if (errorDecoder !== undefined) return decoded(errorDecoder(head, word, decodeQuotedDatagram(family, rest)));
  return decoded({ kind: "other", ...head, text: `${icmpTypeName(family, head.type)} (code ${head.code}).`, body: Buffer.from(rest) });
}

/** A received IPv4 packet: its header and the ICMP message inside. */
export interface Ipv4IcmpPacket {
  ip: IpHeader;
  message: IcmpMessage;
  /** ICMP bytes received (the packet minus the IP header). */
  icmpLength: number;
}

/**
 * Decode what a raw IPv4 ICMP socket delivers: an IPv4 header, then ICMP.
 *
 * @example
 * decodeIpv4Icmp(packet) // { ok: true, value: { ip: { ttl: 64, ... }, message: { kind: "echo-reply", ... } } }
 */
export function decodeIpv4Icmp(b: Uint8Array, options: DecodeIcmpOptions = {}): Decoded<Ipv4IcmpPacket> {
  const ip = decodeIpv4Header(b);
  if (!ip.ok) return ip;
  if (ip.value.protocol !== 1) return parseFailure(`IPv4 packet: protocol ${ip.value.protocol} is not ICMP`, { offset: 9 });
  const end = Math.min(b.length, Math.max(ip.value.totalLength, ip.value.headerLength));
  const icmp = b.subarray(ip.value.headerLength, end);
  const m = decodeIcmp(4, icmp, options);
  if (!m.ok) return parseFailure(m.error.reason, { ...m.error, offset: (m.error.offset ?? 0) + ip.value.headerLength });
  return decoded({ ip: ip.value, message: m.value, icmpLength: icmp.length });
}

/** An ICMP error as a ping socket's error queue reports it (struct sock_extended_err). */
export interface QueuedIcmpError {
  /** SO_EE_ORIGIN_ICMP (2) or SO_EE_ORIGIN_ICMP6 (3); others are local errors. */
  origin: number;
  type: number;
  code: number;
  /** ee_info: the MTU for "fragmentation needed" / "packet too big", the pointer for a parameter problem. */
  info: number;
}

/**
 * Turn an error-queue entry into the same message a raw socket would have decoded; the quote is
 * the echo request we sent (no IP header). Returns undefined for local (non-ICMP) errors.
 */
export function decodeQueuedError(family: IcmpFamily, e: QueuedIcmpError, sent: Uint8Array): IcmpErrorMessage | undefined {
  if (e.origin !== (family === 4 ? 2 : 3)) return undefined;
  const decoder = ERROR_DECODERS[family][e.type];
  if (decoder === undefined) return undefined;
  // Put ee_info back where the packet carries it (param problem v4: the pointer is the top byte).
  const word = family === 4 && e.type === ICMP.PARAM_PROBLEM ? (e.info & 0xff) << 24 : e.info >>> 0;
  return decoder({ family, type: e.type, code: e.code }, word >>> 0, decodeQuotedIcmpOnly(sent));
}

/**
 * Is this ICMP message an answer to one of our echo requests? Pure matching, as iputils'
 * `is_ours` plus its error-queue checks: an echo reply must carry our identifier; an ICMP error
 * must quote an echo request with our identifier (and, when the quote has an IP header, our
 * destination). The sequence number then picks the probe.
 */
import { ICMP, ICMP6, isIcmpError, type IcmpErrorMessage, type IcmpFamily, type IcmpMessage } from "./message/index.js";

export interface EchoMatchContext {
  family: IcmpFamily;
  /** Our echo identifier. */
  id: number;
  /** The destination we ping, in canonical text form. */
  target: string;
}

export type EchoMatch =
  | { kind: "reply"; seq: number; dataBytes: number; differentAddress: boolean }
  | { kind: "error"; seq: number; error: IcmpErrorMessage }
  | { kind: "ignore"; reason: string };

/**
 * Match a decoded message (received from `from`) against our run.
 *
 * @example
 * matchEcho(msg, "127.0.0.1", { family: 4, id: 0xbeef, target: "127.0.0.1" }) // { kind: "reply", seq: 1, ... }
 */
export function matchEcho(msg: IcmpMessage, from: string, ctx: EchoMatchContext): EchoMatch {
  if (msg.family !== ctx.family) return { kind: "ignore", reason: "other family" };
  if (msg.kind === "echo-reply") {
    if (msg.id !== ctx.id) return { kind: "ignore", reason: `echo reply for id ${msg.id}` };
    return { kind: "reply", seq: msg.seq, dataBytes: msg.data.length, differentAddress: from !== ctx.target };
  }
  if (!isIcmpError(msg)) return { kind: "ignore", reason: `${msg.kind} message` };
  const q = msg.original.icmp;
  const request = ctx.family === 4 ? ICMP.ECHO_REQUEST : ICMP6.ECHO_REQUEST;
  if (q === undefined || q.type !== request) return { kind: "ignore", reason: "error about something other than an echo request" };
  if (q.id !== ctx.id) return { kind: "ignore", reason: `error about echo id ${q.id}` };
  const dst = msg.original.ip?.dst;
  if (dst !== undefined && dst !== ctx.target) return { kind: "ignore", reason: `error about a packet to ${dst}` };
  return { kind: "error", seq: q.seq, error: msg };
}

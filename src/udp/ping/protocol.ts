/**
 * The UDP pinger's wire format (the classic lab): the client sends
 * `Ping <sequence_number> <send_time>` and the server echoes the datagram with ASCII
 * letters upper-cased. Pure functions only.
 */
import { decoded, parseFailure, type Decoded } from "../../core/errors.js";

/** Largest UDP payload over IPv4: 65535 − 20 (IP header) − 8 (UDP header). */
export const MAX_UDP_PAYLOAD_V4 = 65507;
/** Largest UDP payload over IPv6 without jumbograms: 65535 − 8 (the IPv6 header is not counted). */
export const MAX_UDP_PAYLOAD_V6 = 65527;

const pad2 = (n: number): string => String(n).padStart(2, "0");

/**
 * Local date and time with milliseconds, as the lab prints it: "2026-11-22 23:07:31.123".
 * @param ms wall-clock milliseconds since the epoch
 */
export function formatLocalTimestamp(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`
  );
}

/**
 * Encode a ping: `Ping <seq> <send_time>`, padded with '.' to `size` bytes when `size` is
 * larger than the bare message (`-s`).
 *
 * @example
 * encodePing(1, Date.UTC(2026, 10, 22)).toString() // "Ping 1 2026-11-22 00:00:00.000" (in UTC)
 */
export function encodePing(seq: number, wallMs: number, size = 0): Buffer {
  const text = `Ping ${seq} ${formatLocalTimestamp(wallMs)}`;
  const base = Buffer.from(text, "ascii");
  if (size <= base.length) return base;
  const out = Buffer.alloc(size, ".");
  base.copy(out);
  out[base.length] = 0x20;
  return out;
}

/** A decoded ping or pong: the sequence number and the text after it. */
export interface PingMessage {
  seq: number;
  /** The rest of the line (the send time as the client wrote it, possibly upper-cased). */
  rest: string;
}

/**
 * Decode a ping or its upper-cased echo ("PING 7 ..."). Returns a ParseError for anything
 * else — garbage from the network is a value, not an exception.
 */
export function decodePing(buf: Uint8Array): Decoded<PingMessage> {
  if (buf.length < 6) return parseFailure("ping: too short", { needed: 6, got: buf.length });
  const head = Buffer.from(buf.subarray(0, Math.min(buf.length, 64))).toString("latin1");
  const m = /^ping (\d{1,15})(?: |$)/i.exec(head);
  if (m === null) return parseFailure("ping: expected 'Ping <seq> <time>'", { offset: 0 });
  const seq = Number(m[1]);
  const rest = Buffer.from(buf.subarray(m[0].length)).toString("latin1");
  return decoded({ seq, rest });
}

/**
 * The server's transformation: a copy of the datagram with ASCII a-z upper-cased and
 * every other byte (UTF-8, binary) unchanged.
 */
export function upperCaseAscii(buf: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(buf.length);
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i] as number;
    out[i] = b >= 0x61 && b <= 0x7a ? b - 0x20 : b;
  }
  return out;
}

/**
 * The UDP heartbeat lab's wire format. A heartbeat is one ASCII line
 * `<seq> <timestamp> [key=value ...]`: seq a non-negative integer, timestamp the sender's Unix
 * time in seconds with a fraction. wirekit's sender adds `id=<client id>` and `run=<run id>`;
 * older peers ignore them. The monitor answers `<seq> <time_diff>`, time_diff being its receive
 * time minus the timestamp, in seconds — what the lab's server sends back.
 * Pure functions only; decoders return values, never throw, on bad input.
 */
import { decoded, parseFailure, type Decoded } from "../../core/errors.js";

/** Datagrams longer than this are not heartbeats (a heartbeat line is ~60 bytes). */
export const MAX_HEARTBEAT_BYTES = 512;
/** Longest accepted `id=` / `run=` value. */
export const MAX_FIELD_LENGTH = 64;
/** Timestamps outside [0, this) seconds are absurd (this is the year 5138). */
export const MAX_TIMESTAMP_S = 1e11;

/** A decoded heartbeat. */
export interface Heartbeat {
  /** Sequence number, 0 … 2^53−1 (exact in a JS number). */
  seq: number;
  /** Sender's wall clock, seconds since the Unix epoch. */
  timestamp: number;
  /** Client id from `id=`, when the sender gave one. */
  id?: string;
  /** Run id from `run=`: changes when the sender restarts. */
  run?: string;
}

/** A decoded reply from the monitor. */
export interface HeartbeatReply {
  seq: number;
  /** Monitor receive time − heartbeat timestamp, in seconds (includes the clocks' offset). */
  timeDiff: number;
}

const SEQ_RE = /^\d{1,16}$/;
const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const FIELD_VALUE_RE = /^[\x21-\x7e]+$/;

/**
 * Encode a heartbeat. The timestamp is written with microseconds, like Python's time.time().
 *
 * @example
 * encodeHeartbeat({ seq: 42, timestamp: 1763852851.123456, id: "web-1", run: "9f2c" }).toString()
 * // "42 1763852851.123456 id=web-1 run=9f2c"
 */
export function encodeHeartbeat(hb: Heartbeat): Buffer {
  let line = `${hb.seq} ${hb.timestamp.toFixed(6)}`;
  if (hb.id !== undefined) line += ` id=${hb.id}`;
  if (hb.run !== undefined) line += ` run=${hb.run}`;
  return Buffer.from(line, "latin1");
}

/** True when `s` can be sent as an `id=`/`run=` value (printable ASCII, no spaces, ≤ 64 chars). */
export function isValidFieldValue(s: string): boolean {
  return s.length > 0 && s.length <= MAX_FIELD_LENGTH && FIELD_VALUE_RE.test(s);
}

function parseSeq(word: string): number | undefined {
  if (!SEQ_RE.test(word)) return undefined;
  const n = Number(word);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Split a datagram into whitespace-separated words, or explain why it is not a text line. */
function words(buf: Uint8Array, what: string): string[] | string {
  if (buf.length === 0) return `${what}: empty datagram`;
  if (buf.length > MAX_HEARTBEAT_BYTES) return `${what}: ${buf.length} bytes (at most ${MAX_HEARTBEAT_BYTES})`;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i] as number;
    // Printable ASCII plus tab, CR, LF (a trailing newline from `nc` or Python is fine).
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b > 0x7e) return `${what}: not an ASCII line (byte ${b} at offset ${i})`;
  }
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("latin1").trim();
  return text === "" ? `${what}: blank line` : text.split(/\s+/);
}

/**
 * Decode a heartbeat `<seq> <timestamp> [key=value ...]`. Unknown fields are ignored; a
 * negative or non-integer seq, a timestamp that is not a number or is absurd, binary bytes
 * and oversized datagrams are a ParseError.
 *
 * @example
 * decodeHeartbeat(Buffer.from("7 1763852851.5 id=db-2")) // { ok: true, value: { seq: 7, timestamp: 1763852851.5, id: "db-2" } }
 */
export function decodeHeartbeat(buf: Uint8Array): Decoded<Heartbeat> {
  const w = words(buf, "heartbeat");
  if (typeof w === "string") return parseFailure(w, { got: buf.length });
  const [seqWord = "", tsWord = ""] = w;
  const seq = parseSeq(seqWord);
  if (seq === undefined) return parseFailure(`heartbeat: bad sequence number '${seqWord.slice(0, 20)}'`, { offset: 0 });
  if (!NUMBER_RE.test(tsWord)) return parseFailure(`heartbeat: bad timestamp '${tsWord.slice(0, 30)}'`);
  const timestamp = Number(tsWord);
  if (!(timestamp >= 0 && timestamp < MAX_TIMESTAMP_S)) return parseFailure(`heartbeat: absurd timestamp ${tsWord.slice(0, 30)}`);
  const hb: Heartbeat = { seq, timestamp };
  for (let i = 2; i < w.length; i++) {
    const field = w[i] as string;
    const eq = field.indexOf("=");
    if (eq <= 0) continue; // not key=value: a future extension we do not know; ignore it
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (key !== "id" && key !== "run") continue;
    if (!isValidFieldValue(value)) return parseFailure(`heartbeat: bad ${key}= value`);
    hb[key] = value;
  }
  return decoded(hb);
}

/**
 * Encode the monitor's reply `<seq> <time_diff>` (seconds, microsecond precision).
 *
 * @example
 * encodeHeartbeatReply(42, 0.000061).toString() // "42 0.000061"
 */
export function encodeHeartbeatReply(seq: number, timeDiff: number): Buffer {
  return Buffer.from(`${seq} ${timeDiff.toFixed(6)}`, "latin1");
}

/**
 * Decode a reply `<seq> <time_diff>`; the lab's Python server prints time_diff with full
 * float precision, possibly negative (clock offset), possibly in exponent form.
 */
export function decodeHeartbeatReply(buf: Uint8Array): Decoded<HeartbeatReply> {
  const w = words(buf, "reply");
  if (typeof w === "string") return parseFailure(w, { got: buf.length });
  const [seqWord = "", diffWord = ""] = w;
  const seq = parseSeq(seqWord);
  if (seq === undefined) return parseFailure(`reply: bad sequence number '${seqWord.slice(0, 20)}'`, { offset: 0 });
  if (!NUMBER_RE.test(diffWord)) return parseFailure(`reply: bad time difference '${diffWord.slice(0, 30)}'`);
  const timeDiff = Number(diffWord);
  if (!Number.isFinite(timeDiff)) return parseFailure("reply: bad time difference");
  return decoded({ seq, timeDiff });
}

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

const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * Decode a heartbeat `<seq> <timestamp> [key=value ...]`. Unknown fields are ignored; a
 * negative or non-integer seq, a timestamp that is not a number or is absurd, binary bytes
 * and oversized datagrams are a ParseError. This is the monitor's hot path, so it scans the
 * bytes once instead of building and splitting a string.
 *
 * @example
 * decodeHeartbeat(Buffer.from("7 1763852851.5 id=db-2")) // { ok: true, value: { seq: 7, timestamp: 1763852851.5, id: "db-2" } }
 */
export function decodeHeartbeat(input: Uint8Array): Decoded<Heartbeat> {
  const n = input.length;
  if (n === 0) return parseFailure("heartbeat: empty datagram", { got: 0 });
  if (n > MAX_HEARTBEAT_BYTES) return parseFailure(`heartbeat: ${n} bytes (at most ${MAX_HEARTBEAT_BYTES})`, { got: n });
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  for (let i = 0; i < n; i++) {
    const b = buf[i] as number;
    // Printable ASCII plus tab, CR, LF (a trailing newline from `nc` or Python is fine).
    if ((b < 0x20 && !isSpace(b)) || b > 0x7e) return parseFailure(`heartbeat: not an ASCII line (byte ${b} at offset ${i})`, { offset: i });
  }
  let i = 0;
  while (i < n && isSpace(buf[i] as number)) i++;
  const seqStart = i;
  let seq = 0;
  for (let b = buf[i] as number; i < n && b >= 0x30 && b <= 0x39; b = buf[++i] as number) seq = seq * 10 + (b - 0x30);
  if (i === seqStart || i - seqStart > 16 || (i < n && !isSpace(buf[i] as number)) || !Number.isSafeInteger(seq)) {
    let end = seqStart;
    while (end < n && !isSpace(buf[end] as number)) end++;
    const word = buf.toString("latin1", seqStart, Math.min(end, seqStart + 20));
    return parseFailure(word === "" ? "heartbeat: blank line" : `heartbeat: bad sequence number '${word}'`, { offset: seqStart });
  }
  while (i < n && isSpace(buf[i] as number)) i++;
  const tsStart = i;
  while (i < n && !isSpace(buf[i] as number)) i++;
  const tsWord = buf.toString("latin1", tsStart, i);
  if (!NUMBER_RE.test(tsWord)) return parseFailure(`heartbeat: bad timestamp '${tsWord.slice(0, 30)}'`, { offset: tsStart });
  const timestamp = Number(tsWord);
  if (!(timestamp >= 0 && timestamp < MAX_TIMESTAMP_S)) return parseFailure(`heartbeat: absurd timestamp ${tsWord.slice(0, 30)}`, { offset: tsStart });
  const hb: Heartbeat = { seq, timestamp };
  for (;;) {
    while (i < n && isSpace(buf[i] as number)) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isSpace(buf[i] as number)) i++;
    // Only id= and run= mean something to us; any other word is a future extension: ignore it.
    const key = buf[start + 2] === 0x3d && buf[start] === 0x69 && buf[start + 1] === 0x64 ? "id" : buf[start + 3] === 0x3d && buf[start] === 0x72 && buf[start + 1] === 0x75 && buf[start + 2] === 0x6e ? "run" : undefined;
    if (key === undefined) continue;
    const valueStart = start + key.length + 1;
    if (i - valueStart < 1 || i - valueStart > MAX_FIELD_LENGTH) return parseFailure(`heartbeat: bad ${key}= value`, { offset: valueStart });
    // A fresh string from the bytes, not a slice of a bigger one: it may live as long as the client.
    hb[key] = buf.toString("latin1", valueStart, i);
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

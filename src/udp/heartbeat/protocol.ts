/**
 * The UDP heartbeat lab's wire format. A heartbeat is one ASCII line
 * `<seq> <timestamp> [key=value ...]`: seq a non-negative integer, timestamp the sender's Unix
 * time in seconds with a fraction. wirekit's sender adds `id=<client id>` and `run=<run id>`;
 * older peers ignore them. The monitor answers `<seq> <time_diff>`, time_diff being its receive
 * time minus the timestamp, in seconds — what the lab's server sends back.
 *
 * Optional fields (all `key=value`, in this order when wirekit writes them; any order is read):
 * - `int=<ms>`: the sender's interval, so the monitor can give it its own deadline;
 * - `status=ok|fail|<exit code 0-255>`: what the sender reports about itself;
 * - `msg=<text>`: a message, percent-encoded UTF-8 (a space is `%20`), at most
 *   `MAX_MESSAGE_WIRE_BYTES` (200) bytes as written on the wire;
 * - `dur=<ms>`: run time of the job the status is about (`wirekit heartbeat ... -- COMMAND`);
 * - `mac=<64 hex digits>`: HMAC-SHA256 with the client's key over `signedText()` (below), last.
 * Unknown fields are ignored, so old and new peers interoperate in both directions.
 * Pure functions only; decoders return values, never throw, on bad input.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { decoded, parseFailure, type Decoded } from "../../core/errors.js";

/** Datagrams longer than this are not heartbeats (a heartbeat line is ~60 bytes). */
export const MAX_HEARTBEAT_BYTES = 512;
/** Longest accepted `id=` / `run=` value. */
export const MAX_FIELD_LENGTH = 64;
/** Timestamps outside [0, this) seconds are absurd (this is the year 5138). */
export const MAX_TIMESTAMP_S = 1e11;
/** Longest `msg=` value as written on the wire (percent-encoded). */
export const MAX_MESSAGE_WIRE_BYTES = 200;
/** Longest announced interval, `int=` (one day). */
export const MAX_INTERVAL_MS = 86_400_000;
/** The fields the MAC covers after `<seq> <timestamp>`, in this order (those present). */
export const SIGNED_FIELDS = ["id", "run", "int", "status", "msg", "dur"] as const;
/** First line of the text the MAC is computed over: names the scheme and its version. */
export const MAC_CONTEXT = "wirekit-heartbeat-mac-v1";

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
  /** Announced interval, ms (`int=`). */
  int?: number;
  /** Reported status (`status=`): "ok", "fail" or an exit code "0"-"255". */
  status?: string;
  /** Reported message (`msg=`), decoded; may hold any character, escape it to print it. */
  msg?: string;
  /** Run time of the job behind the status, ms (`dur=`). */
  dur?: number;
  /** `mac=` as sent (lower-case hex), when present. */
  mac?: string;
  /** The text the MAC covers, as received (set by decodeHeartbeat when `mac=` is present). */
  signed?: string;
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
export function encodeHeartbeat(hb: Heartbeat, key?: string | Buffer): Buffer {
  let line = `${hb.seq} ${hb.timestamp.toFixed(6)}`;
  if (hb.id !== undefined) line += ` id=${hb.id}`;
  if (hb.run !== undefined) line += ` run=${hb.run}`;
  if (hb.int !== undefined) line += ` int=${Math.round(hb.int)}`;
  if (hb.status !== undefined) line += ` status=${hb.status}`;
  if (hb.msg !== undefined) line += ` msg=${encodeMessage(hb.msg)}`;
  if (hb.dur !== undefined) line += ` dur=${Math.round(hb.dur)}`;
  if (key !== undefined) line += ` mac=${heartbeatMac(key, line)}`;
  return Buffer.from(line, "latin1");
}

/**
 * The text a heartbeat's MAC covers: `MAC_CONTEXT`, a newline, then the seq and timestamp words
 * and the `SIGNED_FIELDS` present, in that order, each exactly as on the wire, joined by one
 * space. Unknown fields are not covered (they mean nothing to the monitor). wirekit's sender
 * writes its fields in this order, so for it the covered text is the line before ` mac=`.
 *
 * @example
 * signedText("7", "1763852851.500000", [["id", "web-1"], ["status", "ok"]])
 * // "wirekit-heartbeat-mac-v1\n7 1763852851.500000 id=web-1 status=ok"
 */
export function signedText(seq: string, timestamp: string, fields: ReadonlyArray<readonly [string, string]>): string {
  let out = `${MAC_CONTEXT}\n${seq} ${timestamp}`;
  for (const name of SIGNED_FIELDS) {
    const f = fields.find(([k]) => k === name);
    if (f !== undefined) out += ` ${name}=${f[1]}`;
  }
  return out;
}

/** HMAC-SHA256 (hex) of `line`, a heartbeat written in the canonical order without its mac. */
function heartbeatMac(key: string | Buffer, line: string): string {
  return createHmac("sha256", key).update(`${MAC_CONTEXT}\n${line}`, "latin1").digest("hex");
}

/** True when `hb` (decoded) carries a MAC made with `key` over its fields. Constant-time compare. */
export function verifyHeartbeatMac(hb: Heartbeat, key: string | Buffer): boolean {
  if (hb.mac === undefined || hb.signed === undefined || hb.mac.length !== 64) return false;
  const want = createHmac("sha256", key).update(hb.signed, "latin1").digest();
  const got = Buffer.from(hb.mac, "hex");
  return got.length === want.length && timingSafeEqual(got, want);
}

const MSG_PLAIN_RE = /^[\x21-\x24\x26-\x7e]$/;

/**
 * Percent-encode a message for `msg=`: UTF-8, every byte outside printable ASCII, and `%`,
 * written as `%XX`. Cut (on a character boundary) to at most MAX_MESSAGE_WIRE_BYTES.
 *
 * @example
 * encodeMessage("disk 91% full") // "disk%2091%25%20full"
 */
export function encodeMessage(text: string): string {
  let out = "";
  for (const ch of text) {
    let piece = "";
    if (MSG_PLAIN_RE.test(ch)) piece = ch;
    else for (const b of Buffer.from(ch, "utf8")) piece += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    if (out.length + piece.length > MAX_MESSAGE_WIRE_BYTES) break;
    out += piece;
  }
  return out;
}

/** Decode a `msg=` value; undefined when a `%` is not followed by two hex digits. */
export function decodeMessage(wire: string): string | undefined {
  if (!wire.includes("%")) return wire;
  const bytes: number[] = [];
  for (let i = 0; i < wire.length; i++) {
    const c = wire.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(c);
      continue;
    }
    const hex = wire.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString("utf8");
}

const STATUS_RE = /^(?:ok|fail|\d{1,3})$/;

/** True when `s` is a valid `status=` value: ok, fail, or an exit code 0-255. */
export function isValidStatus(s: string): boolean {
  return STATUS_RE.test(s) && (!/^\d/.test(s) || Number(s) <= 255);
}

/** True when a status reports a failure: "fail" or a nonzero exit code. */
export function isFailureStatus(s: string): boolean {
  return s !== "ok" && s !== "0" && Number(s) !== 0;
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

const OTHER_KEYS = ["int", "status", "msg", "dur", "mac"] as const;
type OtherKey = (typeof OTHER_KEYS)[number];
const OTHER_KEY_BYTES = OTHER_KEYS.map((k) => Buffer.from(`${k}=`, "latin1"));

/** The known key (other than id/run) the word buf[start, end) starts with as `key=`, if any. */
function otherKey(buf: Buffer, start: number, end: number): OtherKey | undefined {
  outer: for (let k = 0; k < OTHER_KEY_BYTES.length; k++) {
    const want = OTHER_KEY_BYTES[k] as Buffer;
    if (end - start < want.length) continue;
    for (let j = 0; j < want.length; j++) if (buf[start + j] !== want[j]) continue outer;
    return OTHER_KEYS[k];
  }
  return undefined;
}

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
  let signed: Array<[string, string]> | undefined;
  for (;;) {
    while (i < n && isSpace(buf[i] as number)) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isSpace(buf[i] as number)) i++;
    // id= and run= on the fast path; the rest by name. Any other word is a future extension: ignore it.
    const key =
      buf[start + 2] === 0x3d && buf[start] === 0x69 && buf[start + 1] === 0x64
        ? "id"
        : buf[start + 3] === 0x3d && buf[start] === 0x72 && buf[start + 1] === 0x75 && buf[start + 2] === 0x6e
          ? "run"
          : otherKey(buf, start, i);
    if (key === undefined) continue;
    const valueStart = start + key.length + 1;
    // A second copy of a field could differ from the one the MAC covers: refuse it.
    if (key === "mac" ? hb.mac !== undefined : hb[key] !== undefined) return parseFailure(`heartbeat: ${key}= given twice`, { offset: start });
    const len = i - valueStart;
    const max = key === "msg" ? MAX_MESSAGE_WIRE_BYTES : MAX_FIELD_LENGTH;
    if ((len < 1 && key !== "msg") || len > max) return parseFailure(`heartbeat: bad ${key}= value`, { offset: valueStart });
    // A fresh string from the bytes, not a slice of a bigger one: it may live as long as the client.
    const value = buf.toString("latin1", valueStart, i);
    if (key === "id" || key === "run") hb[key] = value;
    else if (key === "int" || key === "dur") {
      const v = /^\d{1,9}$/.test(value) ? Number(value) : -1;
      if (v < 0 || (key === "int" && (v < 1 || v > MAX_INTERVAL_MS))) return parseFailure(`heartbeat: bad ${key}= value`, { offset: valueStart });
      hb[key] = v;
    } else if (key === "status") {
      if (!isValidStatus(value)) return parseFailure("heartbeat: bad status= value", { offset: valueStart });
      hb.status = value;
    } else if (key === "msg") {
      const m = decodeMessage(value);
      if (m === undefined) return parseFailure("heartbeat: bad msg= value (a % not followed by two hex digits)", { offset: valueStart });
      hb.msg = m;
    } else {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return parseFailure("heartbeat: bad mac= value (not 64 hex digits)", { offset: valueStart });
      hb.mac = value.toLowerCase();
      continue;
    }
    (signed ??= []).push([key, value]);
  }
  if (hb.mac !== undefined) {
    let seqEnd = seqStart;
    while (!isSpace(buf[seqEnd] as number)) seqEnd++;
    hb.signed = signedText(buf.toString("latin1", seqStart, seqEnd), tsWord, signed ?? []);
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

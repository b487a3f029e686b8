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
import { createHmac } from "node:crypto";
import { hmacSha256Into, hmacSha256Verify } from "../../core/hmac-sha256.js";
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
  /**
   * What the MAC covers after `MAC_CONTEXT` and its newline (`signedText()` without them), as
   * received; set by decodeHeartbeat when `mac=` is present. When the words came in the
   * canonical form (as wirekit's sender writes them) this is a view of the datagram itself,
   * valid as long as the datagram's bytes are.
   */
  signed?: Uint8Array;
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

const MAC_CONTEXT_LINE = Buffer.from(`${MAC_CONTEXT}\n`, "latin1");

const macParts: Uint8Array[] = [MAC_CONTEXT_LINE, MAC_CONTEXT_LINE];
const macWant = new Uint8Array(32);

/** Hex digit values by char code; 0x100 (a bit no byte has) for anything else, so it never matches. */
const HEX_VALUE = Int16Array.from({ length: 256 }, (_, c) => {
  const v = "0123456789abcdef".indexOf(String.fromCharCode(c).toLowerCase());
  return v < 0 ? 0x100 : v;
});

/**
 * True when `hb` (decoded) carries a MAC made with `key` over its fields. The covered bytes go
 * to the HMAC as they are (no text is built; core/hmac-sha256.ts, no allocation), and the 32
 * bytes are compared in constant time: every one of them, OR-ing the differences, no early exit.
 */
export function verifyHeartbeatMac(hb: Heartbeat, key: string | Buffer): boolean {
  const mac = hb.mac;
  if (mac === undefined || hb.signed === undefined || mac.length !== 64) return false;
  macParts[1] = hb.signed;
  hmacSha256Into(key, macParts, macWant);
  macParts[1] = MAC_CONTEXT_LINE;
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= (macWant[i] as number) ^ (((HEX_VALUE[mac.charCodeAt(2 * i)] ?? 0x100) << 4) | (HEX_VALUE[mac.charCodeAt(2 * i + 1)] ?? 0x100));
  return diff === 0;
}

/**
 * True when `mac` (32 bytes: decodedMac() after a decodeHeartbeat(buf, false)) is the MAC of
 * `signed` (the heartbeat's `signed`) under the key prepared at word `at` of `keyState`
 * (core/hmac-sha256.ts hmacSha256KeyState). What verifyHeartbeatMac checks, for a caller that
 * keeps its keys prepared: two of the five compressions and the hex digits are not redone per
 * heartbeat, and the other three run in the addon when it loads (core/hmac-sha256.ts
 * hmacSha256Verify). Constant time over the 32 bytes, as there.
 */
export function verifyHeartbeatMacBytes(signed: Uint8Array, mac: Uint8Array, keyState: Int32Array, at: number): boolean {
  return hmacSha256Verify(keyState, at, MAC_CONTEXT_LINE, signed, mac);
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

/** Field codes: SIGNED_FIELDS' indexes, then mac. A number, not a name, on the hot path. */
const F_ID = 0;
const F_RUN = 1;
const F_INT = 2;
const F_STATUS = 3;
const F_MSG = 4;
const F_DUR = 5;
const F_MAC = 6;
const FIELD_NAMES = [...SIGNED_FIELDS, "mac"] as const;
const OTHER_KEY_BYTES = FIELD_NAMES.map((k) => Buffer.from(`${k}=`, "latin1"));

/** The code of the known key (other than id/run) the word buf[start, end) starts with as `key=`, or −1. */
function otherKey(buf: Buffer, start: number, end: number): number {
  outer: for (let k = F_INT; k < OTHER_KEY_BYTES.length; k++) {
    const want = OTHER_KEY_BYTES[k] as Buffer;
    if (end - start < want.length) continue;
    for (let j = 0; j < want.length; j++) if (buf[start + j] !== want[j]) continue outer;
    return k;
  }
  return -1;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * The timestamp word at buf[start] as Number() reads it, or NaN when it is not a number. The
 * usual form (digits and a point, as `1763852851.123456`) without a string: the digits as an
 * integer, exact up to 2^53 − 1, divided by an exact power of ten (at most 10^22), which IEEE
 * rounds correctly, so the result is the very double Number() gives. Other forms go through
 * NUMBER_RE and Number().
 */
function parseTimestamp(buf: Buffer, start: number): number {
  const n = buf.length;
  let i = start;
  let m = 0;
  let digits = 0;
  let frac = -1;
  for (; i < n; i++) {
    const b = buf[i] as number;
    if (b >= 0x30 && b <= 0x39) {
      m = m * 10 + (b - 0x30);
      digits++;
      if (frac >= 0) frac++;
    } else if (b === 0x2e && frac < 0) frac = 0;
    else break;
  }
  // m only grows, so when it ends at most 2^53 − 1 every step of it was exact.
  if (digits > 0 && m <= Number.MAX_SAFE_INTEGER && frac <= 22 && (i === n || isSpace(buf[i] as number))) return frac <= 0 ? m : m / (POW10[frac] as number);
  let end = i;
  while (end < n && !isSpace(buf[end] as number)) end++;
  const word = buf.toString("latin1", start, end);
  return NUMBER_RE.test(word) ? Number(word) : Number.NaN;
}

/** Where each SIGNED_FIELDS value was in the datagram being decoded: [start, end) pairs, −1 = absent. */
const signedAt = new Int32Array(SIGNED_FIELDS.length * 2);
/** The last decoded datagram's `mac=` as bytes, when it had one (`macFound`). */
const macBytes = new Uint8Array(32);
let macFound = false;

/**
 * The 32 bytes of the `mac=` the last decodeHeartbeat() found (a view that the next decode
 * overwrites), or undefined when it had none. For a caller that asked for no strings
 * (decodeHeartbeat(buf, false)), which leaves `mac` unset, and checks it with
 * verifyHeartbeatMacBytes().
 */
export function decodedMac(): Uint8Array | undefined {
  return macFound ? macBytes : undefined;
}

/**
 * Where the last decodeHeartbeat() found the value of `id=` (field 0) or `run=` (field 1):
 * its start and end offsets in the datagram, or −1 when it had none. For a caller that asked for
 * no strings (decodeHeartbeat(buf, false)) and looks the bytes up itself.
 *
 * @example
 * decodeHeartbeat(Buffer.from("7 1763852851.5 id=db-2"), false); // value.id undefined
 * [decodedFieldStart(0), decodedFieldEnd(0)] // [18, 22]
 */
export function decodedFieldStart(field: 0 | 1): number {
  return signedAt[2 * field] as number;
}

/** See decodedFieldStart(). */
export function decodedFieldEnd(field: 0 | 1): number {
  return signedAt[2 * field + 1] as number;
}

/**
 * Decode a heartbeat `<seq> <timestamp> [key=value ...]`. Unknown fields are ignored; a
 * negative or non-integer seq, a timestamp that is not a number or is absurd, binary bytes
 * and oversized datagrams are a ParseError. This is the monitor's hot path, so it scans the
 * bytes once instead of building and splitting a string. With `strings` false, `id`, `run` and
 * `mac` are left unset: where the id's and run's bytes are is told by decodedFieldStart() /
 * decodedFieldEnd(), for a caller that can find a known client by those bytes without making a
 * string of them, and the MAC's bytes by decodedMac().
 *
 * @example
 * decodeHeartbeat(Buffer.from("7 1763852851.5 id=db-2")) // { ok: true, value: { seq: 7, timestamp: 1763852851.5, id: "db-2" } }
 */
export function decodeHeartbeat(input: Uint8Array, strings = true): Decoded<Heartbeat> {
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
  const seqEnd = i;
  while (i < n && isSpace(buf[i] as number)) i++;
  const tsStart = i;
  const timestamp = parseTimestamp(buf, tsStart);
  while (i < n && !isSpace(buf[i] as number)) i++;
  const tsEnd = i;
  if (!(timestamp >= 0 && timestamp < MAX_TIMESTAMP_S)) {
    const tsWord = buf.toString("latin1", tsStart, tsEnd).slice(0, 30);
    return parseFailure(Number.isNaN(timestamp) ? `heartbeat: bad timestamp '${tsWord}'` : `heartbeat: absurd timestamp ${tsWord}`, { offset: tsStart });
  }
  const hb: Heartbeat = { seq, timestamp };
  // The covered text is the datagram's own bytes [0, signedEnd) when they are in the canonical
  // form: no leading space, single spaces, and only signed fields, in SIGNED_FIELDS order,
  // before the last one (a mac= or an unknown word may only come after it).
  let canonical = seqStart === 0 && tsStart === seqEnd + 1 && buf[seqEnd] === 0x20;
  let signedEnd = tsEnd;
  let lastSigned = -1;
  let tail = false;
  let present = 0;
  for (let k = 0; k < signedAt.length; k++) signedAt[k] = -1;
  macFound = false;
  for (;;) {
    const gap = i;
    while (i < n && isSpace(buf[i] as number)) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isSpace(buf[i] as number)) i++;
    // id= and run= on the fast path; the rest by name. Any other word is a future extension: ignore it.
    const key =
      buf[start + 2] === 0x3d && buf[start] === 0x69 && buf[start + 1] === 0x64
        ? F_ID
        : buf[start + 3] === 0x3d && buf[start] === 0x72 && buf[start + 1] === 0x75 && buf[start + 2] === 0x6e
          ? F_RUN
          : otherKey(buf, start, i);
    if (key < 0 || key === F_MAC) tail = true;
    if (key < 0) continue;
    const name = FIELD_NAMES[key] as string;
    const valueStart = start + name.length + 1;
    // A second copy of a field could differ from the one the MAC covers: refuse it.
    if ((present & (1 << key)) !== 0) return parseFailure(`heartbeat: ${name}= given twice`, { offset: start });
    present |= 1 << key;
    const len = i - valueStart;
    const max = key === F_MSG ? MAX_MESSAGE_WIRE_BYTES : MAX_FIELD_LENGTH;
    if ((len < 1 && key !== F_MSG) || len > max) return parseFailure(`heartbeat: bad ${name}= value`, { offset: valueStart });
    if (key === F_MAC) {
      if (len !== 64 || !hexInto(buf, valueStart, macBytes)) return parseFailure("heartbeat: bad mac= value (not 64 hex digits)", { offset: valueStart });
      macFound = true;
      if (strings) hb.mac = buf.toString("latin1", valueStart, i).toLowerCase();
      continue;
    }
    signedAt[2 * key] = valueStart;
    signedAt[2 * key + 1] = i;
    if (tail || key <= lastSigned || gap !== start - 1 || buf[gap] !== 0x20) canonical = false;
    lastSigned = key;
    signedEnd = i;
    if (key === F_ID || key === F_RUN) {
      // A fresh string from the bytes, not a slice of a bigger one: it may live as long as the client.
      if (!strings) continue;
      if (key === F_ID) hb.id = buf.toString("latin1", valueStart, i);
      else hb.run = buf.toString("latin1", valueStart, i);
      continue;
    }
    const value = buf.toString("latin1", valueStart, i);
    if (key === F_INT || key === F_DUR) {
      const v = /^\d{1,9}$/.test(value) ? Number(value) : -1;
      if (v < 0 || (key === F_INT && (v < 1 || v > MAX_INTERVAL_MS))) return parseFailure(`heartbeat: bad ${name}= value`, { offset: valueStart });
      if (key === F_INT) hb.int = v;
      else hb.dur = v;
    } else if (key === F_STATUS) {
      if (!isValidStatus(value)) return parseFailure("heartbeat: bad status= value", { offset: valueStart });
      hb.status = value;
    } else {
      const m = decodeMessage(value);
      if (m === undefined) return parseFailure("heartbeat: bad msg= value (a % not followed by two hex digits)", { offset: valueStart });
      hb.msg = m;
    }
  }
  if (macFound) {
    if (canonical) hb.signed = buf.subarray(0, signedEnd);
    else {
      const fields: Array<[string, string]> = [];
      for (let k = 0; k < SIGNED_FIELDS.length; k++) {
        const at = signedAt[2 * k] as number;
        if (at >= 0) fields.push([SIGNED_FIELDS[k] as string, buf.toString("latin1", at, signedAt[2 * k + 1])]);
      }
      const text = signedText(buf.toString("latin1", seqStart, seqEnd), buf.toString("latin1", tsStart, tsEnd), fields);
      hb.signed = Buffer.from(text.slice(MAC_CONTEXT.length + 1), "latin1");
    }
  }
  return decoded(hb);
}

/** Decode the 2·out.length hex digits at buf[start] into `out`; false when one is not a hex digit. */
function hexInto(buf: Buffer, start: number, out: Uint8Array): boolean {
  let bad = 0;
  for (let j = 0; j < out.length; j++) {
    const hi = HEX_VALUE[buf[start + 2 * j] as number] as number;
    const lo = HEX_VALUE[buf[start + 2 * j + 1] as number] as number;
    bad |= hi | lo;
    out[j] = (hi << 4) | lo;
  }
  return (bad & 0x100) === 0;
}

/** 2^27 + 1: Veltkamp's splitter for doubles (53 bits in two halves of 26). */
const SPLITTER = 134217729;
const MICRO = 1e6;
const MICRO_HI = SPLITTER * MICRO - (SPLITTER * MICRO - MICRO);
const MICRO_LO = MICRO - MICRO_HI;

/**
 * |x| · 10^6 rounded to the nearest integer, a tie going up: the digits x.toFixed(6) writes
 * (without the point), or −1 outside 1e-300 ≤ |x| < 2^33, where the caller falls back on
 * toFixed. toFixed rounds the exact value of the double, not the rounded product, so the
 * product's rounding error is recovered exactly (Dekker's two-product: p + err is exactly
 * |x| · 10^6) and the tie is decided on p − ⌊p⌋ − 0.5 + err, whose sign a rounded sum keeps.
 *
 * @example
 * microsOf(0.0000615) // 62 (0.0000615 is a little above ...615 as a double), as (0.0000615).toFixed(6) is "0.000062"
 */
export function microsOf(x: number): number {
  const a = Math.abs(x);
  if (!(a >= 1e-300 && a < 8589934592)) return -1;
  const p = a * MICRO;
  const c = SPLITTER * a;
  const aHi = c - (c - a);
  const aLo = a - aHi;
  const err = aHi * MICRO_HI - p + aHi * MICRO_LO + aLo * MICRO_HI + aLo * MICRO_LO;
  const n = Math.floor(p);
  return p - n - 0.5 + err >= 0 ? n + 1 : n;
}

/**
 * Encode the monitor's reply `<seq> <time_diff>` (seconds, microsecond precision).
 *
 * @example
 * encodeHeartbeatReply(42, 0.000061).toString() // "42 0.000061"
 */
export function encodeHeartbeatReply(seq: number, timeDiff: number): Buffer {
  const n = writeHeartbeatReply(seq, timeDiff, replyScratch);
  if (n < 0) return Buffer.from(`${seq} ${timeDiff.toFixed(6)}`, "latin1");
  const out = Buffer.allocUnsafe(n);
  replyScratch.copy(out, 0, 0, n);
  return out;
}

/** Room for any reply writeHeartbeatReply() writes (a 16-digit seq, a sign and 10 + 7 digits of time_diff). */
export const MAX_REPLY_BYTES = 40;
const replyScratch = Buffer.alloc(MAX_REPLY_BYTES);

/**
 * Write the bytes of encodeHeartbeatReply(seq, timeDiff) at the start of `out` and return how
 * many, or −1 when they would not fit or need the slow path (encodeHeartbeatReply then takes
 * it): for a caller that sends every reply from one reused buffer.
 *
 * @example
 * const out = Buffer.alloc(MAX_REPLY_BYTES);
 * out.toString("latin1", 0, writeHeartbeatReply(42, 0.000061, out)) // "42 0.000061"
 */
export function writeHeartbeatReply(seq: number, timeDiff: number, out: Uint8Array): number {
  // The monitor's hot path (one reply per heartbeat): the bytes are written here, not through
  // a string and Buffer.from's native write, and time_diff's digits come from microsOf(), which
  // gives what toFixed(6) does at a fraction of its cost.
  const micros = microsOf(timeDiff);
  if (!Number.isSafeInteger(seq) || seq < 0 || micros < 0) return -1;
  let digits = 1;
  for (let p = 10; p <= seq && digits < 16; p *= 10) digits++;
  const sign = timeDiff < 0 ? 1 : 0;
  const whole = Math.floor(micros / MICRO);
  let wholeDigits = 1;
  for (let p = 10; p <= whole; p *= 10) wholeDigits++;
  const length = digits + 1 + sign + wholeDigits + 7;
  if (length > out.length) return -1;
  for (let i = digits - 1, v = seq; i >= 0; i--, v = Math.floor(v / 10)) out[i] = 0x30 + (v % 10);
  out[digits] = 0x20;
  if (sign === 1) out[digits + 1] = 0x2d;
  let at = length - 1;
  for (let k = 0, v = micros % MICRO; k < 6; k++, at--, v = Math.floor(v / 10)) out[at] = 0x30 + (v % 10);
  out[at--] = 0x2e;
  for (let v = whole; at > digits + sign; at--, v = Math.floor(v / 10)) out[at] = 0x30 + (v % 10);
  return length;
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

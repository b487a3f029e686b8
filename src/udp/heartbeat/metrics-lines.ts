/**
 * The lines of one family of the heartbeat monitor's Prometheus exposition (text format 0.0.4),
 * written as bytes: `<prefix><client label><suffix>[value]\n` for every client that has a line.
 * At 100,000 clients a scrape is some 68 MB and 1.2 M such lines, written on the metrics worker
 * thread once a second while the flooded monitor and its peers want both of the machine's cores:
 * so the addon writes them when it loads (native/metrics_text.cc, memcpy and integer digits, about
 * four times less CPU than the JavaScript), and this file's JavaScript otherwise. The two write the
 * same bytes (test/udp/heartbeat/metrics-lines.test.ts: hostile labels, every kind of number).
 * Pure: no I/O.
 */
import { addonFunction } from "../../core/native.js";

/** A sample value as the text format reads it: JavaScript's number text, NaN and ±Inf as Prometheus spells them. */
export function sampleValue(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
}

/** Write a non-negative integer below 2^53 at buf[p]; returns the position after it. */
function writeDigits(buf: Uint8Array, p: number, x: number): number {
  let len = 1;
  for (let t = x; t >= 10; t = Math.floor(t / 10)) len++;
  let q = p + len;
  const end = q;
  while (x >= 10) {
    const d = Math.floor(x / 10);
    buf[--q] = 0x30 + (x - d * 10);
    x = d;
  }
  buf[q - 1] = 0x30 + x;
  return end;
}

/**
 * Write a sample value at buf[p] (room for 32 bytes), as Number() reads it back: integers
 * exactly, other finite values below 1e9 to 6 decimals without trailing zeros, the rest as
 * sampleValue writes it. Returns the position after it.
 */
function writeValue(buf: Uint8Array, p: number, v: number): number {
  if (Number.isInteger(v) && v > -9007199254740992 && v < 9007199254740992) {
    if (v < 0) buf[p++] = 0x2d;
    return writeDigits(buf, p, Math.abs(v));
  }
  if (!(v > -1e9 && v < 1e9)) {
    const s = sampleValue(v);
    for (let k = 0; k < s.length; k++) buf[p++] = s.charCodeAt(k);
    return p;
  }
  const q = Math.round(Math.abs(v) * 1e6);
  if (q === 0) {
    buf[p] = 0x30;
    return p + 1;
  }
  if (v < 0) buf[p++] = 0x2d;
  const whole = Math.floor(q / 1e6);
  let frac = q - whole * 1e6;
  p = writeDigits(buf, p, whole);
  if (frac === 0) return p;
  let digits = 6;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  buf[p] = 0x2e;
  const end = p + 1 + digits;
  for (let k = end - 1; k > p; k--) {
    const f = Math.floor(frac / 10);
    buf[k] = 0x30 + (frac - f * 10);
    frac = f;
  }
  return end;
}

/** Where lines are written: a buffer that `room` may replace with a bigger one. */
export interface LineSink {
  buf: Uint8Array;
  pos: number;
  /** Room for `k` more bytes; returns the buffer to write into (it may have moved). */
  room(k: number): Uint8Array;
}

/** The client labels of a scrape: their bytes, each followed by "\n", and where each starts. */
export interface LineLabels {
  bytes: Uint8Array;
  /** starts[i]: where client i's label begins; starts[i + 1] - 1 is where its "\n" is. */
  starts: Int32Array;
  /**
   * Per client, where in the sink's buffer its label was written by the family written with
   * `first` (the others copy it from there, so each label is read from `bytes` once).
   */
  at: Int32Array;
}

/** One family's lines: what comes before and after each client's label, and which clients have one. */
export interface FamilyLines {
  /** The bytes before the label (`name{client="`). */
  prefix: Uint8Array;
  /** The possible bytes after it, packed (packSuffixes). */
  suffixes: Uint8Array;
  suffixAt: Int32Array;
  /** Per client, the index of its suffix; a negative index: no line. Null: suffix 0 for everyone. */
  pick: Uint8Array | Int32Array | null;
  /** With values: client i's is values[i * stride + m], written after the suffix (NaN: no line). */
  values: Float64Array | null;
  stride: number;
  m: number;
}

/** Byte strings packed into one array and their offsets (suffix k is bytes[at[k] .. at[k + 1])). */
export function packSuffixes(list: ReadonlyArray<Uint8Array>): { suffixes: Uint8Array; suffixAt: Int32Array } {
  const suffixAt = new Int32Array(list.length + 1);
  list.forEach((s, k) => (suffixAt[k + 1] = (suffixAt[k] as number) + s.length));
  const suffixes = new Uint8Array(suffixAt[list.length] as number);
  list.forEach((s, k) => suffixes.set(s, suffixAt[k]));
  return { suffixes, suffixAt };
}

/** The whole 32-bit little-endian words of `b` (its last `b.length % 4` bytes are left out). */
function prefixWords(b: Uint8Array): Uint32Array {
  const words = new Uint32Array(b.length >> 2);
  for (let k = 0; k < words.length * 4; k++) words[k >> 2] = ((words[k >> 2] as number) | ((b[k] as number) << (8 * (k & 3)))) >>> 0;
  return words;
}

/**
 * The family's lines in JavaScript: one tight loop. The label is copied with copyWithin (a
 * memmove, no allocation) from where the first family wrote it.
 */
export function writeFamilyLinesJs(out: LineSink, labels: LineLabels, first: boolean, f: FamilyLines): void {
  const { bytes, starts, at: labelAt } = labels;
  const { prefix, suffixes, suffixAt, pick, values, stride, m } = f;
  const n = labelAt.length;
  const pl = prefix.length;
  let buf = out.buf;
  let view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = out.pos;
  // The prefix as little-endian 32-bit words: a dozen unaligned stores a line instead of ~45 byte stores.
  const words = prefixWords(prefix);
  const wl = words.length * 4;
  for (let i = 0; i < n; i++) {
    let v = 0;
    if (values !== null) {
      v = values[i * stride + m] as number;
      if (Number.isNaN(v)) continue;
    }
    const k = pick === null ? 0 : (pick[i] as number);
    if (k < 0) continue;
    const s0 = suffixAt[k] as number;
    const sl = (suffixAt[k + 1] as number) - s0;
    const a = starts[i] as number;
    const len = (starts[i + 1] as number) - 1 - a;
    const need = pl + len + sl + 34;
    if (p + need > buf.length) {
      out.pos = p;
      buf = out.room(need);
      view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    for (let w = 0; w < words.length; w++) view.setUint32(p + 4 * w, words[w] as number, true);
    for (let j = wl; j < pl; j++) buf[p + j] = prefix[j] as number;
    p += pl;
    if (first) {
      labelAt[i] = p;
      for (let j = a; j < a + len; j++) buf[p++] = bytes[j] as number;
    } else {
      const from = labelAt[i] as number;
      buf.copyWithin(p, from, from + len);
      p += len;
    }
    for (let j = 0; j < sl; j++) buf[p++] = suffixes[s0 + j] as number;
    if (values !== null) {
      p = writeValue(buf, p, v);
      buf[p++] = 0x0a;
    }
  }
  out.pos = p;
}

/** The addon's writer (native/metrics_text.cc): the lines from client 0 on at `pos`; returns the position after them. */
export type NativeWriteMetricLines = (
  buf: Uint8Array,
  pos: number,
  labels: Uint8Array,
  starts: Int32Array,
  labelAt: Int32Array,
  first: boolean,
  prefix: Uint8Array,
  suffixes: Uint8Array,
  suffixAt: Int32Array,
  pick: Uint8Array | Int32Array | null,
  values: Float64Array | null,
  stride: number,
  m: number,
) => number;

let nativeWriter: NativeWriteMetricLines | null | undefined;

/** The addon's writeMetricLines, or null when the addon does not load or lacks it. Looked up once (per thread). */
export function nativeWriteMetricLines(): NativeWriteMetricLines | null {
  if (nativeWriter === undefined) nativeWriter = addonFunction<NativeWriteMetricLines>("writeMetricLines");
  return nativeWriter;
}

/** What writes the lines: the addon, or this file's JavaScript (no addon, or asked for). */
export type LineWriter = "native" | "javascript";

/** The writer {@link writeFamilyLines} uses unless told: the addon's when it loads. */
export function defaultLineWriter(): LineWriter {
  return nativeWriteMetricLines() === null ? "javascript" : "native";
}

/**
 * The family's lines into `out`, by `writer` (the addon's when it loads; the bytes are the same).
 * The addon writes into room made first for the family's longest possible text.
 *
 * @example
 * const { suffixes, suffixAt } = packSuffixes([Buffer.from('"} ')]);
 * writeFamilyLines(sink, labels, false, { prefix: Buffer.from('x_total{client="'), suffixes, suffixAt, pick: null, values, stride: 1, m: 0 });
 */
export function writeFamilyLines(out: LineSink, labels: LineLabels, first: boolean, f: FamilyLines, writer: LineWriter = defaultLineWriter()): void {
  const native = writer === "native" ? nativeWriteMetricLines() : null;
  if (native === null) {
    writeFamilyLinesJs(out, labels, first, f);
    return;
  }
  let longest = 0;
  for (let k = 0; k + 1 < f.suffixAt.length; k++) longest = Math.max(longest, (f.suffixAt[k + 1] as number) - (f.suffixAt[k] as number));
  const n = labels.at.length;
  // Every line: prefix, label, suffix, a value of at most 32 bytes and "\n"; the labels (up to starts[n]) hold each label once.
  const buf = out.room(n * (f.prefix.length + longest + 34) + (labels.starts[n] as number));
  out.pos = native(buf, out.pos, labels.bytes, labels.starts, labels.at, first, f.prefix, f.suffixes, f.suffixAt, f.pick, f.values, f.stride, f.m);
}

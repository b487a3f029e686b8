import { test } from "node:test";
import assert from "node:assert/strict";
import { collectMetrics, renderMetrics, type MetricsSource } from "../../../src/udp/heartbeat/metrics.js";
import { nativeWriteMetricLines, packSuffixes, sampleValue, writeFamilyLines, writeFamilyLinesJs, type FamilyLines, type LineLabels, type LineSink } from "../../../src/udp/heartbeat/metrics-lines.js";
import type { ClientSnapshot } from "../../../src/udp/heartbeat/events.js";
import type { HeartbeatMonitorTotals } from "../../../src/udp/heartbeat/monitor-options.js";

const NO_ADDON = "the addon does not load here; the lines are written by the JavaScript alone";

const base: ClientSnapshot = {
  id: "x", address: "127.0.0.1:1", status: "alive", phi: 0, received: 0, lost: 0, lossPercent: 0, reordered: 0, duplicates: 0, restarts: 0, lastSeq: 1, run: null,
  firstSeen: 0, lastSeen: 0, delayMs: null, intervalMs: null, announcedIntervalMs: null, deadAfterMs: 3000, reportedStatus: null, reportedMessage: null, jobMs: null, failed: false,
};

function totals(clients: number): HeartbeatMonitorTotals {
  return { heartbeats: 7, clients, lost: 0, reordered: 0, duplicates: 0, restarts: 0, malformed: 0, dropped: 0, forgotten: 0, evicted: 0, refused: 0, neverSeen: 0 };
}

/** A double from 64 random bits (any sign, exponent and mantissa: subnormals, NaN and ±Inf included). */
function randomDouble(next: () => number): number {
  const b = new DataView(new ArrayBuffer(8));
  b.setUint32(0, next());
  b.setUint32(4, next());
  return b.getFloat64(0);
}

/** A small seeded generator (xorshift32), so a failure is the same on every run. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Values that sit on every branch of the writer: integers, the 6-decimal rounding (ties too), the JavaScript-formatted rest. */
const EDGES = [
  0, -0, 1, -1, 9, 10, 99, 100, 4294967296, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, -(2 ** 53), 2 ** 60, 1e21, 1e22, -1e21, 123456789012345680000,
  0.5, -0.5, 1e-7, -1e-7, 4.9e-7, 5e-7, -5e-7, 0.0000005, 0.0000015, 0.0000025, 1.0000005, 2.5e-6, 0.1, 0.2, 0.3, 1 / 3, -2 / 3, 7.999999, 8.0000004,
  123.456789, 999999999.9999995, 999999999.999999, -999999999.999999, 1e9 - 0.5, 1e9 + 0.5, -1e9 - 0.5, 1e9 + 2 ** -23, 123456789.123, 2 ** 40 + 0.5,
  1e15 + 0.5, 1.5e300, -1e300, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 2.2250738585072014e-308, 1e-6, 1e-7 * 3,
  Infinity, -Infinity, 0.1 + 0.2, 1e20 + 0.5, 5e-324, 1.7976931348623157e308,
];

/** A source whose clients carry `values` in every numeric family, with hostile ids and status texts. */
function hostileSource(values: readonly number[]): MetricsSource {
  const ids = ['q"uote', "back\\slash", "new\nline", "café", "", "x".repeat(300), "\\\"\n\\", "日本", "tab\there", "emoji 🐛"];
  const clients = values.map((v, i): ClientSnapshot => ({
    ...base,
    id: `${ids[i % ids.length] ?? ""}#${i}`,
    status: (["alive", "suspect", "dead"] as const)[i % 3] ?? "alive",
    failed: i % 7 === 0,
    phi: v,
    lastSeen: i % 5 === 0 ? -v * 1000 : 0,
    received: v,
    lost: -v,
    reordered: v * 3,
    duplicates: v / 7,
    restarts: i,
    deadAfterMs: v * 1000,
    jobMs: i % 4 === 0 ? null : v,
    delayMs: i % 3 === 0 ? null : { min: v, avg: v * 1000, max: v, mdev: 0 },
    reportedStatus: i % 6 === 0 ? null : ["ok", "fail", 'x"y', "a\\b", "c\nd", "é", "137"][i % 7] ?? "ok",
  }));
  return {
    clients: () => clients,
    totals: () => totals(clients.length),
    wallNow: () => 0,
    expected: () => [{ id: 'never"seen\n', neverSeen: true }],
  };
}

test("the addon writes the same exposition as the JavaScript: hostile client ids and status texts, every kind of number", (t) => {
  if (nativeWriteMetricLines() === null) return t.skip(NO_ADDON);
  const next = xorshift(19);
  const values = [...EDGES, ...Array.from({ length: 3000 }, () => randomDouble(next)), ...Array.from({ length: 3000 }, () => (next() - 2 ** 31) / 10 ** (next() % 12))];
  const d = collectMetrics(hostileSource(values));
  const js = renderMetrics(d, 0, undefined, "javascript");
  const native = renderMetrics(d, 0, undefined, "native");
  assert.equal(native.toString("utf8"), js.toString("utf8"));
  assert.ok(native.equals(js));
  assert.match(js.toString("utf8"), /client="q\\"uote#0",status="failed"\} 1\n/);
  assert.match(js.toString("utf8"), /client="new\\nline#2"/);
});

test("values written as JavaScript writes them wherever the six-decimal form does not apply (both writers)", () => {
  const writers = nativeWriteMetricLines() === null ? (["javascript"] as const) : (["javascript", "native"] as const);
  const next = xorshift(7);
  // Integers, and what is not below 1e9 (the six-decimal values are the other test's).
  const big = [...EDGES, ...Array.from({ length: 4000 }, () => randomDouble(next))].filter((v) => Number.isInteger(v) || !(Math.abs(v) < 1e9 || Number.isNaN(v)));
  for (const writer of writers) {
    const text = render(big, writer);
    const written = text.split("\n").filter((l) => l !== "").map((l) => l.slice(l.lastIndexOf(" ") + 1));
    assert.equal(written.length, big.length, writer);
    for (const [i, v] of big.entries()) {
      const want = sampleValue(v);
      assert.equal(written[i], want, `${writer}: ${v}`);
      if (Number.isFinite(v) && Math.abs(v) >= 1e9) assert.equal(Number(written[i]), v, `${writer}: ${v} reads back`);
    }
  }
});

/** One family `v{client="i"} <value>` over `values` by `writer`, as text. */
function render(values: readonly number[], writer: "javascript" | "native", into = 1 << 16): string {
  const ids = values.map((_, i) => `${i}\n`).join("");
  const bytes = new Uint8Array(Buffer.from(ids, "latin1"));
  const starts = new Int32Array(values.length + 1);
  for (let i = 0, k = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) starts[++k] = i + 1;
  const labels: LineLabels = { bytes, starts, at: new Int32Array(values.length) };
  const sink = growing(into);
  const f: FamilyLines = { prefix: new Uint8Array(Buffer.from('v{client="')), ...packSuffixes([new Uint8Array(Buffer.from('"} '))]), pick: null, values: Float64Array.from(values), stride: 1, m: 0 };
  writeFamilyLines(sink, labels, true, f, writer);
  return Buffer.from(sink.buf.subarray(0, sink.pos)).toString("latin1");
}

/** A sink that starts at `size` bytes and doubles when it must. */
function growing(size: number): LineSink {
  const sink: LineSink = {
    buf: new Uint8Array(size),
    pos: 0,
    room(k) {
      if (sink.pos + k > sink.buf.length) {
        const next = new Uint8Array(Math.max(sink.buf.length * 2, sink.pos + k));
        next.set(sink.buf.subarray(0, sink.pos));
        sink.buf = next;
      }
      return sink.buf;
    },
  };
  return sink;
}

test("a buffer far too small grows, with both writers, and the text stays the same", (t) => {
  const values = Array.from({ length: 5000 }, (_, i) => i * 1.25);
  const js = render(values, "javascript", 16);
  assert.equal(js.split("\n").length, values.length + 1);
  if (nativeWriteMetricLines() === null) return t.skip(NO_ADDON);
  assert.equal(render(values, "native", 16), js);
  const d = collectMetrics(hostileSource(values.slice(0, 300)));
  assert.ok(renderMetrics(d, 0, new SharedArrayBuffer(64), "native").equals(renderMetrics(d, 0, undefined, "javascript")));
});

test("the addon's writer refuses bad arguments with a code instead of writing outside its buffers", (t) => {
  const native = nativeWriteMetricLines();
  if (native === null) return t.skip(NO_ADDON);
  const labels = new Uint8Array(Buffer.from("a\nbb\n"));
  const starts = new Int32Array([0, 2, 5]);
  const prefix = new Uint8Array(Buffer.from('x{c="'));
  const { suffixes, suffixAt } = packSuffixes([new Uint8Array(Buffer.from('"} '))]);
  const values = new Float64Array([1, 2]);
  const call = (over: { buf?: Uint8Array; pos?: number; starts?: Int32Array; at?: Int32Array; first?: boolean; suffixAt?: Int32Array; pick?: Uint8Array | Int32Array | null; values?: Float64Array | null; stride?: number; m?: number }): number =>
    native(over.buf ?? new Uint8Array(4096), over.pos ?? 0, labels, over.starts ?? starts, over.at ?? new Int32Array(2), over.first ?? true, prefix, suffixes, over.suffixAt ?? suffixAt, over.pick ?? null, over.values === undefined ? values : over.values, over.stride ?? 1, over.m ?? 0);
  const code = (f: () => unknown): unknown => {
    try {
      f();
    } catch (err) {
      return (err as { code?: unknown }).code;
    }
    return "no error";
  };
  assert.equal(call({}), 'x{c="a"} 1\nx{c="bb"} 2\n'.length);
  const cases: Array<[string, () => unknown, string]> = [
    ["a label past the end of the labels", () => call({ starts: new Int32Array([0, 2, 99]) }), "EINVAL"],
    ["a label starting before them", () => call({ starts: new Int32Array([-5, 2, 5]) }), "EINVAL"],
    ["too few starts", () => call({ starts: new Int32Array([0, 2]) }), "EINVAL"],
    ["a copied label not yet written", () => call({ first: false, at: new Int32Array([4000, 0]) }), "EINVAL"],
    ["a copied label at a negative place", () => call({ first: false, at: new Int32Array([-1, 0]) }), "EINVAL"],
    ["a suffix index past the table", () => call({ pick: new Uint8Array([0, 1]) }), "EINVAL"],
    ["a suffix table pointing outside the suffixes", () => call({ suffixAt: new Int32Array([0, 99]) }), "EINVAL"],
    ["too few values", () => call({ values: new Float64Array(1) }), "EINVAL"],
    ["m outside the stride", () => call({ stride: 1, m: 1 }), "EINVAL"],
    ["a position past the buffer", () => call({ pos: 5000 }), "EINVAL"],
    ["no room for a line", () => call({ buf: new Uint8Array(8) }), "ERANGE"],
    ["values of the wrong type", () => native(new Uint8Array(64), 0, labels, starts, new Int32Array(2), true, prefix, suffixes, suffixAt, null, new Float32Array(2) as unknown as Float64Array, 1, 0), "EINVAL"],
  ];
  for (const [what, f, want] of cases) assert.equal(code(f), want, what);
});

test("no client, no line: an empty scrape and a family nobody has a suffix for", (t) => {
  const empty: MetricsSource = { clients: () => [], totals: () => totals(0), wallNow: () => 0 };
  const js = renderMetrics(collectMetrics(empty), 0, undefined, "javascript");
  assert.doesNotMatch(js.toString("utf8"), /client=/);
  const sink = growing(64);
  const labels: LineLabels = { bytes: new Uint8Array(Buffer.from("a\n")), starts: new Int32Array([0, 2]), at: new Int32Array(1) };
  const none: FamilyLines = { prefix: new Uint8Array(4), ...packSuffixes([]), pick: new Int32Array([-1]), values: null, stride: 1, m: 0 };
  writeFamilyLinesJs(sink, labels, true, none);
  assert.equal(sink.pos, 0);
  if (nativeWriteMetricLines() === null) return t.skip(NO_ADDON);
  assert.ok(renderMetrics(collectMetrics(empty), 0, undefined, "native").equals(js));
  writeFamilyLines(sink, labels, true, none, "native");
  assert.equal(sink.pos, 0);
});

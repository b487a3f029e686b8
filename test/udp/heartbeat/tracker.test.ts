import { test } from "node:test";
import assert from "node:assert/strict";
import { ClientTracker, SEQ_WINDOW, MAX_GAP } from "../../../src/udp/heartbeat/tracker.js";
import type { Heartbeat } from "../../../src/udp/heartbeat/protocol.js";

const T0 = 1_763_852_851;
/** A heartbeat as a sender with a 1 s interval would send it: timestamp grows with seq. */
const hb = (seq: number, extra: Partial<Heartbeat> = {}): Heartbeat => ({ seq, timestamp: T0 + seq, ...extra });

function tracker(): ClientTracker {
  return new ClientTracker("web-1", "127.0.0.1:40000", 0, 0);
}

/** Feed seqs one second apart; returns the outcomes. */
function feed(c: ClientTracker, seqs: number[], start = 0): ReturnType<ClientTracker["receive"]>[] {
  return seqs.map((s, i) => c.receive(hb(s), start + i * 1000, 0.1));
}

test("in-order heartbeats lose nothing", () => {
  const c = tracker();
  const out = feed(c, [1, 2, 3, 4]);
  assert.equal(out[0]?.kind, "first");
  assert.ok(out.slice(1).every((o) => o.kind === "next" && o.lostFrom === undefined));
  assert.equal(c.received, 4);
  assert.equal(c.lost, 0);
});

test("a gap is reported once as a range, at the moment it opens", () => {
  const c = tracker();
  const out = feed(c, [39, 44, 45]);
  assert.deepEqual(out[1], { kind: "next", seq: 44, lostFrom: 40, lostTo: 43 });
  assert.equal(c.lost, 4);
  assert.equal(c.lossPercent, 4 * 100 / 7);
});

test("a single missing seq is a one-seq range", () => {
  const c = tracker();
  const out = feed(c, [1, 3]);
  assert.deepEqual(out[1], { kind: "next", seq: 3, lostFrom: 2, lostTo: 2 });
});

test("a late heartbeat fills its gap in and counts as reordered", () => {
  const c = tracker();
  feed(c, [1, 2, 5]);
  assert.equal(c.lost, 2);
  const late = c.receive(hb(3), 3500, 0.1);
  assert.deepEqual(late, { kind: "late", seq: 3, highest: 5 });
  assert.equal(c.lost, 1);
  assert.equal(c.reordered, 1);
  assert.equal(c.received, 4);
});

test("a duplicate is counted and changes nothing else", () => {
  const c = tracker();
  feed(c, [1, 2, 3]);
  assert.equal(c.receive(hb(2), 3000, 0.1).kind, "duplicate");
  assert.equal(c.receive(hb(3), 3000, 0.1).kind, "duplicate");
  assert.equal(c.duplicates, 2);
  assert.equal(c.received, 3);
  assert.equal(c.lost, 0);
  // a late fill-in arriving twice is a duplicate the second time
  feed(c, [6], 4000);
  assert.equal(c.receive(hb(4), 4100, 0.1).kind, "late");
  assert.equal(c.receive(hb(4), 4200, 0.1).kind, "duplicate");
  assert.equal(c.lost, 1);
});

test("a new run id is a restart, even with a higher seq", () => {
  const c = tracker();
  c.receive(hb(1, { run: "a" }), 0, 0.1);
  c.receive(hb(2, { run: "a" }), 1000, 0.1);
  const o = c.receive(hb(3, { run: "b" }), 2000, 0.1);
  assert.deepEqual(o, { kind: "restart", seq: 3, reason: "run", previousSeq: 2, previousRun: "a", run: "b" });
  assert.equal(c.restarts, 1);
  assert.equal(c.lost, 0);
  // numbering starts afresh: seq 1 of run b is neither a duplicate nor late
  assert.equal(c.receive(hb(5, { run: "b" }), 3000, 0.1).kind, "next");
});

test("without run ids, a lower seq with a newer timestamp is a restart (the lab's client restarted)", () => {
  const c = tracker();
  feed(c, [1, 2, 3, 4, 5]);
  const o = c.receive({ seq: 1, timestamp: T0 + 10 }, 10_000, 0.1);
  assert.equal(o.kind, "restart");
  assert.ok(o.kind === "restart" && o.reason === "seq-back" && o.previousSeq === 5);
  assert.equal(c.receive({ seq: 2, timestamp: T0 + 11 }, 11_000, 0.1).kind, "next");
  assert.equal(c.lost, 0);
});

test("a seq falling back beyond the window is a restart even with an older timestamp", () => {
  const c = tracker();
  c.receive(hb(10_000), 0, 0.1);
  const o = c.receive(hb(10_000 - SEQ_WINDOW), 1000, 0.1);
  assert.equal(o.kind, "restart");
});

test("a forward jump larger than MAX_GAP is a restart, not millions of losses", () => {
  const c = tracker();
  c.receive(hb(5), 0, 0.1);
  const o = c.receive(hb(5 + MAX_GAP + 1), 1000, 0.1);
  assert.equal(o.kind, "restart");
  assert.equal(c.lost, 0);
});

test("sequence numbers beyond 2^32 are tracked exactly (gaps, late, duplicates)", () => {
  const c = tracker();
  const base = 2 ** 32 - 2;
  const out = feed(c, [base, base + 1, base + 4]); // crosses 2^32 with seqs base+2, base+3 lost
  assert.deepEqual(out[2], { kind: "next", seq: base + 4, lostFrom: 2 ** 32, lostTo: 2 ** 32 + 1 });
  assert.equal(c.receive(hb(2 ** 32 + 1), 2500, 0.1).kind, "late");
  assert.equal(c.receive(hb(2 ** 32 + 1), 2600, 0.1).kind, "duplicate");
  assert.equal(c.lost, 1);
  const near = Number.MAX_SAFE_INTEGER - 3;
  const d = tracker();
  feed(d, [near, near + 2, near + 3]);
  assert.equal(d.lost, 1);
  assert.equal(d.receive(hb(near + 1), 5000, 0.1).kind, "late");
  assert.equal(d.highest, Number.MAX_SAFE_INTEGER);
});

test("one-way delay statistics are min/avg/max over accepted heartbeats", () => {
  const c = tracker();
  c.receive(hb(1), 0, 1);
  c.receive(hb(2), 1000, 3);
  c.receive(hb(2), 1000, 100); // duplicate: not a sample
  c.receive(hb(3), 2000, 2);
  assert.deepEqual([c.delay.min, c.delay.avg, c.delay.max], [1, 2, 3]);
});

test("dead after the silence limit, and resumed with the silence measured", () => {
  const c = tracker();
  feed(c, [1, 2, 3]); // last at 2000 ms
  // With phi out of the way (threshold 1000), dead comes exactly at the silence limit.
  assert.equal(c.check(4999, 3000, 1000), undefined, "2999 ms silent: not yet");
  assert.deepEqual(c.check(5000, 3000, 1000), { kind: "stopped", silentMs: 3000, lastSeq: 3 });
  // With phi 8 (mean 1000 ms, sigma 100 ms) the client turns suspect long before.
  const c2 = tracker();
  feed(c2, [1, 2, 3]);
  const s = c2.check(4600, 3000, 8); // 2600 ms silent: z = 6.4 → phi ≈ 10.1
  assert.equal(s?.kind, "suspect");
  assert.equal(c2.status, "suspect");
  assert.equal(c2.check(4700, 3000, 8), undefined, "suspect is reported once");
  const d = c2.check(5000, 3000, 8);
  assert.deepEqual(d, { kind: "stopped", silentMs: 3000, lastSeq: 3 });
  assert.equal(c2.check(9000, 3000, 8), undefined, "stopped is reported once");
  const r = c2.receive(hb(20), 14_400, 0.1);
  assert.deepEqual(r.resumed, { from: "dead", silentMs: 12_400 });
  assert.equal(c2.status, "alive");
  assert.equal(c2.arrivals.count, 2, "the outage is not an inter-arrival sample");
});

test("a client suspect for a while and then heard again resumes from suspect", () => {
  const c = tracker();
  feed(c, [1, 2, 3]);
  assert.equal(c.check(4600, 3000, 8)?.kind, "suspect");
  const r = c.receive(hb(4), 4800, 0.1);
  assert.deepEqual(r.resumed, { from: "suspect", silentMs: 2800 });
});

test("the suspect moment follows the client's own rhythm (hand-computed)", () => {
  // intervals 1000 ms: mean 1000, sigma floor 0.25 · 1000 = 250 → phi 8 at z = 5.612 → 2403 ms
  const c = tracker();
  feed(c, [1, 2, 3, 4]); // last at 3000
  assert.equal(c.check(3000 + 2395, 10_000, 8), undefined);
  assert.equal(c.check(3000 + 2410, 10_000, 8)?.kind, "suspect");
  // a fast client (100 ms): sigma floor 50 ms → 100 + 5.612 · 50 = 381 ms
  const f = tracker();
  for (let i = 0; i < 4; i++) f.receive(hb(i + 1), i * 100, 0.1);
  assert.equal(f.check(300 + 375, 10_000, 8)?.kind, undefined);
  assert.equal(f.check(300 + 385, 10_000, 8)?.kind, "suspect");
});

/**
 * The traceroute and mtr loops on a fake clock with a fake probe method: a simulated path where
 * TTL 1 answers in 1 ms, TTL 2 answers every other probe in 2 ms, and TTL 3 and up is the
 * destination answering in 3 ms. No sockets, no wall-clock time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import { Mtr, type MtrEvent } from "../../src/icmp/mtr.js";
import { Traceroute } from "../../src/icmp/traceroute.js";
import type { ProberOptions, ProbeSent, TraceProber } from "../../src/icmp/trace-probes.js";

interface Sent {
  ttl: number;
  at: number;
}

function fakePath(clock: FakeClock, sent: Sent[]): (o: ProberOptions) => Promise<TraceProber> {
  return (o) => {
    let key = 0;
    let atTwo = 0;
    const prober: TraceProber = {
      method: o.method,
      socket: "raw",
      packetBytes: 60,
      flow: { protocol: o.method },
      send(ttl: number): ProbeSent {
        const k = ++key;
        sent.push({ ttl, at: clock.monotonic() });
        const answer = (from: string, ms: number, reached: boolean): void => {
          clock.setTimeout(() => o.onReply({ key: k, from, rxNs: 0n, annotation: "", reached, final: reached }), ms);
        };
        if (ttl === 1) answer("10.0.0.1", 1, false);
        else if (ttl === 2) {
          if (atTwo++ % 2 === 0) answer("10.0.1.1", 2, false);
        } else answer("10.0.2.2", 3, true);
        return { key: k, txNs: 0n, sentMono: clock.monotonic() };
      },
      close() {},
    };
    return Promise.resolve(prober);
  };
}

/** Let promise continuations run, then move the fake clock, until `done` settles. */
async function drive<T>(clock: FakeClock, run: Promise<T>, stepMs: number): Promise<T> {
  let settled = false;
  void run.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 10_000 && !settled; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(stepMs);
  }
  return run;
}

test("mtr: cycles on an absolute schedule, probing up to the destination once it is known, with per-hop loss and RTTs", async () => {
  const clock = new FakeClock();
  const sent: Sent[] = [];
  const m = new Mtr({ host: "10.0.2.2", cycles: 4, intervalMs: 100, waitMs: 50, maxHops: 5, resolveNames: false, clock, openProber: fakePath(clock, sent) });
  const cycles: number[] = [];
  m.on("event", (e) => {
    if (e.kind === "cycle") cycles.push(clock.monotonic());
  });
  const r = await drive(clock, m.run(), 5);
  assert.deepEqual(cycles, [0, 100, 200, 300]);
  // The first cycle probes every TTL up to -m; later ones stop at the destination (TTL 3).
  assert.deepEqual(sent.filter((s) => s.at === 0).map((s) => s.ttl), [1, 2, 3, 4, 5]);
  for (const at of [100, 200, 300]) assert.deepEqual(sent.filter((s) => s.at === at).map((s) => s.ttl), [1, 2, 3]);
  assert.equal(r.cycles, 4);
  assert.equal(r.reached, true);
  assert.deepEqual(
    r.rows.map((h) => [h.hop, h.hosts.map((x) => x.address), h.sent, h.received, h.lossPercent, h.avgMs]),
    [
      [1, ["10.0.0.1"], 4, 4, 0, 1],
      [2, ["10.0.1.1"], 4, 2, 50, 2],
      [3, ["10.0.2.2"], 4, 4, 0, 3],
    ],
  );
});

test("mtr: an abort ends the run at once with the probes settled so far", async () => {
  const clock = new FakeClock();
  const abort = new AbortController();
  const m = new Mtr({ host: "10.0.2.2", intervalMs: 100, waitMs: 50, maxHops: 5, resolveNames: false, clock, signal: abort.signal, openProber: fakePath(clock, []) });
  m.on("event", (e) => {
    if (e.kind === "cycle" && e.cycle === 3) abort.abort();
  });
  const r = await drive(clock, m.run(), 5);
  assert.equal(r.cycles, 3);
  // Cycles 1 and 2 settled; cycle 3's probes were still in flight.
  assert.deepEqual(r.rows.map((h) => h.sent), [2, 2, 2]);
});

test("traceroute on the same path: hops in order, a * for the lost probe, stops at the destination", async () => {
  const clock = new FakeClock();
  const sent: Sent[] = [];
  const t = new Traceroute({ host: "10.0.2.2", queries: 3, waitMs: 50, maxHops: 10, simultaneous: 4, resolveNames: false, clock, openProber: fakePath(clock, sent) });
  const r = await drive(clock, t.run(), 1);
  assert.equal(r.reached, true);
  assert.deepEqual(
    r.hops.map((h) => [h.hop, h.probes.map((p) => (p.from === null ? "*" : `${p.from} ${p.rttMs}`))]),
    [
      [1, ["10.0.0.1 1", "10.0.0.1 1", "10.0.0.1 1"]],
      [2, ["10.0.1.1 2", "*", "10.0.1.1 2"]],
      [3, ["10.0.2.2 3", "10.0.2.2 3", "10.0.2.2 3"]],
    ],
  );
  // Never more than -N in flight: the first four left together.
  assert.deepEqual(sent.filter((s) => s.at === 0).map((s) => s.ttl), [1, 1, 1, 2]);
});

/** How one TTL of a scripted path answers each probe (by its index at that TTL). */
type HopScript = (n: number) => { from: string; ms: number; reached?: boolean; annotation?: string } | undefined | "throw";

interface ScriptedSend extends Sent {
  key: number;
}

/** A prober on a scripted path: each TTL answers (or not) as its script says. */
function scriptedPath(clock: FakeClock, sent: ScriptedSend[], hops: Record<number, HopScript>, otherwise: HopScript): (o: ProberOptions) => Promise<TraceProber> {
  return (o) => {
    let key = 100;
    const seen = new Map<number, number>();
    return Promise.resolve({
      method: o.method,
      socket: "raw",
      packetBytes: 60,
      flow: { protocol: o.method },
      send(ttl: number): ProbeSent {
        const n = seen.get(ttl) ?? 0;
        seen.set(ttl, n + 1);
        const a = (hops[ttl] ?? otherwise)(n);
        if (a === "throw") throw Object.assign(new Error("send failed"), { code: "EHOSTUNREACH" });
        const k = ++key;
        sent.push({ ttl, at: clock.monotonic(), key: k });
        if (a !== undefined) {
          const reached = a.reached ?? false;
          const annotation = a.annotation ?? "";
          clock.setTimeout(() => o.onReply({ key: k, from: a.from, rxNs: 0n, annotation, reached, final: reached || annotation !== "" }), a.ms);
        }
        return { key: k, txNs: 0n, sentMono: clock.monotonic() };
      },
      close() {},
    } satisfies TraceProber);
  };
}

const router = (i: number, ms: number): HopScript => () => ({ from: `10.0.${i}.1`, ms });
const silent: HopScript = () => undefined;
const destination = (ms: number): HopScript => () => ({ from: "10.9.9.9", ms, reached: true });
const show = (r: { hops: Array<{ hop: number; probes: Array<{ from: string | null; rttMs?: number }> }> }): string[] =>
  r.hops.map((h) => `${h.hop}: ${h.probes.map((p) => (p.from === null ? "*" : `${p.from} ${p.rttMs}`)).join(", ")}`);

test("traceroute: a silent hop is all stars and the trace goes on past it; the run ends as the destination's hop completes", async () => {
  const clock = new FakeClock();
  const sent: ScriptedSend[] = [];
  const t = new Traceroute({ host: "10.9.9.9", queries: 2, waitMs: 100, maxHops: 30, simultaneous: 16, resolveNames: false, clock, openProber: scriptedPath(clock, sent, { 1: router(1, 1), 2: silent, 3: router(3, 3) }, destination(4)) });
  let endedAt = -1;
  const probeHops = new Set<number>();
  t.on("event", (e) => {
    if (e.kind === "probe") probeHops.add(e.hop);
  });
  const r = await drive(clock, t.run().then((x) => ((endedAt = clock.monotonic()), x)), 1);
  assert.equal(r.reached, true);
  assert.deepEqual(show(r), ["1: 10.0.1.1 1, 10.0.1.1 1", "2: *, *", "3: 10.0.3.1 3, 10.0.3.1 3", "4: 10.9.9.9 4, 10.9.9.9 4"]);
  // Hops 5 to 8 answered too (as the destination) while hop 2 was still waiting, yet no probe event names them.
  assert.deepEqual([...probeHops].sort(), [1, 2, 3, 4]);
  // -N 16 with -q 2: hops 1 to 8 left at once; the path ends at 4, so hop 2's stars (100 ms) end the run,
  // not the unanswered probes beyond the destination.
  assert.deepEqual(sent.filter((s) => s.at === 0).map((s) => s.ttl), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8]);
  assert.ok(endedAt >= 100 && endedAt <= 102, `ended at ${endedAt}`);
});

test("traceroute: a reply after the wait stays a star and is reported late; it is never counted", async () => {
  const clock = new FakeClock();
  const late: unknown[] = [];
  // -N 1: TTL 2's probe (sent at 1 ms) gives up at 51 ms; its answer comes at 81 ms, while TTL 3's probe waits.
  const t = new Traceroute({ host: "10.9.9.9", queries: 1, waitMs: 50, maxHops: 5, simultaneous: 1, resolveNames: false, clock, openProber: scriptedPath(clock, [], { 1: router(1, 1), 2: router(2, 80), 3: silent }, destination(2)) });
  t.on("event", (e) => {
    if (e.kind === "late") late.push([e.hop, e.index, e.from, e.rttMs, clock.monotonic()]);
  });
  const r = await drive(clock, t.run(), 1);
  assert.deepEqual(show(r), ["1: 10.0.1.1 1", "2: *", "3: *", "4: 10.9.9.9 2"]);
  assert.deepEqual(late, [[2, 0, "10.0.2.1", 80, 81]]);
});

test("traceroute -N 1: one probe at a time, each leaving as the one before settles", async () => {
  const clock = new FakeClock();
  const sent: ScriptedSend[] = [];
  const events: string[] = [];
  const t = new Traceroute({ host: "10.9.9.9", queries: 2, waitMs: 50, maxHops: 5, simultaneous: 1, resolveNames: false, clock, openProber: scriptedPath(clock, sent, { 1: router(1, 3), 2: (n) => (n === 0 ? undefined : { from: "10.0.2.1", ms: 7 }) }, destination(5)) });
  t.on("event", (e) => {
    if (e.kind === "probe") events.push(`${e.hop}.${e.index}:${e.from ?? "*"}`);
  });
  const r = await drive(clock, t.run(), 1);
  assert.deepEqual(show(r), ["1: 10.0.1.1 3, 10.0.1.1 3", "2: *, 10.0.2.1 7", "3: 10.9.9.9 5, 10.9.9.9 5"]);
  assert.deepEqual(sent.map((s) => [s.ttl, s.at]), [[1, 0], [1, 3], [2, 6], [2, 56], [3, 63], [3, 68]]);
  assert.deepEqual(events, ["1.0:10.0.1.1", "1.1:10.0.1.1", "2.0:*", "2.1:10.0.2.1", "3.0:10.9.9.9", "3.1:10.9.9.9"]);
});

test("traceroute -N 4 -q 3: probes of later hops are in flight while earlier ones wait, and hops still come out in order", async () => {
  const clock = new FakeClock();
  const sent: ScriptedSend[] = [];
  const order: number[] = [];
  // Hop 1 is slow (40 ms), hop 2 fast (2 ms): hop 2 completes first but is printed after hop 1.
  const t = new Traceroute({ host: "10.9.9.9", queries: 3, waitMs: 100, maxHops: 10, simultaneous: 4, resolveNames: false, clock, openProber: scriptedPath(clock, sent, { 1: router(1, 40), 2: router(2, 2) }, destination(3)) });
  t.on("event", (e) => {
    if (e.kind === "hop") order.push(e.hop.hop);
  });
  const r = await drive(clock, t.run(), 1);
  assert.deepEqual(order, [1, 2, 3]);
  assert.deepEqual(show(r), ["1: 10.0.1.1 40, 10.0.1.1 40, 10.0.1.1 40", "2: 10.0.2.1 2, 10.0.2.1 2, 10.0.2.1 2", "3: 10.9.9.9 3, 10.9.9.9 3, 10.9.9.9 3"]);
  // Never more than 4 in flight: hop 1's three and hop 2's first at 0; the rest of hop 2 as its probes come back.
  assert.deepEqual(sent.slice(0, 6).map((s) => [s.ttl, s.at]), [[1, 0], [1, 0], [1, 0], [2, 0], [2, 2], [2, 4]]);
});

test("traceroute: an unreachable ends the path with its annotation, not reached; a failed send is a star", async () => {
  const clock = new FakeClock();
  const t = new Traceroute({
    host: "10.9.9.9",
    queries: 2,
    waitMs: 50,
    maxHops: 8,
    resolveNames: false,
    clock,
    openProber: scriptedPath(clock, [], { 1: (n) => (n === 0 ? "throw" : { from: "10.0.1.1", ms: 1 }), 2: () => ({ from: "10.0.2.1", ms: 2, annotation: "!H" }) }, destination(1)),
  });
  const r = await drive(clock, t.run(), 1);
  assert.equal(r.reached, false);
  assert.deepEqual(
    r.hops.map((h) => h.probes.map((p) => (p.from === null ? "*" : `${p.from} ${p.annotation}`))),
    [["*", "10.0.1.1 "], ["10.0.2.1 !H", "10.0.2.1 !H"]],
  );
});

test("traceroute: an abort ends the run with the hops completed so far", async () => {
  const clock = new FakeClock();
  const abort = new AbortController();
  const t = new Traceroute({ host: "10.9.9.9", queries: 1, waitMs: 1000, maxHops: 5, simultaneous: 1, resolveNames: false, clock, signal: abort.signal, openProber: scriptedPath(clock, [], { 1: router(1, 1) }, silent) });
  clock.setTimeout(() => abort.abort(), 500);
  const r = await drive(clock, t.run(), 10);
  assert.deepEqual(show(r), ["1: 10.0.1.1 1"]);
  assert.equal(r.reached, false);
  assert.equal(clock.pending, 0, "no timer is left behind");
});

test("mtr: cycles overlap when the wait is longer than the interval; an answer after the wait counts as lost", async () => {
  const clock = new FakeClock();
  const sent: ScriptedSend[] = [];
  // TTL 2 answers after 150 ms: inside a 250 ms wait although the next cycle has begun; TTL 3 after 300 ms: too late.
  const m = new Mtr({ host: "10.9.9.9", cycles: 3, intervalMs: 100, waitMs: 250, maxHops: 4, resolveNames: false, clock, openProber: scriptedPath(clock, sent, { 1: router(1, 1), 2: router(2, 150), 3: router(3, 300) }, destination(2)) });
  let endedAt = -1;
  const r = await drive(clock, m.run().then((x) => ((endedAt = clock.monotonic()), x)), 5);
  assert.deepEqual(
    r.rows.map((h) => [h.hop, h.sent, h.received]),
    [
      [1, 3, 3],
      [2, 3, 3],
      [3, 3, 0],
      [4, 3, 3],
    ],
  );
  assert.deepEqual([...new Set(sent.map((s) => s.at))], [0, 100, 200]);
  // The last cycle (200 ms) settles when its TTL 3 probe gives up, at 450 ms.
  assert.ok(endedAt >= 450 && endedAt <= 455, `ended at ${endedAt}`);
});

test("mtr: each probe, its answer, its timeout and a late answer are events, by cycle and TTL (what --diagram and --pcap draw)", async () => {
  const clock = new FakeClock();
  const sent: ScriptedSend[] = [];
  // TTL 3 answers after 300 ms, past the 250 ms wait: a timeout, then a late answer.
  const m = new Mtr({ host: "10.9.9.9", cycles: 2, intervalMs: 100, waitMs: 250, maxHops: 4, resolveNames: false, clock, openProber: scriptedPath(clock, sent, { 1: router(1, 1), 2: router(2, 150), 3: router(3, 300) }, destination(2)) });
  const events: MtrEvent[] = [];
  m.on("event", (e) => events.push(e));
  await drive(clock, m.run(), 5);
  const of = (kind: MtrEvent["kind"]): string[] => events.flatMap((e) => (e.kind === kind && "ttl" in e ? [`${e.cycle}/${e.ttl}`] : []));
  assert.deepEqual(of("probe"), ["1/1", "1/2", "1/3", "1/4", "2/1", "2/2", "2/3", "2/4"]);
  assert.deepEqual(of("reply").sort(), ["1/1", "1/2", "1/4", "2/1", "2/2", "2/4"]);
  assert.deepEqual(of("timeout"), ["1/3", "2/3"]);
  // Cycle 2's late answer (at 400 ms) comes after its timeout ended the run (350 ms): no event.
  assert.deepEqual(of("late"), ["1/3"]);
  const dest = events.find((e) => e.kind === "reply" && e.ttl === 4);
  assert.ok(dest?.kind === "reply" && dest.reached && dest.final, JSON.stringify(dest));
  // Each cycle's table comes before its probes.
  assert.deepEqual(events.filter((e) => e.kind === "cycle" || (e.kind === "probe" && e.ttl === 1)).map((e) => e.kind), ["cycle", "probe", "cycle", "probe"]);
});

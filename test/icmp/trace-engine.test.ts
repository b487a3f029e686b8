/**
 * The traceroute and mtr loops on a fake clock with a fake probe method: a simulated path where
 * TTL 1 answers in 1 ms, TTL 2 answers every other probe in 2 ms, and TTL 3 and up is the
 * destination answering in 3 ms. No sockets, no wall-clock time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import { Mtr } from "../../src/icmp/mtr.js";
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

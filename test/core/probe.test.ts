/**
 * The probe engine on fake time with a fake transport: the schedule, pipelining, late and
 * duplicate replies, count versus deadline, abort, and the bounded tracker.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import { ProbeDriver, ProbeTracker, type ProbeDriverOptions, type ProbeEvent } from "../../src/core/probe/index.js";

interface Reply {
  target: number;
  seq: number;
  error?: boolean;
}

/** A transport that records sends and lets the test deliver replies. */
class FakeTransport {
  readonly sends: Array<{ seq: number; round: number; at: number }> = [];
  deliver: (d: Reply) => void = () => {};
  constructor(readonly clock: FakeClock, readonly targets = 1, readonly fail?: (seq: number) => boolean) {}
  transport = {
    send: (seq: number, round: number) => {
      this.sends.push({ seq, round, at: this.clock.monotonic() });
      return Array.from({ length: this.targets }, (_, target) => ({ target, tag: undefined, ...(this.fail?.(seq) === true ? { error: new Error("EMSGSIZE") } : {}) }));
    },
    listen: (deliver: (d: Reply) => void) => {
      this.deliver = deliver;
      return () => {
        this.deliver = () => {};
      };
    },
  };
  /** Deliver a reply `ms` from now. */
  replyIn(ms: number, r: Reply): void {
    this.clock.setTimeout(() => this.deliver(r), ms);
  }
}

function setup(o: Partial<ProbeDriverOptions<Reply, undefined>> & { targets?: number } = {}, fail?: (seq: number) => boolean) {
  const clock = new FakeClock();
  const net = new FakeTransport(clock, o.targets ?? 1, fail);
  const events: Array<ProbeEvent<Reply, undefined>> = [];
  const driver = new ProbeDriver<Reply, undefined>({
    clock,
    transport: net.transport,
    match: (d) => ({ target: d.target, seq: d.seq, kind: d.error === true ? "error" : "reply" }),
    onEvent: (e) => events.push(e),
    intervalMs: 1000,
    timeoutMs: 1000,
    ...o,
  });
  const kinds = (): string[] => events.map((e) => `${e.kind}:${"probe" in e ? e.probe.seq : e.kind === "unknown" ? e.seq : ""}`);
  return { clock, net, events, driver, kinds };
}

describe("ProbeTracker", () => {
  it("tells reply, late, duplicate and unknown apart, by sequence and not by arrival order", () => {
    const t = new ProbeTracker();
    t.sent(1, 0, undefined);
    t.sent(2, 100, undefined);
    assert.equal(t.expire(1), true);
    // The late reply to 1 arrives while 2 is in flight: it is not 2's reply.
    const late = t.receive(1, 150);
    assert.equal(late.kind, "late");
    assert.equal(late.kind === "late" && late.rttMs, 150);
    const r = t.receive(2, 130);
    assert.equal(r.kind === "reply" && r.rttMs, 30);
    assert.equal(t.receive(2, 140).kind, "duplicate");
    assert.deepEqual(t.receive(9, 140), { kind: "unknown", seq: 9 });
    assert.equal(t.expire(2), false, "an answered probe does not time out");
    assert.deepEqual(t.totals(1000), { transmitted: 2, received: 1, duplicates: 1, errors: 0, late: 1, elapsedMs: 1000 });
    assert.equal(t.rtt.count, 1);
  });

  it("counts errors apart; a reply after an error is late, and the next a duplicate", () => {
    const t = new ProbeTracker();
    t.sent(0, 0, undefined);
    t.sent(1, 0, undefined);
    assert.equal(t.error(0), true);
    assert.equal(t.error(0), false);
    assert.equal(t.receive(0, 1).kind, "late");
    assert.equal(t.receive(0, 2).kind, "duplicate");
    assert.equal(t.receive(1, 3, 0.041).kind === "reply" && t.rtt.min, 0.041, "the caller's RTT (kernel timestamps) wins");
    assert.deepEqual(t.totals(5), { transmitted: 2, received: 1, duplicates: 1, errors: 1, late: 1, elapsedMs: 5 });
    assert.equal(t.answered, 2);
  });

  it("replaces a probe whose 16-bit sequence number came round again", () => {
    const t = new ProbeTracker<string>();
    t.sent(7, 0, "old");
    t.sent(7, 65536, "new");
    assert.equal(t.pendingCount, 1);
    assert.equal(t.get(7)?.tag, "new");
  });

  it("stays bounded over an endless run, and forgets the oldest settled probes first", () => {
    const t = new ProbeTracker({ history: 64 });
    for (let seq = 1; seq <= 100_000; seq++) {
      t.sent(seq, seq, undefined);
      if (seq % 3 === 0) t.expire(seq);
      else t.receive(seq, seq + 1);
    }
    assert.ok(t.size <= 65, `holds ${t.size} entries`);
    assert.equal(t.totals(0).transmitted, 100_000);
    assert.equal(t.receive(5, 1e6).kind, "unknown", "a reply for a probe long forgotten is unknown, not a false duplicate");
    assert.equal(t.receive(99_999, 1e6).kind, "late");
  });
});

describe("ProbeDriver", () => {
  it("sends on an absolute schedule: a timer that fires late does not delay the rounds after it", async () => {
    const { clock, net, driver } = setup({ count: 5, intervalMs: 200, timeoutMs: 50 });
    const done = driver.run();
    // Advance in odd steps, as a loaded event loop would fire timers late.
    for (let i = 0; i < 20; i++) clock.advance(73);
    const r = await done;
    assert.deepEqual(net.sends.map((s) => s.at), [0, 200, 400, 600, 800]);
    assert.deepEqual(net.sends.map((s) => s.seq), [0, 1, 2, 3, 4]);
    assert.equal(r.reason, "count");
    assert.equal(r.trackers[0]?.totals(0).transmitted, 5);
  });

  it("keeps several probes in flight and matches each reply to its own probe", async () => {
    const { clock, net, driver, events } = setup({ count: 3, intervalMs: 100, timeoutMs: 1000 });
    const done = driver.run();
    clock.advance(250); // seq 0, 1, 2 out, none answered
    assert.equal(driver.trackers[0]?.pendingCount, 3);
    net.deliver({ target: 0, seq: 2 });
    net.deliver({ target: 0, seq: 0 });
    clock.advance(10);
    net.deliver({ target: 0, seq: 1 });
    const r = await done;
    const rtts = events.filter((e) => e.kind === "reply").map((e) => (e.kind === "reply" ? [e.probe.seq, e.rttMs] : []));
    assert.deepEqual(rtts, [[2, 50], [0, 250], [1, 160]]);
    assert.equal(r.reason, "count");
    assert.equal(r.elapsedMs, 260, "ends when the last probe is answered, not at a timeout");
  });

  it("reports a timeout, then a late reply, then a duplicate", async () => {
    const { clock, net, driver, kinds } = setup({ count: 2, intervalMs: 100, timeoutMs: 300 });
    const done = driver.run();
    net.replyIn(400, { target: 0, seq: 0 }); // after its 300 ms
    net.replyIn(150, { target: 0, seq: 1 });
    net.replyIn(160, { target: 0, seq: 1 });
    clock.advance(1000);
    const r = await done;
    assert.deepEqual(kinds(), ["sent:0", "sent:1", "reply:1", "duplicate:1", "timeout:0"]);
    assert.equal(r.elapsedMs, 300, "the run ends at the last timeout; the late reply comes after");
    const t = r.trackers[0]?.totals(0);
    assert.equal(t?.received, 1);
    assert.equal(t?.duplicates, 1);
  });

  it("sees a late reply while the run is still going", async () => {
    const { clock, net, driver, kinds } = setup({ count: 3, intervalMs: 500, timeoutMs: 300 });
    const done = driver.run();
    net.replyIn(400, { target: 0, seq: 0 });
    net.replyIn(510, { target: 0, seq: 1 });
    net.replyIn(1010, { target: 0, seq: 2 });
    clock.advance(2000);
    const r = await done;
    assert.deepEqual(kinds(), ["sent:0", "timeout:0", "late:0", "sent:1", "reply:1", "sent:2", "reply:2"]);
    assert.equal(r.trackers[0]?.totals(0).late, 1);
  });

  it("a deadline ends the run with probes still pending; count alone waits for them", async () => {
    const a = setup({ count: 10, intervalMs: 100, timeoutMs: 5000, deadlineMs: 450 });
    const da = a.driver.run();
    a.clock.advance(10_000);
    const ra = await da;
    assert.equal(ra.reason, "deadline");
    assert.equal(ra.elapsedMs, 450);
    assert.equal(a.net.sends.length, 5);
    assert.equal(a.clock.pending, 0, "no timer is left behind");

    const b = setup({ count: 3, intervalMs: 100, timeoutMs: 1000 });
    const db = b.driver.run();
    b.clock.advance(10_000);
    const rb = await db;
    assert.equal(rb.reason, "count");
    assert.equal(rb.elapsedMs, 1200, "the last probe (sent at 200) times out at 1200");
  });

  it("with a deadline and countAnswers, goes on sending until count probes are answered (ping -w -c)", async () => {
    const { clock, net, driver } = setup({ count: 2, intervalMs: 100, timeoutMs: 50, deadlineMs: 10_000, countAnswers: true });
    const done = driver.run();
    clock.advance(320); // seq 0-3 out, 0-2 timed out
    net.deliver({ target: 0, seq: 3 });
    clock.advance(100);
    net.deliver({ target: 0, seq: 4 });
    const r = await done;
    assert.equal(r.reason, "count");
    assert.equal(net.sends.length, 5);
    assert.equal(r.trackers[0]?.totals(0).received, 2);
  });

  it("abort ends the run at once, and an aborted signal before the start sends nothing", async () => {
    const ac = new AbortController();
    const { clock, net, driver } = setup({ count: 0, signal: ac.signal });
    const done = driver.run();
    clock.advance(2500);
    ac.abort();
    const r = await done;
    assert.equal(r.reason, "abort");
    assert.equal(net.sends.length, 3);
    assert.equal(clock.pending, 0);

    const pre = new AbortController();
    pre.abort();
    const p = setup({ signal: pre.signal });
    const rp = await p.driver.run();
    assert.equal(rp.reason, "abort");
    assert.equal(p.net.sends.length, 0);
  });

  it("an error answer settles the probe, and a failed send counts as an error without a timeout", async () => {
    const { clock, net, driver, kinds } = setup({ count: 2, intervalMs: 100, timeoutMs: 1000 }, (seq) => seq === 1);
    const done = driver.run();
    net.replyIn(20, { target: 0, seq: 0, error: true });
    clock.advance(200);
    const r = await done;
    assert.deepEqual(kinds(), ["sent:0", "error:0", "send-error:1"]);
    assert.equal(r.elapsedMs, 100);
    assert.deepEqual(r.trackers[0]?.totals(0), { transmitted: 2, received: 0, duplicates: 0, errors: 2, late: 0, elapsedMs: 0 });
  });

  it("keeps one tracker per target; the same sequence number of two targets are two probes", async () => {
    const { clock, net, driver } = setup({ count: 2, intervalMs: 100, timeoutMs: 300, targets: 2 });
    const done = driver.run();
    net.replyIn(5, { target: 1, seq: 0 });
    net.replyIn(6, { target: 1, seq: 0 });
    net.replyIn(105, { target: 0, seq: 1 });
    clock.advance(1000);
    const r = await done;
    assert.deepEqual(r.trackers.map((t) => [t.totals(0).received, t.totals(0).duplicates]), [[1, 0], [1, 1]]);
    assert.equal(net.sends.length, 2, "one round sends to every target");
  });

  it("reports an outstanding probe before the next round (ping -O), and an unknown sequence", async () => {
    const { clock, net, driver, kinds } = setup({ count: 2, intervalMs: 100, timeoutMs: 50, reportOutstanding: true });
    const done = driver.run();
    clock.advance(20);
    net.deliver({ target: 0, seq: 7 });
    clock.advance(500);
    await done;
    assert.deepEqual(kinds(), ["sent:0", "unknown:7", "timeout:0", "sent:1", "timeout:1"]);
    const o = setup({ count: 2, intervalMs: 100, timeoutMs: 500, reportOutstanding: true });
    const od = o.driver.run();
    o.clock.advance(1000);
    await od;
    assert.deepEqual(o.kinds(), ["sent:0", "outstanding:0", "sent:1", "timeout:0", "timeout:1"]);
  });

  it("flood sends the next round as soon as every probe is answered", async () => {
    const { clock, net, driver } = setup({ count: 4, intervalMs: 10, timeoutMs: 1000, flood: true });
    net.replyIn(1, { target: 0, seq: 0 });
    const done = driver.run();
    clock.advance(1);
    net.deliver({ target: 0, seq: 1 });
    clock.advance(20);
    net.deliver({ target: 0, seq: 3 });
    net.deliver({ target: 0, seq: 2 });
    await done;
    assert.deepEqual(net.sends.map((s) => s.at), [0, 1, 1, 11]);
  });

  it("sendNow(true) sends the last round at once (the heartbeat's final status)", async () => {
    const { clock, net, driver } = setup({ count: 0, intervalMs: 1000, timeoutMs: 100 });
    const done = driver.run();
    clock.advance(1500);
    driver.sendNow(true);
    clock.advance(5000);
    const r = await done;
    assert.deepEqual(net.sends.map((s) => s.at), [0, 1000, 1500]);
    assert.equal(r.reason, "count");
    assert.equal(r.elapsedMs, 1600);
  });

  it("stop() ends the run and cancels every timer", async () => {
    const { clock, driver } = setup({ count: 0 });
    const done = driver.run();
    clock.advance(1500);
    driver.stop();
    const r = await done;
    assert.equal(r.reason, "stopped");
    assert.equal(clock.pending, 0);
  });

  it("maxInFlight: due rounds leave together up to the window, the next one as soon as a probe settles (traceroute -N)", async () => {
    const { clock, net, driver } = setup({ count: 5, intervalMs: 0, timeoutMs: 100, maxInFlight: 2 });
    net.replyIn(10, { target: 0, seq: 1 });
    const done = driver.run();
    // Rounds 0 and 1 at once; round 2 when seq 1 is answered (10 ms); round 3 when seq 0 times out (100 ms), round 4 when seq 3 is answered (105 ms).
    clock.advance(10);
    net.replyIn(95, { target: 0, seq: 3 });
    clock.advance(200);
    clock.advance(200);
    const r = await done;
    assert.deepEqual(net.sends.map((x) => [x.seq, x.at]), [[0, 0], [1, 0], [2, 10], [3, 100], [4, 105]]);
    assert.equal(r.reason, "count");
    assert.equal(r.trackers[0]?.totals(r.elapsedMs).received, 2);
  });

  it("maxInFlight with a schedule: a round due while the window is full waits, later rounds keep their times", async () => {
    const { clock, net, driver } = setup({ count: 4, intervalMs: 10, timeoutMs: 25, maxInFlight: 1 });
    const done = driver.run();
    clock.advance(200);
    await done;
    // Every probe times out after 25 ms: round 1 (due at 10) leaves at 25, round 2 (due 20) at 50 ...
    assert.deepEqual(net.sends.map((x) => x.at), [0, 25, 50, 75]);
  });

  it("maxInFlight: sends that all fail at once still end the run, yielding to the timers every window", async () => {
    const { clock, net, driver, kinds } = setup({ count: 6, intervalMs: 0, timeoutMs: 100, maxInFlight: 2 }, () => true);
    const done = driver.run();
    assert.equal(net.sends.length, 2, "one burst is at most the window");
    clock.advance(1);
    clock.advance(1);
    const r = await done;
    assert.equal(net.sends.length, 6);
    assert.equal(r.reason, "count");
    assert.deepEqual(kinds().filter((k) => k.startsWith("send-error")).length, 6);
  });
});

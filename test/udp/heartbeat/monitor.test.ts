import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { HeartbeatMonitor } from "../../../src/udp/heartbeat/monitor.js";
import type { HeartbeatEvent } from "../../../src/udp/heartbeat/events.js";
import { describeHeartbeatEvent } from "../../../src/render/heartbeat-events.js";
import { encodeHeartbeat } from "../../../src/udp/heartbeat/protocol.js";

const ADDR = "127.0.0.1";

/** A monitor on a fake clock, fed by `ingest`, recording every event. */
function setup(options: ConstructorParameters<typeof HeartbeatMonitor>[0] = {}) {
  const clock = new FakeClock(Date.UTC(2026, 10, 23, 12), 0);
  const monitor = new HeartbeatMonitor({ clock, deadAfterMs: 3000, ...options });
  const events: HeartbeatEvent[] = [];
  monitor.on("event", (e: HeartbeatEvent) => void events.push(e));
  monitor.start();
  /** Send heartbeat `seq` from client `id`, stamped `ageMs` before now. */
  const send = (id: string, seq: number, opts: { run?: string; port?: number; ageMs?: number; ts?: number } = {}) =>
    monitor.ingest(
      encodeHeartbeat({ seq, timestamp: opts.ts ?? (clock.now() - (opts.ageMs ?? 2)) / 1000, id, ...(opts.run === undefined ? {} : { run: opts.run }) }),
      ADDR,
      opts.port ?? 40000,
    );
  const kinds = () => events.filter((e) => e.kind !== "heartbeat").map((e) => e.kind);
  return { clock, monitor, events, send, kinds };
}

test("every monitor event is one 'event' told apart by kind; heartbeatEvents = false leaves out the one per heartbeat", () => {
  const { send, events, clock, monitor } = setup();
  send("a", 1);
  send("a", 2);
  send("a", 5);
  send("a", 4);
  send("a", 4);
  assert.deepEqual(events.map((e) => e.kind), ["client-joined", "heartbeat", "heartbeat", "lost", "heartbeat", "reordered", "heartbeat", "duplicate"]);
  monitor.heartbeatEvents = false;
  send("a", 6);
  clock.advance(10_000);
  monitor.sweep();
  const later = events.slice(8).map((e) => e.kind);
  assert.ok(later.includes("stopped") && !later.includes("heartbeat"), later.join(" "));
});

test("the reply is '<seq> <time_diff>' with the one-way delay in seconds", () => {
  const { send, monitor } = setup();
  const reply = send("a", 7, { ageMs: 5 });
  assert.equal(reply?.toString(), "7 0.005000");
  assert.equal(monitor.client("a")?.delayMs?.avg, 5);
});

test("a lab client without id is known by its address:port", () => {
  const { monitor, clock, events } = setup();
  monitor.ingest(Buffer.from(`1 ${clock.now() / 1000}`), ADDR, 5555);
  assert.equal(monitor.clients()[0]?.id, "127.0.0.1:5555");
  assert.equal(describeHeartbeatEvent(events[0] as HeartbeatEvent), "new client 127.0.0.1:5555, first seq 1");
});

test("a client's story: joined, lost range, reordered, duplicate, suspect, stopped, resumed, restarted", () => {
  const { clock, send, events, kinds, monitor } = setup();
  const t0Seq = (s: number) => (Date.UTC(2026, 10, 23, 12) + s * 1000) / 1000; // stamp of seq s
  for (const s of [1, 2, 3]) {
    send("web-1", s, { run: "r1", ts: t0Seq(s) });
    clock.advance(1000);
  }
  send("web-1", 7, { run: "r1", ts: t0Seq(7) }); // 4-6 lost
  send("web-1", 5, { run: "r1", ts: t0Seq(5) }); // late: fills 5
  send("web-1", 5, { run: "r1", ts: t0Seq(5) }); // duplicate
  const lines = events.filter((e) => e.kind !== "heartbeat").map(describeHeartbeatEvent);
  assert.deepEqual(lines, [
    "new client web-1 (127.0.0.1:40000), first seq 1",
    "lost seq 4-6 from web-1",
    "reordered seq 5 from web-1 (arrived after seq 7; no longer lost)",
    "duplicate seq 5 from web-1",
  ]);
  assert.equal(monitor.client("web-1")?.lost, 2);
  // Silence: suspect (phi > 8 at ~2.40 s for a 1 s rhythm), then stopped at 3 s.
  clock.advance(2300);
  assert.deepEqual(kinds().slice(4), []);
  clock.advance(300);
  assert.deepEqual(kinds().slice(4), ["suspect"]);
  clock.advance(300); // 2.9 s
  assert.deepEqual(kinds().slice(4), ["suspect"]);
  clock.advance(250); // 3.15 s: the sweep runs every 150 ms
  assert.deepEqual(kinds().slice(4), ["suspect", "stopped"]);
  const stopped = events.find((e) => e.kind === "stopped");
  assert.ok(stopped?.kind === "stopped" && stopped.silentMs >= 3000 && stopped.silentMs < 3000 + 150 + 1);
  assert.equal(monitor.client("web-1")?.status, "dead");
  clock.advance(9250); // 12.4 s silent
  send("web-1", 20, { run: "r1", ts: t0Seq(20) });
  const resumed = events.find((e) => e.kind === "resumed");
  assert.equal(describeHeartbeatEvent(resumed as HeartbeatEvent), "web-1 resumed after 12.4 s");
  clock.advance(1000);
  send("web-1", 1, { run: "r2", ts: t0Seq(30) });
  assert.equal(describeHeartbeatEvent(events.at(-2) as HeartbeatEvent), "web-1 restarted (new run r2)");
  const snap = monitor.client("web-1");
  assert.equal(snap?.restarts, 1);
  assert.equal(snap?.status, "alive");
  assert.equal(snap?.received, 7);
  assert.equal(snap?.duplicates, 1);
  assert.equal(snap?.reordered, 1);
  assert.equal(snap?.lost, 2 + 12); // 4, 6, then 8-19 while it was away
});

test("stopped is reported within dead-after plus one sweep, once, even for thousands of clients", () => {
  const { clock, send, events, monitor } = setup({ deadAfterMs: 2000, phiThreshold: 300 });
  for (let i = 0; i < 3000; i++) send(`c${i}`, 1);
  clock.advance(1000);
  for (let i = 0; i < 3000; i++) if (i % 3 !== 0) send(`c${i}`, 2);
  clock.advance(1900); // c0, c3 ... last heard 2900 ms ago, the others 1900 ms ago
  const stoppedNow = events.filter((e) => e.kind === "stopped").length;
  assert.equal(stoppedNow, 1000);
  clock.advance(5000);
  assert.equal(events.filter((e) => e.kind === "stopped").length, 3000);
  assert.equal(monitor.clients().filter((c) => c.status === "dead").length, 3000);
  assert.equal(clock.pending, 1, "one sweep timer, not one timer per client");
});

test("the client table is capped: the longest silent client goes first, with a warning", () => {
  const { clock, send, events, monitor } = setup({ maxClients: 3 });
  send("a", 1);
  clock.advance(10);
  send("b", 1);
  clock.advance(10);
  send("c", 1);
  clock.advance(10);
  send("a", 2); // a is now the most recent
  send("d", 1); // evicts b
  assert.deepEqual(monitor.clients().map((c) => c.id).sort(), ["a", "c", "d"]);
  const ev = events.find((e) => e.kind === "evicted");
  assert.ok(ev?.kind === "evicted" && ev.client === "b");
  assert.match(describeHeartbeatEvent(ev), /^warning: client table full \(3\); dropped b/);
  assert.equal(monitor.totals().evicted, 1);
});

test("clients silent longer than forget-after are forgotten", () => {
  const { clock, send, monitor, kinds } = setup({ deadAfterMs: 1000, forgetAfterMs: 5000 });
  send("a", 1);
  clock.advance(4000);
  assert.equal(monitor.size, 1);
  clock.advance(1200);
  assert.equal(monitor.size, 0);
  assert.deepEqual(kinds(), ["client-joined", "stopped", "forgotten"]);
});

test("malformed datagrams are counted and reported at most once a second", () => {
  const { clock, monitor, events, send } = setup();
  for (let i = 0; i < 100; i++) {
    assert.equal(monitor.ingest(Buffer.from(`garbage ${i}`), ADDR, 9), undefined);
    if (i % 10 === 0) send("good", i / 10 + 1);
    clock.advance(5);
  }
  const reports = () => events.filter((e) => e.kind === "malformed");
  assert.equal(reports().length, 1);
  assert.equal(reports()[0]?.kind === "malformed" && reports()[0]?.count, 1);
  clock.advance(1000);
  assert.equal(reports().length, 2);
  const second = reports()[1];
  assert.ok(second?.kind === "malformed" && second.count === 99);
  assert.equal(monitor.totals().malformed, 100);
  assert.equal(monitor.client("good")?.received, 10);
  assert.equal(monitor.client("good")?.lost, 0);
});

test("--loss drops a seeded fraction of heartbeats before they are seen, and the monitor finds them lost", () => {
  const run = () => {
    const { send, monitor } = setup({ loss: 0.3, seed: 11 });
    for (let s = 1; s <= 200; s++) send("a", s);
    return monitor;
  };
  const m1 = run();
  const m2 = run();
  const t = m1.totals();
  assert.ok(t.dropped > 30 && t.dropped < 90, `dropped ${t.dropped}`);
  assert.deepEqual(m2.totals(), t, "same seed, same drops");
  // every drop but trailing ones shows up as lost
  const c = m1.client("a");
  assert.ok(c !== undefined && c.received + c.lost <= 200 && c.received + c.lost >= 200 - 10);
  assert.equal(c.received, 200 - t.dropped);
});

test("the heartbeat event carries client, seq and delay for the dashboard", () => {
  const { send, events } = setup();
  send("a", 1, { ageMs: 3 });
  send("a", 1, { ageMs: 3 });
  const hbs = events.filter((e) => e.kind === "heartbeat");
  assert.equal(hbs.length, 1, "duplicates are not heartbeats");
  assert.deepEqual(hbs[0], { kind: "heartbeat", client: "a", address: "127.0.0.1:40000", seq: 1, delayMs: 3 });
});

test("a client that died and comes back restarted is reported restarted, then resumed", () => {
  const { clock, send, kinds } = setup();
  for (const s of [1, 2, 3]) {
    send("db", s, { run: "old" });
    clock.advance(1000);
  }
  clock.advance(5000);
  send("db", 1, { run: "new" });
  assert.deepEqual(kinds(), ["client-joined", "suspect", "stopped", "restarted", "resumed"]);
});

test("a duplicate or late heartbeat is no sign of life: the sender is still found stopped on time", () => {
  const { clock, send, events } = setup({ phiThreshold: 300 });
  send("a", 1, { ageMs: 5 });
  clock.advance(2900);
  send("b", 1); // b is recent when the sweep looks
  clock.advance(50);
  send("a", 1, { ageMs: 2955 }); // the same datagram again
  clock.advance(200); // 3150 ms since a's heartbeat
  const stopped = events.filter((e) => e.kind === "stopped").map((e) => e.client);
  assert.deepEqual(stopped, ["a"]);
});

test("a client's address follows its source, whatever source came between (IPv4, mapped, IPv6)", () => {
  const clock = new FakeClock();
  const monitor = new HeartbeatMonitor({ clock, reply: false });
  let seq = 0;
  const beat = (id: string, address: string, port: number): string | undefined => {
    clock.advance(100);
    monitor.ingest(encodeHeartbeat({ seq: ++seq, timestamp: clock.now() / 1000, id }), address, port);
    // another source in between, so the monitor's one-entry cache of the last source misses
    monitor.ingest(encodeHeartbeat({ seq, timestamp: clock.now() / 1000, id: "other" }), "192.0.2.99", 1);
    return monitor.client(id)?.address;
  };
  assert.equal(beat("a", "10.0.0.1", 5000), "10.0.0.1:5000");
  assert.equal(beat("a", "10.0.0.1", 5000), "10.0.0.1:5000");
  assert.equal(beat("a", "10.0.0.1", 5001), "10.0.0.1:5001");
  assert.equal(beat("a", "10.0.0.1", 500), "10.0.0.1:500");
  assert.equal(beat("a", "10.0.0.11", 500), "10.0.0.11:500");
  assert.equal(beat("a", "::ffff:10.0.0.2", 7), "10.0.0.2:7");
  assert.equal(beat("a", "::ffff:10.0.0.2", 7), "10.0.0.2:7");
  assert.equal(beat("a", "fe80::1", 9), "[fe80::1]:9");
  assert.equal(beat("a", "fe80::1", 9), "[fe80::1]:9");
  assert.equal(beat("a", "fe80::1", 90), "[fe80::1]:90");
  assert.equal(beat("a", "fe80::10", 9), "[fe80::10]:9");
  assert.equal(beat("a", "10.0.0.1", 0), "10.0.0.1:0");
  assert.equal(beat("a", "10.0.0.1", 65535), "10.0.0.1:65535");
  assert.equal(beat("a", "10.0.0.1", 65535), "10.0.0.1:65535");
});

test("keyed: a slot given to a new client after an eviction or a forget checks the new client's key", () => {
  const clock = new FakeClock();
  const keys = new Map([["a", "key-of-a"], ["b", "key-of-b"]]);
  const monitor = new HeartbeatMonitor({ clock, reply: false, maxClients: 1, keys, forgetAfterMs: 10_000, deadAfterMs: 3000 });
  const events: HeartbeatEvent[] = [];
  monitor.on("event", (e) => events.push(e));
  let seq = 0;
  // Each from its own source (refusals are reported once a minute per source); seqs per id.
  const seqs = new Map<string, number>();
  const beat = (id: string, key: string): void => {
    clock.advance(100);
    const s = (seqs.get(id) ?? 0) + 1;
    seqs.set(id, s);
    monitor.ingest(encodeHeartbeat({ seq: s, timestamp: clock.now() / 1000, id }, key), `10.0.0.${++seq}`, 4000);
  };
  beat("a", "key-of-a");
  beat("b", "key-of-a"); // refused: not b's key (b is not tracked yet)
  seqs.delete("b");
  beat("b", "key-of-b"); // evicts a, takes its slot
  beat("b", "key-of-a"); // still refused: the slot's key is b's now
  beat("b", "key-of-b");
  clock.advance(20_000);
  monitor.sweep(); // b forgotten
  seqs.delete("a");
  beat("a", "key-of-b"); // refused
  seqs.delete("a");
  beat("a", "key-of-a");
  beat("a", "key-of-b"); // refused
  const kinds = events.filter((e) => e.kind !== "heartbeat").map((e) => (e.kind === "refused" ? `refused ${e.client ?? ""}` : `${e.kind} ${"client" in e ? String(e.client) : ""}`));
  assert.deepEqual(kinds.filter((k) => !k.startsWith("stopped") && !k.startsWith("suspect")), ["client-joined a", "refused b", "evicted a", "client-joined b", "refused b", "lost b", "forgotten b", "refused a", "client-joined a", "refused a"]);
  assert.equal(monitor.totals().refused, 4);
});

test("keyed: many clients (their prepared keys' storage grows while they beat) are all accepted, and a wrong key is still refused", () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 23, 12), 0);
  const n = 300;
  const keys = new Map(Array.from({ length: n }, (_, i) => [`c${i}`, `secret-${i}`] as const));
  const monitor = new HeartbeatMonitor({ clock, reply: false, maxClients: n, keys, keysRequired: true });
  for (let seq = 1; seq <= 3; seq++) {
    clock.advance(1000);
    for (let i = 0; i < n; i++) monitor.ingest(encodeHeartbeat({ seq, timestamp: clock.now() / 1000, id: `c${i}`, run: "r1" }, `secret-${i}`), ADDR, 40000);
  }
  assert.equal(monitor.totals().refused, 0);
  assert.equal(monitor.totals().heartbeats, 3 * n);
  monitor.ingest(encodeHeartbeat({ seq: 4, timestamp: clock.now() / 1000, id: "c200", run: "r1" }, "secret-201"), ADDR, 40000);
  monitor.ingest(encodeHeartbeat({ seq: 4, timestamp: clock.now() / 1000, id: "c201", run: "r1" }), ADDR, 40000);
  assert.equal(monitor.totals().refused, 2);
});

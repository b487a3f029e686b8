/**
 * The heartbeat sender on fake time with fake links: down after N misses and up again
 * (--keep-going), stopping when every monitor is down, replies read asynchronously, a final
 * status sent at once by finish(), and the same heartbeat to several monitors.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { HeartbeatSender, type HeartbeatSenderEvent, type HeartbeatSenderOptions } from "../../../src/udp/heartbeat/sender.js";
import { driveFakeTime, FakeLinks, type ScriptedAnswer } from "../../helpers/fake-link.js";

function sender(clock: FakeClock, script: (seq: number, server: { address: string; port: number }) => ScriptedAnswer[], o: Partial<HeartbeatSenderOptions>) {
  const links = new FakeLinks(clock, (bytes, server) => script(Number(bytes.toString("latin1").split(" ")[0]), server));
  const events: HeartbeatSenderEvent[] = [];
  const s = new HeartbeatSender({ host: "127.0.0.1", port: 12001, clock, link: links.open, id: "web-1", run: "cafe0001", ...o });
  s.on("event", (e) => events.push(e));
  return { s, links, events };
}
const answer = (seq: number, afterMs: number): ScriptedAnswer => ({ afterMs, bytes: `${seq} 0.000100` });

test("--keep-going: down after 3 misses, then up when the monitor answers again", async () => {
  const clock = new FakeClock();
  const ac = new AbortController();
  const { s, events } = sender(clock, (seq) => (seq > 5 ? [answer(seq, 2)] : []), { intervalMs: 100, misses: 3, keepGoing: true, signal: ac.signal });
  s.on("event", (e) => {
    if (e.kind === "reply" && e.seq >= 8) ac.abort();
  });
  const r = await driveFakeTime(clock, s.run());
  const kinds = events.filter((e) => ["miss", "down", "up", "reply"].includes(e.kind)).map((e) => e.kind);
  assert.deepEqual(kinds, ["miss", "miss", "miss", "down", "miss", "miss", "up", "reply", "reply", "reply"].slice(0, kinds.length));
  assert.equal(kinds.filter((k) => k === "down").length, 1);
  assert.equal(kinds.indexOf("up"), kinds.indexOf("reply") - 1);
  const up = events.find((e) => e.kind === "up");
  assert.equal(up?.kind === "up" && up.seq, 6);
  assert.deepEqual([r.down, r.downEvents], [false, 1]);
});

test("without --keep-going the run ends when the monitor is declared down", async () => {
  const clock = new FakeClock();
  const { s, links } = sender(clock, () => [], { intervalMs: 100, timeoutMs: 100, misses: 3 });
  const r = await driveFakeTime(clock, s.run());
  assert.equal(r.down, true);
  assert.equal(r.totals.transmitted, 3);
  assert.equal(links.sent.length, 3);
  assert.equal(clock.pending, 0, "no timer left behind");
});

test("replies are read asynchronously: a slow reply delays no heartbeat and still matches its seq", async () => {
  const clock = new FakeClock();
  const { s, links, events } = sender(clock, (seq) => [answer(seq, seq === 2 ? 75 : 3), { afterMs: 1, bytes: "999 0.000100" }, { afterMs: 1, bytes: `${seq} 0.000100`, from: { address: "127.0.0.9", port: 1 } }], { intervalMs: 20, timeoutMs: 30_000, count: 6, misses: 100 });
  const r = await driveFakeTime(clock, s.run(), 1);
  assert.deepEqual(links.sent.map((x) => x.at), [0, 20, 40, 60, 80, 100]);
  assert.equal(r.totals.received, 6);
  const order = events.flatMap((e) => (e.kind === "sent" || e.kind === "reply" ? [`${e.kind} ${e.seq}`] : []));
  assert.ok(order.indexOf("sent 4") < order.indexOf("reply 2"), order.join(", "));
  const reply2 = events.find((e) => e.kind === "reply" && e.seq === 2);
  assert.equal(reply2?.kind === "reply" && reply2.rttMs, 75);
  const ignored = events.flatMap((e) => (e.kind === "ignored" ? [e.reason] : []));
  assert.equal(ignored.filter((x) => x === "not from the monitor").length, 6);
  assert.equal(ignored.filter((x) => x === "reply for seq 999, which was never sent").length, 6);
});

test("finish() sends the final heartbeat at once, with status and duration, and the run ends when it is answered", async () => {
  const clock = new FakeClock();
  const { s, links } = sender(clock, (seq) => [answer(seq, 5)], { intervalMs: 1000 });
  const done = s.run();
  while (links.sent.length === 0) await new Promise((res) => setImmediate(res));
  clock.advance(1500);
  s.finish("3", 1500, "boom");
  const result = await driveFakeTime(clock, done);
  assert.deepEqual(links.sent.map((x) => x.at), [0, 1000, 1500]);
  assert.match(links.sent[2]?.bytes.toString("latin1") ?? "", / status=3 /);
  assert.match(links.sent[2]?.bytes.toString("latin1") ?? "", / dur=1500/);
  assert.equal(result.totals.received, 3);
});

test("several monitors get the same seq and timestamp; each has its own matching and down state", async () => {
  const clock = new FakeClock();
  const { s, links } = sender(clock, (seq, server) => (server.port === 12001 ? [answer(seq, 2)] : []), { intervalMs: 100, timeoutMs: 100, count: 4, misses: 2, more: [{ host: "127.0.0.1", port: 12002 }] });
  const r = await driveFakeTime(clock, s.run());
  const [a, b] = r.monitors ?? [];
  assert.deepEqual([a?.totals.received, b?.totals.received, a?.down, b?.down, r.down], [4, 0, false, true, false]);
  const first = links.sent.filter((x) => x.bytes.toString("latin1").startsWith("1 "));
  assert.equal(first.length, 2);
  assert.equal(first[0]?.bytes.toString("latin1"), first[1]?.bytes.toString("latin1"));
  assert.equal(links.sent.length, 4 + 2, "the down monitor gets no more heartbeats");
});

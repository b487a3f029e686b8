/**
 * The UDP ping client on fake time with a fake link: late replies, several in flight, foreign
 * and garbage datagrams, duplicates, the schedule and the deadline, without sockets or real
 * timers (the real-socket tests are in client-server.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { UdpPinger, type UdpPingEvent } from "../../../src/udp/ping/client.js";
import { decodePing, upperCaseAscii } from "../../../src/udp/ping/protocol.js";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { driveFakeTime, FakeLinks, type ScriptedAnswer } from "../../helpers/fake-link.js";
import { runCliCapture } from "../../helpers/cli.js";

function ping(clock: FakeClock, script: (seq: number, msg: Buffer) => ScriptedAnswer[], o: { count: number; intervalMs: number; timeoutMs: number; deadlineMs?: number }) {
  const links = new FakeLinks(clock, (bytes) => {
    const d = decodePing(bytes);
    return d.ok ? script(d.value.seq, bytes) : [];
  });
  const events: UdpPingEvent[] = [];
  const p = new UdpPinger({ host: "127.0.0.1", port: 12000, clock, link: links.open, ...o });
  p.on("event", (e) => events.push(e));
  return { links, events, done: driveFakeTime(clock, p.run()) };
}

const echo = (msg: Buffer, afterMs: number): ScriptedAnswer => ({ afterMs, bytes: upperCaseAscii(msg) });

test("a reply delayed past its timeout is reported late, not taken as the next ping's reply", async () => {
  const clock = new FakeClock();
  // Ping 1's reply comes 450 ms late, just after ping 2 left (the classic misattribution trap).
  const { events, done } = ping(clock, (seq, msg) => [echo(msg, seq === 1 ? 450 : 20)], { count: 3, intervalMs: 400, timeoutMs: 300 });
  const r = await done;
  const kinds = events.filter((e) => ["reply", "late", "timeout"].includes(e.kind)).map((e) => `${e.kind}:${"seq" in e ? e.seq : ""}`);
  assert.deepEqual(kinds, ["timeout:1", "reply:2", "late:1", "reply:3"]);
  assert.deepEqual(r.pings.map((p) => p.status), ["late", "reply", "reply"]);
  assert.equal(r.pings[0]?.rttMs, 450);
  assert.deepEqual([r.totals.received, r.totals.late], [2, 1]);
});

test("pings leave on an absolute schedule, several in flight, each reply matched to its own ping", async () => {
  const clock = new FakeClock();
  // Answers come back in reverse order, all at 250 ms.
  const { links, done } = ping(clock, (seq, msg) => [echo(msg, 250 - (seq - 1) * 20)], { count: 5, intervalMs: 20, timeoutMs: 1000 });
  const r = await done;
  assert.deepEqual(links.sent.map((s) => s.at), [0, 20, 40, 60, 80]);
  assert.deepEqual(r.pings.map((p) => p.rttMs), [250, 230, 210, 190, 170]);
  assert.equal(r.totals.received, 5);
  assert.equal(links.closed, 1);
});

test("foreign datagrams and garbage are counted apart; a duplicate is flagged once", async () => {
  const clock = new FakeClock();
  const { events, done } = ping(clock, (seq, msg) => [
    { afterMs: 1, bytes: upperCaseAscii(msg), from: { address: "127.0.0.1", port: 9 } },
    { afterMs: 2, bytes: "hello" },
    { afterMs: 3, bytes: `PING ${seq + 100} 2026-01-01 00:00:00.000` },
    echo(msg, 5),
    echo(msg, 6),
  ], { count: 2, intervalMs: 100, timeoutMs: 1000 });
  const r = await done;
  // The run ends with the last reply, so the last duplicate comes after it.
  assert.deepEqual([r.foreign, r.garbage, r.totals.received, r.totals.duplicates], [2, 4, 2, 1]);
  assert.ok(events.some((e) => e.kind === "garbage" && /which was never sent/.test(e.reason)));
});

test("a deadline ends the run whatever is still pending", async () => {
  const clock = new FakeClock();
  const { done } = ping(clock, () => [], { count: 0, intervalMs: 100, timeoutMs: 10_000, deadlineMs: 350 });
  const r = await done;
  assert.equal(r.reason, "deadline");
  assert.equal(r.totals.transmitted, 4);
  assert.deepEqual(r.pings.map((p) => p.status), ["unanswered", "unanswered", "unanswered", "unanswered"]);
});

test("udp-ping -w through the CLI: with no count it pings until the deadline, on fake time", async () => {
  // A peer that never answers: every ping stays pending; the deadline ends the run.
  const silent = createSocket("udp4");
  silent.bind(0, "127.0.0.1");
  await once(silent, "listening");
  const clock = new FakeClock();
  const run = runCliCapture(["udp-ping", "127.0.0.1", String(silent.address().port), "-w", "0.35", "-i", "0.1", "-W", "10"], { clock });
  const r = await driveFakeTime(clock, run, 5);
  silent.close();
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^4 packets transmitted, 0 received, 100% packet loss, time 350ms$/m);
});

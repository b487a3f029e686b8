/** Status and message, per-client deadlines, --expect, keyed heartbeats and saved state, on a fake clock. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { FakeClock } from "../../../src/core/clock.js";
import { HeartbeatMonitor, type HeartbeatMonitorOptions } from "../../../src/udp/heartbeat/monitor.js";
import type { HeartbeatEvent } from "../../../src/udp/heartbeat/events.js";
import { describeHeartbeatEvent } from "../../../src/render/heartbeat-events.js";
import { decodeHeartbeat, encodeHeartbeat, encodeMessage, MAX_MESSAGE_WIRE_BYTES, type Heartbeat } from "../../../src/udp/heartbeat/protocol.js";
import { parseExpectFile, parseKeyFile } from "../../../src/udp/heartbeat/lists.js";
import { createHeartbeatMetrics } from "../../../src/udp/heartbeat/metrics.js";
import { alertEnv, alertFor } from "../../../src/udp/heartbeat/alerts.js";

const KEY = "s3cret-web-1";

function setup(options: HeartbeatMonitorOptions = {}) {
  const clock = new FakeClock(Date.UTC(2026, 11, 3, 8), 0);
  const monitor = new HeartbeatMonitor({ clock, deadAfterMs: 3000, ...options });
  const events: HeartbeatEvent[] = [];
  // Only the changes: no event per heartbeat.
  monitor.heartbeatEvents = false;
  monitor.on("event", (e: HeartbeatEvent) => void events.push(e));
  monitor.start();
  const send = (fields: Partial<Heartbeat> & { seq: number }, opts: { key?: string; address?: string; ageMs?: number } = {}) =>
    monitor.ingest(encodeHeartbeat({ timestamp: (clock.now() - (opts.ageMs ?? 1)) / 1000, ...fields }, opts.key), opts.address ?? "127.0.0.1", 40000);
  const kinds = () => events.map((e) => e.kind);
  return { clock, monitor, events, send, kinds };
}

test("status=/msg= round-trip on the wire; a message with spaces, % and a newline is percent-encoded", () => {
  const wire = encodeHeartbeat({ seq: 3, timestamp: 1764748800.5, id: "web-1", run: "ab12", int: 1000, status: "fail", msg: "disk 91% full\n", dur: 1500 }).toString();
  assert.equal(wire, "3 1764748800.500000 id=web-1 run=ab12 int=1000 status=fail msg=disk%2091%25%20full%0A dur=1500");
  const d = decodeHeartbeat(Buffer.from(wire));
  assert.ok(d.ok);
  assert.deepEqual({ ...d.value }, { seq: 3, timestamp: 1764748800.5, id: "web-1", run: "ab12", int: 1000, status: "fail", msg: "disk 91% full\n", dur: 1500 });
  assert.equal(encodeMessage("é".repeat(100)).length, 198, "cut on a character boundary within 200 bytes");
  assert.ok(encodeMessage("x".repeat(500)).length === MAX_MESSAGE_WIRE_BYTES);
  for (const bad of ["1 2 status=maybe", "1 2 status=256", "1 2 msg=%zz", "1 2 int=0", "1 2 id=a id=b", "1 2 mac=12"]) assert.equal(decodeHeartbeat(Buffer.from(bad)).ok, false, bad);
  // Old peers' fields and future ones are ignored in both directions.
  const future = decodeHeartbeat(Buffer.from("5 1764748800 id=a zzz=1 status=ok"));
  assert.ok(future.ok && future.value.status === "ok");
});

test("status fail makes the client failed until its next ok; events, alert and metrics carry it, escaped", async () => {
  const { send, monitor, events, kinds } = setup();
  send({ seq: 1, id: "job", status: "ok" });
  send({ seq: 2, id: "job", status: "fail", msg: "backup failed:\x1b[31m disk full" });
  assert.equal(monitor.client("job")?.failed, true);
  const failed = events.find((e) => e.kind === "failed");
  assert.ok(failed);
  const line = describeHeartbeatEvent(failed);
  assert.equal(line, 'job failed: status fail: "backup failed:\\x1b[31m disk full"');
  const alert = alertFor(failed, monitor.client("job"), line);
  assert.equal(alert?.event, "failed");
  assert.equal(alert?.status, "failed");
  assert.equal(alertEnv(alert ?? assert.fail()).WIREKIT_SENDER_MESSAGE, "backup failed:\\x1b[31m disk full");
  const text = await createHeartbeatMetrics(monitor).metrics();
  assert.match(text, /wirekit_heartbeat_client_status\{client="job",status="failed"\} 1/);
  assert.match(text, /wirekit_heartbeat_client_last_status\{client="job",status="fail"\} 1/);
  assert.match(text, /wirekit_heartbeat_client_failed\{client="job"\} 1/);
  send({ seq: 3, id: "job", status: "fail" });
  send({ seq: 4, id: "job", status: "3" }); // still failing: no second event
  send({ seq: 5, id: "job", status: "0" });
  assert.equal(monitor.client("job")?.failed, false);
  assert.deepEqual(kinds(), ["client-joined", "failed", "recovered"]);
  assert.match(await createHeartbeatMetrics(monitor).metrics(), /wirekit_heartbeat_client_status\{client="job",status="alive"\} 1/);
});

test("a late (reordered) heartbeat does not overwrite the newest status", () => {
  const { send, monitor } = setup();
  send({ seq: 1, id: "j", status: "ok" });
  send({ seq: 3, id: "j", status: "ok" });
  send({ seq: 2, id: "j", status: "fail" });
  assert.equal(monitor.client("j")?.failed, false);
});

test("per-client deadlines: 50 ms and 500 ms senders; only the silent one at its own deadline is stopped", () => {
  const { send, monitor, clock, events } = setup({ deadAfterMs: 10_000, sweepIntervalMs: 10 });
  let fastSeq = 0;
  let slowSeq = 0;
  // Both beat for 2 s; then the fast one stops and the slow one goes on.
  for (let t = 0; t <= 4000; t += 10) {
    if (t <= 2000 && t % 50 === 0) send({ seq: ++fastSeq, id: "fast", int: 50 });
    if (t % 500 === 0) send({ seq: ++slowSeq, id: "slow", int: 500 });
    clock.advance(10);
  }
  const stopped = events.filter((e) => e.kind === "stopped");
  assert.deepEqual(stopped.map((e) => e.client), ["fast"]);
  const s = stopped[0];
  assert.ok(s?.kind === "stopped" && s.silentMs >= 150 && s.silentMs <= 170, JSON.stringify(s));
  assert.equal(monitor.client("slow")?.status, "alive", "500 ms between beats is within 3 x 500 ms");
  assert.equal(monitor.client("slow")?.deadAfterMs, 1500);
  assert.equal(monitor.client("fast")?.deadAfterMs, 150);
  // The slow one silent past 1.5 s: stopped, long before the 10 s fallback.
  clock.advance(1600);
  assert.ok(events.some((e) => e.kind === "stopped" && e.client === "slow"));
});

test("--max-dead-after bounds an announced deadline, and a client that announces nothing gets --dead-after", () => {
  const { send, monitor } = setup({ deadAfterMs: 2000, maxDeadAfterMs: 60_000 });
  send({ seq: 1, id: "hourly", int: 3_600_000 });
  send({ seq: 1, id: "plain" });
  assert.equal(monitor.client("hourly")?.deadAfterMs, 60_000);
  assert.equal(monitor.client("plain")?.deadAfterMs, 2000);
});

test("--expect: a listed client never heard is never-seen after its deadline, once; one that appears is not", async () => {
  const expect = parseExpectFile("# the fleet\nweb-1\nbackup 10s\n\nghost 2s\n", "expect.txt");
  assert.deepEqual(expect, [{ id: "web-1" }, { id: "backup", deadlineMs: 10_000 }, { id: "ghost", deadlineMs: 2000 }]);
  const { send, monitor, clock, events } = setup({ deadAfterMs: 3000, expect });
  clock.advance(1000);
  send({ seq: 1, id: "web-1" });
  clock.advance(1500);
  assert.deepEqual(events.filter((e) => e.kind === "never-seen").map((e) => e.client), ["ghost"]);
  const ghost = events.find((e) => e.kind === "never-seen");
  assert.equal(describeHeartbeatEvent(ghost ?? assert.fail()), "ghost never seen: expected within 2.0 s");
  clock.advance(10_000);
  assert.deepEqual(events.filter((e) => e.kind === "never-seen").map((e) => e.client), ["ghost", "backup"]);
  assert.deepEqual(monitor.expected(), [{ id: "backup", deadlineMs: 10_000, neverSeen: true }, { id: "ghost", deadlineMs: 2000, neverSeen: true }]);
  assert.equal(monitor.totals().neverSeen, 2);
  assert.match(await createHeartbeatMetrics(monitor).metrics(), /wirekit_heartbeat_client_status\{client="ghost",status="never-seen"\} 1/);
  assert.equal(alertFor(ghost ?? assert.fail(), undefined, "x")?.status, "never-seen");
  send({ seq: 1, id: "ghost" });
  assert.deepEqual(monitor.expected().map((e) => e.id), ["backup"]);
  assert.throws(() => parseExpectFile("a 1s extra\n", "e"), /e line 1: expected 'client-id \[deadline\]'/);
});

test("--keys file: comments skipped; a malformed line is a usage error that never shows the secret", () => {
  assert.deepEqual([...parseKeyFile("# keys\nweb-1 s3cret-web-1\n  db-2   another-secret  \n", "k")], [["web-1", "s3cret-web-1"], ["db-2", "another-secret"]]);
  for (const bad of ["web-1\n", "web-1 topsecret extra\n", "web-1 x7q\n", "a topsecret1\na topsecret2\n"]) {
    assert.throws(
      () => parseKeyFile(bad, "keys.txt"),
      (err: Error & { exitCode?: number }) => /^keys\.txt line \d: /.test(err.message) && !/topsecret|x7q/.test(err.message),
      bad,
    );
  }
});

test("keyed: right MAC accepted; wrong, missing, replayed and skewed refused, counted, reported once per source", () => {
  const keys = new Map([["web-1", KEY]]);
  const { send, monitor, clock, events } = setup({ keys, maxSkewMs: 30_000 });
  assert.ok(send({ seq: 1, id: "web-1", run: "r1", status: "ok" }, { key: KEY }), "right key: answered");
  assert.equal(send({ seq: 2, id: "web-1", run: "r1" }, { key: "not-the-key" }), undefined, "wrong key");
  assert.equal(send({ seq: 3, id: "web-1", run: "r1" }, { address: "10.0.0.2" }), undefined, "missing mac");
  assert.equal(send({ seq: 1, id: "web-1", run: "r1", status: "ok" }, { key: KEY, address: "10.0.0.3" }), undefined, "replayed seq 1");
  assert.equal(send({ seq: 4, id: "web-1", run: "r1" }, { key: KEY, address: "10.0.0.4", ageMs: 31_000 }), undefined, "skewed");
  assert.ok(send({ seq: 2, id: "web-1", run: "r1" }, { key: KEY }), "seq 2 still fresh (inside the window, not seen)");
  assert.equal(send({ seq: 2, id: "web-1", run: "r1" }, { key: KEY, address: "10.0.0.5" }), undefined, "replayed seq 2");
  // Tampering: a signed heartbeat with a field changed after signing.
  const signed = encodeHeartbeat({ seq: 9, timestamp: clock.now() / 1000, id: "web-1", run: "r1", status: "ok" }, KEY).toString();
  assert.equal(monitor.ingest(Buffer.from(signed.replace("status=ok", "status=fail")), "10.0.0.6", 1), undefined);
  // A replay of an older run's heartbeat (an old timestamp, within the skew) is not a restart.
  assert.equal(send({ seq: 50, id: "web-1", run: "r0" }, { key: KEY, address: "10.0.0.7", ageMs: 5000 }), undefined);
  const refused = events.filter((e) => e.kind === "refused");
  assert.deepEqual(refused.map((e) => e.kind === "refused" && e.reason), ["bad-mac", "no-mac", "replay", "skew", "replay", "bad-mac", "replay"]);
  assert.equal(monitor.totals().refused, 7);
  assert.equal(monitor.client("web-1")?.received, 2);
  assert.equal(monitor.client("web-1")?.restarts, 0);
  // Once per source: more from 127.0.0.1 within a minute are counted, not reported.
  send({ seq: 20, id: "web-1", run: "r1" }, { key: "nope" });
  send({ seq: 21, id: "web-1", run: "r1" }, { key: "nope" });
  assert.equal(events.filter((e) => e.kind === "refused").length, 7);
  clock.advance(61_000);
  send({ seq: 22, id: "web-1", run: "r1" }, { key: "nope" });
  const last = events.filter((e) => e.kind === "refused").at(-1);
  assert.ok(last?.kind === "refused" && last.suppressed === 2, JSON.stringify(last));
  assert.match(describeHeartbeatEvent(last), /^refused heartbeat from 127\.0\.0\.1:40000 as web-1: wrong MAC \(MAC does not match\); 2 more refused from there since the last report$/);
  // A new run with a newer timestamp is a real restart.
  assert.ok(send({ seq: 1, id: "web-1", run: "r2" }, { key: KEY }));
  assert.equal(monitor.client("web-1")?.restarts, 1);
});

test("keys without --keys-required accept unkeyed clients; with it they are refused", () => {
  const keys = new Map([["web-1", KEY]]);
  assert.ok(setup({ keys }).send({ seq: 1, id: "other" }));
  const strict = setup({ keys, keysRequired: true });
  assert.equal(strict.send({ seq: 1, id: "other" }), undefined);
  assert.equal(strict.send({ seq: 1 }, { address: "10.1.1.1" }), undefined);
  assert.deepEqual(strict.events.map((e) => e.kind === "refused" && e.reason), ["unkeyed", "unkeyed"]);
});

test("exportState/importState: clients, counters, the replay window and the expected list survive", () => {
  const keys = new Map([["web-1", KEY]]);
  const a = setup({ keys, expect: [{ id: "ghost", deadlineMs: 5000 }] });
  for (let s = 1; s <= 5; s++) a.send({ seq: s, id: "web-1", run: "r1", int: 1000, status: s === 5 ? "fail" : "ok" }, { key: KEY });
  a.send({ seq: 8, id: "web-1", run: "r1", int: 1000 }, { key: KEY });
  const saved = JSON.parse(JSON.stringify(a.monitor.exportState()));
  const b = setup({ keys, expect: [{ id: "ghost", deadlineMs: 5000 }] });
  b.clock.advance(1000);
  b.monitor.importState(saved);
  const c = b.monitor.client("web-1");
  assert.equal(c?.received, 6);
  assert.equal(c?.lost, 2);
  assert.equal(c?.failed, true);
  assert.equal(c?.deadAfterMs, 3000);
  assert.equal(b.monitor.totals().heartbeats, 6);
  assert.equal(b.send({ seq: 5, id: "web-1", run: "r1" }, { key: KEY }), undefined, "replay after restart still refused");
  assert.ok(b.send({ seq: 6, id: "web-1", run: "r1" }, { key: KEY }), "a gap still fills in");
  assert.equal(b.monitor.client("web-1")?.reordered, 1);
  b.clock.advance(4100);
  assert.ok(b.events.some((e) => e.kind === "never-seen" && e.client === "ghost"));
});

test("the MAC is HMAC-SHA256 over the documented text: a signer written from docs/heartbeat.md alone is accepted", () => {
  const { monitor, clock } = setup({ keys: new Map([["web-2", "51aa09c4e3d87b20"]]) });
  // Fields deliberately out of the canonical order, with an unknown one: the MAC covers the known ones in order.
  const ts = (clock.now() / 1000).toFixed(3);
  const covered = `wirekit-heartbeat-mac-v1\n7 ${ts} id=web-2 run=feedbeef int=1000 msg=all%20good`;
  const mac = createHmac("sha256", "51aa09c4e3d87b20").update(covered).digest("hex");
  const line = `7 ${ts} msg=all%20good x-future=1 int=1000 run=feedbeef id=web-2 mac=${mac.toUpperCase()}`;
  assert.ok(monitor.ingest(Buffer.from(line), "127.0.0.1", 1), "answered");
  assert.equal(monitor.client("web-2")?.reportedMessage, "all good", "a msg= without status= is kept too");
  assert.equal(monitor.client("web-2")?.reportedStatus, null);
  assert.equal(monitor.totals().refused, 0);
});

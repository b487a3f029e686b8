/**
 * The count, quiet and output flags every ping-like tool shares, through the CLI: -c and -n
 * both count in ping, udp-ping and heartbeat; -q; ping's -D, -w, -O and argument checks; and
 * --json-lines (one JSON object per event, then the summary). Assertions are on content, never
 * on speed: timeouts are generous and counts, not elapsed times, are checked.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { runCliCapture } from "../helpers/cli.js";
import { createUdpPingServer, type UdpPingServer } from "../../src/udp/ping/server.js";
import { createHeartbeatMonitor, type HeartbeatMonitor } from "../../src/udp/heartbeat/monitor.js";
import { systemClock, type Clock } from "../../src/core/clock.js";

const rootOnly = process.getuid?.() === 0 ? {} : { skip: "needs root (raw ICMP sockets)" };
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers) await c();
});

async function udpServer(): Promise<UdpPingServer> {
  const s = await createUdpPingServer({ host: "127.0.0.1", port: 0, loss: 0 });
  closers.push(() => s.close());
  return s;
}

async function monitor(): Promise<HeartbeatMonitor> {
  const m = await createHeartbeatMonitor({ host: "127.0.0.1", port: 0 });
  closers.push(() => m.close());
  return m;
}

const statsOf = (out: string): string | undefined => /(\d+) packets transmitted, (\d+) received/.exec(out)?.slice(1, 3).join("/");

test("ping: -c 3 and -n 3 both send three requests; -q prints only the statistics", rootOnly, async () => {
  for (const flag of ["-c", "-n"]) {
    const r = await runCliCapture(["ping", "127.0.0.1", flag, "3", "-i", "0.05", "-W", "5"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Packets: Sent = 3, Received = 3, Lost = 0 \(0% loss\),/, flag);
  }
  const q = await runCliCapture(["ping", "127.0.0.1", "-c", "2", "-i", "0.05", "-W", "5", "-q"]);
  assert.equal(q.code, 0);
  assert.doesNotMatch(q.stdout, /Reply from|Pinging/);
  assert.match(q.stdout, /^\nPing statistics for 127\.0\.0\.1:\n {4}Packets: Sent = 2, Received = 2/);
});

test("ping -D puts [unix time] before each reply line, not before the statistics", rootOnly, async () => {
  const clock: Clock = { ...systemClock, now: () => 1_700_000_000_123.25 };
  const r = await runCliCapture(["ping", "127.0.0.1", "-c", "2", "-i", "0.05", "-W", "5", "-D"], { clock });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.equal(lines[0], "Pinging 127.0.0.1 with 56 bytes of data:");
  assert.match(lines[1] ?? "", /^\[1700000000\.123250\] Reply from 127\.0\.0\.1: bytes=56 time=\d+\.\d{3}ms TTL=64$/);
  assert.match(lines[2] ?? "", /^\[1700000000\.123250\] Reply from 127\.0\.0\.1: /);
  assert.match(r.stdout, /\nPing statistics for 127\.0\.0\.1:\n/);
});

test("ping -w with -n N stops once N replies came; -w alone runs until the deadline", rootOnly, async () => {
  const counted = await runCliCapture(["ping", "127.0.0.1", "-w", "30", "-n", "2", "-i", "0.05"]);
  assert.equal(counted.code, 0, counted.stderr);
  assert.match(counted.stdout, /Packets: Sent = 2, Received = 2, Lost = 0/);
  const until = await runCliCapture(["ping", "127.0.0.1", "-w", "0.3", "-i", "0.1", "-q"]);
  assert.equal(until.code, 0, until.stderr);
  const sent = Number(/Sent = (\d+)/.exec(until.stdout)?.[1]);
  assert.ok(sent >= 1 && sent <= 4, until.stdout);
});

test("ping --json-lines: one JSON object per event as it happens, then the summary", rootOnly, async () => {
  const r = await runCliCapture(["ping", "127.0.0.1", "-c", "2", "-i", "0.05", "-W", "5", "--json-lines"]);
  assert.equal(r.code, 0, r.stderr);
  // Other tests' echo traffic on loopback reaches this raw socket too, reported as "ignored".
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string; rtt_ms?: number; at?: string; summary?: { received: number } }).filter((l) => l.kind !== "ignored");
  assert.deepEqual(lines.map((l) => l.kind), ["start", "sent", "reply", "sent", "reply", "summary"]);
  assert.ok(lines.slice(0, -1).every((l) => typeof l.at === "string"));
  assert.ok(typeof lines[2]?.rtt_ms === "number", "snake_case keys");
  assert.equal(lines.at(-1)?.summary?.received, 2);
});

test("ping with several targets --json-lines names the target on each event", rootOnly, async () => {
  const r = await runCliCapture(["ping", "127.0.0.1", "127.0.0.2", "-c", "1", "-W", "5", "--json-lines"]);
  assert.equal(r.code, 0, r.stderr);
  const replies = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string; target?: string }).filter((l) => l.kind === "reply");
  assert.deepEqual(replies.map((x) => x.target).sort(), ["127.0.0.1", "127.0.0.2"]);
});

test("ping refuses what does not go together, with one line and exit 2", async () => {
  for (const argv of [
    ["ping", "127.0.0.1", "127.0.0.2", "-f"],
    ["ping", "127.0.0.1", "-a"],
    ["ping", "127.0.0.1", "127.0.0.2", "-a", "-u"],
    ["ping", "127.0.0.1", "-M", "sometimes"],
    ["ping", "127.0.0.1", "-p", "xyz"],
    ["ping", "127.0.0.1", "-p", "00112233445566778899aabbccddeeff00"],
    ["ping", "127.0.0.1", "-Q", "300"],
    ["ping", "127.0.0.1", "-I", "eth0"],
    ["ping", "-g", "10.0.0.0/8"],
    ["ping", "127.0.0.1", "--json", "--json-lines"],
    ["ping", "--file", "/nonexistent/targets"],
  ]) {
    const r = await runCliCapture(argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, /^wirekit: [^\n]+\n$/, argv.join(" "));
  }
});

test("udp-ping: -c 2 and -n 2 both send two pings; -q prints only the statistics; --json-lines", async () => {
  const s = await udpServer();
  for (const flag of ["-c", "-n"]) {
    const r = await runCliCapture(["udp-ping", "127.0.0.1", String(s.port), flag, "2", "-i", "20ms", "-W", "5s"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statsOf(r.stdout), "2/2", flag);
  }
  const q = await runCliCapture(["udp-ping", "127.0.0.1", String(s.port), "-n", "2", "-i", "20ms", "-W", "5s", "-q"]);
  assert.match(q.stdout, /^\n--- 127\.0\.0\.1 udp-ping statistics ---\n2 packets transmitted, 2 received/);
  const j = await runCliCapture(["udp-ping", "127.0.0.1", String(s.port), "-n", "2", "-i", "20ms", "-W", "5s", "--json-lines"]);
  const kinds = j.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { kind: string }).kind);
  assert.deepEqual(kinds, ["start", "sent", "reply", "sent", "reply", "summary"]);
});

test("heartbeat: -c 2 and -n 2 both send two heartbeats; -q prints only the statistics; --json-lines", { timeout: 60_000 }, async () => {
  const m = await monitor();
  for (const flag of ["-c", "-n"]) {
    const r = await runCliCapture(["heartbeat", "127.0.0.1", String(m.port), flag, "2", "-i", "0.05", "-W", "5", "--id", "web-1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statsOf(r.stdout), "2/2", flag);
  }
  const q = await runCliCapture(["heartbeat", "127.0.0.1", String(m.port), "-n", "2", "-i", "0.05", "-W", "5", "-q", "--id", "web-1"]);
  assert.match(q.stdout, /^\n--- 127\.0\.0\.1 heartbeat statistics ---\n2 packets transmitted, 2 received/);
  const j = await runCliCapture(["heartbeat", "127.0.0.1", String(m.port), "-n", "2", "-i", "0.05", "-W", "5", "--id", "web-1", "--json-lines"]);
  const lines = j.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string; interval_ms?: number; replies?: number });
  assert.deepEqual(lines.map((l) => l.kind), ["start", "sent", "reply", "sent", "reply", "summary"]);
  assert.equal(lines[0]?.interval_ms, 50);
  assert.equal(lines.at(-1)?.replies, 2);
});

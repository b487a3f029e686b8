/**
 * The ICMP pinger lab against student-like programs (raw sockets and a namespace with a router:
 * root only, skipped with the reason otherwise), and its pure readers of the program's output.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { runCases, type Case } from "./fixtures.js";
import { fateLines, readStddev } from "../../src/check/labs/icmp-ping.js";
import { netnsUnavailable } from "../../src/check/netns.js";

const why = netnsUnavailable();
const pinger = (variant: string, want: string, ok: boolean): Case => ({ lab: "icmp-ping", variant, script: "IcmpPing.py", args: ["{host}", "-n", "2"], want, ok, timeoutMs: 8000 });

const CASES: Case[] = [
  //                        echo-request checksum identifier reply statistics stddev unreachable
  pinger("correct", "✓✓✓✓✓✓✓", true),
  pinger("bad-checksum", "✓✗✓✗✓✗✓", false),
];

if (why === undefined) {
  const running = runCases(CASES);
  test("icmp-ping: the namespaces of the unreachable run are gone afterwards", async () => {
    await Promise.all(running.values());
    assert.doesNotMatch(execFileSync("ip", ["netns", "list"], { encoding: "utf8" }), new RegExp(`^wkc-${process.pid % 100000}-`, "m"));
  });
} else {
  test("icmp-ping: student programs", { skip: why }, () => undefined);
}

test("icmp-ping: reply and timeout lines are read with address, RTT and TTL", () => {
  const lines = fateLines("Pinging x:\nReply from 127.0.0.9: bytes=8 time=0.105ms TTL=64\nRequest timed out.\nReply from 10.0.0.1: Destination Host Unreachable\n");
  assert.equal(lines.length, 2);
  assert.deepEqual([lines[0]?.kind, lines[0]?.from, lines[0]?.ttl, lines[0]?.rtt?.ms], ["reply", "127.0.0.9", 64, [0.105]]);
  assert.equal(lines[1]?.kind, "timeout");
});

test("icmp-ping: the standard deviation is found in a slash list or on its own", () => {
  assert.equal(readStddev("rtt min/avg/max/mdev = 0.1/0.2/0.3/0.05 ms"), 0.05);
  assert.equal(readStddev("Standard deviation: 1.25 ms"), 1.25);
  assert.equal(readStddev("min/avg/max = 1/2/3 ms"), undefined);
});

/**
 * The pinger client lab against student-like programs. Its judgements rest on timings (a reply
 * held past the client's second), so these checks run in a process of their own, away from the
 * other labs' traffic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCases, type Case } from "./fixtures.js";

// Seed 3: ping 8 is dropped, ping 2's reply is held 1.5 s and ping 3's 0.6 s.
const pingClient = (variant: string, want: string, ok: boolean, timeoutMs?: number): Case => ({ lab: "udp-ping-client", variant, script: "UDPPingerClient.py", args: ["{host}", "{port}"], want, ok, seed: 3, ...(timeoutMs === undefined ? {} : { timeoutMs }) });

const CASES: Case[] = [
  //                               send wait reply rtt timed-out late statistics
  pingClient("correct", "✓✓✓✓✓✓✓", true),
  pingClient("late-as-next", "✓✓✓✓✗✗✓", false),
  pingClient("no-statistics", "✓✓✓✓✓✓✗", false),
  pingClient("rtt-from-text", "✓✓✓✗✓✓✓", false),
  // Blocked on ping 8 after about 2.2 s (ping 2 held 1.5 s, ping 3 0.6 s), then killed at 4.5 s.
  pingClient("blocks-forever", "✗✗✓✓✗✓✗", false, 4500),
];

const running = runCases(CASES);

test("udp-ping-client: a client that blocks forever on recvfrom is killed at its time limit", async () => {
  const c = CASES.find((x) => x.variant === "blocks-forever");
  const report = c === undefined ? undefined : await running.get(c);
  assert.equal(report?.runs[0]?.timedOut, true);
  assert.equal(report?.seed, 3);
});

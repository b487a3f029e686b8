/**
 * The UDP client/server lab's client against student-like programs. Its judgements rest on the
 * times between retransmissions, so these checks run in a process of their own, away from the
 * other labs' traffic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCases, type Case } from "./fixtures.js";
import { timeouts, type EchoRun } from "../../src/check/labs/udp-echo-client.js";

const echoClient = (variant: string, want: string, ok: boolean, timeoutMs?: number): Case => ({ lab: "udp-echo-client", variant, script: "udp_client.py", args: ["{host}", "{port}"], want, ok, ...(timeoutMs === undefined ? {} : { timeoutMs }) });

const CASES: Case[] = [
  //                             send reply own-address retransmit backoff give-up spoof
  echoClient("correct", "✓✓✓✓✓✓✓", true),
  echoClient("fixed-timeout", "✓✓✓✓✗✗✓", false),
  echoClient("blocks-forever", "✓✓✓✗✗✗✗", false, 3000),
];

const running = runCases(CASES);

test("udp-echo-client: a client that blocks forever on recvfrom is killed at its time limit in the dead-server run", async () => {
  const c = CASES.find((x) => x.variant === "blocks-forever");
  const report = c === undefined ? undefined : await running.get(c);
  assert.deepEqual(report?.runs.map((r) => r.timedOut), [false, true, false]);
});

test("udp-echo-client: the timeouts are the gaps between datagrams, then the wait before a program that exited by itself", () => {
  const run = (killed: boolean): EchoRun => ({
    startedAt: 0,
    datagrams: [100, 200, 400].map((at) => ({ data: Buffer.alloc(0), at, wallMs: 0, from: { address: "127.0.0.1", port: 1 } })),
    run: { command: [], exitCode: killed ? null : 0, signal: null, killed, timedOut: killed, durationMs: 1200, stdout: "", stderr: "", pgid: undefined },
  });
  assert.deepEqual(timeouts(run(false)), { gaps: [100, 200], final: 800 });
  assert.deepEqual(timeouts(run(true)), { gaps: [100, 200] });
});

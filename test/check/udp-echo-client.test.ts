/**
 * The UDP client/server lab's client against student-like programs. Its judgements rest on the
 * times between retransmissions, so these checks run in a process of their own, away from the
 * other labs' traffic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCases, type Case } from "./fixtures.js";
import { requirements, timeouts, type EchoRun, type UdpEchoClientRecord } from "../../src/check/labs/udp-echo-client.js";
import { timestampIn } from "../../src/check/timestamp.js";

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

test("the current time is found in the forms students send: time.time(), milliseconds, time.ctime(), datetime.now()", () => {
  const wall = Date.UTC(2026, 11, 3, 13, 46, 10, 500);
  const local = new Date(wall);
  const hms = [local.getHours(), local.getMinutes(), local.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
  assert.equal(timestampIn(String(wall / 1000), wall), String(wall / 1000));
  assert.equal(timestampIn(`t=${wall}`, wall), String(wall));
  assert.equal(timestampIn(`Thu Dec  3 ${hms} 2026`, wall), hms);
  assert.equal(timestampIn(`2026-12-03 ${hms}.500000`, wall), hms);
  assert.equal(timestampIn("hello 42", wall), undefined);
});

test("udp-echo-client: the backoff judge takes a late 0.1 s timer, but not a timeout that stays at 0.1 s", () => {
  const backoff = requirements.find((r) => r.id === "backoff");
  assert.ok(backoff !== undefined);
  const record = (gaps: number[], final: number): UdpEchoClientRecord => {
    const at = gaps.reduce<number[]>((acc, g) => [...acc, (acc.at(-1) ?? 0) + g], [0]);
    const run: EchoRun = {
      startedAt: 0,
      datagrams: at.map((t) => ({ data: Buffer.from("1"), at: t, wallMs: 0, from: { address: "127.0.0.1", port: 1 } })),
      run: { command: [], exitCode: 0, signal: null, killed: false, timedOut: false, durationMs: (at.at(-1) ?? 0) + final, stdout: "", stderr: "", pgid: undefined },
    };
    return { live: run, dead: run, forged: run, realSent: true };
  };
  assert.equal(backoff.judge(record([170, 200, 400, 800], 1600)).pass, true);
  assert.equal(backoff.judge(record([100, 100, 100, 100, 100], 100)).pass, false);
  assert.equal(backoff.judge(record([1000], 2000)).pass, true);
  assert.equal(backoff.judge(record([1000], 1000)).pass, false);
});

/**
 * Every lab against student-like Python programs with a known verdict: a correct solution and
 * the typical mistakes. All the checks start at once (each on its own ports) and each test
 * awaits its own, so the file takes about as long as the slowest check.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkStudent, explain, marks } from "./fixtures.js";
import type { CheckReport } from "../../src/check/requirement.js";

interface Case {
  lab: string;
  variant: string;
  script: string;
  args: string[];
  /** One mark per requirement, in the order of `wirekit check --list`. */
  want: string;
  ok: boolean;
  timeoutMs?: number;
  seed?: number;
}

const web = (variant: string, want: string, ok: boolean): Case => ({ lab: "web-server", variant, script: "WebServer.py", args: ["{port}"], want, ok });
const http = (variant: string, want: string, ok: boolean): Case => ({ lab: "http-client", variant, script: "client.py", args: ["{host}", "{port}", "{file}"], want, ok });
const pingServer = (variant: string, want: string, ok: boolean): Case => ({ lab: "udp-ping-server", variant, script: "UDPPingerServer.py", args: ["{port}"], want, ok });
// The lab's default time limits, except for the programs that hang (killed sooner, but with room for a loaded machine).
const smtp = (variant: string, want: string, ok: boolean, timeoutMs?: number): Case => ({ lab: "smtp-client", variant, script: "MailClient.py", args: ["{host}", "{port}"], want, ok, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
const proxy = (variant: string, want: string, ok: boolean): Case => ({ lab: "proxy", variant, script: "ProxyServer.py", args: ["{port}"], want, ok });
// Seed 3: ping 8 is dropped, ping 2's reply is held 1.5 s and ping 3's 0.6 s.
const pingClient = (variant: string, want: string, ok: boolean, timeoutMs?: number): Case => ({ lab: "udp-ping-client", variant, script: "UDPPingerClient.py", args: ["{host}", "{port}"], want, ok, seed: 3, ...(timeoutMs === undefined ? {} : { timeoutMs }) });

const heartbeat = (variant: string, want: string, ok: boolean): Case => ({ lab: "heartbeat-client", variant, script: "UDPHeartbeatClient.py", args: ["{host}", "{port}"], want, ok });

const CASES: Case[] = [
  //                     listen get-200 get-body 404 browser concurrent
  web("correct", "✓✓✓✓–✓", true),
  web("single-thread", "✓✓✓✓–✗", true),
  web("no-404", "✓✓✓✗–✗", false),
  web("short-send", "✓✓✗✓–✗", false),
  //                      get-request show-200 show-404
  http("correct", "✓✓✓", true),
  http("no-slash", "✗✗✗", false),
  //                           bind upper loss garbage
  pingServer("correct", "✓✓✓✓", true),
  pingServer("always-replies", "✓✓✗✓", false),
  pingServer("decodes", "✓✓✓✗", false),
  //                     helo auth mail rcpt data quit order await print mime
  smtp("correct", "✓✓✓✓✓✓✓✓✓✓", true),
  smtp("no-wait", "✓✓✓✓✓✓✓✗✓✗", false),
  smtp("no-dot", "✓✓✓✓✗✗✗✓✓✗", false, 3000),
  smtp("no-quit", "✓✓✓✓✓✗✗✓✓✓", false),
  //                     fetch cache 404 big post validate
  proxy("correct", "✓✓✓✓✓✗", true),
  proxy("never-caches", "✓✗✓✓✓✗", false),
  proxy("truncates", "✓✓✓✗✓✗", true),
  //                               send wait reply rtt timed-out late statistics
  pingClient("correct", "✓✓✓✓✓✓✓", true),
  pingClient("late-as-next", "✓✓✓✓✗✗✓", false),
  pingClient("no-statistics", "✓✓✓✓✓✓✗", false),
  pingClient("rtt-from-text", "✓✓✓✗✓✓✓", false),
  pingClient("blocks-forever", "✗✗✓✓✗✓✗", false, 6000),
  //                       beat sequence timestamp outlives-server
  heartbeat("correct", "✓✓✓✓", true),
  heartbeat("no-timestamp", "✓✓✗✓", false),
  heartbeat("gives-up", "✓✓✓✗", false),
];

// Start them all now; node:test runs the tests one after another, each awaiting its own.
const running = new Map<Case, Promise<CheckReport>>(CASES.map((c) => [c, checkStudent(c.lab, c.variant, c.script, c.args, { ...(c.timeoutMs === undefined ? {} : { timeoutMs: c.timeoutMs }), ...(c.seed === undefined ? {} : { seed: c.seed }) })]));

for (const c of CASES) {
  test(`${c.lab}: the '${c.variant}' student gets ${c.want}`, async () => {
    const report = await running.get(c);
    assert.ok(report !== undefined);
    assert.equal(marks(report), c.want, explain(report));
    assert.equal(report.ok, c.ok);
    for (const o of report.outcomes) if (!o.verdict.pass && !o.verdict.skipped) assert.ok((o.verdict.hint ?? "") !== "", `${o.id} failed without a hint`);
  });
}

test("udp-ping-client: a client that blocks forever on recvfrom is killed at its time limit", async () => {
  const c = CASES.find((x) => x.variant === "blocks-forever");
  const report = c === undefined ? undefined : await running.get(c);
  assert.equal(report?.runs[0]?.timedOut, true);
  assert.equal(report?.seed, 3);
});

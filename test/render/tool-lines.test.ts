import { test } from "node:test";
import assert from "node:assert/strict";
import { renderUdpEchoListening, renderUdpEchoServerTotals } from "../../src/render/udp-echo-server.js";
import { renderSendBigOutcome, sendBigJson, udpEchoJson } from "../../src/render/udp-echo.js";
import {
  renderFleetLines, renderHookTotals, renderHookTotalsJson, renderMetricsLine, renderMonitorListening, renderMonitorListeningJson,
} from "../../src/render/heartbeat-events.js";
import {
  heartbeatSenderDocument, renderHeartbeatJobLine, renderHeartbeatSenderEvent, renderHeartbeatSenderJsonLinesSummary,
  renderHeartbeatSenderProgress, renderHeartbeatSenderStatistics,
} from "../../src/render/heartbeat.js";
import { renderProxyDemoLine } from "../../src/render/proxy.js";
import { renderPingManyHeader, renderPingPattern, renderPingProgress } from "../../src/render/ping.js";
import { renderUdpPingProgress } from "../../src/render/udp-ping.js";
import type { UdpEchoClientEvent, UdpEchoResult } from "../../src/udp/echo/client.js";
import type { SendBigResult } from "../../src/udp/echo/bigsend.js";
import type { HeartbeatSenderResult } from "../../src/udp/heartbeat/sender.js";
import type { ResponseHead } from "../../src/http/client/response.js";

test("udp-echo serve: the listening line names the impairments and their seed only when there are some", () => {
  assert.equal(renderUdpEchoListening({ address: "127.0.0.1", port: 12002, impairment: {}, seed: 7 }), "listening on 127.0.0.1:12002");
  assert.equal(renderUdpEchoListening({ address: "::1", port: 12002, impairment: { loss: 0.3 }, seed: 7 }), "listening on [::1]:12002 (impair: loss 30%, seed 7)");
});

test("udp-echo serve: the totals at exit, incomplete and dropped only when not zero, then the impairments' counts", () => {
  const t = { received: 4, replied: 4, bytes: 92, reassembled: 0, incomplete: 0, dropped: 0, parts: 0, garbage: 0 };
  assert.equal(renderUdpEchoServerTotals(t, undefined), "4 received, 4 replied, 92 bytes, 0 reassembled\n");
  assert.equal(
    renderUdpEchoServerTotals({ ...t, received: 10, replied: 7, incomplete: 1, dropped: 3 }, { lost: 3, duplicated: 1 }),
    "10 received, 7 replied, 92 bytes, 0 reassembled, 1 incomplete, 3 dropped\nimpairments: 3 lost, 1 duplicated\n",
  );
});

const endpoint = (port: number): { address: string; port: number } => ({ address: "127.0.0.1", port });

test("udp-echo --json: the result in snake_case, each attempt's timeout and the datagrams ignored, from the events", () => {
  const events: UdpEchoClientEvent[] = [
    { kind: "start", local: endpoint(5000), server: endpoint(12002), requestId: "ab", bytes: 5 },
    { kind: "attempt", attempt: 1, timeoutMs: 100 },
    { kind: "timeout", attempt: 1, waitedMs: 100, nextTimeoutMs: 200 },
    { kind: "attempt", attempt: 2, timeoutMs: 200 },
    { kind: "ignored", from: endpoint(9), bytes: 3, reason: "not the server" },
  ];
  const r: UdpEchoResult = {
    status: "reply", server: endpoint(12002), local: endpoint(5000), requestId: "ab", messageBytes: 5, attempts: 2, elapsedMs: 101, ignored: 1,
    reply: { text: "hello", id: "ab", from: endpoint(12002), fromServer: true, idMatches: true, bytes: 8, rttMs: 0.5, elapsedMs: 101, attempts: 2 },
  };
  assert.deepEqual(udpEchoJson(r, events), {
    status: "reply", server: endpoint(12002), local: endpoint(5000), request_id: "ab", message_bytes: 5, attempts: 2, elapsed_ms: 101,
    timeouts_ms: [100, 200],
    ignored: [{ from: endpoint(9), bytes: 3, reason: "not the server" }],
    reply: { text: "hello", id: "ab", from: endpoint(12002), from_server: true, id_matches: true, bytes: 8, rtt_ms: 0.5, elapsed_ms: 101 },
  });
  const { reply: _reply, ...none } = r;
  assert.deepEqual(udpEchoJson({ ...none, status: "send-failed", error: "EHOSTUNREACH" }, []), {
    status: "send-failed", server: endpoint(12002), local: endpoint(5000), request_id: "ab", message_bytes: 5, attempts: 2, elapsed_ms: 101,
    timeouts_ms: [], ignored: [], reply: null, error: "EHOSTUNREACH",
  });
});

test("udp-echo send-big: its --json document, and its last line when no verdict came", () => {
  const r: SendBigResult = { single: "too-big", size: 70000, messageId: "m1", limit: 65507, parts: 2, partBytes: 35000, confirmation: "none" };
  assert.deepEqual(sendBigJson(r), { single: "too-big", size: 70000, limit: 65507, parts: 2, part_bytes: 35000, message_id: "m1", confirmation: "none", confirmation_text: null });
  assert.equal(renderSendBigOutcome(r, 2000, false), "no verdict from the server in 2 s (is it a wirekit udp-echo server?)\n");
  assert.equal(renderSendBigOutcome(r, 1500, true), "interrupted before the server's verdict\n");
  assert.equal(renderSendBigOutcome(r, 0, false), "");
  assert.equal(renderSendBigOutcome({ ...r, confirmation: "complete", confirmationText: "received" }, 2000, false), "");
});

const monitor = { address: "0.0.0.0", port: 12001, options: { phiThreshold: 8 }, seed: 7 };

test("heartbeat serve: the listening line, as text and as JSON, with and without impairments", () => {
  assert.equal(renderMonitorListening(monitor, 3000, ""), "listening on 0.0.0.0:12001 (dead after 3.0 s, suspect at phi > 8)");
  assert.equal(renderMonitorListening(monitor, 3000, "impair: loss 20%, seed 7"), "listening on 0.0.0.0:12001 (dead after 3.0 s, suspect at phi > 8, impair: loss 20%, seed 7)");
  assert.equal(renderMonitorListeningJson(monitor, 3000, 0, ""), '{"kind":"listening","address":"0.0.0.0","port":12001,"dead_after_ms":3000,"phi":8,"loss":0,"impairment":null,"seed":null}\n');
  assert.equal(
    renderMonitorListeningJson(monitor, 3000, 0.2, "impair: loss 20%, seed 7"),
    '{"kind":"listening","address":"0.0.0.0","port":12001,"dead_after_ms":3000,"phi":8,"loss":0.2,"impairment":"impair: loss 20%, seed 7","seed":7}\n',
  );
  assert.equal(renderMetricsLine({ address: "::1", port: 9101 }), "metrics on http://[::1]:9101/metrics");
});

test("heartbeat serve: the fleet lines, one per option given, with singular and plural", () => {
  assert.equal(renderFleetLines({}), "");
  assert.equal(
    renderFleetLines({ keys: { clients: 1, required: true, maxSkewMs: 30_000 }, expected: 2, state: { path: "s.json" } }),
    "keys for 1 client, unkeyed clients refused, max skew 30.0 s\nexpecting 2 clients\nstate in s.json (new)\n",
  );
  assert.equal(
    renderFleetLines({ keys: { clients: 3, required: false, maxSkewMs: 1500 }, expected: 1, state: { path: "s.json", loaded: { clients: 1, expectedNotSeen: 0 } } }),
    "keys for 3 clients, max skew 1.5 s\nexpecting 1 client\nstate loaded from s.json: 1 client, 0 expected not seen yet\n",
  );
});

test("heartbeat serve: the hooks' totals at exit, as words and as a JSON line", () => {
  const h = { alerts: 3, delivered: 1, failed: 1, retried: 2, timedOut: 1, dropped: 0 };
  assert.equal(renderHookTotals(h), "hooks: 3 alerts, 1 delivered, 1 failed, 2 retried, 1 timed out, 0 dropped\n");
  assert.equal(renderHookTotalsJson(h), '{"kind":"hooks","alerts":3,"delivered":1,"failed":1,"retried":2,"timed_out":1,"dropped":0}\n');
});

function senderResult(host: string, port: number): HeartbeatSenderResult {
  return {
    host, server: { address: host, port }, id: "web-1", run: "r1", down: false, downEvents: 0,
    totals: { transmitted: 4, received: 3, duplicates: 0, errors: 0, late: 0, elapsedMs: 3000.4 },
    rtt: { count: 3, min: 0.1, avg: 0.2, max: 0.3, mdev: 0.05 },
  };
}

test("heartbeat sender: an event's line carries its monitor with several, and the status line counts answers", () => {
  const miss = { kind: "miss" as const, seq: 3, consecutive: 1 };
  assert.equal(renderHeartbeatSenderEvent(miss, false), "no reply for seq 3\n");
  assert.equal(renderHeartbeatSenderEvent(miss, false, "10.0.0.2:12001"), "[10.0.0.2:12001] no reply for seq 3\n");
  assert.equal(renderHeartbeatSenderEvent(miss, true, "10.0.0.2:12001"), undefined);
  assert.equal(renderHeartbeatSenderProgress(3, 4), "3/4 heartbeats answered\n");
});

test("heartbeat sender: statistics, --json and --json-lines documents for one monitor and for several", () => {
  const one = senderResult("127.0.0.1", 12001);
  const stats = "\n--- 127.0.0.1 heartbeat statistics ---\n4 packets transmitted, 3 received, 25% packet loss, time 3000ms\nrtt min/avg/max/mdev = 0.100/0.200/0.300/0.050 ms\n";
  assert.equal(renderHeartbeatSenderStatistics(one), stats);
  const doc = heartbeatSenderDocument(one) as Record<string, unknown>;
  assert.equal(doc.sent, 4);
  assert.equal(doc.monitors, undefined);
  assert.equal(renderHeartbeatSenderJsonLinesSummary(one), `${JSON.stringify({ kind: "summary", ...doc })}\n`);
  const job = { code: 0, ms: 1234, message: "exit code 0" };
  assert.equal(renderHeartbeatSenderJsonLinesSummary(one, job), `${JSON.stringify({ kind: "summary", ...doc, command: job })}\n`);
  assert.equal(renderHeartbeatJobLine(job), "command: exit code 0, after 1.2 s; reported status=0\n");

  const two = { ...one, monitors: [one, senderResult("10.0.0.2", 12002)] };
  assert.equal(renderHeartbeatSenderStatistics(two), stats.replace("127.0.0.1 ", "127.0.0.1:12001 ") + stats.replace("127.0.0.1 ", "10.0.0.2:12002 "));
  const docs = (heartbeatSenderDocument(two) as { monitors: Array<{ host: string }> }).monitors;
  assert.deepEqual(docs.map((m) => m.host), ["127.0.0.1", "10.0.0.2"]);
});

function head(status: number, cacheStatus?: string): ResponseHead {
  return { statusLine: `HTTP/1.1 ${status} OK`, version: "1.1", status, reason: "OK", headers: cacheStatus === undefined ? [] : [["Cache-Status", cacheStatus]], raw: Buffer.alloc(0) };
}

test("the lab's proxy demo: each fetch's status and Cache-Status in one sentence, the header's control characters escaped", () => {
  const url = new URL("http://127.0.0.1:8080/index.html");
  assert.equal(
    renderProxyDemoLine(url, [head(200, "wirekit; fwd=uri-miss; fwd-status=200; stored"), head(200, "wirekit; hit; ttl=31")]),
    "GET http://127.0.0.1:8080/index.html twice: 200 (wirekit; fwd=uri-miss; fwd-status=200; stored), then 200 (wirekit; hit; ttl=31)",
  );
  assert.equal(renderProxyDemoLine(url, [head(502)]), "GET http://127.0.0.1:8080/index.html once: 502 (-)");
  assert.equal(renderProxyDemoLine(url, [head(200, "x\x1b[2J")]), "GET http://127.0.0.1:8080/index.html once: 200 (x\\x1b[2J)");
});

test("ping's and udp-ping's status lines, ping's header over several targets and its -p line", () => {
  assert.equal(renderPingProgress(4, 3), "3/4 packets, 25% loss\n");
  assert.equal(renderPingProgress(0, 0), "0/0 packets, 0% loss\n");
  assert.equal(renderUdpPingProgress(4, 3), "3/4 packets\n");
  assert.equal(renderPingManyHeader(3, 32), "Pinging 3 targets with 32 bytes of data:\n");
  assert.equal(renderPingPattern(Buffer.from([0xff, 0x00])), "PATTERN: 0xff00\n");
});

test("one wording for a datagram a client ignored, its line and its decision, and seconds with one decimal", async () => {
  const { ignoredDecision, renderIgnoredLine, seconds1 } = await import("../../src/render/text.js");
  assert.equal(ignoredDecision("wrong request id", { address: "::1", port: 53 }), "ignored: wrong request id (from [::1]:53)");
  assert.equal(renderIgnoredLine(12, { address: "10.0.0.9", port: 53 }, "not the server"), "ignored 12 bytes from 10.0.0.9:53: not the server\n");
  assert.equal(seconds1(1250), "1.3 s");
});

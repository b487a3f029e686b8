import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { XMLValidator } from "fast-xml-parser";
import { renderLadderMermaid, renderLadderSvg, renderLadderText, ladderFormat, type Ladder } from "../../src/render/ladder.js";
import { udpPingLadder } from "../../src/render/udp-ping.js";
import { udpEchoLadder } from "../../src/render/udp-echo.js";
import { heartbeatLadder } from "../../src/render/heartbeat.js";
import { pingLadder } from "../../src/render/ping.js";
import { tracerouteLadder } from "../../src/render/traceroute.js";
import { cacheDecision, describeCacheDecision, httpGetLadder, type HttpGetWireEvent } from "../../src/render/http-get.js";
import { EventLog, type Timed } from "../../src/render/record.js";
import { FakeClock } from "../../src/core/clock.js";
import type { UdpPingEvent } from "../../src/udp/ping/client.js";
import type { UdpEchoClientEvent } from "../../src/udp/echo/client.js";
import type { HeartbeatSenderEvent } from "../../src/udp/heartbeat/sender.js";
import type { IcmpPingEvent } from "../../src/icmp/ping.js";
import type { TracerouteEvent } from "../../src/icmp/traceroute.js";
import type { ResponseHead } from "../../src/http/client/response.js";

const S = { address: "127.0.0.1", port: 12000 };
const L = { address: "127.0.0.1", port: 40000 };
const timed = <E>(xs: Array<[number, E]>): Array<Timed<E>> => xs.map(([at, event]) => ({ at, event }));
const messages = (l: Ladder): number => l.rows.filter((r) => r.kind === "message").length;

/** Check the three outputs of a ladder: valid SVG with one arrow line per message, Mermaid with one arrow per message. */
function checkOutputs(l: Ladder): { svg: string; mmd: string; txt: string } {
  const svg = renderLadderSvg(l);
  assert.equal(XMLValidator.validate(svg), true);
  const arrows = (svg.match(/<line [^>]*class="(?:c2s|s2c)[^"]*"/g) ?? []).length;
  assert.equal(arrows, messages(l), "one arrow per message");
  const lost = l.rows.filter((r) => r.kind === "message" && r.fate === "lost").length;
  assert.equal((svg.match(/class="cross"/g) ?? []).length, lost, "one cross per lost message");
  const mmd = renderLadderMermaid(l);
  const mlines = mmd.trimEnd().split("\n");
  assert.equal(mlines[0], "sequenceDiagram");
  assert.equal(mlines.filter((x) => /^ {2}\w+(?:-->>|->>|--x|-x)\w+: /.test(x)).length, messages(l));
  const txt = renderLadderText(l);
  for (const r of l.rows) if (r.kind === "message" && r.decision !== undefined) {
    assert.ok(svg.includes(r.decision.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")), r.decision);
    assert.ok(txt.includes(r.decision), r.decision);
  }
  return { svg, mmd, txt };
}

describe("ladder diagrams", () => {
  it("picks the format from the file name", () => {
    assert.equal(ladderFormat("a.svg"), "svg");
    assert.equal(ladderFormat("a.MMD"), "mermaid");
    assert.equal(ladderFormat("a.txt"), "text");
    assert.equal(ladderFormat("a.png"), undefined);
  });

  it("udp-ping: a timed-out ping ends in a cross, a late reply is drawn past its deadline, a forged datagram is ignored with its source", () => {
    const log = timed<UdpPingEvent>([
      [0, { kind: "start", host: "127.0.0.1", server: S, local: L, size: 0 }],
      [0, { kind: "sent", seq: 1, bytes: 30 }],
      [0.4, { kind: "reply", seq: 1, rttMs: 0.4, from: S, message: "PING 1" }],
      [0.5, { kind: "duplicate", seq: 1, rttMs: 0.5, from: S }],
      [200, { kind: "sent", seq: 2, bytes: 30 }],
      [300, { kind: "foreign", from: { address: "10.9.9.9", port: 53 }, bytes: 12 }],
      [400, { kind: "sent", seq: 3, bytes: 30 }],
      [1200, { kind: "timeout", seq: 2 }],
      [1400, { kind: "timeout", seq: 3 }],
      [1500, { kind: "late", seq: 3, rttMs: 1100, from: S }],
    ]);
    const l = udpPingLadder(log, { timeoutMs: 1000 });
    const { svg, txt, mmd } = checkOutputs(l);
    const rows = l.rows.filter((r) => r.kind === "message");
    assert.equal(rows.filter((r) => r.fate === "lost").length, 1, "seq 2 lost; seq 3's late reply shows the ping arrived");
    assert.match(svg, /late reply for seq 3 \(RTT 1100\.000 ms &gt; timeout 1 s\), counted lost/);
    assert.match(svg, /class="deadline"/);
    assert.match(txt, /ignored: from 10\.9\.9\.9:53, not the server/);
    assert.match(txt, /duplicate reply for seq 1 \(DUP!\)/);
    assert.match(txt, /X/);
    assert.match(mmd, /C-xS: PING seq 2/);
  });

  it("udp-echo: each retransmission with its backoff, the forged reply ignored, then the reply", () => {
    const log = timed<UdpEchoClientEvent>([
      [0, { kind: "start", local: L, server: S, requestId: "00112233aabbccdd", bytes: 2 }],
      [0, { kind: "attempt", attempt: 1, timeoutMs: 100 }],
      [50, { kind: "ignored", from: S, bytes: 40, reason: "wrong request id" }],
      [100, { kind: "timeout", attempt: 1, waitedMs: 100, nextTimeoutMs: 200 }],
      [100, { kind: "attempt", attempt: 2, timeoutMs: 200 }],
    ]);
    const result = { status: "reply" as const, server: S, local: L, requestId: "00112233aabbccdd", messageBytes: 2, attempts: 2, elapsedMs: 101, ignored: 1, reply: { text: "I received", from: S, fromServer: true, idMatches: true, bytes: 2, attempts: 2, rttMs: 1, elapsedMs: 101 } };
    const l = udpEchoLadder(log, result, 101);
    const { txt } = checkOutputs(l);
    assert.equal(messages(l), 4);
    assert.match(txt, /retransmission 1, timeout 200 ms/);
    assert.match(txt, /ignored: wrong request id \(from 127\.0\.0\.1:12000\)/);
    assert.match(txt, /backoff: next wait 200 ms/);
  });

  it("heartbeat: one lifeline per monitor, a missed heartbeat ends in a cross, down and up are notes", () => {
    const M2 = { address: "127.0.0.1", port: 12001 };
    const log = timed<HeartbeatSenderEvent>([
      [0, { kind: "start", host: "a", server: S, local: L, id: "web-1", run: "r", intervalMs: 100, monitor: 0 }],
      [0, { kind: "start", host: "b", server: M2, local: L, id: "web-1", run: "r", intervalMs: 100, monitor: 1 }],
      [0, { kind: "sent", seq: 1, bytes: 40 }],
      [1, { kind: "reply", seq: 1, rttMs: 1, delayMs: 0, monitor: 0 }],
      [100, { kind: "miss", seq: 1, consecutive: 1, monitor: 1 }],
      [100, { kind: "down", misses: 1, monitor: 1 }],
    ]);
    const l = heartbeatLadder(log, { timeoutMs: 100 });
    assert.equal(l.lifelines.length, 3);
    const { txt } = checkOutputs(l);
    assert.match(txt, /seq 1 missed \(1 in a row\)/);
    assert.match(txt, /monitor down/);
  });

  it("ping: an ICMP error from a router and a wrong-data reply carry their decision", () => {
    const log = timed<IcmpPingEvent>([
      [0, { kind: "start", host: "h", address: "10.0.0.2", family: 4, size: 56, socket: "raw", id: 7 }],
      [0, { kind: "sent", seq: 1 }],
      [1, { kind: "reply", seq: 1, from: "10.0.0.2", bytes: 64, ttl: 63, rttMs: 1, differentAddress: false }],
      [1, { kind: "wrong-data", seq: 1, from: "10.0.0.2", duplicate: false, mismatch: { index: 3, expected: 1, actual: 2 } }],
      [1000, { kind: "sent", seq: 2 }],
      [2000, { kind: "timeout", seq: 2 }],
    ]);
    const { txt } = checkOutputs(pingLadder(log, { timeoutMs: 1000 }));
    assert.match(txt, /reply data differs from the request at byte #3/);
    assert.match(txt, /no reply within 1 s: seq 2 counted lost/);
  });

  it("traceroute: one probe and its ICMP reply per TTL, a silent hop ends in a cross", () => {
    const log = timed<TracerouteEvent>([
      [0, { kind: "start", host: "d", address: "10.0.0.3", family: 4, maxHops: 30, packetBytes: 60, socket: "raw", method: "icmp", paris: false, flow: {} as never }],
      [1, { kind: "hop", hop: { hop: 1, probes: [{ from: "10.0.0.1", rttMs: 0.1, annotation: "", reached: false }] } }],
      [2, { kind: "hop", hop: { hop: 2, probes: [{ from: null }] } }],
      [3, { kind: "hop", hop: { hop: 3, probes: [{ from: "10.0.0.3", rttMs: 0.3, annotation: "", reached: true }] } }],
    ]);
    const l = tracerouteLadder(log);
    assert.equal(l.lifelines.length, 4);
    const { txt } = checkOutputs(l);
    assert.match(txt, /Time Exceeded from 10\.0\.0\.1/);
    assert.match(txt, /reply from the destination from 10\.0\.0\.3/);
  });

  it("http get through the proxy: the proxy is a third lifeline, its Cache-Status decision is written", () => {
    assert.deepEqual(cacheDecision("wirekit; hit; ttl=31"), { hit: true, ttl: 31, stored: false });
    assert.equal(describeCacheDecision(cacheDecision("other; fwd=miss, wirekit; fwd=uri-miss; fwd-status=200; stored")!), "cache MISS (fwd=uri-miss), stored");
    const head = (cs: string): ResponseHead => ({ statusLine: "HTTP/1.1 200 OK", version: "HTTP/1.1", status: 200, reason: "OK", headers: [["Content-Length", "6"], ["Cache-Status", cs]], raw: Buffer.alloc(0) });
    const url = new URL("http://127.0.0.1:8000/a");
    const req = (at: number): [number, HttpGetWireEvent] => [at, { kind: "request", head: "GET http://127.0.0.1:8000/a HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n", remote: { address: "127.0.0.1", port: 3128 }, url, proxy: true }];
    const miss = httpGetLadder(timed<HttpGetWireEvent>([req(0), [2, { kind: "head", head: head("wirekit; fwd=uri-miss; fwd-status=200; stored"), interim: false }], [3, { kind: "body", bytes: 6 }]]));
    assert.equal(miss.lifelines.length, 3);
    assert.equal(messages(miss), 5, "request, inferred fetch and answer, response, body");
    checkOutputs(miss);
    const hit = httpGetLadder(timed<HttpGetWireEvent>([req(0), [1, { kind: "head", head: head("wirekit; hit; ttl=31"), interim: false }]]));
    assert.equal(messages(hit), 2, "a hit never reaches the origin");
    assert.match(checkOutputs(hit).txt, /cache HIT ttl=31/);
  });

  it("escapes peer text in the SVG and keeps Mermaid syntax out of labels", () => {
    const l: Ladder = { title: "<t>", lifelines: [{ id: "C", label: "a&b" }, { id: "S", label: "s" }], rows: [{ kind: "message", from: 1, to: 0, lines: ["<svg onload=x> ; # \u0001"], at: 0, decision: "<b>" }] };
    const { svg, mmd } = checkOutputs(l);
    assert.ok(!svg.includes("<svg onload"));
    // eslint-disable-next-line no-control-regex -- finding raw control characters is the point
    assert.ok(!/[\u0000-\u0008\u000b-\u001f]/.test(renderLadderText(l)), "no raw control characters in the text diagram");
    assert.match(renderLadderText(l), /\\x01/);
    assert.ok(!/[;#<>]/.test((mmd.split("\n")[3] ?? "").replace(/#(?:\d+|lt|gt);/g, "").slice(8)));
  });

  it("times events on the injected clock", () => {
    const clock = new FakeClock();
    const log = new EventLog<string>(clock);
    clock.advance(500);
    log.push("a");
    clock.advance(250);
    log.push("b");
    assert.deepEqual(log.entries, [{ at: 0, event: "a" }, { at: 250, event: "b" }]);
  });
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { renderUdpPingServerEvent, udpPingServerDecision } from "../../src/render/udp-ping.js";
import { renderStaticServerEvent } from "../../src/render/http-server.js";
import { renderProxyServerEvent } from "../../src/render/proxy.js";
import { renderMailSinkEvent } from "../../src/render/mail-sink.js";
import { renderJsonLine } from "../../src/render/text.js";

test("a udp-ping server event is one line: source, the escaped payload, what the impairments did", () => {
  const e = { kind: "datagram" as const, at: 0, from: { address: "::1", port: 5 }, message: Buffer.from("Ping 1\x1b[2J\n"), dropped: true, impairment: "dropped" };
  assert.equal(renderUdpPingServerEvent(e), "[::1]:5 Ping 1\\x1b[2J\\n  dropped");
  assert.equal(udpPingServerDecision(e, 7), "dropped (simulated, seed 7)");
  const { impairment: _none, ...plain } = e;
  assert.equal(renderUdpPingServerEvent({ ...plain, dropped: false }), "[::1]:5 Ping 1\\x1b[2J\\n");
  assert.equal(udpPingServerDecision({ ...plain, dropped: false }, 7), undefined);
});

test("the web server's and the proxy's lines: the access log, and a handler error with the peer's bytes escaped", () => {
  const record = { at: Date.UTC(2000, 9, 10, 13, 55, 36), client: "127.0.0.1", method: "GET", path: "/", httpVersion: "1.1", status: 200, bytes: 12, ms: 0.4 };
  assert.equal(renderStaticServerEvent({ kind: "request", record }), '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 12 0.400ms');
  assert.equal(renderStaticServerEvent({ kind: "handler-error", method: "GET", target: "/a\x1b[2J", client: "127.0.0.1", message: "boom\r\n" }), "error answering GET /a\\x1b[2J from 127.0.0.1: boom\\r\\n (sent 500)");
  const access = { at: 0, client: "127.0.0.1", method: "GET", url: "http://h/", status: 200, bytes: 1024, ms: 1.23, cacheStatus: "HIT" };
  assert.equal(renderProxyServerEvent({ kind: "request", record: access }), "1970-01-01T00:00:00.000Z 127.0.0.1 GET http://h/ 200 1024 1.2ms HIT");
});

test("the mail sink's lines escape what the sender wrote", () => {
  const message = { id: "1", at: 0, from: "a@b", to: "c@d", subject: "", attachments: [{ filename: "x", contentType: "text/plain", size: 1 }] };
  assert.equal(renderMailSinkEvent({ kind: "message", message }), "from a@b to c@d: (no subject), 1 attachment(s)");
  assert.equal(renderMailSinkEvent({ kind: "rejected", at: 0, reason: "message too big", from: "" }), "rejected from <>: message too big");
});

test("a --json-lines line is the event in snake_case with its wall time last", () => {
  assert.equal(renderJsonLine({ kind: "reply", rttMs: 1.5, from: { address: "h" } }, 0), '{"kind":"reply","rtt_ms":1.5,"from":{"address":"h"},"at":"1970-01-01T00:00:00.000Z"}\n');
});

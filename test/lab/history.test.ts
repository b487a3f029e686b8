import { test } from "node:test";
import assert from "node:assert/strict";
import { DashboardHistory, Ring } from "../../src/lab/dashboard/history.js";
import { metricName } from "../../src/lab/dashboard/metrics.js";

test("a ring keeps only its newest items, oldest first", () => {
  const r = new Ring<number>(3);
  for (let i = 1; i <= 5; i++) r.push(i);
  assert.deepEqual(r.toArray(), [3, 4, 5]);
});

test("heartbeat samples go to their client's series and other events to the feed", () => {
  const h = new DashboardHistory({ perClient: 2, feed: 2 });
  h.recordEvent({ service: "heartbeat", kind: "heartbeat", at: 1, text: "", data: { client: "a", seq: 1, delayMs: 0.5 } });
  h.recordEvent({ service: "heartbeat", kind: "heartbeat", at: 2, text: "", data: { client: "a", seq: 2, delayMs: Infinity } });
  h.recordEvent({ service: "heartbeat", kind: "heartbeat", at: 3, text: "", data: { client: "a", seq: 3, delayMs: 0.7 } });
  h.recordEvent({ service: "heartbeat", kind: "heartbeat", at: 3, text: "", data: { seq: 3 } });
  h.recordEvent({ service: "udp-ping", kind: "datagram", at: 4, text: "x" });
  h.recordEvent({ service: "heartbeat", kind: "lost", at: 5, text: "lost 4-5" });
  assert.deepEqual(h.clientSeries("a"), [
    { at: 2, seq: 2, delayMs: null },
    { at: 3, seq: 3, delayMs: 0.7 },
  ]);
  assert.deepEqual(h.feed.toArray().map((e) => e.kind), ["lost"], "datagrams and malformed samples stay out of the feed");
});

test("the dashboard tracks a bounded number of heartbeat clients, forgetting the least recently heard", () => {
  const h = new DashboardHistory({ clients: 2 });
  const beat = (client: string, seq: number) => h.recordEvent({ service: "heartbeat", kind: "heartbeat", at: seq, text: "", data: { client, seq, delayMs: 1 } });
  beat("a", 1);
  beat("b", 2);
  beat("a", 3);
  beat("c", 4);
  assert.equal(h.clientSeries("b").length, 0);
  assert.equal(h.clientSeries("a").length, 2);
  assert.equal(h.clientSeries("c").length, 1);
});

test("metric names are snake_case Prometheus names", () => {
  assert.equal(metricName("wirekit", "udp-ping", "bytesFromCache"), "wirekit_udp_ping_bytes_from_cache");
  assert.equal(metricName("wirekit", "http", "2xx responses"), "wirekit_http_2xx_responses");
  assert.match(metricName("wirekit", "x", "a.b-c"), /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
});

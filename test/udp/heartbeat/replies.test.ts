import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplyTracker } from "../../../src/udp/heartbeat/replies.js";

test("replies are matched by seq: reply, late after a timeout, duplicate, unknown", () => {
  const t = new ReplyTracker();
  t.sent(1, 0);
  t.sent(2, 100);
  assert.deepEqual(t.receive(1, 5), { kind: "reply", seq: 1, rttMs: 5 });
  assert.deepEqual(t.receive(1, 7), { kind: "duplicate", seq: 1, rttMs: 7 });
  assert.equal(t.expire(2), true);
  assert.equal(t.expire(1), false, "an answered heartbeat does not time out");
  assert.deepEqual(t.receive(2, 1300), { kind: "late", seq: 2, rttMs: 1200 });
  assert.deepEqual(t.receive(99, 1300), { kind: "unknown", seq: 99 });
  assert.deepEqual(t.totals(2000), { transmitted: 2, received: 1, duplicates: 1, errors: 0, late: 1, elapsedMs: 2000 });
  assert.equal(t.rtt.count, 1);
});

test("memory stays bounded over an endless run", () => {
  const t = new ReplyTracker(64);
  for (let seq = 1; seq <= 100_000; seq++) {
    t.sent(seq, seq);
    if (seq % 3 === 0) t.expire(seq);
    else t.receive(seq, seq + 1);
  }
  assert.ok(t.size <= 128, `holds ${t.size} entries`);
  assert.equal(t.totals(0).transmitted, 100_000);
  // a reply for a heartbeat long forgotten is unknown, not a crash or a false duplicate
  assert.equal(t.receive(5, 1e6).kind, "unknown");
});

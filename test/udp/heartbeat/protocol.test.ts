import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeHeartbeat, decodeHeartbeatReply, encodeHeartbeat, encodeHeartbeatReply, MAX_HEARTBEAT_BYTES } from "../../../src/udp/heartbeat/protocol.js";
import { createRandom } from "../../../src/core/random.js";

test("a heartbeat round-trips with id and run fields", () => {
  const buf = encodeHeartbeat({ seq: 42, timestamp: 1763852851.123456, id: "web-1", run: "9f2c" });
  assert.equal(buf.toString(), "42 1763852851.123456 id=web-1 run=9f2c");
  assert.deepEqual(decodeHeartbeat(buf), { ok: true, value: { seq: 42, timestamp: 1763852851.123456, id: "web-1", run: "9f2c" } });
});

test("the lab's bare '<seq> <timestamp>' line decodes, with a trailing newline too", () => {
  assert.deepEqual(decodeHeartbeat(Buffer.from("7 1763852851.5\n")), { ok: true, value: { seq: 7, timestamp: 1763852851.5 } });
  assert.deepEqual(decodeHeartbeat(Buffer.from("0 1763852851")), { ok: true, value: { seq: 0, timestamp: 1763852851 } });
});

test("unknown key=value fields and bare words after the timestamp are ignored", () => {
  const d = decodeHeartbeat(Buffer.from("3 1763852851.5 zone=eu future id=a"));
  assert.deepEqual(d, { ok: true, value: { seq: 3, timestamp: 1763852851.5, id: "a" } });
});

test("sequence numbers beyond 2^32 decode exactly, up to 2^53 - 1", () => {
  const big = 2 ** 32 + 5;
  const d = decodeHeartbeat(encodeHeartbeat({ seq: big, timestamp: 1 }));
  assert.ok(d.ok && d.value.seq === big);
  const max = Number.MAX_SAFE_INTEGER;
  const m = decodeHeartbeat(Buffer.from(`${max} 1`));
  assert.ok(m.ok && m.value.seq === max);
  assert.equal(decodeHeartbeat(Buffer.from(`${max + 1} 1`)).ok, false);
});

test("malformed heartbeats are values, not exceptions", () => {
  const bad = [
    "",
    "   ",
    "hello",
    "-1 1763852851",
    "1.5 1763852851",
    "1",
    "1 abc",
    "1 -5",
    "1 1e12",
    "1 NaN",
    "1 Infinity",
    "0x10 1763852851",
    "1 1763852851 id=",
    `1 1763852851 id=${"x".repeat(65)}`,
    "1\u00001763852851",
    "x".repeat(MAX_HEARTBEAT_BYTES + 1),
  ];
  for (const b of bad) {
    const d = decodeHeartbeat(Buffer.from(b, "latin1"));
    assert.equal(d.ok, false, `accepted ${JSON.stringify(b.slice(0, 40))}`);
  }
  assert.equal(decodeHeartbeat(Buffer.from([0xff, 0x31, 0x20, 0x31])).ok, false);
});

test("no decoder throws on random bytes", () => {
  const r = createRandom(3);
  for (let i = 0; i < 2000; i++) {
    const buf = r.bytes(r.int(80));
    decodeHeartbeat(buf);
    decodeHeartbeatReply(buf);
  }
});

test("the reply is '<seq> <time_diff>' and the Python server's float format decodes", () => {
  assert.equal(encodeHeartbeatReply(42, 0.000061).toString(), "42 0.000061");
  assert.deepEqual(decodeHeartbeatReply(Buffer.from("42 6.103515625e-05")), { ok: true, value: { seq: 42, timeDiff: 6.103515625e-5 } });
  assert.deepEqual(decodeHeartbeatReply(Buffer.from("3 -0.25")), { ok: true, value: { seq: 3, timeDiff: -0.25 } });
  assert.equal(decodeHeartbeatReply(Buffer.from("PONG")).ok, false);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { decodePing, encodePing, upperCaseAscii, formatLocalTimestamp } from "../../../src/udp/ping/protocol.js";
import { renderPingStatistics } from "../../../src/render/text.js";
import { RttStats } from "../../../src/core/stats.js";

test("encodePing writes 'Ping <seq> <local date time.ms>'", () => {
  const t = new Date(2026, 10, 22, 23, 7, 31, 123).getTime();
  assert.equal(formatLocalTimestamp(t), "2026-11-22 23:07:31.123");
  assert.equal(encodePing(7, t).toString(), "Ping 7 2026-11-22 23:07:31.123");
});

test("encodePing pads to the requested size and never truncates", () => {
  const t = new Date(2026, 0, 1).getTime();
  const padded = encodePing(1, t, 100);
  assert.equal(padded.length, 100);
  assert.match(padded.toString(), /^Ping 1 2026-01-01 00:00:00\.000 \.+$/);
  assert.equal(encodePing(1, t, 3).toString(), "Ping 1 2026-01-01 00:00:00.000");
});

test("decodePing reads the sequence number from the ping and from its upper-cased echo", () => {
  const t = new Date(2026, 0, 1).getTime();
  const ping = encodePing(12345, t);
  const a = decodePing(ping);
  const b = decodePing(upperCaseAscii(ping));
  assert.ok(a.ok && b.ok);
  assert.equal(a.value.seq, 12345);
  assert.equal(b.value.seq, 12345);
});

test("decodePing returns an error value for garbage, never throws", () => {
  const samples = [Buffer.alloc(0), Buffer.from("hello world"), Buffer.from("Ping x 1"), Buffer.from("PONG 1 2"), Buffer.from([0xff, 0, 1, 2, 3, 4, 5, 6])];
  for (const s of samples) assert.equal(decodePing(s).ok, false, s.toString("hex"));
  for (let i = 0; i < 2000; i++) {
    const len = (i * 7919) % 80;
    const buf = Buffer.alloc(len, i & 0xff);
    assert.doesNotThrow(() => decodePing(buf));
  }
});

test("upperCaseAscii upper-cases a-z only and leaves other bytes alone", () => {
  const input = Buffer.concat([Buffer.from("ping é z{}", "utf8"), Buffer.from([0, 0x61, 0xe9, 0x7b])]);
  const out = upperCaseAscii(input);
  assert.equal(out.subarray(0, 11).toString("utf8"), "PING é Z{}");
  assert.deepEqual([...out.subarray(11)], [0, 0x41, 0xe9, 0x7b]);
  assert.equal(upperCaseAscii(Buffer.alloc(0)).length, 0);
});

test("the statistics block matches iputils' format, with mdev computed by hand", () => {
  const rtt = new RttStats();
  for (const x of [0.052, 0.06, 0.103, 0.07, 0.055, 0.062, 0.095]) rtt.add(x);
  // avg = 0.497/7 = 0.071; Σx² = 0.037707, so mdev = sqrt(0.037707/7 − 0.071²) = sqrt(0.0003457) = 0.01859
  const text = renderPingStatistics("127.0.0.1", "udp-ping", { transmitted: 10, received: 7, duplicates: 0, errors: 0, late: 0, elapsedMs: 9008.4 }, rtt.summary());
  assert.equal(
    text,
    "\n--- 127.0.0.1 udp-ping statistics ---\n10 packets transmitted, 7 received, 30% packet loss, time 9008ms\nrtt min/avg/max/mdev = 0.052/0.071/0.103/0.019 ms\n",
  );
  const none = renderPingStatistics("h", "udp-ping", { transmitted: 3, received: 0, duplicates: 0, errors: 0, late: 1, elapsedMs: 2000 }, new RttStats().summary());
  assert.equal(none, "\n--- h udp-ping statistics ---\n3 packets transmitted, 0 received, +1 late, 100% packet loss, time 2000ms\n");
});

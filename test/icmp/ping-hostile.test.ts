import { test } from "node:test";
import assert from "node:assert/strict";
import { createRandom } from "../../src/core/random.js";
import { IcmpPinger, type IcmpPingEvent } from "../../src/icmp/ping.js";
import { IcmpSocket } from "../../src/icmp/socket.js";
import { systemClock, type Clock } from "../../src/core/clock.js";
import { echoPayload, encodeEchoRequest, internetChecksum } from "../../src/icmp/message/index.js";
import { lossText, renderPingEvent as renderEvent, renderIcmpPingStatistics as renderStatistics } from "../../src/render/ping.js";

const rootOnly = process.getuid?.() === 0 ? {} : { skip: "needs root (raw ICMP sockets)" };

/** An ICMP error of `type`/`code` quoting our echo request `seq` to 127.0.0.1. */
function forgedError(type: number, code: number, id: number, seq: number): Buffer {
  const ip = Buffer.from("450000540000400040010000" + "7f000001" + "7f000001", "hex");
  const echo = encodeEchoRequest({ family: 4, id, seq, data: Buffer.alloc(0) });
  const b = Buffer.concat([Buffer.from([type, code, 0, 0, 127, 0, 0, 254]), ip, echo]);
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

function forgedReply(id: number, seq: number, badChecksum = false, data: Uint8Array = Buffer.alloc(56)): Buffer {
  const b = encodeEchoRequest({ family: 4, id, seq, data });
  b[0] = 0;
  b.writeUInt16BE(0, 2);
  b.writeUInt16BE(internetChecksum(b) ^ (badChecksum ? 0x0101 : 0), 2);
  return b;
}

// Truncated ICMP (< 8 bytes) never reaches a filtered raw socket (the kernel's icmp_filter drops
// it); the decoder's handling of it is covered in message.test.ts.
test("forged duplicates are flagged, and bad checksums, other ids and unknown sequences are ignored without a crash", rootOnly, async () => {
  const seed = 4711;
  const id = createRandom(seed).int(0x10000);
  const pinger = new IcmpPinger({ host: "127.0.0.1", count: 3, intervalMs: 300, random: createRandom(seed) });
  const forger = IcmpSocket.open({ family: 4, kind: "raw" });
  const events: IcmpPingEvent[] = [];
  pinger.on("event", (e) => {
    events.push(e);
    if (e.kind === "reply" && e.seq === 0) {
      forger.send(forgedReply(id, 0), "127.0.0.1"); // a duplicate of seq 0
      forger.send(forgedReply(id, 1, true), "127.0.0.1"); // our id, bad checksum
      forger.send(forgedReply((id + 1) & 0xffff, 1), "127.0.0.1"); // someone else's ping
      forger.send(forgedReply(id, 999), "127.0.0.1"); // a sequence we never sent
      forger.send(forgedError(5, 1, id, 0), "127.0.0.1"); // a redirect: advice, not a failure
      forger.send(forgedError(3, 1, id, 0), "127.0.0.1"); // an error for a probe already answered
    }
  });
  try {
    const r = await pinger.run();
    assert.equal(r.totals.received, 3);
    assert.equal(r.totals.duplicates, 1);
    const dup = events.find((e) => e.kind === "duplicate");
    assert.equal(dup?.kind === "duplicate" && dup.seq, 0);
    assert.match(renderEvent(dup ?? assert.fail()) ?? "", /^Reply from 127\.0\.0\.1: bytes=56 time=\d+\.\d{3}ms TTL=64 \(DUP!\)\n$/);
    const reasons = events.flatMap((e) => (e.kind === "ignored" ? [e.reason] : []));
    assert.ok(reasons.some((x) => /bad checksum/.test(x)), reasons.join("; "));
    assert.ok(reasons.some((x) => x === `echo reply for id ${(id + 1) & 0xffff}`), reasons.join("; "));
    assert.ok(reasons.some((x) => /unknown sequence 999/.test(x)), reasons.join("; "));
    assert.equal(r.pings.filter((p) => p.status === "reply").length, 3);
    const advisory = events.find((e) => e.kind === "advisory");
    assert.equal(advisory?.kind === "advisory" && advisory.text, "Redirect host (new nexthop: 127.0.0.254).");
    assert.equal(events.filter((e) => e.kind === "error").length, 0, "an error after the reply changes nothing");
    assert.equal(r.totals.errors, 0);
  } finally {
    forger.close();
  }
});

test("a forged echo reply whose data differs by one byte is reported as a wrong data byte and counted as corrupted", rootOnly, async () => {
  const seed = 4712;
  const id = createRandom(seed).int(0x10000);
  // A fixed wall clock makes the data of every probe known, so the forger can copy it exactly.
  const wallMs = 1_700_000_000_000;
  const clock: Clock = { ...systemClock, now: () => wallMs };
  const pinger = new IcmpPinger({ host: "127.0.0.1", count: 2, intervalMs: 300, random: createRandom(seed), clock });
  const forger = IcmpSocket.open({ family: 4, kind: "raw" });
  const events: IcmpPingEvent[] = [];
  pinger.on("event", (e) => {
    events.push(e);
    if (e.kind === "reply" && e.seq === 0) {
      const data = echoPayload(56, BigInt(wallMs) * 1_000_000n);
      data[20] = 0xee; // was 0x14
      // The kernel has already answered seq 0 on loopback, so the forgery arrives as its duplicate.
      forger.send(forgedReply(id, 0, false, data), "127.0.0.1");
    }
  });
  try {
    const r = await pinger.run();
    const lines = events.flatMap((e) => (e.kind === "wrong-data" ? [renderEvent(e)] : []));
    assert.deepEqual(lines, ["wrong data byte #20 should be 0x14 but was 0xee\n"]);
    assert.equal(r.totals.corrupted, 1);
    assert.equal(r.totals.received, 2, "iputils still counts it");
    assert.match(renderStatistics(r), /\n {4}Corrupted = 1 \(wrong data, included in Received and Duplicates\)\n/);
  } finally {
    forger.close();
  }
});

test("the statistics block is the lab's Windows-style block", () => {
  const out = renderStatistics({
    host: "example.test",
    address: "192.0.2.1",
    family: 4,
    socket: "raw",
    pings: [],
    totals: { transmitted: 4, received: 2, duplicates: 0, errors: 2, late: 0, corrupted: 0, elapsedMs: 3000 },
    rtt: { count: 2, min: 0.038, max: 0.041, avg: 0.0395, mdev: 0.0015 },
  });
  assert.equal(
    out,
    "\nPing statistics for 192.0.2.1:\n" +
      "    Packets: Sent = 4, Received = 2, Lost = 2 (50% loss),\n" +
      "Approximate round trip times in milli-seconds:\n" +
      "    Minimum = 0.038ms, Maximum = 0.041ms, Average = 0.040ms, Std dev = 0.002ms\n",
  );
});

test("per-probe lines match the lab's format", () => {
  assert.equal(renderEvent({ kind: "start", host: "example.test", address: "192.0.2.1", family: 4, size: 56, socket: "raw", id: 1 }), "Pinging example.test [192.0.2.1] with 56 bytes of data:\n");
  assert.equal(renderEvent({ kind: "reply", seq: 0, from: "192.0.2.1", bytes: 56, ttl: 64, rttMs: 0.0412, differentAddress: false }), "Reply from 192.0.2.1: bytes=56 time=0.041ms TTL=64\n");
  assert.equal(renderEvent({ kind: "timeout", seq: 1 }), "Request timed out.\n");
});

test("loss is a whole number when exact, else one decimal that never rounds to 0% or 100%", () => {
  assert.deepEqual([50, 100 / 3, 200 / 3, 0.05, 99.95, 0, 100].map(lossText), ["50", "33.3", "66.6", "0.05", "99.9", "0", "100"]);
});

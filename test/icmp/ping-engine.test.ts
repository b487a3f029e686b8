/**
 * ICMP ping on the probe engine, on fake time with a fake socket: replies matched to their
 * target by source address, identifier and sequence (never arrival order), errors matched by
 * the destination they quote, -w, -O, and the wire sequence numbers of several targets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import { createRandom } from "../../src/core/random.js";
import { IcmpPinger, type IcmpPingEvent, type IcmpProbeSocket } from "../../src/icmp/ping.js";
import { decodeIcmp, internetChecksum, type IcmpMessage } from "../../src/icmp/message/index.js";
import type { IcmpReceived } from "../../src/icmp/socket.js";

interface Answer {
  afterMs: number;
  /** The reply's source address. */
  from: string;
  /** An ICMP error (type 3 code 1) quoting the request, instead of an echo reply. */
  unreachable?: boolean;
}

function echoReply(req: Buffer): Buffer {
  const b = Buffer.from(req);
  b[0] = 0;
  b.writeUInt16BE(0, 2);
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/** Destination Host Unreachable from a router, quoting an IPv4 header to `dst` and the request. */
function hostUnreachable(req: Buffer, dst: string): Buffer {
  const ip = Buffer.from("450000540000400040010000c0000201" + Buffer.from(dst.split(".").map(Number)).toString("hex"), "hex");
  const b = Buffer.concat([Buffer.from([3, 1, 0, 0, 0, 0, 0, 0]), ip, req.subarray(0, 8)]);
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/** A raw ICMP socket on fake time: each request is answered as `script` says. */
class FakeIcmpSocket implements IcmpProbeSocket {
  readonly family = 4 as const;
  readonly kind = "raw" as const;
  readonly echoId = 0x4242;
  readonly #listeners = new Set<(p: IcmpReceived) => void>();
  readonly sent: Array<{ to: string; seq: number; at: number }> = [];
  closed = false;
  constructor(readonly clock: FakeClock, readonly script: (to: string, seq: number) => Answer[]) {}
  send(bytes: Buffer, address: string): bigint {
    const req = decodeIcmp(4, bytes);
    if (!req.ok || req.value.kind !== "echo-request") throw new Error("not an echo request");
    this.sent.push({ to: address, seq: req.value.seq, at: this.clock.monotonic() });
    for (const a of this.script(address, req.value.seq)) {
      const out = a.unreachable === true ? hostUnreachable(bytes, address) : echoReply(bytes);
      this.clock.setTimeout(() => {
        const m = decodeIcmp(4, out);
        if (!m.ok) throw new Error(m.error.reason);
        const message: IcmpMessage = m.value;
        for (const l of this.#listeners) l({ kind: "message", message, from: a.from, ttl: 64, bytes: out.length, rxNs: 0n, userNs: 0n });
      }, a.afterMs);
    }
    return 0n;
  }
  on(_event: "packet", fn: (p: IcmpReceived) => void): this {
    this.#listeners.add(fn);
    return this;
  }
  off(_event: "packet", fn: (p: IcmpReceived) => void): this {
    this.#listeners.delete(fn);
    return this;
  }
  close(): void {
    this.closed = true;
  }
}

/** Let the pinger's promises run, then move fake time on, until `done` settles. */
async function drive<T>(clock: FakeClock, done: Promise<T>, stepMs = 10, maxSteps = 2000): Promise<T> {
  let settled = false;
  void done.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < maxSteps && !settled; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(stepMs);
  }
  return done;
}

test("several targets share one socket; replies are matched by source and sequence, not by arrival order", async () => {
  const clock = new FakeClock();
  const sock = new FakeIcmpSocket(clock, (to) => {
    if (to === "192.0.2.1") return [{ afterMs: 80, from: "192.0.2.1" }]; // slow: arrives after the others
    if (to === "192.0.2.2") return [{ afterMs: 5, from: "192.0.2.1" }]; // a reply from the wrong host
    return [{ afterMs: 3, from: "192.0.2.254", unreachable: true }];
  });
  const events: IcmpPingEvent[] = [];
  const p = new IcmpPinger({ host: "192.0.2.1", more: ["192.0.2.2", "192.0.2.3"], count: 3, intervalMs: 50, timeoutMs: 200, clock, openSocket: () => sock, random: createRandom(1) });
  p.on("event", (e) => events.push(e));
  const rs = await drive(clock, p.runAll());
  assert.equal(sock.closed, true);
  assert.deepEqual(rs.map((r) => [r.address, r.totals.transmitted, r.totals.received, r.totals.errors]), [
    ["192.0.2.1", 3, 3, 0],
    ["192.0.2.2", 3, 0, 0],
    ["192.0.2.3", 3, 0, 3],
  ]);
  assert.deepEqual(rs[0]?.pings.map((x) => x.rttMs), [80, 80, 80]);
  // Round k to target i carries sequence k·3 + i on the wire; each target counts its own 0, 1, 2.
  assert.deepEqual(sock.sent.slice(0, 6).map((s) => s.seq), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(events.filter((e) => e.kind === "reply").map((e) => [e.target, e.kind === "reply" && e.seq]), [[0, 0], [0, 1], [0, 2]]);
  const ignored = events.flatMap((e) => (e.kind === "ignored" ? [e.reason] : []));
  assert.equal(ignored.filter((x) => x === "echo reply for a probe to 192.0.2.2").length, 3, ignored.join("; "));
  const errs = events.filter((e) => e.kind === "error");
  assert.equal(errs.length, 3);
  assert.ok(errs.every((e) => e.target === 2 && e.kind === "error" && e.from === "192.0.2.254"));
});

test("one target: -w ends the run at the deadline with the count of answers not reached", async () => {
  const clock = new FakeClock();
  const sock = new FakeIcmpSocket(clock, (_to, seq) => (seq % 2 === 0 ? [{ afterMs: 5, from: "192.0.2.1" }] : []));
  const p = new IcmpPinger({ host: "192.0.2.1", count: 10, intervalMs: 100, timeoutMs: 50, deadlineMs: 1000, clock, openSocket: () => sock });
  const r = await drive(clock, p.run());
  assert.equal(r.reason, "deadline");
  assert.equal(r.totals.transmitted, 10);
  assert.equal(r.totals.received, 5);
});

test("one target: -w with a count stops once that many replies came, sending past the count if needed", async () => {
  const clock = new FakeClock();
  const sock = new FakeIcmpSocket(clock, (_to, seq) => (seq % 2 === 0 ? [{ afterMs: 5, from: "192.0.2.1" }] : []));
  const p = new IcmpPinger({ host: "192.0.2.1", count: 3, intervalMs: 100, timeoutMs: 50, deadlineMs: 10_000, clock, openSocket: () => sock });
  const r = await drive(clock, p.run());
  assert.equal(r.reason, "count");
  assert.equal(r.totals.received, 3);
  assert.equal(r.totals.transmitted, 5);
});

test("-O reports the probe still unanswered when the next one leaves", async () => {
  const clock = new FakeClock();
  const sock = new FakeIcmpSocket(clock, (_to, seq) => [{ afterMs: seq === 0 ? 250 : 5, from: "192.0.2.1" }]);
  const events: IcmpPingEvent[] = [];
  const p = new IcmpPinger({ host: "192.0.2.1", count: 3, intervalMs: 100, timeoutMs: 200, reportOutstanding: true, clock, openSocket: () => sock });
  p.on("event", (e) => events.push(e));
  const r = await drive(clock, p.run(), 5);
  const kinds = events.filter((e) => e.kind !== "start" && e.kind !== "sent").map((e) => `${e.kind}:${"seq" in e ? e.seq : ""}`);
  assert.deepEqual(kinds, ["outstanding:0", "reply:1", "timeout:0", "reply:2"]);
  assert.equal(r.totals.received, 2);
});

test("-Q, -M and -t reach the socket; -p fills the data after the timestamp with the pattern", async () => {
  const clock = new FakeClock();
  const calls: string[] = [];
  const sock = new FakeIcmpSocket(clock, (to) => [{ afterMs: 1, from: to }]);
  const spy = Object.assign(sock, {
    setTos: (n: number) => calls.push(`tos ${n}`),
    setPmtuDiscovery: (m: string) => calls.push(`pmtu ${m}`),
    setTtl: (n: number) => calls.push(`ttl ${n}`),
  });
  const sent: Buffer[] = [];
  const send = spy.send.bind(spy);
  spy.send = (bytes: Buffer, address: string) => {
    sent.push(Buffer.from(bytes));
    return send(bytes, address);
  };
  const p = new IcmpPinger({ host: "192.0.2.1", count: 1, tos: 0x10, pmtu: "do", ttl: 9, size: 16, pattern: Buffer.from([0xff, 0x00, 0xab]), clock, openSocket: () => spy });
  const r = await drive(clock, p.run());
  assert.deepEqual(calls, ["ttl 9", "tos 16", "pmtu do"]);
  assert.deepEqual([...(sent[0]?.subarray(16) ?? [])], [0xff, 0x00, 0xab, 0xff, 0x00, 0xab, 0xff, 0x00]);
  assert.equal(r.totals.corrupted, 0, "the reply's data is compared with the patterned data");
});

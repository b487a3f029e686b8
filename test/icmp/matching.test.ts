import { test } from "node:test";
import assert from "node:assert/strict";
import { matchEcho } from "../../src/icmp/match.js";
import { rttMs } from "../../src/icmp/probes.js";
import { TraceState } from "../../src/icmp/hops.js";
import { decodeIcmp, encodeEchoRequest, internetChecksum, type IcmpMessage } from "../../src/icmp/message/index.js";

function reply(id: number, seq: number): IcmpMessage {
  const b = encodeEchoRequest({ family: 4, id, seq, data: Buffer.alloc(8) });
  b[0] = 0;
  b.writeUInt16BE(0, 2);
  b.writeUInt16BE(internetChecksum(b), 2);
  const r = decodeIcmp(4, b);
  assert.ok(r.ok);
  return r.value;
}

function unreachableQuoting(id: number, seq: number, dst: string): IcmpMessage {
  const ip = Buffer.from("4500005400004000400100000a4d0002" + dst.split(".").map((n) => Number(n).toString(16).padStart(2, "0")).join(""), "hex");
  const echo = encodeEchoRequest({ family: 4, id, seq, data: Buffer.alloc(0) });
  const b = Buffer.concat([Buffer.from("0301000000000000", "hex"), ip, echo]);
  b.writeUInt16BE(internetChecksum(b), 2);
  const r = decodeIcmp(4, b);
  assert.ok(r.ok);
  return r.value;
}

const ctx = { family: 4 as const, id: 0xbeef, target: "10.77.1.2" };

test("an echo reply with our id is matched by its sequence", () => {
  assert.deepEqual(matchEcho(reply(0xbeef, 7), "10.77.1.2", ctx), { kind: "reply", seq: 7, dataBytes: 8, differentAddress: false });
});

test("an echo reply for another id (another ping on the host) is ignored", () => {
  assert.equal(matchEcho(reply(0xbeee, 7), "10.77.1.2", ctx).kind, "ignore");
});

test("a reply from a different address is still ours but flagged", () => {
  const m = matchEcho(reply(0xbeef, 1), "10.77.1.9", ctx);
  assert.equal(m.kind === "reply" && m.differentAddress, true);
});

test("an ICMP error is matched through the echo it quotes, and only for our destination", () => {
  const m = matchEcho(unreachableQuoting(0xbeef, 3, "10.77.1.2"), "10.77.0.1", ctx);
  assert.equal(m.kind, "error");
  assert.equal(m.kind === "error" && m.seq, 3);
  assert.equal(matchEcho(unreachableQuoting(0xbeef, 3, "10.77.1.5"), "10.77.0.1", ctx).kind, "ignore");
  assert.equal(matchEcho(unreachableQuoting(0x1234, 3, "10.77.1.2"), "10.77.0.1", ctx).kind, "ignore");
});

test("RTT comes from the kernel timestamp, else from the monotonic clock", () => {
  assert.equal(rttMs(1_000_000_000n, 1_000_041_000n, 10, 99), 0.041);
  assert.equal(rttMs(1_000_000_000n, 0n, 10, 10.25), 0.25, "no kernel timestamp");
  assert.equal(rttMs(1_000_000_000n, 999_000_000n, 10, 10.5), 0.5, "CLOCK_REALTIME stepped back");
});

test("traceroute hops come out in order even when later hops finish first", () => {
  const s = new TraceState({ firstTtl: 1, maxHops: 5, queries: 2 });
  const slots = [s.next(), s.next(), s.next(), s.next()];
  assert.deepEqual(slots, [{ hop: 1, index: 0 }, { hop: 1, index: 1 }, { hop: 2, index: 0 }, { hop: 2, index: 1 }]);
  const at = (i: number) => slots[i] ?? assert.fail();
  s.record(at(2), { kind: "answer", from: "t", rttMs: 1, annotation: "", reached: true, final: true });
  s.record(at(3), { kind: "timeout" });
  assert.deepEqual(s.takeCompleted(), [], "hop 1 is still open");
  s.record(at(0), { kind: "answer", from: "r", rttMs: 1, annotation: "", reached: false, final: false });
  s.record(at(1), { kind: "timeout" });
  assert.deepEqual(s.takeCompleted().map((h) => h.hop), [1, 2]);
  assert.equal(s.done, true);
  assert.equal(s.reached, true);
  assert.equal(s.next(), undefined, "nothing is sent beyond the destination");
});

test("an unreachable at a hop ends the path there, and later hops are dropped", () => {
  const s = new TraceState({ firstTtl: 1, maxHops: 30, queries: 1 });
  const a = s.next();
  const b = s.next();
  const c = s.next();
  assert.ok(a && b && c);
  s.record(c, { kind: "timeout" });
  s.record(b, { kind: "answer", from: "r", rttMs: 1, annotation: "!H", reached: false, final: true });
  s.record(a, { kind: "answer", from: "r", rttMs: 1, annotation: "", reached: false, final: false });
  assert.deepEqual(s.takeCompleted().map((h) => h.hop), [1, 2]);
  assert.equal(s.done, true);
  assert.equal(s.reached, false);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { decodePart, encodeParts, type Part } from "../../../src/udp/echo/protocol.js";
import { formatPartRanges, missingPartsOf, Reassembler } from "../../../src/udp/echo/reassembly.js";

const SRC = "127.0.0.1:5000";

function parts(id: string, message: Buffer, count: number): Part[] {
  return encodeParts(id, message, count).map((d) => {
    const p = decodePart(d);
    assert.ok(p.ok);
    return p.value;
  });
}

function idOf(n: number): string {
  return n.toString(16).padStart(16, "0");
}

test("parts in any order reassemble to the original bytes", () => {
  const msg = Buffer.from(Array.from({ length: 80000 }, (_, i) => i % 251));
  const ps = parts(idOf(1), msg, 16);
  const order = [5, 0, 15, 3, 2, 1, 4, 6, 7, 9, 8, 10, 12, 11, 14, 13];
  const r = new Reassembler();
  let last;
  for (const i of order) last = r.add(SRC, ps[i] as Part, 0).outcome;
  assert.equal(last?.kind, "complete");
  if (last?.kind === "complete") {
    assert.ok(last.message.equals(msg));
    assert.equal(last.count, 16);
  }
  assert.equal(r.pending, 0);
  assert.equal(r.pendingBytes, 0);
});

test("missing parts are reported after the timeout, with their numbers, and memory is released", () => {
  const ps = parts(idOf(2), Buffer.alloc(80000, "a"), 16);
  const r = new Reassembler({ timeoutMs: 2000 });
  ps.forEach((p, i) => {
    if (i !== 2 && i !== 8 && i !== 9) r.add(SRC, p, 100);
  });
  assert.equal(r.nextDeadline(), 2100);
  assert.deepEqual(r.expire(2099), []);
  const [m, ...rest] = r.expire(2100);
  assert.equal(rest.length, 0);
  assert.deepEqual(m?.missing, [3, 9, 10]);
  assert.equal(m?.missingCount, 3);
  assert.equal(m?.received, 13);
  assert.equal(m?.receivedBytes, 65000);
  assert.equal(m?.reason, "timeout");
  assert.equal(r.pendingBytes, 0);
  assert.equal(r.totals().incomplete, 1);
});

test("the timeout counts from the last part that arrived, not the first", () => {
  const ps = parts(idOf(3), Buffer.alloc(30, "a"), 3);
  const r = new Reassembler({ timeoutMs: 1000 });
  r.add(SRC, ps[0] as Part, 0);
  r.add(SRC, ps[1] as Part, 900);
  assert.deepEqual(r.expire(1500), []);
  assert.equal(r.expire(1900).length, 1);
});

test("a duplicate part is counted once, and parts after completion or after the report do not start a new message", () => {
  const ps = parts(idOf(4), Buffer.alloc(30, "a"), 3);
  const r = new Reassembler({ timeoutMs: 1000 });
  r.add(SRC, ps[0] as Part, 0);
  assert.equal(r.add(SRC, ps[0] as Part, 1).outcome.kind, "duplicate");
  r.add(SRC, ps[1] as Part, 2);
  assert.equal(r.add(SRC, ps[2] as Part, 3).outcome.kind, "complete");
  assert.equal(r.add(SRC, ps[2] as Part, 4).outcome.kind, "duplicate");
  assert.equal(r.pending, 0);

  const qs = parts(idOf(5), Buffer.alloc(30, "a"), 3);
  r.add(SRC, qs[0] as Part, 0);
  assert.equal(r.expire(5000).length, 1);
  assert.equal(r.add(SRC, qs[1] as Part, 5001).outcome.kind, "late");
  assert.equal(r.pending, 0);
});

test("the same message id from two sources is two messages (one sender cannot complete or spoil another's)", () => {
  const ps = parts(idOf(6), Buffer.alloc(20, "a"), 2);
  const r = new Reassembler();
  r.add("127.0.0.1:1", ps[0] as Part, 0);
  assert.equal(r.add("127.0.0.1:2", ps[1] as Part, 0).outcome.kind, "stored");
  assert.equal(r.pending, 2);
});

test("a part that disagrees with the first about count or size is rejected and the good parts are kept", () => {
  const ps = parts(idOf(7), Buffer.alloc(40, "a"), 4);
  const forged = parts(idOf(7), Buffer.alloc(60, "b"), 4);
  const r = new Reassembler();
  r.add(SRC, ps[0] as Part, 0);
  assert.equal(r.add(SRC, forged[1] as Part, 0).outcome.kind, "rejected");
  for (const p of ps.slice(1, 3)) r.add(SRC, p, 0);
  const done = r.add(SRC, ps[3] as Part, 0).outcome;
  assert.equal(done.kind, "complete");
  if (done.kind === "complete") assert.ok(done.message.equals(Buffer.alloc(40, "a")));
});

test("a message larger than maxMessageBytes is rejected without storing anything", () => {
  const r = new Reassembler({ maxMessageBytes: 1000 });
  const p = parts(idOf(8), Buffer.alloc(2000, "a"), 2)[0] as Part;
  assert.equal(r.add(SRC, p, 0).outcome.kind, "rejected");
  assert.equal(r.pending, 0);
});

test("flood: 10,000 first parts of never-finished messages keep at most maxPending messages, evicting the oldest", () => {
  const r = new Reassembler({ maxPending: 64, maxPendingPerSource: 10_000 });
  let evicted = 0;
  for (let i = 0; i < 10_000; i++) {
    const p: Part = { id: idOf(1000 + i), number: 1, count: 65535, total: 65535 * 10, data: Buffer.alloc(10) };
    const out = r.add(SRC, p, i).evicted;
    evicted += out.length;
    for (const m of out) {
      assert.equal(m.reason, "evicted");
      assert.equal(m.missingCount, 65534);
      assert.equal(m.missing.length, 256, "the report lists a bounded number of parts");
      assert.equal(m.missing[0], 2);
    }
  }
  assert.equal(r.pending, 64);
  assert.equal(evicted, 10_000 - 64);
  assert.equal(r.pendingBytes, 640);
  assert.equal(r.totals().evicted, 10_000 - 64);
});

test("flood from one source evicts only that source's messages beyond its share", () => {
  const r = new Reassembler({ maxPending: 100, maxPendingPerSource: 4 });
  const victim = parts(idOf(9), Buffer.alloc(20, "v"), 2);
  r.add("10.0.0.1:1", victim[0] as Part, 0);
  for (let i = 0; i < 1000; i++) {
    const out = r.add(SRC, { id: idOf(5000 + i), number: 1, count: 2, total: 20, data: Buffer.alloc(10) }, i);
    for (const m of out.evicted) assert.equal(m.source, SRC);
  }
  assert.equal(r.pending, 5);
  assert.equal(r.add("10.0.0.1:1", victim[1] as Part, 2000).outcome.kind, "complete");
});

test("buffered bytes stay under maxPendingBytes, evicting the oldest message to make room", () => {
  const r = new Reassembler({ maxMessageBytes: 10_000, maxPendingBytes: 25_000 });
  for (let i = 0; i < 10; i++) {
    const ps = parts(idOf(9000 + i), Buffer.alloc(10_000, "a"), 2);
    r.add(SRC, ps[0] as Part, i);
    assert.ok(r.pendingBytes <= 25_000, `${r.pendingBytes}`);
  }
  assert.ok(r.totals().evicted >= 5);
});

test("formatPartRanges folds runs of part numbers", () => {
  assert.equal(formatPartRanges([3, 9]), "3, 9");
  assert.equal(formatPartRanges([1, 2, 3, 7, 9, 10]), "1-3, 7, 9-10");
  assert.equal(formatPartRanges([]), "");
  const many = Array.from({ length: 50 }, (_, i) => i * 2 + 1);
  assert.match(formatPartRanges(many, 3), /^1, 3, 5, \.\.\. \(50 in all\)$/);
  assert.equal(formatPartRanges([2, 3], 20, 65534), "2-3, ... (65534 in all)");
});

test("missingPartsOf reads back the parts a verdict names, bounded by the parts sent", () => {
  assert.deepEqual(missingPartsOf("incomplete message: 10 of 16 parts (50000 of 80000 bytes) arrived, missing parts 1, 8, 10, 13-14, 16", 16), [1, 8, 10, 13, 14, 16]);
  assert.deepEqual(missingPartsOf(`incomplete message: 0 of 16 parts arrived, missing parts ${formatPartRanges(Array.from({ length: 16 }, (_, i) => i + 1))}`, 16), Array.from({ length: 16 }, (_, i) => i + 1));
  // A cut list gives what it names; a hostile verdict cannot name more than were sent.
  assert.deepEqual(missingPartsOf("missing parts 1, 3, ... (40 in all)", 50), [1, 3]);
  assert.deepEqual(missingPartsOf("missing parts 1-999999", 16).length, 16);
  assert.deepEqual(missingPartsOf("missing parts 0, 17-20", 16), []);
  assert.deepEqual(missingPartsOf("complete: 80000 bytes in 16 parts", 16), []);
});

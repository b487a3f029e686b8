import { test } from "node:test";
import assert from "node:assert/strict";
import { createRandom } from "../../../src/core/random.js";
import {
  checkSplit, decodePart, decodeReply, decodeRequest, encodeParts, encodeReply, encodeRequest, encodeTextReply,
  isPart, isRequestId, newRequestId, PART_HEADER_BYTES, partLength, replyText, sameRequestId,
} from "../../../src/udp/echo/protocol.js";

const ID = "00000000000000ff";

test("a request is framed as '<id> <message>' and decodes back to the same id and bytes", () => {
  const buf = encodeRequest(ID, "hello");
  assert.equal(buf.toString(), "00000000000000ff hello");
  const r = decodeRequest(buf);
  assert.equal(r.id, ID);
  assert.equal(r.message.toString(), "hello");
});

test("the reply counts the message's UTF-8 bytes, not its characters, and not the id", () => {
  for (const [msg, bytes] of [["hello", 5], ["héllo", 6], ["日本", 6], ["🙂", 4], ["", 0]] as const) {
    const reply = encodeReply(decodeRequest(encodeRequest(ID, msg)));
    assert.equal(reply.toString(), `${ID} I received from you a message of ${bytes} bytes`);
    assert.equal(decodeReply(reply).bytes, bytes);
  }
});

test("a datagram without an id prefix is a plain message counted whole (nc -u, the lab's client)", () => {
  const r = decodeRequest(Buffer.from("hello world\n"));
  assert.equal(r.id, undefined);
  assert.equal(encodeReply(r).toString(), "I received from you a message of 12 bytes");
  assert.equal(replyText(0), "I received from you a message of 0 bytes");
});

test("only exactly 16 hex digits and a space make a request id", () => {
  assert.equal(decodeRequest(Buffer.from("00000000000000f hi")).id, undefined); // 15 digits
  assert.equal(decodeRequest(Buffer.from("00000000000000fg hi")).id, undefined); // not hex
  assert.equal(decodeRequest(Buffer.from("00000000000000ff")).id, undefined); // no space
  assert.equal(decodeRequest(Buffer.from("00000000000000FF ")).id, "00000000000000FF");
  assert.equal(decodeRequest(Buffer.from("00000000000000FF ")).message.length, 0);
  assert.throws(() => encodeRequest("xyz", "m"), RangeError);
});

test("request ids are 64 random bits in hex and compare case-insensitively", () => {
  const r = createRandom(1);
  const a = newRequestId(r);
  const b = newRequestId(r);
  assert.ok(isRequestId(a) && isRequestId(b));
  assert.notEqual(a, b);
  assert.ok(sameRequestId("00000000000000FF", ID));
  assert.ok(!sameRequestId(undefined, ID));
  assert.ok(!sameRequestId(ID, "00000000000000fe"));
});

test("decodeReply keeps the id and text of anything, and reports bytes only for the echo sentence", () => {
  assert.deepEqual(decodeReply(encodeTextReply(ID, "incomplete message: 1 of 2")), { id: ID, text: "incomplete message: 1 of 2" });
  assert.deepEqual(decodeReply(Buffer.from("hi")), { text: "hi" });
});

test("80,000 bytes in 16 parts: 16 datagrams of 5000 bytes plus the 20-byte header, reassembling to the same bytes", () => {
  const msg = Buffer.alloc(80000, "a");
  const parts = encodeParts(ID, msg, 16);
  assert.equal(parts.length, 16);
  const back: Buffer[] = [];
  for (const [i, p] of parts.entries()) {
    assert.equal(p.length, PART_HEADER_BYTES + 5000);
    assert.ok(isPart(p));
    const d = decodePart(p);
    assert.ok(d.ok);
    assert.equal(d.value.id, ID);
    assert.equal(d.value.number, i + 1);
    assert.equal(d.value.count, 16);
    assert.equal(d.value.total, 80000);
    back.push(d.value.data);
  }
  assert.ok(Buffer.concat(back).equals(msg));
});

test("an uneven split gives equal parts and a shorter last one", () => {
  assert.deepEqual([1, 2, 3].map((n) => partLength(20000, 3, n)), [6667, 6667, 6666]);
  const parts = encodeParts(ID, Buffer.alloc(10, "x"), 4).map((p) => p.length - PART_HEADER_BYTES);
  assert.deepEqual(parts, [3, 3, 3, 1]);
});

test("checkSplit refuses splits that would leave an empty part or exceed 65535 parts", () => {
  assert.equal(checkSplit(80000, 16), undefined);
  assert.equal(checkSplit(0, 1), undefined);
  assert.match(checkSplit(10, 6) ?? "", /empty/); // ceil(10/6)=2 → 2,2,2,2,2,0
  assert.match(checkSplit(5, 0) ?? "", /part count/);
  assert.match(checkSplit(5, 65536) ?? "", /part count/);
  assert.match(checkSplit(0, 2) ?? "", /exactly one part/);
});

test("decodePart rejects forged headers: short, number 0 or past the count, wrong piece length", () => {
  const good = encodeParts(ID, Buffer.alloc(100, "a"), 4)[1] as Buffer;
  assert.ok(decodePart(good).ok);
  const short = good.subarray(0, 10);
  assert.equal(decodePart(short).ok, false);
  const zero = Buffer.from(good);
  zero.writeUInt16BE(0, 12);
  assert.equal(decodePart(zero).ok, false);
  const past = Buffer.from(good);
  past.writeUInt16BE(5, 12);
  assert.equal(decodePart(past).ok, false);
  const truncated = good.subarray(0, good.length - 1);
  const r = decodePart(truncated);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error.needed, 25);
  const huge = Buffer.from(good);
  huge.writeUInt32BE(0xffffffff, 16);
  assert.equal(decodePart(huge).ok, false);
  assert.equal(decodePart(Buffer.from("hello")).ok, false);
});

test("no decoder throws on 20,000 random datagrams, including ones that start with the part magic", () => {
  const r = createRandom(42);
  for (let i = 0; i < 20000; i++) {
    const buf = r.bytes(r.int(64));
    if (i % 2 === 0 && buf.length >= 4) buf.set([0x57, 0x4b, 0x50, 0x01], 0);
    const d = decodePart(buf);
    if (d.ok) assert.equal(d.value.data.length, partLength(d.value.total, d.value.count, d.value.number));
    decodeRequest(buf);
    decodeReply(buf);
  }
});

test("decoded parts are copies: changing the receive buffer afterwards changes nothing", () => {
  const p = encodeParts(ID, Buffer.from("abcdef"), 2)[0] as Buffer;
  const d = decodePart(p);
  assert.ok(d.ok);
  p.fill(0);
  assert.equal(d.value.data.toString(), "abc");
});

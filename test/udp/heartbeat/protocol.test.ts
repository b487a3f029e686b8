import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { decodedMac, decodeHeartbeat, decodeHeartbeatReply, encodeHeartbeat, encodeHeartbeatReply, MAX_HEARTBEAT_BYTES, MAX_REPLY_BYTES, microsOf, signedText, verifyHeartbeatMac, verifyHeartbeatMacBytes, writeHeartbeatReply } from "../../../src/udp/heartbeat/protocol.js";
import { HMAC_KEY_STATE_WORDS, hmacSha256KeyState } from "../../../src/core/hmac-sha256.js";
import { createRandom } from "../../../src/core/random.js";

/** `key` prepared at word HMAC_KEY_STATE_WORDS (not 0: the offset is honoured). */
function prepared(key: string): Int32Array {
  const state = new Int32Array(2 * HMAC_KEY_STATE_WORDS);
  hmacSha256KeyState(key, state, HMAC_KEY_STATE_WORDS);
  return state;
}

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

test("timestamps decode to exactly the double Number() reads from the word, in every form the grammar allows", () => {
  const random = createRandom(19);
  const words = ["0", "5.", ".5", "0.000001", "1763852851.123456", "99999999999.99999", "0.9007199254740993", "0.9007199254740991", "00000000000000000001.25", "1.0000000000000000000001", "1234567890.1234567890", "1e9", "+5", "1763852851.1234567890123"];
  for (let k = 0; k < 2000; k++) words.push((random.next() * 2e9).toFixed(k % 10), String(random.next() * 1e10));
  for (const w of words) {
    const d = decodeHeartbeat(Buffer.from(`1 ${w} id=x`));
    assert.ok(d.ok, w);
    assert.equal(d.value.timestamp, Number(w), w);
  }
  for (const w of ["1.2.3", ".", "1..", "-1", "1e", "0x10", "Infinity"]) assert.equal(decodeHeartbeat(Buffer.from(`1 ${w}`)).ok, false, w);
});

test("the MAC covers the documented text whatever the spacing, order and unknown words of the datagram", () => {
  const key = "k3y";
  const ts = "1763852851.500000";
  const fields: Array<[string, string]> = [["id", "web-1"], ["run", "r9"], ["int", "0500"], ["status", "fail"], ["msg", "disk%2091%25"], ["dur", "12"]];
  const macOf = (f: ReadonlyArray<readonly [string, string]>): string => createHmac("sha256", key).update(signedText("7", ts, f), "latin1").digest("hex");
  const mac = macOf(fields);
  const line = (ws: string[], sep = " "): Buffer => Buffer.from(ws.join(sep), "latin1");
  const words = fields.map(([k, v]) => `${k}=${v}`);
  const variants = [
    line(["7", ts, ...words, `mac=${mac}`]),
    line(["7", ts, ...words, `mac=${mac.toUpperCase()}`, "future=1"]),
    line(["7", ts, ...words, "future=1", `mac=${mac}`]),
    line(["7", ts, "future=1", ...words, `mac=${mac}`]),
    line(["7", ts, `mac=${mac}`, ...words]),
    line(["7", ts, ...[...words].reverse(), `mac=${mac}`]),
    line(["7", ts, ...words, `mac=${mac}`], "  "),
    line(["7", ts, ...words, `mac=${mac}`], "\t"),
    Buffer.from(` 7 ${ts} ${words.join(" ")} mac=${mac}\r\n`, "latin1"),
  ];
  for (const v of variants) {
    const d = decodeHeartbeat(v);
    assert.ok(d.ok, v.toString("latin1"));
    assert.equal(verifyHeartbeatMac(d.value, key), true, v.toString("latin1"));
    assert.equal(verifyHeartbeatMac(d.value, "other"), false);
    // Without strings: no mac string, its bytes from decodedMac(), checked under a prepared key.
    const raw = decodeHeartbeat(v, false);
    assert.ok(raw.ok);
    assert.equal(raw.value.mac, undefined);
    const bytes = decodedMac();
    assert.equal(Buffer.from(bytes ?? []).toString("hex"), mac);
    assert.ok(raw.value.signed !== undefined && bytes !== undefined);
    assert.equal(verifyHeartbeatMacBytes(raw.value.signed, bytes, prepared(key), HMAC_KEY_STATE_WORDS), true, v.toString("latin1"));
    assert.equal(verifyHeartbeatMacBytes(raw.value.signed, bytes, prepared("other"), HMAC_KEY_STATE_WORDS), false);
  }
  // A covered field changed, dropped or added after signing: refused, in any form.
  for (const v of [line(["7", ts, ...words.slice(1), `mac=${mac}`]), line(["7", ts, ...words, "id=web-2", `mac=${mac}`]), line(["7", "1763852851.5", ...words, `mac=${mac}`]), line(["8", ts, `mac=${mac}`, ...words])]) {
    const d = decodeHeartbeat(v);
    assert.ok(!d.ok || !verifyHeartbeatMac(d.value, key), v.toString("latin1"));
  }
  // A subset of the fields, in the sender's own form (the canonical bytes).
  const few = fields.filter(([k]) => k === "id" || k === "status");
  const d = decodeHeartbeat(encodeHeartbeat({ seq: 7, timestamp: 1763852851.5, id: "web-1", status: "fail" }, key));
  assert.ok(d.ok);
  assert.equal(d.value.mac, macOf(few));
  assert.equal(verifyHeartbeatMac(d.value, key), true);
});

test("verifyHeartbeatMac: any one changed digit, and non-hex digits, fail", () => {
  const key = "secret-7-0123456789abcdef";
  const d = decodeHeartbeat(encodeHeartbeat({ seq: 7, timestamp: 1763852851.5, id: "web-1", run: "r1" }, key));
  assert.ok(d.ok);
  const mac = d.value.mac ?? "";
  assert.equal(verifyHeartbeatMac(d.value, key), true);
  for (let i = 0; i < 64; i++) {
    const other = mac.slice(0, i) + (mac[i] === "0" ? "1" : "0") + mac.slice(i + 1);
    assert.equal(verifyHeartbeatMac({ ...d.value, mac: other }, key), false, `digit ${i}`);
  }
  // ':' has the low bits of 'a', 'š' those of 'a' in its low byte: neither may pass for it.
  for (const fake of [":", "š", "g", " "]) {
    const i = mac.search(/a/);
    if (i < 0) continue;
    assert.equal(verifyHeartbeatMac({ ...d.value, mac: mac.slice(0, i) + fake + mac.slice(i + 1) }, key), false, fake);
  }
  assert.equal(verifyHeartbeatMac({ ...d.value, mac: mac.toUpperCase() }, key), true);
});

test("verifyHeartbeatMacBytes: any one changed bit of the MAC fails; decodedMac() is undefined after a datagram without one", () => {
  const key = "secret-7-0123456789abcdef";
  const d = decodeHeartbeat(encodeHeartbeat({ seq: 7, timestamp: 1763852851.5, id: "web-1", run: "r1" }, key), false);
  assert.ok(d.ok && d.value.signed !== undefined);
  const mac = Uint8Array.from(decodedMac() ?? []);
  const state = prepared(key);
  assert.equal(verifyHeartbeatMacBytes(d.value.signed, mac, state, HMAC_KEY_STATE_WORDS), true);
  for (let bit = 0; bit < 256; bit++) {
    const other = Uint8Array.from(mac);
    other[bit >> 3] = (other[bit >> 3] as number) ^ (1 << (bit & 7));
    assert.equal(verifyHeartbeatMacBytes(d.value.signed, other, state, HMAC_KEY_STATE_WORDS), false, `bit ${bit}`);
  }
  assert.ok(decodeHeartbeat(Buffer.from("8 1763852851.5 id=web-1 run=r1"), false).ok);
  assert.equal(decodedMac(), undefined);
  assert.ok(!decodeHeartbeat(Buffer.from(`8 1763852851.5 id=web-1 mac=${"g".repeat(64)}`), false).ok);
  assert.ok(!decodeHeartbeat(Buffer.from(`8 1763852851.5 id=web-1 mac=${"a".repeat(63)}:`), false).ok);
});

test("encodeHeartbeatReply writes what the template string did, for seqs of every length", () => {
  const random = createRandom(23);
  const seqs = [0, 1, 9, 10, 99, 100, 12345, 999_999_999_999_999, 1_000_000_000_000_000, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 200; i++) seqs.push(Math.floor(random.next() * 10 ** Math.floor(random.next() * 16)));
  const diffs = [0, -0.25, 0.000061, 1e-7, -1e-7, 123456.7891234, -3.5e-6, 1e21];
  for (const seq of seqs) for (const diff of diffs) assert.equal(encodeHeartbeatReply(seq, diff).toString("latin1"), `${seq} ${diff.toFixed(6)}`, `${seq} ${diff}`);
});

test("encodeHeartbeatReply's time_diff is what toFixed(6) writes: ties, their neighbours, carries, huge, tiny and non-finite values", () => {
  const random = createRandom(19);
  const diffs = [0, -0, 5e-7, -5e-7, 0.0000615, 0.9999995, 9.9999995, 4.9999995e-7, 8589934591.999999, 8589934592, 1e-300, 1e-301, Number.NaN, Infinity, -Infinity];
  for (let i = 0; i < 20_000; i++) {
    // an exact half micro-second as written in decimal (as a double a little off it), and the doubles beside it
    const tie = (Math.floor(random.next() * 10 ** Math.floor(random.next() * 13)) + 0.5) / 1e6;
    diffs.push(tie, -tie, tie * (1 + Number.EPSILON), tie * (1 - Number.EPSILON), (random.next() - 0.5) * 10 ** (random.next() * 20 - 10));
  }
  for (const diff of diffs) assert.equal(encodeHeartbeatReply(42, diff).toString("latin1"), `42 ${diff.toFixed(6)}`, String(diff));
});

test("microsOf: |x| in micro-units, rounded as toFixed(6) rounds, or -1 outside its range", () => {
  assert.equal(microsOf(0.0000615), 62);
  assert.equal(microsOf(-1.5), 1_500_000);
  assert.equal(microsOf(0), -1);
  assert.equal(microsOf(2 ** 33), -1);
  assert.equal(microsOf(Number.NaN), -1);
});

test("writeHeartbeatReply writes encodeHeartbeatReply's bytes into a reused buffer, or -1 when they do not fit", () => {
  const out = Buffer.alloc(MAX_REPLY_BYTES);
  for (const [seq, diff] of [[42, 0.000061], [Number.MAX_SAFE_INTEGER, -8589934591.25], [1, 2.5]] as const) {
    const n = writeHeartbeatReply(seq, diff, out);
    assert.ok(n > 0, `${seq} ${diff}`);
    assert.equal(out.toString("latin1", 0, n), encodeHeartbeatReply(seq, diff).toString("latin1"));
  }
  assert.equal(writeHeartbeatReply(123456, 0.5, Buffer.alloc(4)), -1);
  assert.equal(writeHeartbeatReply(1, 0, out), -1, "0 and non-finite values: the slow path is the caller's");
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { HMAC_KEY_STATE_WORDS, hmacSha256Into, hmacSha256KeyState, hmacSha256WithKeyState } from "../../src/core/hmac-sha256.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

test("hmacSha256Into: RFC 4231 test case 2 and the classic fox", () => {
  const out = new Uint8Array(32);
  assert.equal(hex(hmacSha256Into("Jefe", [Buffer.from("what do ya want for nothing?")], out)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  assert.equal(hex(hmacSha256Into("key", [Buffer.from("The quick brown fox jumps over the lazy dog")], out)), "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
});

test("hmacSha256Into matches node:crypto for every message length 0-300 and keys around the block size", () => {
  const out = new Uint8Array(32);
  const msg = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff));
  const keys: Array<string | Buffer> = ["", "k", "secret-1-0123456789abcdef", "x".repeat(63), "y".repeat(64), "z".repeat(65), "w".repeat(200), "clé-ünïcode-✓", Buffer.from([0, 255, 128, 7])];
  for (const key of keys) {
    for (let len = 0; len <= 300; len++) {
      const m = msg.subarray(0, len);
      const cut = len >> 1;
      const want = createHmac("sha256", key).update(m).digest("hex");
      assert.equal(hex(hmacSha256Into(key, [m.subarray(0, cut), m.subarray(cut)], out)), want, `key ${String(key).slice(0, 10)} len ${len}`);
    }
  }
});

test("hmacSha256Into handles a message larger than its scratch", () => {
  const big = Buffer.alloc(5000, 0x61);
  assert.equal(hex(hmacSha256Into("k", [big], new Uint8Array(32))), createHmac("sha256", "k").update(big).digest("hex"));
  // and goes on working for short ones after it
  assert.equal(hex(hmacSha256Into("k", [Buffer.from("a")], new Uint8Array(32))), createHmac("sha256", "k").update("a").digest("hex"));
});

test("a prepared key state gives the same MACs as the key, at any offset, while other keys are used between", () => {
  const keys: Array<string | Buffer> = ["", "k", "bench-secret-99999", "y".repeat(64), "z".repeat(65), "clé-ünïcode-✓", Buffer.from([0, 255, 128, 7])];
  const states = new Int32Array(HMAC_KEY_STATE_WORDS * (keys.length + 1));
  keys.forEach((key, i) => hmacSha256KeyState(key, states, HMAC_KEY_STATE_WORDS * (i + 1)));
  const out = new Uint8Array(32);
  const msg = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 53 + 5) & 0xff));
  for (let len = 0; len <= 200; len += 7) {
    const m = msg.subarray(0, len);
    keys.forEach((key, i) => {
      const want = createHmac("sha256", key).update(m).digest("hex");
      assert.equal(hex(hmacSha256WithKeyState(states, HMAC_KEY_STATE_WORDS * (i + 1), [m.subarray(0, 3), m.subarray(3)], out)), want, `key ${i} len ${len}`);
      // a one-off MAC under another key in between leaves the prepared states as they were
      hmacSha256Into("other", [m], new Uint8Array(32));
    });
  }
  assert.deepEqual([...states.subarray(0, HMAC_KEY_STATE_WORDS)], new Array(HMAC_KEY_STATE_WORDS).fill(0));
});

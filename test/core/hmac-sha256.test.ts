import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { HmacSha256Verify } from "../../src/core/hmac-sha256.js";
import {
  HMAC_KEY_STATE_WORDS,
  hmacSha256Implementation,
  hmacSha256Into,
  hmacSha256KeyState,
  hmacSha256VerifyJs,
  hmacSha256WithKeyState,
  nativeHmacSha256Verify,
} from "../../src/core/hmac-sha256.js";

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

/** A seeded generator (xorshift32), so a failure names a case that can be run again. */
function bytesFrom(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  return (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  };
}

/** hmacSha256Verify's contract checked for `verify`: random keys, every length 0..300, right and wrong MACs. Returns the failures. */
function verifyFailures(verify: HmacSha256Verify, seed: number): string[] {
  const rnd = bytesFrom(seed);
  const failures: string[] = [];
  const states = new Int32Array(HMAC_KEY_STATE_WORDS * 3);
  const prefix = Buffer.from("wirekit-heartbeat-mac-v1\n");
  for (let len = 0; len <= 300; len++) {
    const key = rnd(1 + (rnd(1)[0] as number) % 100);
    const at = HMAC_KEY_STATE_WORDS * (len % 3);
    hmacSha256KeyState(key, states, at);
    const message = rnd(len);
    // a prefix of 0, 25 or 64+ bytes, and a message that is a view into a larger buffer
    const pre = len % 3 === 0 ? Buffer.alloc(0) : len % 3 === 1 ? prefix : rnd(70);
    const framed = Buffer.concat([rnd(5), message, rnd(3)]).subarray(5, 5 + len);
    const mac = createHmac("sha256", key).update(pre).update(message).digest();
    if (!verify(states, at, pre, framed, mac)) failures.push(`seed ${seed} len ${len}: a right MAC refused`);
    const wrong = Buffer.from(mac);
    wrong[len % 32] = (wrong[len % 32] as number) ^ (1 << (len % 8));
    if (verify(states, at, pre, framed, wrong)) failures.push(`seed ${seed} len ${len}: a wrong MAC accepted`);
    if (verify(states, at, pre, framed, mac.subarray(0, 31))) failures.push(`seed ${seed} len ${len}: a 31-byte MAC accepted`);
  }
  return failures;
}

test("hmacSha256VerifyJs accepts node:crypto's MAC and refuses a changed or short one, random keys and every length 0-300", () => {
  for (const seed of [1, 0x9e3779b9]) assert.deepEqual(verifyFailures(hmacSha256VerifyJs, seed), []);
});

test("the addon's hmacSha256Verify gives the same answers, with the SHA extensions and without", (t) => {
  const native = nativeHmacSha256Verify();
  if (native === null) return t.skip("the addon does not load here; hmacSha256Verify is the JavaScript one");
  for (const seed of [1, 0x9e3779b9]) assert.deepEqual(verifyFailures(native, seed), []);
  assert.throws(() => native(new Int32Array(15), 0, Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(32)), { code: "EINVAL" });
  assert.throws(() => native(new Int32Array(32), 17, Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(32)), { code: "EINVAL" });
  assert.throws(() => native(new Int32Array(16), 0, Buffer.alloc(0), new Uint16Array(2) as unknown as Uint8Array, Buffer.alloc(32)), { code: "EINVAL" });
  if (process.env.WIREKIT_SHA256 === "portable") {
    assert.equal(hmacSha256Implementation(), "portable");
    return;
  }
  // The other implementation: this file again in a child, with the portable C forced as the addon loads.
  // (Without NODE_TEST_CONTEXT, which would make the child report to this runner instead of its stdout.)
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawnSync(process.execPath, ["--test", "--test-reporter=tap", fileURLToPath(import.meta.url)], { env: { ...env, WIREKIT_SHA256: "portable" }, encoding: "utf8" });
  assert.equal(child.status, 0, child.stdout + child.stderr);
  assert.match(child.stdout, /# pass [1-9]/);
  assert.match(child.stdout, /# skipped 0/);
});

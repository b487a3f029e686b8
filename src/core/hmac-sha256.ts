/**
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) in plain JavaScript, for short messages on a hot path.
 *
 * Why not node:crypto's createHmac: for a ~90-byte message (a keyed heartbeat) most of its cost
 * is the per-call machinery (an Hmac object, a key object, a digest Buffer), not the five
 * SHA-256 compressions; this computes them on reused typed arrays and allocates nothing. A key
 * used again and again can be prepared once (hmacSha256KeyState: the two midstates, two of the
 * five compressions of a short message), as the monitor does per client.
 * test/core/hmac-sha256.test.ts checks it against createHmac (keys shorter and longer than a
 * block, UTF-8 keys, messages across block boundaries).
 *
 * hmacSha256Verify, the check of a MAC under a prepared key (the monitor's, once per keyed
 * heartbeat), runs in the addon when it loads (native/hmac_sha256.cc: the same three
 * compressions in C, a few times faster) and falls back to this file's JavaScript when not.
 */
import { loadAddon } from "./native.js";

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
  0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const W = new Int32Array(64);

/** One SHA-256 compression of the 64 bytes at b[off] into the state h. */
function compress(h: Int32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    W[i] = ((b[j] as number) << 24) | ((b[j + 1] as number) << 16) | ((b[j + 2] as number) << 8) | (b[j + 3] as number);
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15] as number;
    const y = W[i - 2] as number;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = ((W[i - 16] as number) + s0 + (W[i - 7] as number) + s1) | 0;
  }
  let a = h[0] as number;
  let bb = h[1] as number;
  let c = h[2] as number;
  let d = h[3] as number;
  let e = h[4] as number;
  let f = h[5] as number;
  let g = h[6] as number;
  let hh = h[7] as number;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    // Ch and Maj in their shorter forms (one operation fewer each): g ^ (e & (f ^ g)), (a & b) | (c & (a | b)).
    const t1 = (hh + s1 + (g ^ (e & (f ^ g))) + (K[i] as number) + (W[i] as number)) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & bb) | (c & (a | bb)))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  h[0] = ((h[0] as number) + a) | 0;
  h[1] = ((h[1] as number) + bb) | 0;
  h[2] = ((h[2] as number) + c) | 0;
  h[3] = ((h[3] as number) + d) | 0;
  h[4] = ((h[4] as number) + e) | 0;
  h[5] = ((h[5] as number) + f) | 0;
  h[6] = ((h[6] as number) + g) | 0;
  h[7] = ((h[7] as number) + hh) | 0;
}

// Reused scratch: a message up to this long is padded in place; longer ones get their own buffer.
let scratch = new Uint8Array(1024);
const inner = new Int32Array(8);
const outer = new Int32Array(8);
const keyBlock = new Uint8Array(64);

/** Make room in the scratch for a message of `len` bytes and its padding. */
function reserve(len: number): Uint8Array {
  const need = ((len + 9 + 63) >>> 6) * 64;
  if (need > scratch.length) scratch = new Uint8Array(need);
  return scratch;
}

/**
 * Finish a hash whose state `h` has taken in `done` bytes (a multiple of 64), and then the
 * `len` bytes at the start of the scratch: pads them and compresses. The digest is left in `h`.
 */
function finish(h: Int32Array, done: number, len: number): void {
  const s = reserve(len);
  const end = ((len + 9 + 63) >>> 6) * 64;
  s.fill(0, len, end);
  s[len] = 0x80;
  // Bit length as a 64-bit big-endian number (messages here are far below 2^53 bits).
  const bits = (done + len) * 8;
  const hi = Math.floor(bits / 0x100000000);
  s[end - 8] = hi >>> 24;
  s[end - 7] = hi >>> 16;
  s[end - 6] = hi >>> 8;
  s[end - 5] = hi;
  s[end - 4] = bits >>> 24;
  s[end - 3] = bits >>> 16;
  s[end - 2] = bits >>> 8;
  s[end - 1] = bits;
  for (let b = 0; b < end; b += 64) compress(h, s, b);
}

/** Write the state h big-endian into out[0, 32). */
function store(h: Int32Array, out: Uint8Array): void {
  for (let i = 0; i < 8; i++) {
    const v = h[i] as number;
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = v >>> 16;
    out[4 * i + 2] = v >>> 8;
    out[4 * i + 3] = v;
  }
}

/** The key as HMAC's 64-byte block K0 (RFC 2104): zero-padded, or hashed first when longer. */
function fillKeyBlock(key: string | Uint8Array): void {
  keyBlock.fill(0);
  if (typeof key === "string") {
    // node:crypto takes a string key as UTF-8; ASCII is the same bytes, so skip encoding it.
    let ascii = key.length <= 64;
    for (let i = 0; ascii && i < key.length; i++) {
      const ch = key.charCodeAt(i);
      if (ch >= 0x80) ascii = false;
      else keyBlock[i] = ch;
    }
    if (ascii) return;
    keyBlock.fill(0);
    key = Buffer.from(key, "utf8");
  }
  if (key.length <= 64) {
    keyBlock.set(key);
    return;
  }
  const h = new Int32Array(IV);
  reserve(key.length).set(key);
  finish(h, 0, key.length);
  const digest = new Uint8Array(32);
  store(h, digest);
  keyBlock.set(digest);
}

/** Int32 words of a prepared key (hmacSha256KeyState): the inner and the outer midstate. */
export const HMAC_KEY_STATE_WORDS = 16;

/**
 * Prepare `key` (a string is taken as UTF-8, as node:crypto does) for hmacSha256WithKeyState:
 * writes the SHA-256 states after the blocks K0 ^ ipad and K0 ^ opad (RFC 2104), 16 words, into
 * `into` at word `at`. They depend on the key only, so a caller that MACs many messages under one
 * key does these two compressions once instead of per message.
 *
 * @example
 * const state = new Int32Array(HMAC_KEY_STATE_WORDS);
 * hmacSha256KeyState("key", state, 0);
 * hmacSha256WithKeyState(state, 0, [Buffer.from("The quick brown fox jumps over the lazy dog")], new Uint8Array(32))
 * // f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8
 */
export function hmacSha256KeyState(key: string | Uint8Array, into: Int32Array, at: number): void {
  fillKeyBlock(key);
  const kb = keyBlock;
  for (let i = 0; i < 64; i++) kb[i] = (kb[i] as number) ^ 0x36;
  inner.set(IV);
  compress(inner, kb, 0);
  for (let i = 0; i < 64; i++) kb[i] = (kb[i] as number) ^ (0x36 ^ 0x5c);
  outer.set(IV);
  compress(outer, kb, 0);
  into.set(inner, at);
  into.set(outer, at + 8);
}

/**
 * HMAC-SHA256 over the concatenation of `parts` under the key prepared at word `at` of `state`
 * (hmacSha256KeyState), written into `out` (32 bytes, returned). Allocates nothing.
 */
export function hmacSha256WithKeyState(state: Int32Array, at: number, parts: ReadonlyArray<Uint8Array>, out: Uint8Array): Uint8Array {
  for (let i = 0; i < 8; i++) {
    inner[i] = state[at + i] as number;
    outer[i] = state[at + 8 + i] as number;
  }
  let len = 0;
  for (let i = 0; i < parts.length; i++) len += (parts[i] as Uint8Array).length;
  const s = reserve(len);
  let pos = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as Uint8Array;
    s.set(p, pos);
    pos += p.length;
  }
  finish(inner, 64, len);
  store(inner, scratch);
  finish(outer, 64, 32);
  store(outer, out);
  return out;
}

const oneKey = new Int32Array(HMAC_KEY_STATE_WORDS);

/**
 * HMAC-SHA256 with `key` (a string is taken as UTF-8, as node:crypto does) over the
 * concatenation of `parts`, written into `out` (32 bytes, returned).
 *
 * @example
 * hmacSha256Into("key", [Buffer.from("The quick brown fox jumps over the lazy dog")], new Uint8Array(32))
 * // f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8
 */
export function hmacSha256Into(key: string | Uint8Array, parts: ReadonlyArray<Uint8Array>, out: Uint8Array): Uint8Array {
  hmacSha256KeyState(key, oneKey, 0);
  return hmacSha256WithKeyState(oneKey, 0, parts, out);
}

const verifyDigest = new Uint8Array(32);
const verifyParts: Uint8Array[] = [verifyDigest, verifyDigest];

/**
 * {@link hmacSha256Verify} in JavaScript, whether or not the addon is there (the fallback, and
 * what the tests hold the addon's version to).
 */
export function hmacSha256VerifyJs(state: Int32Array, at: number, prefix: Uint8Array, message: Uint8Array, mac: Uint8Array): boolean {
  if (mac.length !== 32) return false;
  verifyParts[0] = prefix;
  verifyParts[1] = message;
  hmacSha256WithKeyState(state, at, verifyParts, verifyDigest);
  verifyParts[0] = verifyParts[1] = verifyDigest;
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= (verifyDigest[i] as number) ^ (mac[i] as number);
  return diff === 0;
}

/** The signature of {@link hmacSha256Verify}, as the addon exports it. */
export type HmacSha256Verify = (state: Int32Array, at: number, prefix: Uint8Array, message: Uint8Array, mac: Uint8Array) => boolean;

let nativeVerify: HmacSha256Verify | null | undefined;
let implementation: "sha-ni" | "portable" | "javascript" = "javascript";

/** The addon's hmacSha256Verify (native/hmac_sha256.cc), or null when the addon does not load or lacks it. Looked up once. */
export function nativeHmacSha256Verify(): HmacSha256Verify | null {
  if (nativeVerify !== undefined) return nativeVerify;
  try {
    const addon = loadAddon("HMAC addon") as { hmacSha256Verify?: HmacSha256Verify; hmacSha256Implementation?: string };
    nativeVerify = typeof addon.hmacSha256Verify === "function" ? addon.hmacSha256Verify : null;
    if (nativeVerify !== null) implementation = addon.hmacSha256Implementation === "sha-ni" ? "sha-ni" : "portable";
  } catch {
    nativeVerify = null;
  }
  return nativeVerify;
}

/**
 * What {@link hmacSha256Verify} runs on: the addon with the x86 SHA extensions ("sha-ni"), the
 * addon's plain C ("portable"; also when WIREKIT_SHA256=portable was set as it loaded), or this
 * file's JavaScript.
 */
export function hmacSha256Implementation(): "sha-ni" | "portable" | "javascript" {
  nativeHmacSha256Verify();
  return implementation;
}

/**
 * True when `mac` (32 bytes) is HMAC-SHA256 over `prefix` followed by `message` under the key
 * prepared at word `at` of `state` (hmacSha256KeyState). Every one of the 32 bytes is compared
 * (the differences OR-ed, no early exit). In the addon when it loads, else in JavaScript; the
 * answers are the same. Allocates nothing.
 *
 * @example
 * const state = new Int32Array(HMAC_KEY_STATE_WORDS);
 * hmacSha256KeyState("key", state, 0);
 * const mac = hmacSha256WithKeyState(state, 0, [Buffer.from("The quick "), Buffer.from("brown fox jumps over the lazy dog")], new Uint8Array(32));
 * hmacSha256Verify(state, 0, Buffer.from("The quick "), Buffer.from("brown fox jumps over the lazy dog"), mac) // true
 */
export function hmacSha256Verify(state: Int32Array, at: number, prefix: Uint8Array, message: Uint8Array, mac: Uint8Array): boolean {
  const native = nativeVerify === undefined ? nativeHmacSha256Verify() : nativeVerify;
  return native === null ? hmacSha256VerifyJs(state, at, prefix, message, mac) : native(state, at, prefix, message, mac);
}

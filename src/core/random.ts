/**
 * Seedable pseudo-random numbers. Loss simulation, jitter, request IDs in tests, MIME
 * boundaries: everything random goes through `Random`, so the same seed gives the same run.
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG), seeded via splitmix32.
 */
import { createRequire } from "node:module";
import type * as nodeCrypto from "node:crypto";

/** The OS CSPRNG. node:crypto loads on first use: it costs every CLI start ~3 ms, and most runs never draw. */
let osRandomBytes: ((n: number) => Buffer) | undefined;
function randomBytes(n: number): Buffer {
  osRandomBytes ??= (createRequire(import.meta.url)("node:crypto") as typeof nodeCrypto).randomBytes;
  return osRandomBytes(n);
}

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** `n` random bytes. */
  bytes(n: number): Buffer;
  /** The seed this generator started from (report it so a run can be repeated). */
  readonly seed: number;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A seeded PRNG. Without a seed, one is drawn at random (and exposed as `.seed`).
 *
 * @example
 * const r = createRandom(42);
 * r.next() < 0.3; // the same answer every run with seed 42
 */
export function createRandom(seed?: number): Random {
  // The seed only has to differ between runs (sfc32 is no CSPRNG anyway): Math.random is seeded
  // by Node from OpenSSL's CSPRNG at start-up, and unlike node:crypto costs nothing to load.
  const s = seed ?? Math.floor(Math.random() * 4294967296) >>> 0;
  const init = splitmix32(s);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const next32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next32();
  return {
    seed: s,
    next: () => next32() / 4294967296,
    int: (n: number) => Math.floor((next32() / 4294967296) * n),
    bytes(n: number): Buffer {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i += 4) {
        const v = next32();
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
      }
      return out;
    },
  };
}

/** Random bytes from the OS CSPRNG, for things that must be unguessable (request IDs). */
export const secureRandom: Random = {
  seed: 0,
  next: () => randomBytes(4).readUInt32LE(0) / 4294967296,
  int: (n: number) => Math.floor((randomBytes(4).readUInt32LE(0) / 4294967296) * n),
  bytes: (n: number) => randomBytes(n),
};

import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import { WirekitError } from "../../src/core/errors.js";
import {
  countedKinds, createImpairment, describeImpairment, flipBit, ImpairmentModel, isImpaired, RATE_QUEUE_LIMIT_MS,
  type ImpairmentConfig, type ImpairmentDecision,
} from "../../src/core/impair.js";
import { ImpairedSender } from "../../src/core/impaired-sender.js";
import { createRandom } from "../../src/core/random.js";

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof WirekitError ? e.code : "not-wirekit";
  }
  return undefined;
};

/** |observed − n·p| within 4 standard deviations of a binomial(n, p). */
function assertBinomial(observed: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(observed - n * p) <= 4 * sd, `${what}: ${observed} of ${n}, expected ${n * p} ± ${(4 * sd).toFixed(1)}`);
}

function decisions(config: ImpairmentConfig, seed: number, n: number, len = 100, stepMs = 10): ImpairmentDecision[] {
  const m = new ImpairmentModel(config, createRandom(seed));
  return Array.from({ length: n }, (_, i) => m.decide(len, i * stepMs));
}

/** A sender on a fake clock that records what it delivers, with the delivery time. */
function path(config: ImpairmentConfig, seed = 1, options: { holdLimitMs?: number } = {}) {
  const clock = new FakeClock();
  const delivered: Array<{ msg: Buffer; at: number }> = [];
  const model = new ImpairmentModel(config, createRandom(seed));
  const sender = new ImpairedSender(model, clock, (msg) => delivered.push({ msg, at: clock.monotonic() }), options);
  const seqOf = (b: Buffer): number => b.readUInt32BE(0);
  const send = (seq: number, len = 100): ImpairmentDecision => {
    const b = Buffer.alloc(Math.max(4, len));
    b.writeUInt32BE(seq, 0);
    return sender.send(b, 9, "127.0.0.1");
  };
  return { clock, delivered, model, sender, send, order: () => delivered.map((d) => seqOf(d.msg)) };
}

test("the same seed gives exactly the same impairment sequence (golden)", () => {
  const config: ImpairmentConfig = { loss: 0.2, delayMs: 10, jitterMs: 5, duplicate: 0.2, corrupt: 0.2, reorder: 0.2 };
  const got = decisions(config, 7, 20, 32).map((d) => d.drop ?? d.copies.map((c) => `${c.delayMs.toFixed(3)}${c.corruptBit !== undefined ? ` bit ${c.corruptBit}` : ""}${c.hold === true ? " hold" : ""}`).join(" + "));
  assert.deepEqual(got, GOLDEN_SEED_7);
  assert.deepEqual(decisions(config, 7, 12, 32), decisions(config, 7, 12, 32));
  assert.notDeepEqual(decisions(config, 8, 12, 32), decisions(config, 7, 12, 32));
});

// Decisions 1-20 for seed 7, 32-byte datagrams: drop, or each copy's delay (ms), flipped bit, hold.
const GOLDEN_SEED_7 = [
  "loss", "13.432", "11.440 + 5.786", "14.255 bit 78", "7.248", "5.106", "7.768", "13.465", "9.766", "13.004",
  "5.129 bit 22", "loss", "14.130 bit 242 + 12.096", "8.422", "13.979", "loss", "11.151", "12.622 hold", "12.976", "12.044 + 11.710",
];

test("with only loss set, the drops are the servers' old `next() < loss`, one draw per datagram", () => {
  const predict = createRandom(20261123);
  const expected = Array.from({ length: 200 }, () => predict.next() < 0.3);
  const got = decisions({ loss: 0.3 }, 20261123, 200).map((d) => d.drop === "loss");
  assert.deepEqual(got, expected);
});

test("Bernoulli loss over 20000 datagrams is within 4 sigma of P, and the counters agree", () => {
  for (const p of [0.01, 0.3, 0.9]) {
    const m = new ImpairmentModel({ loss: p }, createRandom(99));
    let dropped = 0;
    for (let i = 0; i < 20000; i++) if (m.decide(64, i).drop === "loss") dropped++;
    assertBinomial(dropped, 20000, p, `loss ${p}`);
    assert.equal(m.counts().lost, dropped);
  }
  assert.ok(decisions({ loss: 1 }, 3, 100).every((d) => d.drop === "loss"));
});

test("Gilbert-Elliott: mean burst length ≈ N and long-run loss ≈ P", () => {
  for (const [p, n] of [[0.2, 4], [0.3, 3], [0.05, 2]] as const) {
    const m = new ImpairmentModel({ loss: p, lossBurst: n }, createRandom(5));
    const total = 100_000;
    let dropped = 0;
    let bursts = 0;
    let inBurst = false;
    for (let i = 0; i < total; i++) {
      const lost = m.decide(64, i).drop === "burst";
      if (lost) dropped++;
      if (lost && !inBurst) bursts++;
      inBurst = lost;
    }
    const meanBurst = dropped / bursts;
    // Bursts are geometric with mean N: sd of the mean is sqrt((1 - 1/N) N² / bursts).
    const sdBurst = Math.sqrt((1 - 1 / n) * n * n / bursts);
    assert.ok(Math.abs(meanBurst - n) <= 4 * sdBurst, `P ${p} N ${n}: mean burst ${meanBurst.toFixed(3)}`);
    // The chain's draws are correlated: widen the binomial bound by (1 + λ) / (1 − λ), λ = 1 − p(g→b) − p(b→g).
    const lambda = 1 - p / (n * (1 - p)) - 1 / n;
    const sdLoss = Math.sqrt(total * p * (1 - p) * ((1 + lambda) / (1 - lambda)));
    assert.ok(Math.abs(dropped - total * p) <= 4 * sdLoss, `P ${p} N ${n}: loss ${(dropped / total).toFixed(4)}`);
    assert.equal(m.counts().lostInBursts, dropped);
    assert.equal(m.counts().lost, 0);
  }
});

test("independent loss has bursts of mean 1/(1-P); --loss-burst makes them longer", () => {
  const runs = (config: ImpairmentConfig): number => {
    const ds = decisions(config, 11, 50_000);
    let bursts = 0;
    let dropped = 0;
    ds.forEach((d, i) => {
      if (d.drop === undefined) return;
      dropped++;
      if (i === 0 || ds[i - 1]?.drop === undefined) bursts++;
    });
    return dropped / bursts;
  };
  assert.ok(Math.abs(runs({ loss: 0.2 }) - 1.25) < 0.05);
  assert.ok(runs({ loss: 0.2, lossBurst: 5 }) > 4.5);
});

test("impossible settings are one-line usage errors", () => {
  for (const c of [
    { loss: 2 }, { loss: -0.1 }, { loss: Number.NaN }, { reorder: 1.5 }, { duplicate: -1 }, { corrupt: 2 },
    { delayMs: -5 }, { jitterMs: Number.POSITIVE_INFINITY }, { lossBurst: 0.5, loss: 0.1 }, { rateBytesPerSec: 0 },
    // p(good→bad) = P / (N(1-P)) > 1: a 90% loss cannot come in bursts of mean 1.
    { loss: 0.9, lossBurst: 1 },
  ] satisfies ImpairmentConfig[]) {
    assert.equal(codeOf(() => new ImpairmentModel(c, createRandom(1))), "ERR_USAGE", JSON.stringify(c));
  }
  assert.equal(codeOf(() => new ImpairmentModel({ loss: 0.5, lossBurst: 1 }, createRandom(1))), undefined, "the bound itself is allowed");
  assert.equal(codeOf(() => new ImpairmentModel({ loss: 1, lossBurst: 3 }, createRandom(1))), undefined);
});

test("nothing configured means no model at all (the servers' fast path)", () => {
  assert.equal(createImpairment({}, createRandom(1)), undefined);
  assert.equal(createImpairment({ loss: 0, delayMs: 0, reorder: 0 }, createRandom(1)), undefined);
  assert.equal(isImpaired({ loss: 0 }), false);
  assert.equal(isImpaired({ jitterMs: 1 }), true);
  assert.equal(isImpaired({ rateBytesPerSec: 65536 }), true);
  assert.throws(() => createImpairment({ loss: 3 }, createRandom(1)), WirekitError, "checked even when off");
});

test("describeImpairment gives the listening line's short text", () => {
  assert.equal(describeImpairment({ loss: 0.3, lossBurst: 3, delayMs: 20, jitterMs: 10, reorder: 0.05 }, 7), "impair: loss 30% (burst 3), delay 20ms ±10ms, reorder 5%, seed 7");
  assert.equal(describeImpairment({ loss: 0.3 }, 1), "impair: loss 30%, seed 1");
  assert.equal(describeImpairment({ duplicate: 1, corrupt: 0.001, rateBytesPerSec: 65536 }), "impair: duplicate 100%, corrupt 0.1%, rate 64.0 KiB/s");
  assert.equal(describeImpairment({ jitterMs: 5 }, 2), "impair: delay 0ms ±5ms, seed 2");
  assert.equal(describeImpairment({ loss: 0 }, 7), "");
  assert.equal(describeImpairment({ delayMs: 300, rateBytesPerSec: 1000 }, 7), "impair: delay 300ms, rate 1000 B/s", "nothing random: no seed");
});

test("delay + jitter: every delay is within delay ± jitter, spread over it, and replies overtake each other", () => {
  const p = path({ delayMs: 50, jitterMs: 40 }, 3);
  for (let i = 0; i < 200; i++) {
    p.send(i);
    p.clock.advance(1);
  }
  p.clock.advance(200);
  assert.equal(p.delivered.length, 200);
  const order = p.order();
  assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i), "each exactly once");
  const inversions = order.filter((s, i) => i > 0 && s < (order[i - 1] ?? 0)).length;
  assert.ok(inversions > 20, `${inversions} overtakings`);
  const delays = decisions({ delayMs: 50, jitterMs: 40 }, 3, 2000).map((d) => d.copies[0]?.delayMs ?? -1);
  assert.ok(delays.every((d) => d >= 10 && d <= 90));
  assert.ok(Math.min(...delays) < 12 && Math.max(...delays) > 88, "uniform over the whole range");
  assert.ok(Math.abs(delays.reduce((a, b) => a + b, 0) / delays.length - 50) < 2);
  assert.equal(p.model.counts().delayed, 200);
});

test("jitter larger than the delay never gives a negative delay", () => {
  assert.ok(decisions({ delayMs: 5, jitterMs: 50 }, 9, 1000).every((d) => (d.copies[0]?.delayMs ?? -1) >= 0));
});

test("reorder holds a datagram back until the next one has been delivered", () => {
  const p = path({ reorder: 0.3 }, 21);
  const held: number[] = [];
  for (let i = 0; i < 1000; i++) if (p.send(i).copies[0]?.hold === true) held.push(i);
  p.clock.advance(5000);
  const order = p.order();
  assert.equal(order.length, 1000);
  assertBinomial(held.length, 1000, 0.3, "reordered");
  assert.equal(p.model.counts().reordered, held.length);
  for (const h of held) {
    const at = order.indexOf(h);
    if (!held.includes(h + 1) && h + 1 < 1000) assert.equal(order[at - 1], h + 1, `seq ${h} goes right behind ${h + 1}`);
  }
  assert.ok(order.some((s, i) => i > 0 && s < (order[i - 1] ?? 0)));
});

test("a held datagram with nothing behind it goes after the hold limit", () => {
  const p = path({ reorder: 1 }, 1, { holdLimitMs: 500 });
  p.send(1);
  p.clock.advance(499);
  assert.equal(p.delivered.length, 0);
  assert.equal(p.sender.pending, 1);
  p.clock.advance(1);
  assert.deepEqual(p.order(), [1]);
  assert.equal(p.delivered[0]?.at, 500);
});

test("duplicate delivers a share of datagrams twice", () => {
  const all = path({ duplicate: 1 }, 4);
  for (let i = 0; i < 10; i++) all.send(i);
  assert.deepEqual(all.order(), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
  const some = decisions({ duplicate: 0.1 }, 4, 20000).filter((d) => d.copies.length === 2).length;
  assertBinomial(some, 20000, 0.1, "duplicated");
});

test("corrupt flips exactly one bit of a copy and leaves the caller's buffer alone", () => {
  const p = path({ corrupt: 1 }, 6);
  const originals: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const b = Buffer.from(`payload number ${i} with some bytes`);
    originals.push(Buffer.from(b));
    p.sender.send(b, 9, "127.0.0.1");
    assert.deepEqual(b, originals[i], "caller's buffer untouched");
  }
  const bitsUsed = new Set<number>();
  p.delivered.forEach(({ msg }, i) => {
    const o = originals[i] ?? Buffer.alloc(0);
    assert.equal(msg.length, o.length);
    let flipped = 0;
    for (let j = 0; j < o.length; j++) {
      let x = (msg[j] ?? 0) ^ (o[j] ?? 0);
      if (x !== 0) bitsUsed.add(j);
      while (x !== 0) {
        flipped += x & 1;
        x >>>= 1;
      }
    }
    assert.equal(flipped, 1, `datagram ${i}`);
  });
  assert.ok(bitsUsed.size > 15, "the bit is anywhere in the payload");
  assert.equal(p.model.counts().corrupted, 300);
  assert.deepEqual(flipBit(Buffer.from([0x00, 0xff]), 0), Buffer.from([0x80, 0xff]));
  assert.deepEqual(flipBit(Buffer.from([0x00, 0xff]), 15), Buffer.from([0x00, 0xfe]));
  assert.equal(new ImpairmentModel({ corrupt: 1 }, createRandom(1)).decide(0, 0).copies[0]?.corruptBit, undefined, "an empty datagram has no bit to flip");
});

test("the token bucket spaces a burst at the rate, queues up to 1 s, then drops", () => {
  const rate = 10_000;
  const p = path({ rateBytesPerSec: rate }, 1);
  const fates = Array.from({ length: 100 }, (_, i) => p.send(i, 1000));
  // Depth 1500 bytes: the first goes at once, the k-th waits (1000k − 1500) / rate.
  assert.equal(fates[0]?.copies[0]?.delayMs, 0);
  assert.equal(fates[1]?.copies[0]?.delayMs, 50);
  assert.equal(fates[2]?.copies[0]?.delayMs, 150);
  const accepted = fates.filter((d) => d.drop === undefined).length;
  assert.equal(accepted, Math.floor((RATE_QUEUE_LIMIT_MS * rate / 1000 + 1500) / 1000));
  assert.ok(fates.slice(accepted).every((d) => d.drop === "rate"));
  p.clock.advance(2000);
  const times = p.delivered.map((d) => d.at);
  for (let i = 2; i < times.length; i++) assert.equal((times[i] ?? 0) - (times[i - 1] ?? 0), 100, "one 1000-byte datagram per 100 ms");
  assert.deepEqual(p.model.counts().rateDropped, 100 - accepted);
  assert.deepEqual(p.model.counts().rateDelayed, accepted - 1);
});

test("over a long run the token bucket lets through the configured rate and no more", () => {
  const rate = 8000;
  const p = path({ rateBytesPerSec: rate }, 1);
  // Offer 20000 bytes/s for 20 s.
  for (let t = 0; t < 20_000; t += 50) {
    p.send(t, 1000);
    p.clock.advance(50);
  }
  const inFirst19s = p.delivered.filter((d) => d.at < 19_000).length * 1000;
  assert.ok(Math.abs(inFirst19s - 19 * rate) <= 2000, `${inFirst19s} bytes in 19 s at ${rate} B/s`);
  const c = p.model.counts();
  assert.ok(c.rateDropped > 200 && c.rateDelayed > 100);
});

test("under the rate nothing waits", () => {
  const p = path({ rateBytesPerSec: 100_000 }, 1);
  for (let i = 0; i < 100; i++) {
    assert.equal(p.send(i, 1000).copies[0]?.delayMs, 0);
    p.clock.advance(20);
  }
  assert.equal(p.model.counts().rateDelayed, 0);
});

test("a delayed copy is a copy: reusing the receive buffer does not change what is delivered", () => {
  const p = path({ delayMs: 10 }, 1);
  const buf = Buffer.from("first");
  p.sender.send(buf, 9, "127.0.0.1");
  buf.write("XXXXX");
  p.clock.advance(10);
  assert.equal(p.delivered[0]?.msg.toString(), "first");
});

test("close() drops what is waiting; at most maxPending wait at once", () => {
  const clock = new FakeClock();
  let n = 0;
  const s = new ImpairedSender(new ImpairmentModel({ delayMs: 100 }, createRandom(1)), clock, () => n++, { maxPending: 5 });
  for (let i = 0; i < 8; i++) s.send(Buffer.from("x"), 1, "127.0.0.1");
  assert.equal(s.pending, 5);
  assert.equal(s.counts().overflowed, 3);
  s.close();
  clock.advance(1000);
  assert.equal(n, 0);
  assert.equal(clock.pending, 0);
});

test("each decision says why, for the server's log line", () => {
  const ds = decisions({ loss: 0.3, duplicate: 0.3, delayMs: 5 }, 2, 40);
  assert.ok(ds.some((d) => d.reason === "dropped"));
  assert.ok(ds.some((d) => /^delayed 5 and 5 ms, duplicated$/.test(d.reason)));
  assert.equal(decisions({ loss: 0.5, lossBurst: 2 }, 2, 40).find((d) => d.drop !== undefined)?.reason, "dropped (burst)");
});

test("countedKinds names the counters a config can move, in a fixed order", () => {
  assert.deepEqual(countedKinds({ loss: 0.3, jitterMs: 5 }), ["lost", "delayed"]);
  assert.deepEqual(countedKinds({ loss: 0.3, lossBurst: 2, reorder: 0.1, duplicate: 0.1, corrupt: 0.1, rateBytesPerSec: 1000 }), [
    "lostInBursts", "reordered", "duplicated", "corrupted", "rateDelayed", "rateDropped",
  ]);
  assert.deepEqual(countedKinds({ loss: 0 }), []);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { isWirekitError } from "../../../src/core/errors.js";
import { createRandom } from "../../../src/core/random.js";
import { Backoff, backoffSchedule, jittered } from "../../../src/udp/echo/backoff.js";

test("the lab's schedule is 0.1, 0.2, 0.4, 0.8, 1.6 s, then give up (the next, 3.2 s, exceeds 2 s)", () => {
  assert.deepEqual(backoffSchedule({ initialMs: 100, maxMs: 2000 }), [100, 200, 400, 800, 1600]);
  assert.deepEqual(backoffSchedule(), [100, 200, 400, 800, 1600]);
});

test("a timeout equal to the maximum is still tried", () => {
  assert.deepEqual(backoffSchedule({ initialMs: 100, maxMs: 1600 }), [100, 200, 400, 800, 1600]);
  assert.deepEqual(backoffSchedule({ initialMs: 500, maxMs: 500 }), [500]);
  assert.deepEqual(backoffSchedule({ initialMs: 0.1, maxMs: 0.8 }), [0.1, 0.2, 0.4, 0.8]);
});

test("the Backoff cursor hands out the schedule once, then undefined", () => {
  const b = new Backoff({ initialMs: 100, maxMs: 2000 });
  const got: number[] = [];
  for (let t = b.next(); t !== undefined; t = b.next()) got.push(t);
  assert.deepEqual(got, [100, 200, 400, 800, 1600]);
  assert.equal(b.attempts, 5);
  assert.equal(b.next(), undefined);
  assert.equal(b.nominal(3), 400);
});

test("jitter keeps each timeout within ±50% of nominal, repeats with the same seed, and never changes the attempt count", () => {
  const run = (seed: number): number[] => {
    const b = new Backoff({ initialMs: 100, maxMs: 2000, jitter: true, random: createRandom(seed) });
    const out: number[] = [];
    for (let t = b.next(); t !== undefined; t = b.next()) out.push(t);
    return out;
  };
  const a = run(7);
  assert.deepEqual(a, run(7));
  assert.notDeepEqual(a, run(8));
  assert.equal(a.length, 5);
  [100, 200, 400, 800, 1600].forEach((nominal, i) => {
    const t = a[i] as number;
    assert.ok(t >= nominal * 0.5 && t < nominal * 1.5, `${t} vs ${nominal}`);
  });
  const r = createRandom(1);
  for (let i = 0; i < 1000; i++) {
    const t = jittered(1000, r);
    assert.ok(t >= 500 && t < 1500);
  }
});

test("nonsense settings are usage errors: zero or negative timeout, max below initial, factor ≤ 1, jitter without a source", () => {
  for (const o of [{ initialMs: 0 }, { initialMs: -1 }, { initialMs: 300, maxMs: 200 }, { factor: 1 }, { jitter: true }, { initialMs: NaN }]) {
    assert.throws(() => backoffSchedule(o), (e) => isWirekitError(e, "ERR_USAGE"), JSON.stringify(o));
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { effectiveStdDev, negLog10NormalTail, newArrivalStats, phi, recordInterval, suspectAfterMs } from "../../../src/udp/heartbeat/detector.js";

const close = (actual: number, expected: number, tol: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);
};

// Q(z) from the standard normal table; phi = -log10 Q(z).
const TABLE: Array<[number, number]> = [
  [0, 0.5],
  [1, 0.158655254],
  [2, 0.022750132],
  [3, 0.001349898],
  [5, 2.866516e-7],
  [-1, 0.841344746],
  [10, 7.619853e-24],
];

test("the normal tail matches the table values of Q(z), far into the tail", () => {
  for (const [z, q] of TABLE) close(negLog10NormalTail(z), -Math.log10(q), 1e-6, `z=${z}`);
  // Q(30) = 4.9067e-198: no underflow to Infinity
  close(negLog10NormalTail(30), 197.30921, 1e-4, "z=30");
});

test("interval statistics are the exact mean and population variance for the first samples", () => {
  const s = newArrivalStats();
  for (const x of [1000, 1000, 1000, 1200]) recordInterval(s, x);
  assert.equal(s.count, 4);
  close(s.mean, 1050, 1e-9, "mean");
  close(s.variance, 7500, 1e-9, "variance"); // (3·50² + 150²) / 4
});

test("beyond the window the estimate forgets old intervals exponentially", () => {
  const s = newArrivalStats();
  for (let i = 0; i < 200; i++) recordInterval(s, 1000, 32);
  for (let i = 0; i < 500; i++) recordInterval(s, 100, 32);
  close(s.mean, 100, 0.05, "mean after the rate changed");
});

test("phi is -log10 of the normal tail at (elapsed - mean) / sigma, hand-computed", () => {
  const s = newArrivalStats();
  for (const x of [1000, 1000, 1000, 1200]) recordInterval(s, x);
  // Default floors: sigma = max(sqrt(7500) = 86.6, 0.25 * 1050 = 262.5, 50) = 262.5
  close(effectiveStdDev(s), 262.5, 1e-9, "sigma with the default 25% floor");
  close(phi(s, 1050), 0.30103, 1e-5, "at the mean");
  close(phi(s, 1050 + 2 * 262.5), 1.643016, 1e-5, "two sigma late, default floor"); // Q(2) = 0.0227501
  // A 10% floor: sigma = max(86.6, 105, 1) = 105
  const tenPercent = { minStdDevRatio: 0.1, minStdDevMs: 1 };
  close(effectiveStdDev(s, tenPercent), 105, 1e-9, "sigma with a 10% floor");
  close(phi(s, 1260, tenPercent), 1.643016, 1e-5, "two sigma late"); // Q(2) = 0.0227501
  close(phi(s, 1365, tenPercent), 2.869699, 1e-5, "three sigma late"); // Q(3) = 0.0013499
  // Without the floor, sigma = sqrt(7500) = 86.6025
  const noFloor = { minStdDevRatio: 0, minStdDevMs: 0 };
  close(phi(s, 1050 + Math.sqrt(7500), noFloor), 0.799546, 1e-5, "one sigma, no floor");
});

test("phi is 0 before any interval is known, and grows with silence", () => {
  const s = newArrivalStats();
  assert.equal(phi(s, 1e9), 0);
  recordInterval(s, 100);
  let last = -1;
  for (let t = 0; t <= 300; t += 10) {
    const p = phi(s, t);
    assert.ok(p >= last, `phi went down at ${t} ms`);
    last = p;
  }
});

test("suspectAfterMs is where phi crosses the threshold", () => {
  const s = newArrivalStats();
  for (const x of [1000, 1000, 1000, 1200]) recordInterval(s, x);
  const t = suspectAfterMs(s, 8);
  close(phi(s, t), 8, 1e-6, "phi at the crossing");
  // phi = 8 ⇔ Q(z) = 1e-8 ⇔ z ≈ 5.612
  close((t - 1050) / 262.5, 5.612, 0.001, "z at phi 8");
  assert.equal(suspectAfterMs(newArrivalStats(), 8), Infinity);
});

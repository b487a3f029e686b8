import { test } from "node:test";
import assert from "node:assert/strict";
import { RttStats, formatG, lossPercent } from "../../src/core/stats.js";

test("RttStats computes min/avg/max/mdev like ping (hand-computed values)", () => {
  const s = new RttStats();
  for (const x of [1, 2, 3, 4]) s.add(x);
  assert.equal(s.count, 4);
  assert.equal(s.min, 1);
  assert.equal(s.max, 4);
  assert.equal(s.avg, 2.5);
  // population standard deviation of 1..4 = sqrt(1.25)
  assert.ok(Math.abs(s.mdev - Math.sqrt(1.25)) < 1e-12);
});

test("RttStats of no samples is all zeros", () => {
  assert.deepEqual(new RttStats().summary(), { count: 0, min: 0, avg: 0, max: 0, mdev: 0 });
});

test("lossPercent and formatG print loss as ping's %g does", () => {
  assert.equal(formatG(lossPercent(10, 7)), "30");
  assert.equal(formatG(lossPercent(3, 2)), "33.3333");
  assert.equal(formatG(lossPercent(0, 0)), "0");
});

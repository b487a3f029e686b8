import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RecentAnswers } from "../../src/core/recent-answers.js";

describe("RecentAnswers", () => {
  it("computes each key once while it is kept", () => {
    const asked: string[] = [];
    const m = new RecentAnswers((k) => {
      asked.push(k);
      return { k };
    }, { maxEntries: 10 });
    const a = m.get("a");
    assert.equal(m.get("a"), a, "the same answer object");
    m.get("b");
    assert.deepEqual(asked, ["a", "b"]);
    assert.equal(m.size, 2);
  });

  it("answers keys longer than maxKeyLength without keeping them", () => {
    let calls = 0;
    const m = new RecentAnswers((k) => (calls++, k.length), { maxEntries: 10, maxKeyLength: 4 });
    assert.equal(m.get("abcde"), 5);
    assert.equal(m.get("abcde"), 5);
    assert.equal(calls, 2);
    assert.equal(m.size, 0);
    m.get("abcd");
    assert.equal(m.size, 1);
  });

  it("drops everything when full, so a flood of distinct keys stays bounded", () => {
    const m = new RecentAnswers((k) => k.toUpperCase(), { maxEntries: 3 });
    for (let i = 0; i < 1000; i++) {
      assert.equal(m.get(`k${i}`), `K${i}`);
      assert.ok(m.size <= 3);
    }
  });
});

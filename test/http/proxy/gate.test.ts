/**
 * The collapsing gate (gate.ts) on its own: no sockets, and a fake clock. Which requests may
 * share a fetch, who leads, who waits and when waiters go, driven step by step; and the wait for
 * another node's fetch (a shared store's lock), polled on the clock.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { collapsible, CollapsingGate, SHARED_POLL_MS } from "../../../src/http/proxy/gate.js";

/** Has `p` settled by now (after the microtasks queued so far)? */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise<void>((r) => setImmediate(r));
  return done;
}

describe("collapsible", () => {
  for (const [name, method, headers, waited, want] of [
    ["a plain GET", "GET", {}, false, true],
    ["a GET with an empty body", "GET", { "content-length": "0" }, false, true],
    ["a HEAD", "HEAD", {}, false, false],
    ["a POST", "POST", {}, false, false],
    ["a conditional GET (If-None-Match)", "GET", { "if-none-match": '"a"' }, false, false],
    ["a conditional GET (If-Modified-Since)", "GET", { "if-modified-since": "Thu, 01 Jan 2026 00:00:00 GMT" }, false, false],
    ["a Range request", "GET", { range: "bytes=0-9" }, false, false],
    ["a GET with a body", "GET", { "content-length": "3" }, false, false],
    ["a chunked GET", "GET", { "transfer-encoding": "chunked" }, false, false],
    ["a GET that already waited once", "GET", {}, true, false],
  ] as const) {
    it(`${name}: ${want ? "shares" : "goes alone"}`, () => assert.equal(collapsible(method, headers, waited), want));
  }
});

describe("CollapsingGate", () => {
  it("the first request for a URI leads, the next ones wait until it releases, then the URI is free", async () => {
    const gate = new CollapsingGate();
    const lead = gate.enter("http://o.test/a", true);
    assert.equal(lead.kind, "lead");
    assert.ok(gate.leading("http://o.test/a"));
    const w1 = gate.enter("http://o.test/a", true);
    const w2 = gate.enter("http://o.test/a", true);
    assert.equal(w1.kind, "wait");
    assert.equal(w2.kind, "wait");
    if (w1.kind !== "wait" || w2.kind !== "wait" || lead.kind !== "lead") return;
    assert.equal(w1.done, w2.done, "every waiter waits on the same fetch");
    assert.equal(await settled(w1.done), false, "waiters wait while the leader is out");
    lead.release();
    assert.equal(await settled(w1.done), true);
    assert.equal(await settled(w2.done), true);
    assert.equal(gate.size, 0);
    assert.equal(gate.enter("http://o.test/a", true).kind, "lead", "after the release the next request leads again");
  });

  it("keeps URIs apart, and ineligible requests never lead nor wait", () => {
    const gate = new CollapsingGate();
    assert.equal(gate.enter("http://o.test/a", true).kind, "lead");
    assert.equal(gate.enter("http://o.test/b", true).kind, "lead");
    assert.equal(gate.enter("http://o.test/a", false).kind, "alone");
    assert.equal(gate.size, 2);
  });

  it("a release is once: a second call does not free a later leader's URI", async () => {
    const gate = new CollapsingGate();
    const first = gate.enter("k", true);
    if (first.kind !== "lead") throw new Error("expected to lead");
    first.release();
    const second = gate.enter("k", true);
    assert.equal(second.kind, "lead");
    first.release();
    assert.ok(gate.leading("k"), "the stale release left the new leader in place");
    const waiter = gate.enter("k", true);
    assert.equal(waiter.kind, "wait");
    if (waiter.kind === "wait") assert.equal(await settled(waiter.done), false);
  });
});

describe("CollapsingGate.waitShared (another node is fetching)", () => {
  it("asks every SHARED_POLL_MS of clock time and goes as soon as the lock is gone", async () => {
    const clock = new FakeClock();
    const gate = new CollapsingGate();
    let asked = 0;
    let held = true;
    const wait = gate.waitShared(() => {
      asked++;
      return Promise.resolve(held);
    }, clock, 5000);
    assert.equal(await settled(wait), false);
    assert.equal(asked, 1, "asked once at once");
    clock.advance(SHARED_POLL_MS - 1);
    assert.equal(await settled(wait), false);
    assert.equal(asked, 1, "no new question before the interval");
    clock.advance(1);
    await settled(wait);
    assert.equal(asked, 2);
    held = false;
    clock.advance(SHARED_POLL_MS);
    assert.equal(await settled(wait), true, "the lock went: the waiter goes");
    assert.equal(asked, 3);
  });

  it("gives up after the lock's lifetime even if it is still held (the lock expires by then)", async () => {
    const clock = new FakeClock();
    const gate = new CollapsingGate();
    let asked = 0;
    const wait = gate.waitShared(() => {
      asked++;
      return Promise.resolve(true);
    }, clock, 100);
    for (let t = 0; t < 100; t += SHARED_POLL_MS) {
      assert.equal(await settled(wait), false);
      clock.advance(SHARED_POLL_MS);
    }
    assert.equal(await settled(wait), true);
    assert.equal(asked, 100 / SHARED_POLL_MS);
  });

  it("does not wait at all when the lock is already gone or the store cannot be asked", async () => {
    const gate = new CollapsingGate();
    assert.equal(await settled(gate.waitShared(() => Promise.resolve(false), new FakeClock(), 5000)), true);
    assert.equal(await settled(gate.waitShared(() => Promise.resolve(true), new FakeClock(), 0)), true, "maxMs 0: never polls");
  });
});

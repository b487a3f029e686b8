/**
 * The collapsing gate (gate.ts) on its own: no sockets and no timers. Which requests may share
 * a fetch, and who leads, who waits and when waiters go, driven step by step.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { collapsible, CollapsingGate } from "../../../src/http/proxy/gate.js";

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

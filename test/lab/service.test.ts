import { test } from "node:test";
import assert from "node:assert/strict";
import { TypedEmitter } from "../../src/core/events.js";
import { serviceFromServer, type LabEvent } from "../../src/lab/service.js";

type FakeEvent = { kind: "hit"; at: number; n: number } | { kind: "miss"; n: number } | { kind: "noise" };

class FakeServer extends TypedEmitter<{ event: [FakeEvent] }> {
  readonly address = "127.0.0.1";
  readonly port = 9;
  closed = false;
  fire(e: FakeEvent): void {
    this.emit("event", e);
  }
}

function service(server: FakeServer, withRing: boolean) {
  return serviceFromServer({
    name: "fake",
    server,
    transport: "udp",
    clientCommand: "fake 127.0.0.1 9",
    impairment: "",
    totals: () => ({ n: 1 }),
    ...(withRing ? { recent: { size: 2, item: (e: FakeEvent) => (e.kind === "hit" ? { n: e.n } : undefined) } } : {}),
    snapshot: (recent) => ({ oldest: recent.oldestFirst(), newest: recent.newestFirst() }),
    feed: { render: (e) => `line ${e.kind}`, kinds: { hit: "got", miss: "miss" }, data: (e) => ("n" in e ? { n: e.n } : {}) },
    clock: { now: () => 42 },
    close: async () => {
      server.closed = true;
    },
  });
}

test("serviceFromServer keeps the last N items, maps kinds, renders lines, and stops listening on close", async () => {
  const server = new FakeServer();
  const s = service(server, true);
  assert.equal(server.listenerCount("event"), 1, "a ring listens from the start");
  assert.equal(s.impairment, undefined);
  for (const n of [1, 2, 3]) server.fire({ kind: "hit", at: 1000 + n, n });
  assert.deepEqual(s.snapshot?.(), { oldest: [{ n: 2 }, { n: 3 }], newest: [{ n: 3 }, { n: 2 }] });
  const feed: LabEvent[] = [];
  const off = s.subscribe?.((e) => feed.push(e));
  server.fire({ kind: "hit", at: 7, n: 4 });
  server.fire({ kind: "miss", n: 5 });
  server.fire({ kind: "noise" });
  assert.deepEqual(feed, [
    { service: "fake", kind: "got", at: 7, text: "line hit", data: { n: 4 } },
    { service: "fake", kind: "miss", at: 42, text: "line miss", data: { n: 5 } },
  ]);
  off?.();
  assert.equal(server.listenerCount("event"), 1, "the ring still listens");
  await s.close();
  assert.equal(server.listenerCount("event"), 0);
  assert.ok(server.closed);
});

test("without a ring, serviceFromServer listens only while someone is subscribed", () => {
  const server = new FakeServer();
  const s = service(server, false);
  assert.equal(server.listenerCount("event"), 0);
  const offA = s.subscribe?.(() => {});
  const offB = s.subscribe?.(() => {});
  assert.equal(server.listenerCount("event"), 1);
  offA?.();
  assert.equal(server.listenerCount("event"), 1);
  offB?.();
  assert.equal(server.listenerCount("event"), 0);
  assert.deepEqual(s.snapshot?.(), { oldest: [], newest: [] });
});

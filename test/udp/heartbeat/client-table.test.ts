import { test } from "node:test";
import assert from "node:assert/strict";
import { ClientTable } from "../../../src/udp/heartbeat/client-table.js";
import { ClientTracker } from "../../../src/udp/heartbeat/tracker.js";
import { createRandom } from "../../../src/core/random.js";

const order = (t: ClientTable): string[] => {
  const out: string[] = [];
  for (let s = t.oldest; s >= 0; s = t.newer(s)) out.push(t.at(s).id);
  return out;
};

test("ClientTable agrees with an ordered Map under random adds, touches, deletes and lookups", () => {
  for (const seed of [1, 2, 3]) {
    const random = createRandom(seed);
    const table = new ClientTable(seed);
    // Map order = arrival order, as the monitor used to keep it (delete + set to move to the end).
    const model = new Map<string, ClientTracker>();
    const idOf = (n: number): string => `client-${n}`;
    for (let step = 0; step < 20_000; step++) {
      const id = idOf(Math.floor(random.next() * 3000));
      const bytes = Buffer.from(`x id=${id} y`, "latin1");
      const slot = step % 2 === 0 ? table.find(id) : table.findBytes(bytes, 5, 5 + id.length);
      const known = model.get(id);
      assert.equal(slot >= 0, known !== undefined, `step ${step} ${id}`);
      if (known !== undefined) assert.equal(table.at(slot), known);
      const r = random.next();
      if (known === undefined) {
        const c = new ClientTracker(id, "a", 0, 0);
        assert.equal(table.at(table.add(c)), c);
        model.set(id, c);
      } else if (r < 0.4) {
        table.delete(slot);
        model.delete(id);
      } else {
        table.touch(slot);
        model.delete(id);
        model.set(id, known);
      }
      if (r < 0.05 && table.size > 0) {
        // evict the oldest, as the monitor does at maxClients
        const oldest = table.oldest;
        const c = table.at(oldest);
        assert.equal(c, model.values().next().value);
        table.delete(oldest);
        model.delete(c.id);
      }
      assert.equal(table.size, model.size);
    }
    assert.deepEqual(order(table), [...model.keys()]);
    assert.deepEqual([...table.values()].map((c) => c.id), [...model.keys()]);
    for (const id of model.keys()) assert.equal(table.get(id)?.id, id);
    assert.equal(table.get("client-x"), undefined);
    assert.equal(table.findBytes(Buffer.from("client-"), 0, 7), -1);
  }
});

test("ClientTable: emptied and filled again, deleting while walking oldest to newest", () => {
  const table = new ClientTable(7);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 1000; i++) table.add(new ClientTracker(`id-${i}`, "a", 0, 0));
    assert.equal(table.size, 1000);
    assert.deepEqual(order(table).slice(0, 3), ["id-0", "id-1", "id-2"]);
    for (let s = table.oldest, next = -1; s >= 0; s = next) {
      next = table.newer(s);
      if (table.at(s).id.endsWith("7") || round === 2) table.delete(s);
    }
    for (let i = 0; i < 1000; i++) {
      const id = `id-${i}`;
      assert.equal(table.find(id) >= 0, round < 2 && !id.endsWith("7"), id);
    }
    for (let s = table.oldest; s >= 0; s = table.oldest) table.delete(s);
    assert.equal(table.size, 0);
    assert.equal(table.oldest, -1);
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { trimSnapshot } from "../../src/lab/dashboard/trim.js";

test("a big heartbeat table reaches the page trimmed to the problem clients, with exact counts", () => {
  const rows = Array.from({ length: 1000 }, (_, i) => ({ id: `c${i}`, status: i % 100 === 0 ? "dead" : i % 50 === 0 ? "suspect" : "alive", lastSeen: i }));
  const t = trimSnapshot("heartbeat", { clients: rows }, 30);
  const clients = t?.clients as Array<{ id: string; status: string }>;
  assert.equal(clients.length, 30);
  assert.deepEqual(t?.clientCounts, { total: 1000, alive: 980, suspect: 10, dead: 10 });
  assert.deepEqual(clients.slice(0, 20).map((c) => c.status), [...Array(10).fill("dead"), ...Array(10).fill("suspect")]);
  assert.equal(clients[20]?.id, "c999", "then the most recently seen");
  const small = { clients: rows.slice(0, 3) };
  assert.equal((trimSnapshot("heartbeat", small, 30)?.clients as unknown[]).length, 3);
  const other = { recent: [1] };
  assert.equal(trimSnapshot("proxy", other), other, "other services pass through");
});

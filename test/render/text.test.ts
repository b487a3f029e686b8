import { test } from "node:test";
import assert from "node:assert/strict";
import { countWords, renderTotals, snakeKeys } from "../../src/render/text.js";

test("totals read as words with correct plurals", () => {
  assert.equal(countWords(1, "clients"), "1 client");
  assert.equal(countWords(2, "clients"), "2 clients");
  assert.equal(countWords(0, "misses"), "0 misses");
  assert.equal(countWords(1, "misses"), "1 miss");
  assert.equal(countWords(1, "bytesFromCache"), "1 byte from cache");
  assert.equal(countWords(1155, "bytesFromCache"), "1155 bytes from cache");
  assert.equal(countWords(1, "lost"), "1 lost", "a word with one form stays");
  assert.equal(countWords(1, "clientErrors"), "1 client error");
  assert.equal(countWords(2, "clientErrors"), "2 client errors");
  assert.equal(renderTotals({ requests: 1, hits: 0, revalidations: 1 }), "1 request, 0 hits, 1 revalidation");
});

test("JSON keys become snake_case, deeply, values untouched", () => {
  assert.deepEqual(snakeKeys({ bytesFromCache: 1, perClient: [{ lastSeenMs: 2, id: "webServer" }], n: null }), {
    bytes_from_cache: 1,
    per_client: [{ last_seen_ms: 2, id: "webServer" }],
    n: null,
  });
});

/**
 * EntryIndex's surrogate-key map: purge by tag looks the tag up instead of scanning every entry
 * (checked by counting reads of the entries' headers), and removing or replacing an entry (a 304
 * that changed its tags makes a new entry) leaves no stale key behind. Also the disk and memory
 * stores' withTag through it, and that a freshened entry is a new object (the old one unchanged).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EntryIndex } from "../../../src/http/proxy/cache/entry-index.js";
import { entryFacts, type StoredMeta } from "../../../src/http/proxy/cache/policy.js";
import { CacheStore, entryId, type StoredEntry } from "../../../src/http/proxy/cache/store.js";
import { MemoryStore } from "../../../src/http/proxy/cache/memory-store.js";
import type { EntryStore } from "../../../src/http/proxy/cache/entry-store.js";

const T0 = Date.UTC(2026, 0, 1);

function meta(url: string, fields: Array<[string, string]>): StoredMeta {
  return { url, status: 200, statusMessage: "OK", headers: [["Cache-Control", "max-age=60"], ...fields], requestTime: T0, responseTime: T0, varyNames: [], varyValues: [], bodyLength: 1 };
}

/** An entry whose headers count how often they are read. */
function counted(url: string, fields: Array<[string, string]>, reads: { n: number }): StoredEntry {
  const m = meta(url, fields);
  const headers = m.headers;
  const e: StoredEntry = { id: entryId(url, []), meta: m, facts: entryFacts(m), headLength: 0, fileSize: 1, body: undefined, verified: true };
  Object.defineProperty(m, "headers", {
    get: () => {
      reads.n++;
      return headers;
    },
  });
  return e;
}

describe("EntryIndex by surrogate key", () => {
  it("finds tagged entries without reading any entry's headers (no scan)", () => {
    const index = new EntryIndex();
    const reads = { n: 0 };
    for (let i = 0; i < 1000; i++) index.add(counted(`http://o.test/${i}`, i % 100 === 0 ? [["Surrogate-Key", "hot  product-7"]] : [["Cache-Tag", `other,${i}`]], reads));
    reads.n = 0;
    const found = index.withTag("product-7");
    assert.equal(found.length, 10);
    assert.equal(reads.n, 0, "withTag read no entry's headers");
    assert.deepEqual(index.withTag("hot").map((e) => e.meta.url).slice(0, 2), ["http://o.test/0", "http://o.test/100"]);
    assert.equal(index.withTag("42").length, 1, "Cache-Tag members, comma-separated");
    assert.equal(index.withTag("nope").length, 0);
  });

  it("forgets the keys of removed entries, and indexes a replacing entry by its own tags", () => {
    const index = new EntryIndex();
    const reads = { n: 0 };
    const a = counted("http://o.test/a", [["Surrogate-Key", "t1 t2"]], reads);
    const b = counted("http://o.test/b", [["Surrogate-Key", "t2"]], reads);
    index.add(a);
    index.add(b);
    assert.equal(index.tagCount, 2);
    index.delete(b);
    assert.deepEqual(index.withTag("t2"), [a]);
    const a2 = counted("http://o.test/a", [["Surrogate-Key", "t3"]], reads);
    assert.ok(index.replace(a, a2), "a 304 with new tags: a new entry in the old one's place");
    assert.deepEqual(index.withTag("t1"), []);
    assert.deepEqual(index.withTag("t3"), [a2]);
    assert.equal(index.replace(a, a2), false, "the old entry is no longer current");
    index.delete(a2);
    assert.equal(index.tagCount, 0, "no key left behind");
    assert.equal(index.size, 0);
  });
});

describe("stores: withTag through the index, and a 304's new tags", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const stores: Array<[string, () => Promise<EntryStore>]> = [
    ["memory", () => Promise.resolve(new MemoryStore())],
    [
      "disk",
      async () => {
        const d = await mkdtemp(join(tmpdir(), "wk-index-"));
        dirs.push(d);
        return CacheStore.open({ dir: d });
      },
    ],
  ];
  for (const [name, open] of stores) {
    it(`${name} store`, async () => {
      const store = await open();
      const put = async (url: string, tags: string): Promise<StoredEntry> => {
        const { bodyLength: _n, ...m } = meta(url, [["Surrogate-Key", tags]]);
        const w = store.beginWrite(m, 1 << 20);
        assert.ok(w !== null);
        w.write(Buffer.from("x"));
        const e = await w.commit();
        assert.ok(e !== undefined);
        return e;
      };
      const a = await put("http://o.test/a", "shop product-1");
      await put("http://o.test/b", "shop");
      assert.equal(store.withTag("shop").length, 2);
      const fresh = store.updateMeta(a, { ...a.meta, headers: [["Cache-Control", "max-age=60"], ["Surrogate-Key", "sale"]] });
      assert.notEqual(fresh, a, "a new entry replaces the old one");
      assert.deepEqual(a.meta.headers.find(([k]) => k === "Surrogate-Key"), ["Surrogate-Key", "shop product-1"], "the old entry still says what it said");
      assert.deepEqual(store.withTag("product-1"), []);
      assert.deepEqual(store.withTag("sale").map((e) => e.meta.url), ["http://o.test/a"]);
      store.removeUrl("http://o.test/b");
      assert.deepEqual(store.withTag("shop"), []);
      await store.flush();
    });
  }
});

describe("EntryIndex LRU order", () => {
  const plain = (url: string): StoredEntry => {
    const m = meta(url, []);
    return { id: entryId(url, []), meta: m, facts: entryFacts(m), headLength: 0, fileSize: 1, body: undefined, verified: true };
  };
  const order = (index: EntryIndex): string[] => [...index.values()].map((e) => e.meta.url);

  it("keeps least recently used first across repeated touches of the newest entry, removals and replacements", () => {
    const index = new EntryIndex();
    const [a, b, c] = [plain("http://o.test/a"), plain("http://o.test/b"), plain("http://o.test/c")];
    for (const e of [a, b, c]) index.add(e);
    assert.ok(index.touch(c)); // already the newest
    assert.ok(index.touch(c));
    assert.deepEqual(order(index), ["http://o.test/a", "http://o.test/b", "http://o.test/c"]);
    assert.ok(index.touch(a));
    assert.ok(index.touch(a));
    assert.deepEqual(order(index), ["http://o.test/b", "http://o.test/c", "http://o.test/a"]);
    index.delete(a);
    assert.equal(index.touch(a), false, "a removed entry is not touched back in");
    assert.deepEqual(order(index), ["http://o.test/b", "http://o.test/c"]);
    const b2 = plain("http://o.test/b");
    assert.ok(index.replace(b, b2));
    assert.equal(index.touch(b), false, "the replaced entry is no longer current");
    assert.ok(index.touch(c));
    assert.deepEqual(order(index), ["http://o.test/b", "http://o.test/c"]);
    index.clear();
    assert.equal(index.touch(c), false);
  });
});

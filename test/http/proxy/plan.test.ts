/**
 * The plan step (plan.ts) on its own: no sockets, no store, no clock — stored entries built in
 * memory and `now` passed in, table-driven. Each row is a request, what the cache holds, the time
 * since the entry was received, and the plan expected (kind, Cache-Status reason, details).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { entryFacts, type StoredMeta } from "../../../src/http/proxy/cache/policy.js";
import { entryId, type StoredEntry } from "../../../src/http/proxy/cache/store.js";
import type { StoredParts } from "../../../src/http/proxy/cache/partial.js";
import { planRequest, type CacheView, type Plan } from "../../../src/http/proxy/plan.js";
import type { HeaderMap } from "../../../src/http/header-list.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const URL = "http://o.test/x";

function entry(fields: Array<[string, string]>, extra: { parts?: StoredParts; vary?: { names: string[]; values: Array<string | null> }; bodyLength?: number } = {}): StoredEntry {
  const meta: StoredMeta = {
    url: URL,
    status: extra.parts === undefined ? 200 : 206,
    statusMessage: extra.parts === undefined ? "OK" : "Partial Content",
    headers: [["Date", new Date(T0).toUTCString()], ...fields],
    requestTime: T0,
    responseTime: T0,
    varyNames: extra.vary?.names ?? [],
    varyValues: extra.vary?.values ?? [],
    bodyLength: extra.bodyLength ?? 10,
    ...(extra.parts === undefined ? {} : { parts: extra.parts }),
  };
  return { id: entryId(URL, meta.varyValues), meta, facts: entryFacts(meta), headLength: 0, fileSize: 10, body: undefined, verified: true };
}

const fresh = entry([["Cache-Control", "max-age=60"], ["ETag", '"v1"']]);
const swr = entry([["Cache-Control", "max-age=60, stale-while-revalidate=30"]]);
const noCache = entry([["Cache-Control", "no-cache"], ["ETag", '"v1"']]);
const french = entry([["Cache-Control", "max-age=60"], ["Vary", "Accept-Language"]], { vary: { names: ["accept-language"], values: ["fr"] } });
const parts = entry([["Cache-Control", "max-age=60"], ["ETag", '"p1"']], { parts: { completeLength: 100, ranges: [[0, 9], [50, 59]] }, bodyLength: 20 });

const on = (...variants: StoredEntry[]): CacheView => ({ kind: "on", variants });

interface Row {
  name: string;
  method?: string;
  headers?: HeaderMap;
  cache: CacheView;
  /** Seconds after the entry was received. */
  at?: number;
  want: Partial<Plan> & { kind: Plan["kind"] };
}

const rows: Row[] = [
  { name: "PURGE is a purge", method: "PURGE", cache: on(), want: { kind: "purge" } },
  { name: "TRACE with Max-Forwards: 0 is answered here", method: "TRACE", headers: { "max-forwards": "0" }, cache: on(), want: { kind: "answer-here" } },
  { name: "OPTIONS with Max-Forwards: 2 is relayed", method: "OPTIONS", headers: { "max-forwards": "2" }, cache: on(), want: { kind: "relay", fwd: "method", cacheless: false } },
  { name: "POST with a cache invalidates", method: "POST", cache: on(), want: { kind: "invalidate", fwd: "method" } },
  { name: "POST without a cache is relayed", method: "POST", cache: { kind: "off" }, want: { kind: "relay", fwd: "method", cacheless: true } },
  { name: "GET with --no-cache bypasses", cache: { kind: "off" }, want: { kind: "relay", fwd: "bypass", cacheless: true } },
  { name: "GET while the shared store is away", cache: { kind: "unavailable" }, want: { kind: "relay", fwd: "uri-miss", detail: "store-unavailable", cacheless: true } },
  { name: "GET, nothing stored", cache: on(), want: { kind: "forward-and-store", fwd: "uri-miss" } },
  { name: "GET, another variant stored", headers: { "accept-language": "en" }, cache: on(french), want: { kind: "forward-and-store", fwd: "vary-miss" } },
  { name: "GET, the matching variant fresh", headers: { "accept-language": "FR" }, cache: on(french), at: 5, want: { kind: "serve-stored", entry: french, revalidate: false, notModified: false } },
  { name: "GET, fresh", cache: on(fresh), at: 59, want: { kind: "serve-stored", entry: fresh, revalidate: false } },
  { name: "GET, fresh, client's If-None-Match matches", headers: { "if-none-match": '"v1"' }, cache: on(fresh), at: 1, want: { kind: "serve-stored", notModified: true } },
  { name: "GET, stale: validate", cache: on(fresh), at: 61, want: { kind: "validate", entry: fresh, fwd: "stale" } },
  { name: "HEAD, stale: forwarded, not validated", method: "HEAD", cache: on(fresh), at: 61, want: { kind: "forward-and-store", fwd: "stale" } },
  { name: "GET, stale, max-stale allows it", headers: { "cache-control": "max-stale=10" }, cache: on(fresh), at: 65, want: { kind: "serve-stored", revalidate: false } },
  { name: "GET, stale inside stale-while-revalidate", cache: on(swr), at: 70, want: { kind: "serve-stored", entry: swr, revalidate: true } },
  { name: "GET, stale past stale-while-revalidate", cache: on(swr), at: 91, want: { kind: "validate", fwd: "stale" } },
  { name: "GET, request no-cache", headers: { "cache-control": "no-cache" }, cache: on(fresh), at: 1, want: { kind: "validate", fwd: "request" } },
  { name: "GET, Pragma: no-cache", headers: { pragma: "no-cache" }, cache: on(fresh), at: 1, want: { kind: "validate", fwd: "request" } },
  { name: "GET, request max-age=0", headers: { "cache-control": "max-age=0" }, cache: on(fresh), at: 1, want: { kind: "validate", fwd: "request" } },
  { name: "GET, response no-cache", cache: on(noCache), at: 1, want: { kind: "validate", fwd: "stale" } },
  { name: "only-if-cached, nothing stored", headers: { "cache-control": "only-if-cached" }, cache: on(), want: { kind: "refuse", fwd: "uri-miss", detail: "only-if-cached" } },
  { name: "only-if-cached, stale", headers: { "cache-control": "only-if-cached" }, cache: on(fresh), at: 61, want: { kind: "refuse", fwd: "stale" } },
  { name: "only-if-cached, fresh", headers: { "cache-control": "only-if-cached" }, cache: on(fresh), at: 1, want: { kind: "serve-stored" } },
  { name: "a range inside a stored part", headers: { range: "bytes=52-55" }, cache: on(parts), at: 1, want: { kind: "serve-part", entry: parts, ranges: [{ start: 52, end: 55 }] } },
  { name: "two ranges, each inside a part", headers: { range: "bytes=0-3, 55-59" }, cache: on(parts), at: 1, want: { kind: "serve-part", ranges: [{ start: 0, end: 3 }, { start: 55, end: 59 }] } },
  { name: "a suffix range inside no part", headers: { range: "bytes=-5" }, cache: on(parts), at: 1, want: { kind: "forward-and-store", fwd: "partial" } },
  { name: "a range across a gap", headers: { range: "bytes=5-52" }, cache: on(parts), at: 1, want: { kind: "forward-and-store", fwd: "partial" } },
  { name: "no Range, only parts stored", cache: on(parts), at: 1, want: { kind: "forward-and-store", fwd: "partial" } },
  { name: "a range inside a part, but stale", headers: { range: "bytes=0-3" }, cache: on(parts), at: 61, want: { kind: "forward-and-store", fwd: "partial" } },
  { name: "a range inside a part, If-Range matches", headers: { range: "bytes=0-3", "if-range": '"p1"' }, cache: on(parts), at: 1, want: { kind: "serve-part" } },
  { name: "a range inside a part, If-Range does not match", headers: { range: "bytes=0-3", "if-range": '"p2"' }, cache: on(parts), at: 1, want: { kind: "forward-and-store", fwd: "partial" } },
  { name: "only-if-cached, range outside the parts", headers: { range: "bytes=20-30", "cache-control": "only-if-cached" }, cache: on(parts), at: 1, want: { kind: "refuse", fwd: "partial" } },
  { name: "HEAD with only parts stored", method: "HEAD", headers: { range: "bytes=0-3" }, cache: on(parts), at: 1, want: { kind: "forward-and-store", fwd: "partial" } },
];

describe("planRequest, pure and table-driven", () => {
  for (const row of rows) {
    it(row.name, () => {
      const plan = planRequest({ method: row.method ?? "GET", headers: row.headers ?? {} }, row.cache, T0 + (row.at ?? 0) * 1000);
      const got = Object.fromEntries(Object.keys(row.want).map((k) => [k, (plan as unknown as Record<string, unknown>)[k]]));
      assert.deepEqual(got, row.want);
    });
  }

  it("gives the reuse decision with the stored response (age and ttl at `now`)", () => {
    const plan = planRequest({ method: "GET", headers: {} }, on(fresh), T0 + 20_000);
    assert.equal(plan.kind, "serve-stored");
    if (plan.kind === "serve-stored") {
      assert.equal(plan.reuse.ageMs, 20_000);
      assert.equal(plan.reuse.ttlMs, 40_000);
    }
  });
});

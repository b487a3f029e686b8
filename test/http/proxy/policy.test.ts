/** RFC 9111 policy, pure: storability, freshness, age, reuse decisions, Vary, validation, invalidation. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseDirectives } from "../../../src/http/proxy/cache/directives.js";
import { currentAge, decideReuse, entryFacts, freshnessLifetime, isStorable, varyMatches, varyNamesOf, varyValuesOf, type StoredMeta } from "../../../src/http/proxy/cache/policy.js";
import { clientNotModified, freshenFrom304, invalidatedUris, notModifiedApplies } from "../../../src/http/proxy/cache/validation.js";
import { formatCacheStatus } from "../../../src/http/proxy/cache/cache-status.js";
import { labTargetFromReferer, parseAuthority, parseTarget } from "../../../src/http/proxy/target.js";
import { endToEnd, viaHasLoop, withVia } from "../../../src/http/proxy/hop-by-hop.js";
import { originFailure } from "../../../src/http/proxy/forward.js";
import { createHash } from "node:crypto";
import { BLOCK, BodyHasher, decodeFooter, decodeHead, encodeFooter, encodeHead, encodeTail, expectedFileSize, FOOTER_LENGTH, tableLength } from "../../../src/http/proxy/cache/entry-codec.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const httpDate = (ms: number): string => new Date(ms).toUTCString();

function meta(headers: Array<[string, string]>, extra: Partial<StoredMeta> = {}): StoredMeta {
  return { url: "http://o.test/x", status: 200, statusMessage: "OK", headers, requestTime: T0, responseTime: T0, varyNames: [], varyValues: [], bodyLength: 1, ...extra };
}

describe("Cache-Control parsing", () => {
  it("reads tokens, arguments and quoted strings, first occurrence winning", () => {
    const d = parseDirectives('max-age=60, No-Cache="Set-Cookie, X", private, max-age=5');
    assert.equal(d.get("max-age"), "60");
    assert.equal(d.get("no-cache"), "Set-Cookie, X");
    assert.equal(d.get("private"), true);
  });
});

describe("storability (RFC 9111 §3)", () => {
  const cases: Array<[string, string, Record<string, string>, number, Array<[string, string]>, boolean]> = [
    ["a 200 with max-age", "GET", {}, 200, [["Cache-Control", "max-age=60"]], true],
    ["a 200 without any freshness (heuristically cacheable)", "GET", {}, 200, [], true],
    ["a 302 without explicit freshness", "GET", {}, 302, [], false],
    ["a 302 with max-age", "GET", {}, 302, [["Cache-Control", "max-age=60"]], true],
    ["a POST response", "POST", {}, 200, [["Cache-Control", "max-age=60"]], false],
    ["no-store", "GET", {}, 200, [["Cache-Control", "no-store"]], false],
    ["private", "GET", {}, 200, [["Cache-Control", "private, max-age=60"]], false],
    ["a request with no-store", "GET", { "cache-control": "no-store" }, 200, [["Cache-Control", "max-age=60"]], false],
    ["Authorization without permission", "GET", { authorization: "x" }, 200, [["Cache-Control", "max-age=60"]], false],
    ["Authorization with s-maxage", "GET", { authorization: "x" }, 200, [["Cache-Control", "s-maxage=60"]], true],
    ["Authorization with must-revalidate", "GET", { authorization: "x" }, 200, [["Cache-Control", "must-revalidate, max-age=60"]], true],
    ["Vary: *", "GET", {}, 200, [["Vary", "*"], ["Cache-Control", "max-age=60"]], false],
    ["a 206 partial response", "GET", {}, 206, [["Cache-Control", "max-age=60"]], false],
  ];
  for (const [name, method, req, status, res, want] of cases) {
    it(`${want ? "stores" : "does not store"} ${name}`, () => {
      assert.equal(isStorable(method, req, status, res).storable, want);
    });
  }
});

describe("freshness lifetime (RFC 9111 §4.2.1, §4.2.2)", () => {
  const date = httpDate(T0);
  const cases: Array<[string, Array<[string, string]>, number, string]> = [
    ["s-maxage over max-age", [["Cache-Control", "max-age=10, s-maxage=20"]], 20_000, "s-maxage"],
    ["max-age over Expires", [["Cache-Control", "max-age=10"], ["Expires", httpDate(T0 + 99_000)], ["Date", date]], 10_000, "max-age"],
    ["Expires minus Date", [["Expires", httpDate(T0 + 30_000)], ["Date", date]], 30_000, "expires"],
    ["an invalid Expires is already expired", [["Expires", "0"], ["Date", date]], 0, "expires"],
    ["10% of the Last-Modified age", [["Last-Modified", httpDate(T0 - 1_000_000)], ["Date", date]], 100_000, "heuristic"],
    ["a heuristic bounded to 24 h", [["Last-Modified", httpDate(T0 - 100 * 86_400_000)], ["Date", date]], 86_400_000, "heuristic"],
    ["nothing at all", [["Date", date]], 0, "none"],
  ];
  for (const [name, headers, ms, source] of cases) {
    it(`takes ${name}`, () => {
      assert.deepEqual(freshnessLifetime(200, headers), { lifetimeMs: ms, source });
    });
  }
  it("uses no heuristic for a status that is not heuristically cacheable", () => {
    assert.equal(freshnessLifetime(302, [["Last-Modified", httpDate(T0 - 1_000_000)], ["Date", date]]).lifetimeMs, 0);
  });
});

describe("current age (RFC 9111 §4.2.3)", () => {
  it("adds resident time to the corrected initial age", () => {
    const m = meta([["Date", httpDate(T0 - 5000)], ["Age", "3"]], { requestTime: T0 - 1000, responseTime: T0 });
    // apparent = 5 s; corrected = 3 s + 1 s delay = 4 s; initial = 5 s; + 10 s resident
    assert.equal(currentAge(m, T0 + 10_000), 15_000);
  });
  it("trusts a larger Age over a Date that looks newer", () => {
    const m = meta([["Date", httpDate(T0)], ["Age", "100"]]);
    assert.equal(currentAge(m, T0), 100_000);
  });
});

describe("reuse decisions (RFC 9111 §4.2, §5.2)", () => {
  const m = meta([["Cache-Control", "max-age=100"], ["Date", httpDate(T0)]]);
  const facts = entryFacts(m);
  const cases: Array<[string, Record<string, string>, number, string]> = [
    ["a fresh response", {}, 50_000, "fresh"],
    ["a stale response", {}, 150_000, "validate"],
    ["request no-cache", { "cache-control": "no-cache" }, 1000, "validate"],
    ["Pragma: no-cache without Cache-Control", { pragma: "no-cache" }, 1000, "validate"],
    ["request max-age below the age", { "cache-control": "max-age=10" }, 20_000, "validate"],
    ["min-fresh beyond the remaining life", { "cache-control": "min-fresh=60" }, 50_000, "validate"],
    ["max-stale covering the staleness", { "cache-control": "max-stale=100" }, 150_000, "stale-allowed"],
    ["max-stale without a value", { "cache-control": "max-stale" }, 10_000_000, "stale-allowed"],
    ["max-stale too short", { "cache-control": "max-stale=10" }, 150_000, "validate"],
  ];
  for (const [name, req, at, want] of cases) {
    it(`${want} for ${name}`, () => assert.equal(decideReuse(facts, req, T0 + at).kind, want));
  }
  it("never serves stale with must-revalidate, even under max-stale", () => {
    const f = entryFacts(meta([["Cache-Control", "max-age=1, must-revalidate"], ["Date", httpDate(T0)]]));
    assert.equal(decideReuse(f, { "cache-control": "max-stale=1000" }, T0 + 10_000).kind, "validate");
  });
  it("always validates a response marked no-cache", () => {
    const f = entryFacts(meta([["Cache-Control", "no-cache, max-age=100"], ["Date", httpDate(T0)]]));
    assert.equal(decideReuse(f, {}, T0).kind, "validate");
  });
});

describe("Vary secondary keys (RFC 9111 §4.1)", () => {
  it("matches on normalized values of the named request fields", () => {
    const names = varyNamesOf([["Vary", "Accept-Encoding, accept-language"]]);
    assert.deepEqual(names, ["accept-encoding", "accept-language"]);
    const m = meta([], { varyNames: names, varyValues: varyValuesOf(names, { "accept-encoding": "gzip,  br", "accept-language": "EN" }) });
    assert.equal(varyMatches(m, { "accept-encoding": "gzip, br", "accept-language": "en" }), true);
    assert.equal(varyMatches(m, { "accept-encoding": "gzip", "accept-language": "en" }), false);
    assert.equal(varyMatches(m, { "accept-encoding": "gzip, br" }), false);
  });
});

describe("validation (RFC 9111 §4.3)", () => {
  it("freshens stored fields from a 304 but keeps Content-Length", () => {
    const m = meta([["ETag", '"a"'], ["Cache-Control", "max-age=1"], ["Content-Length", "5"], ["X-Old", "1"], ["Age", "50"]]);
    const n = freshenFrom304(m, [["Cache-Control", "max-age=60"], ["Content-Length", "0"], ["X-New", "2"]], T0 + 5, T0 + 10);
    assert.deepEqual(n.headers, [["ETag", '"a"'], ["Content-Length", "5"], ["X-Old", "1"], ["Cache-Control", "max-age=60"], ["X-New", "2"]]);
    assert.equal(n.responseTime, T0 + 10);
  });
  it("applies a 304 only when its strong ETag matches the stored one", () => {
    const m = meta([["ETag", '"a"']]);
    assert.equal(notModifiedApplies(m, [["ETag", '"a"']]), true);
    assert.equal(notModifiedApplies(m, [["ETag", '"b"']]), false);
  });
  it("answers a client's If-None-Match by weak comparison and If-Modified-Since by date", () => {
    const m = meta([["ETag", 'W/"a"'], ["Last-Modified", httpDate(T0 - 1000)]]);
    assert.equal(clientNotModified({ "if-none-match": '"x", "a"' }, m), true);
    assert.equal(clientNotModified({ "if-none-match": '"x"' }, m), false);
    assert.equal(clientNotModified({ "if-modified-since": httpDate(T0) }, m), true);
    assert.equal(clientNotModified({ "if-modified-since": httpDate(T0 - 5000) }, m), false);
  });
});

describe("invalidation (RFC 9111 §4.4)", () => {
  it("invalidates the target and same-origin Location and Content-Location after success", () => {
    assert.deepEqual(invalidatedUris("POST", 201, "http://o.test/a", [["Location", "/a/1"], ["Content-Location", "http://other.test/b"]]), ["http://o.test/a", "http://o.test/a/1"]);
  });
  it("invalidates nothing after an error or a safe method", () => {
    assert.deepEqual(invalidatedUris("POST", 500, "http://o.test/a", []), []);
    assert.deepEqual(invalidatedUris("GET", 200, "http://o.test/a", []), []);
  });
});

describe("Cache-Status (RFC 9211)", () => {
  it("formats hits and forwards", () => {
    assert.equal(formatCacheStatus({ kind: "hit", ttlMs: 59_500 }), "wirekit; hit; ttl=59");
    assert.equal(formatCacheStatus({ kind: "forward", fwd: "stale", fwdStatus: 304 }), "wirekit; fwd=stale; fwd-status=304");
    assert.equal(formatCacheStatus({ kind: "forward", fwd: "uri-miss", fwdStatus: 200, stored: true }), "wirekit; fwd=uri-miss; fwd-status=200; stored");
  });
});

describe("request targets", () => {
  it("parses absolute-form, the lab form and CONNECT authorities", () => {
    const a = parseTarget("http://Example.TEST:80/p?q=1#frag");
    assert.ok(a.kind === "origin");
    assert.equal(a.href, "http://example.test/p?q=1");
    assert.equal(a.port, 80);
    const l = parseTarget("/127.0.0.1:8080/x/y.html");
    assert.ok(l.kind === "origin");
    assert.equal(l.host, "127.0.0.1:8080");
    assert.equal(l.path, "/x/y.html");
    assert.equal(parseTarget("/_wirekit/stats").kind, "local");
    assert.equal(parseTarget("*").kind, "invalid");
    assert.equal(parseTarget("ftp://x/").kind, "invalid");
    assert.deepEqual(parseAuthority("[::1]:443"), { host: "::1", port: 443 });
    assert.equal(parseAuthority("example.test"), undefined);
    assert.equal(parseAuthority("example.test:0"), undefined);
  });
  it("sends a lab-form page's absolute-path links to the page's origin using the Referer", () => {
    const proxy = "127.0.0.1:8888";
    assert.equal(labTargetFromReferer("/img.png", "http://127.0.0.1:8888/127.0.0.1:8080/a/page.html", proxy), "/127.0.0.1:8080/img.png");
    assert.equal(labTargetFromReferer("/style/x.css", "http://127.0.0.1:8888/http://example.test/", proxy), "/http://example.test/style/x.css");
    assert.equal(labTargetFromReferer("/other.test/a.css", "http://127.0.0.1:8888/other.test/", proxy), undefined);
    assert.equal(labTargetFromReferer("/img.png", "http://elsewhere.test/page", proxy), undefined);
    assert.equal(labTargetFromReferer("/img.png", undefined, proxy), undefined);
  });
});

describe("hop-by-hop fields and Via (RFC 9110 §7.6)", () => {
  it("drops Connection-named and hop-by-hop fields and appends to Via", () => {
    assert.deepEqual(endToEnd([["Connection", "close, X-A"], ["X-A", "1"], ["TE", "trailers"], ["Accept", "*/*"]]), [["Accept", "*/*"]]);
    assert.deepEqual(withVia([["Via", "1.0 fred"]], "1.1 p:1 (wirekit)"), [["Via", "1.0 fred, 1.1 p:1 (wirekit)"]]);
    assert.equal(viaHasLoop("1.0 fred, 1.1 p:1 (wirekit)", "p:1"), true);
    assert.equal(viaHasLoop("1.1 p:2 (wirekit)", "p:1"), false);
  });
  it("maps origin failures to 502 and 504 with a reason", () => {
    assert.equal(originFailure("ENOTFOUND", "", { hostname: "nx.test", port: 80 }).message, "DNS lookup failed for nx.test");
    assert.equal(originFailure("ECONNREFUSED", "", { hostname: "h", port: 1 }).context.status, 502);
    assert.equal(originFailure("ECONNREFUSED", "", { hostname: "h", port: 1 }).code, "ERR_CONNECT");
    assert.equal(originFailure("WIREKIT_TIMEOUT", "", { hostname: "h", port: 1 }).context.status, 504);
    assert.equal(originFailure("WIREKIT_TIMEOUT", "", { hostname: "h", port: 1 }).code, "ERR_TIMEOUT");
  });
});

describe("entry file format", () => {
  it("round-trips the head and the footer and rejects garbage", () => {
    const m = meta([["A", "b"]]);
    const head = encodeHead(m);
    const d = decodeHead(head);
    assert.ok(d.ok);
    assert.equal(d.value.headLength, head.length);
    assert.equal(d.value.meta.url, m.url);
    const f = decodeFooter(encodeFooter(2 ** 33 + 5, Buffer.alloc(32, 7)));
    assert.ok(f.ok);
    assert.equal(f.value.bodyLength, 2 ** 33 + 5);
    assert.deepEqual(f.value.tableSha256, Buffer.alloc(32, 7));
    assert.equal(decodeHead(Buffer.from("WKCACHE2\0\0\0\x05{bad}")).ok, false);
    // A file of the first format (no block table) is not read as this one: the scan discards it.
    assert.equal(decodeHead(Buffer.concat([Buffer.from("WKCACHE1"), head.subarray(8)])).ok, false);
    assert.equal(decodeHead(head.subarray(0, 20)).ok, false);
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(Array.from({ length: i }, (_, j) => (j * 31 + i) & 0xff));
      decodeHead(junk);
      decodeFooter(junk);
    }
  });

  it("writes a SHA-256 per 64 KiB block, whatever the sizes the body was fed in, and a footer hashing meta and table", () => {
    const head = encodeHead(meta([["A", "b"]]));
    for (const n of [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17]) {
      const body = Buffer.from(Array.from({ length: n }, (_, i) => (i * 13) & 0xff));
      const h = new BodyHasher(head);
      // Pieces of awkward sizes, crossing block boundaries.
      for (let at = 0, k = 1; at < n; k = (k * 7) % 50_021 + 1) {
        h.update(body.subarray(at, at + k));
        at += k;
      }
      const tail = h.tail();
      assert.deepEqual(tail, encodeTail(head, body), `length ${n}: fed whole or in pieces, the same`);
      assert.equal(tail.length, tableLength(n) + FOOTER_LENGTH);
      assert.equal(expectedFileSize(head.length, n), head.length + n + tail.length);
      const table = tail.subarray(0, tableLength(n));
      for (let b = 0; b * BLOCK < n; b++) {
        const want = createHash("sha256").update(body.subarray(b * BLOCK, (b + 1) * BLOCK)).digest();
        assert.deepEqual(table.subarray(b * 32, b * 32 + 32), want, `length ${n}, block ${b}`);
      }
      const f = decodeFooter(tail.subarray(table.length));
      assert.ok(f.ok);
      assert.equal(f.value.bodyLength, n);
      assert.deepEqual(f.value.tableSha256, createHash("sha256").update(head.subarray(12)).update(table).digest());
    }
  });
});

/**
 * Partial entries (issue 13, "Ranges"; RFC 9111 §3.3, §3.4): a 206 from the origin is stored as
 * a part, parts of the same representation (same strong validator and complete length) are
 * combined, a Range inside the stored parts is answered from them, a Range outside is forwarded
 * (and its part stored), and parts that cover the whole become a complete entry. The pure part
 * functions first, then against a test origin that answers ranges itself, in forward mode
 * (disk, memory and Redis stores: the same EntryStore interface) and gateway mode, on a fake
 * clock; and a disk store reopened after a restart serves the parts it kept.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock } from "../../../src/core/clock.js";
import { combineLayout, combineParts, isStoredParts, isWhole, offsetOf, receivedPart, sameRepresentation, strongValidator } from "../../../src/http/proxy/cache/partial.js";
import { isStorable, isStorablePart } from "../../../src/http/proxy/cache/policy.js";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { rangedRoute, startOrigin, viaProxy, type ProxyResponse, type TestOrigin } from "./fixtures.js";
import { haveRedis, startRedis, type TestRedis } from "./redis-fixture.js";

describe("partial entries, pure", () => {
  it("reads the one part of a 206 from Content-Range, and nothing else", () => {
    assert.deepEqual(receivedPart([["Content-Range", "bytes 10-19/100"]]), { range: { start: 10, end: 19 }, completeLength: 100 });
    for (const bad of ["bytes 10-19/*", "bytes */100", "bytes 19-10/100", "bytes 0-100/100", "items 0-1/2", ""]) assert.equal(receivedPart([["Content-Range", bad]]), undefined, bad);
  });

  it("takes a strong ETag or a Last-Modified as the validator; a weak ETag is none", () => {
    assert.equal(strongValidator([["ETag", '"a"']]), 'etag "a"');
    assert.equal(strongValidator([["ETag", 'W/"a"'], ["Last-Modified", "x"]]), undefined);
    assert.equal(strongValidator([["Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT"]]), "last-modified Thu, 01 Jan 2026 00:00:00 GMT");
    assert.equal(strongValidator([]), undefined);
    const parts = { completeLength: 100, ranges: [[0, 9]] as Array<[number, number]> };
    assert.equal(sameRepresentation([["ETag", '"a"']], parts, [["ETag", '"a"']], { range: { start: 5, end: 6 }, completeLength: 100 }), true);
    assert.equal(sameRepresentation([["ETag", '"a"']], parts, [["ETag", '"b"']], { range: { start: 5, end: 6 }, completeLength: 100 }), false);
    assert.equal(sameRepresentation([["ETag", '"a"']], parts, [["ETag", '"a"']], { range: { start: 5, end: 6 }, completeLength: 101 }), false, "another complete length");
  });

  it("combines parts: union of ranges, new bytes win on overlaps, adjacent parts merge", () => {
    const text = "0123456789abcdefghij";
    const part = (s: number, e: number, bytes = text.slice(s, e + 1)) => ({ body: Buffer.from(bytes), part: { range: { start: s, end: e }, completeLength: 20 } });
    const a = part(0, 3);
    let c = combineParts(undefined, a.body, a.part);
    assert.deepEqual(c.parts.ranges, [[0, 3]]);
    const b = part(10, 12);
    c = combineParts(c, b.body, b.part);
    assert.deepEqual(c.parts.ranges, [[0, 3], [10, 12]]);
    assert.equal(c.body.toString(), "0123abc");
    const d = part(2, 10, "XXXXXXXXX");
    c = combineParts(c, d.body, d.part);
    assert.deepEqual(c.parts.ranges, [[0, 12]]);
    assert.equal(c.body.toString(), "01XXXXXXXXXbc");
    const e = part(13, 19);
    c = combineParts(c, e.body, e.part);
    assert.ok(isWhole(c.parts));
    assert.equal(c.body.toString(), "01XXXXXXXXXbcdefghij");
  });

  it("lays a combined body out as stored bytes before the new part, the part, stored bytes after it (so it can be written as a stream)", () => {
    const stored = { completeLength: 100, ranges: [[0, 9], [20, 29], [60, 69]] as Array<[number, number]> };
    // The part 25-64 overlaps the second and third stored parts; 0-9 and 20-24 come before it, 65-69 after.
    const l = combineLayout(stored, { range: { start: 25, end: 64 }, completeLength: 100 });
    assert.deepEqual(l.parts.ranges, [[0, 9], [20, 69]]);
    assert.deepEqual(l.before, [{ offset: 0, length: 10 }, { offset: 10, length: 5 }]);
    assert.deepEqual(l.after, [{ offset: 25, length: 5 }]);
    const total = [...l.before, ...l.after].reduce((n, s) => n + s.length, 0) + 40;
    assert.equal(total, 10 + 50, "every byte of the combined parts, once");
    assert.deepEqual(combineLayout(undefined, { range: { start: 5, end: 6 }, completeLength: 10 }), { parts: { completeLength: 10, ranges: [[5, 6]] }, before: [], after: [] });
    const inside = combineLayout({ completeLength: 10, ranges: [[0, 9]] }, { range: { start: 3, end: 4 }, completeLength: 10 });
    assert.deepEqual(inside, { parts: { completeLength: 10, ranges: [[0, 9]] }, before: [{ offset: 0, length: 3 }], after: [{ offset: 5, length: 5 }] });
  });

  it("locates a range inside one part, and not across a gap", () => {
    const parts = { completeLength: 100, ranges: [[0, 9], [50, 59]] as Array<[number, number]> };
    assert.equal(offsetOf(parts, { start: 52, end: 55 }), 12);
    assert.equal(offsetOf(parts, { start: 0, end: 9 }), 0);
    assert.equal(offsetOf(parts, { start: 8, end: 50 }), undefined);
    assert.equal(offsetOf(parts, { start: 60, end: 60 }), undefined);
    assert.ok(isStoredParts(parts));
    for (const bad of [{ completeLength: 10, ranges: [] }, { completeLength: 10, ranges: [[5, 2]] }, { completeLength: 10, ranges: [[0, 3], [4, 5]] }, { completeLength: 10, ranges: [[0, 10]] }, null]) assert.equal(isStoredParts(bad), false, JSON.stringify(bad));
  });

  it("stores a 206 only as a single part with a strong validator, under the rules of a 200", () => {
    const ok: Array<[string, string]> = [["Content-Range", "bytes 0-9/100"], ["ETag", '"v1"'], ["Cache-Control", "max-age=60"]];
    assert.equal(isStorablePart("GET", {}, ok).storable, true);
    assert.equal(isStorablePart("GET", {}, [...ok.slice(0, 1), ["ETag", 'W/"v1"'], ["Cache-Control", "max-age=60"]]).storable, false, "weak ETag");
    assert.equal(isStorablePart("GET", {}, [["Content-Type", "multipart/byteranges; boundary=x"], ["ETag", '"v1"'], ["Cache-Control", "max-age=60"]]).storable, false, "multipart");
    assert.equal(isStorablePart("GET", {}, [...ok.slice(0, 2), ["Cache-Control", "no-store"]]).storable, false, "no-store");
  });

  it("never stores a 416 answering a Range (it would answer requests without one)", () => {
    const fields: Array<[string, string]> = [["Cache-Control", "max-age=60"], ["Content-Range", "bytes */100"]];
    assert.deepEqual(isStorable("GET", { range: "bytes=200-" }, 416, fields), { storable: false, reason: "range" });
    assert.equal(isStorable("GET", {}, 416, fields).storable, true, "without a Range it is any other final status");
  });
});

/** 100 bytes, every one different enough to check offsets. */
const BODY = Buffer.from(Array.from({ length: 100 }, (_, i) => String.fromCharCode(48 + (i % 75))).join(""));

const slice = (s: number, e: number): string => BODY.subarray(s, e + 1).toString();

for (const mode of ["forward, disk store", "forward, memory store", "forward, Redis store", "gateway (--reverse), disk store"] as const) {
  const redisMode = mode.includes("Redis");
  describe(`partial entries against a test origin: ${mode}`, { skip: redisMode && !haveRedis() ? "redis-server is not installed" : false }, () => {
    let origin: TestOrigin;
    let proxy: ProxyServer;
    let redis: TestRedis | undefined;
    let dir: string;
    const clock = new FakeClock(Date.now(), 0);
    const date = (): string => new Date(clock.now()).toUTCString();
    const gateway = mode.startsWith("gateway");

    before(async () => {
      origin = await startOrigin();
      dir = await mkdtemp(join(tmpdir(), "wk-proxy-partial-"));
      if (redisMode) redis = await startRedis();
      const store = redis !== undefined ? { store: redis.url } : mode.includes("memory") ? { store: "memory" } : { cacheDir: dir };
      proxy = await createProxyServer({ port: 0, clock, ...store, ...(gateway ? { reverse: origin.base } : {}) });
    });
    after(async () => {
      await proxy.close();
      await redis?.close();
      await origin.close();
      await rm(dir, { recursive: true, force: true });
    });

    const get = (path: string, headers: Record<string, string> = {}): Promise<ProxyResponse> =>
      gateway ? viaProxy(proxy.port, "", { path, headers: { Host: "site.test", ...headers } }) : viaProxy(proxy.port, `${origin.base}${path}`, { headers });
    const cs = (r: ProxyResponse): string => String(r.headers["cache-status"]);

    it("stores a 206, answers ranges inside it, forwards ranges outside, combines the parts and ends with a complete entry", async () => {
      const state = { etag: '"r1"', body: BODY };
      origin.route("/file", rangedRoute(state, date));

      const first = await get("/file", { Range: "bytes=0-9" });
      assert.equal(first.status, 206);
      assert.equal(first.body.toString(), slice(0, 9));
      assert.equal(first.headers["content-range"], "bytes 0-9/100");
      assert.equal(cs(first), "wirekit; fwd=uri-miss; fwd-status=206; stored");
      assert.equal(origin.count("/file"), 1);

      const inside = await get("/file", { Range: "bytes=2-5" });
      assert.equal(inside.status, 206);
      assert.equal(inside.body.toString(), slice(2, 5));
      assert.equal(inside.headers["content-range"], "bytes 2-5/100");
      assert.equal(inside.headers["content-length"], "4");
      assert.equal(inside.headers.etag, '"r1"');
      assert.match(cs(inside), /^wirekit; hit; ttl=\d+$/);
      assert.equal(origin.count("/file"), 1, "inside the stored part: from the cache");

      const outside = await get("/file", { Range: "bytes=50-59" });
      assert.equal(outside.body.toString(), slice(50, 59));
      assert.equal(cs(outside), "wirekit; fwd=partial; fwd-status=206; stored");
      assert.equal(origin.count("/file"), 2);
      assert.equal(origin.seen.at(-1)?.headers.range, "bytes=50-59", "the client's range went to the origin");

      const multi = await get("/file", { Range: "bytes=0-3, 52-55" });
      assert.equal(multi.status, 206);
      assert.match(String(multi.headers["content-type"]), /^multipart\/byteranges; boundary=/);
      assert.ok(multi.body.toString().includes(`Content-Range: bytes 0-3/100\r\n\r\n${slice(0, 3)}\r\n`));
      assert.ok(multi.body.toString().includes(`Content-Range: bytes 52-55/100\r\n\r\n${slice(52, 55)}\r\n`));
      assert.equal(origin.count("/file"), 2, "two ranges, each in a part: from the cache");

      const across = await get("/file", { Range: "bytes=5-52" });
      assert.equal(across.body.toString(), slice(5, 52));
      assert.match(cs(across), /fwd=partial/);
      assert.equal(origin.count("/file"), 3);
      const joined = await get("/file", { Range: "bytes=8-57" });
      assert.equal(joined.body.toString(), slice(8, 57));
      assert.match(cs(joined), /hit/, "the combined part 0-59 holds it");
      assert.equal(origin.count("/file"), 3);

      const whole = await get("/file");
      assert.equal(whole.status, 200);
      assert.match(cs(whole), /fwd=partial/, "no Range, only parts: to the origin");
      assert.equal(origin.count("/file"), 4);
      // The 200 replaced the parts with a complete entry.
      const again = await get("/file", { Range: "bytes=90-" });
      assert.equal(again.body.toString(), slice(90, 99));
      assert.match(cs(again), /hit/);
      assert.equal(origin.count("/file"), 4);
    });

    it("parts that cover the whole become a complete entry (200 without Range, from the cache)", async () => {
      origin.route("/pieces", rangedRoute({ etag: '"p"', body: BODY }, date));
      await get("/pieces", { Range: "bytes=0-49" });
      const last = await get("/pieces", { Range: "bytes=-50" });
      assert.equal(last.body.toString(), slice(50, 99));
      const full = await get("/pieces");
      assert.equal(full.status, 200);
      assert.equal(full.body.toString(), BODY.toString());
      assert.equal(full.headers["content-length"], "100");
      assert.equal(full.headers["content-range"], undefined);
      assert.match(cs(full), /hit/);
      assert.equal(origin.count("/pieces"), 2);
    });

    it("a part of another representation (new ETag) replaces the stored parts instead of joining them", async () => {
      const state = { etag: '"v1"', body: BODY };
      origin.route("/changing", rangedRoute(state, date));
      await get("/changing", { Range: "bytes=0-9" });
      state.etag = '"v2"';
      state.body = Buffer.from(BODY.toString().toUpperCase());
      await get("/changing", { Range: "bytes=10-19" });
      // 0-9 was "v1": it must not be served beside "v2"'s 10-19.
      const r = await get("/changing", { Range: "bytes=0-19" });
      assert.equal(r.body.toString(), state.body.subarray(0, 20).toString());
      assert.match(cs(r), /fwd=partial/);
      const inside = await get("/changing", { Range: "bytes=12-14" });
      assert.equal(inside.headers.etag, '"v2"');
      assert.equal(inside.body.toString(), state.body.subarray(12, 15).toString());
      assert.match(cs(inside), /hit/);
    });

    it("combines parts by Last-Modified when there is no ETag; a weak ETag is not stored", async () => {
      origin.route("/dated", rangedRoute({ etag: undefined, lastModified: "Thu, 01 Jan 2026 00:00:00 GMT", body: BODY }, date));
      await get("/dated", { Range: "bytes=0-9" });
      await get("/dated", { Range: "bytes=10-19" });
      const r = await get("/dated", { Range: "bytes=3-15" });
      assert.equal(r.body.toString(), slice(3, 15));
      assert.match(cs(r), /hit/);
      assert.equal(origin.count("/dated"), 2);

      origin.route("/weak", rangedRoute({ etag: 'W/"w"', body: BODY }, date));
      const w = await get("/weak", { Range: "bytes=0-9" });
      assert.equal(cs(w), "wirekit; fwd=uri-miss; fwd-status=206");
      await get("/weak", { Range: "bytes=0-9" });
      assert.equal(origin.count("/weak"), 2);
    });

    it("a Range past the end is forwarded, and the origin's 416 is relayed without replacing the parts", async () => {
      origin.route("/short", (req, res, body) => {
        if (String(req.headers.range) === "bytes=500-") {
          res.writeHead(416, { "Cache-Control": "max-age=60", "Content-Range": "bytes */100", Date: date() });
          res.end();
          return;
        }
        rangedRoute({ etag: '"s"', body: BODY }, date)(req, res, body);
      });
      await get("/short", { Range: "bytes=0-9" });
      const past = await get("/short", { Range: "bytes=500-" });
      assert.equal(past.status, 416);
      assert.equal(cs(past), "wirekit; fwd=partial; fwd-status=416");
      const inside = await get("/short", { Range: "bytes=1-2" });
      assert.equal(inside.body.toString(), slice(1, 2));
      assert.match(cs(inside), /hit/, "the parts are still there");
    });

    it("parts combine past the memory layer's object limit (256 KiB): a second part joins, and ranges across both are served", async () => {
      const big = Buffer.alloc(600 * 1024, 120);
      origin.route("/big", rangedRoute({ etag: '"big"', body: big }, date));
      const a = await get("/big", { Range: "bytes=0-199999" });
      assert.match(cs(a), /stored$/);
      const b = await get("/big", { Range: "bytes=200000-299999" });
      assert.equal(b.body.length, 100_000);
      assert.equal(cs(b), "wirekit; fwd=partial; fwd-status=206; stored", "0-299999 passes 256 KiB, and is stored");
      const inside = await get("/big", { Range: "bytes=199990-200009" });
      assert.match(cs(inside), /hit/, "across the two parts");
      assert.equal(origin.count("/big"), 2);
    });

    it("a stale part is not served: the range is forwarded", async () => {
      origin.route("/aging", rangedRoute({ etag: '"a"', body: BODY }, date));
      await get("/aging", { Range: "bytes=0-9" });
      clock.advance(61_000);
      const r = await get("/aging", { Range: "bytes=0-4" });
      assert.equal(r.body.toString(), slice(0, 4));
      assert.match(cs(r), /fwd=partial; fwd-status=206; stored/);
      assert.equal(origin.count("/aging"), 2);
    });
  });
}

describe("partial entries survive a restart of a disk store", () => {
  it("a reopened store serves a range inside the parts it kept, read from the file", async () => {
    const origin = await startOrigin();
    const dir = await mkdtemp(join(tmpdir(), "wk-proxy-partial-restart-"));
    const clock = new FakeClock(Date.now(), 0);
    try {
      origin.route("/kept", rangedRoute({ etag: '"k"', body: BODY }, () => new Date(clock.now()).toUTCString()));
      const first = await createProxyServer({ port: 0, clock, cacheDir: dir });
      await viaProxy(first.port, `${origin.base}/kept`, { headers: { Range: "bytes=0-9" } });
      await viaProxy(first.port, `${origin.base}/kept`, { headers: { Range: "bytes=50-59" } });
      await first.close();
      const second = await createProxyServer({ port: 0, clock, cacheDir: dir });
      try {
        const r = await viaProxy(second.port, `${origin.base}/kept`, { headers: { Range: "bytes=52-55, 1-2" } });
        assert.equal(r.status, 206);
        assert.ok(r.body.toString().includes(`Content-Range: bytes 52-55/100\r\n\r\n${slice(52, 55)}\r\n`));
        assert.ok(r.body.toString().includes(`Content-Range: bytes 1-2/100\r\n\r\n${slice(1, 2)}\r\n`));
        assert.match(String(r.headers["cache-status"]), /hit/);
        assert.equal(origin.count("/kept"), 2);
      } finally {
        await second.close();
      }
    } finally {
      await origin.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The proxy as a shared cache (RFC 9111), driven through real sockets with a test origin and a fake clock. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock } from "../../../src/core/clock.js";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { startOrigin, viaProxy, waitUntil, type TestOrigin } from "./fixtures.js";

describe("proxy cache", () => {
  let origin: TestOrigin;
  let proxy: ProxyServer;
  let dir: string;
  const clock = new FakeClock(Date.now(), 0);

  before(async () => {
    origin = await startOrigin();
    dir = await mkdtemp(join(tmpdir(), "wk-proxy-cache-"));
    proxy = await createProxyServer({ port: 0, cacheDir: dir, clock });
  });
  after(async () => {
    await proxy.close();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}, method = "GET") => viaProxy(proxy.port, `${origin.base}${path}`, { headers, method });

  it("answers a second request from the cache without contacting the origin, with Age and Cache-Status", async () => {
    origin.route("/hit", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=100", "Content-Type": "text/plain" });
      res.end("cached body");
    });
    const first = await get("/hit");
    assert.equal(first.status, 200);
    assert.equal(first.body.toString(), "cached body");
    assert.match(String(first.headers["cache-status"]), /^wirekit; fwd=uri-miss; fwd-status=200; stored/);
    clock.advance(5000);
    const second = await get("/hit");
    assert.equal(second.body.toString(), "cached body");
    assert.match(String(second.headers["cache-status"]), /^wirekit; hit; ttl=9\d/);
    assert.ok(Number(second.headers.age) >= 5, `Age ${second.headers.age}`);
    assert.match(String(second.headers.via), /\(wirekit\)/);
    assert.equal(origin.count("/hit"), 1);
  });

  it("revalidates an expired entry with If-None-Match and serves the stored body after a 304 that updates the headers", async () => {
    origin.route("/etag", (req, res) => {
      if (req.headers["if-none-match"] === '"v1"') {
        res.writeHead(304, { ETag: '"v1"', "Cache-Control": "max-age=50", "X-Refreshed": "yes" });
        res.end();
        return;
      }
      res.writeHead(200, { ETag: '"v1"', "Cache-Control": "max-age=10", "Content-Type": "text/plain" });
      res.end("etag body");
    });
    await get("/etag");
    clock.advance(11_000);
    const revalidated = await get("/etag");
    assert.equal(revalidated.status, 200);
    assert.equal(revalidated.body.toString(), "etag body");
    assert.match(String(revalidated.headers["cache-status"]), /fwd=stale; fwd-status=304/);
    assert.equal(revalidated.headers["x-refreshed"], "yes");
    assert.equal(origin.seen.filter((s) => s.url === "/etag")[1]?.headers["if-none-match"], '"v1"');
    clock.advance(20_000);
    const hit = await get("/etag");
    assert.match(String(hit.headers["cache-status"]), /hit/);
    assert.equal(hit.headers["cache-control"], "max-age=50");
    assert.equal(origin.count("/etag"), 2);
  });

  it("revalidates with If-Modified-Since when the entry only has Last-Modified", async () => {
    const lm = new Date(Date.now() - 3_600_000).toUTCString();
    origin.route("/lm", (req, res) => {
      if (req.headers["if-modified-since"] === lm) {
        res.writeHead(304);
        res.end();
        return;
      }
      res.writeHead(200, { "Last-Modified": lm, "Cache-Control": "max-age=1" });
      res.end("lm body");
    });
    await get("/lm");
    clock.advance(2000);
    const r = await get("/lm");
    assert.equal(r.body.toString(), "lm body");
    assert.match(String(r.headers["cache-status"]), /fwd-status=304/);
    assert.equal(origin.seen.filter((s) => s.url === "/lm")[1]?.headers["if-modified-since"], lm);
  });

  it("answers a client's conditional request with 304 from a fresh entry", async () => {
    origin.route("/cond", (_req, res) => {
      res.writeHead(200, { ETag: '"c1"', "Cache-Control": "max-age=100" });
      res.end("cond body");
    });
    await get("/cond");
    const r = await get("/cond", { "If-None-Match": '"c1"' });
    assert.equal(r.status, 304);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers.etag, '"c1"');
    assert.equal(origin.count("/cond"), 1);
  });

  for (const [name, headers, reqHeaders] of [
    ["no-store", { "Cache-Control": "no-store, max-age=100" }, {}],
    ["private", { "Cache-Control": "private, max-age=100" }, {}],
    ["a response to a request with Authorization", { "Cache-Control": "max-age=100" }, { Authorization: "Basic dTpw" }],
  ] as const) {
    it(`never stores ${name}`, async () => {
      const path = `/nostore-${name.length}`;
      origin.route(path, (_req, res) => {
        res.writeHead(200, headers);
        res.end("x");
      });
      await get(path, reqHeaders);
      const r = await get(path, reqHeaders);
      assert.match(String(r.headers["cache-status"]), /fwd=uri-miss/);
      assert.doesNotMatch(String(r.headers["cache-status"]), /stored/);
      assert.equal(origin.count(path), 2);
    });
  }

  it("stores a response to an authenticated request when it is marked public", async () => {
    origin.route("/auth-public", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "public, max-age=100" });
      res.end("shared");
    });
    await get("/auth-public", { Authorization: "Basic dTpw" });
    const r = await get("/auth-public", { Authorization: "Basic dTpw" });
    assert.match(String(r.headers["cache-status"]), /hit/);
    assert.equal(origin.count("/auth-public"), 1);
  });

  it("honours request no-cache, Pragma: no-cache and max-age=0 by validating with the origin", async () => {
    origin.route("/reqdir", (req, res) => {
      if (req.headers["if-none-match"] === '"r"') {
        res.writeHead(304);
        res.end();
        return;
      }
      res.writeHead(200, { ETag: '"r"', "Cache-Control": "max-age=100" });
      res.end("r");
    });
    await get("/reqdir");
    for (const h of [{ "Cache-Control": "no-cache" }, { Pragma: "no-cache" }, { "Cache-Control": "max-age=0" }] as Array<Record<string, string>>) {
      clock.advance(1000);
      const r = await get("/reqdir", h);
      assert.match(String(r.headers["cache-status"]), /fwd=request; fwd-status=304/, JSON.stringify(h));
    }
    assert.equal(origin.count("/reqdir"), 4);
  });

  it("answers only-if-cached with 504 when nothing is stored, and from the cache when it is", async () => {
    const miss = await get("/never-fetched", { "Cache-Control": "only-if-cached" });
    assert.equal(miss.status, 504);
    assert.equal(origin.count("/never-fetched"), 0);
    origin.route("/oic", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=100" });
      res.end("oic");
    });
    await get("/oic");
    const hit = await get("/oic", { "Cache-Control": "only-if-cached" });
    assert.equal(hit.status, 200);
    assert.equal(hit.body.toString(), "oic");
  });

  it("serves a stale entry under max-stale, refuses to when must-revalidate, and min-fresh forces validation", async () => {
    origin.route("/stale", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=10" });
      res.end("stale ok");
    });
    origin.route("/mr", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=10, must-revalidate" });
      res.end("mr");
    });
    await get("/stale");
    await get("/mr");
    clock.advance(15_000);
    const s = await get("/stale", { "Cache-Control": "max-stale=60" });
    assert.match(String(s.headers["cache-status"]), /hit/);
    assert.equal(origin.count("/stale"), 1);
    const m = await get("/mr", { "Cache-Control": "max-stale=60" });
    assert.match(String(m.headers["cache-status"]), /fwd=stale/);
    assert.equal(origin.count("/mr"), 2);
    const f = await get("/mr", { "Cache-Control": "min-fresh=20" });
    assert.match(String(f.headers["cache-status"]), /fwd=request/);
  });

  it("keeps one variant per Vary-named request header value and never serves Vary: *", async () => {
    origin.route("/vary", (req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=100", Vary: "Accept-Language" });
      res.end(`lang=${req.headers["accept-language"] ?? "none"}`);
    });
    assert.equal((await get("/vary", { "Accept-Language": "en" })).body.toString(), "lang=en");
    const fr = await get("/vary", { "Accept-Language": "fr" });
    assert.equal(fr.body.toString(), "lang=fr");
    assert.match(String(fr.headers["cache-status"]), /fwd=vary-miss/);
    assert.equal((await get("/vary", { "Accept-Language": "en" })).body.toString(), "lang=en");
    assert.equal((await get("/vary", { "Accept-Language": "fr" })).body.toString(), "lang=fr");
    assert.equal(origin.count("/vary"), 2);
    origin.route("/vary-star", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=100", Vary: "*" });
      res.end("star");
    });
    await get("/vary-star");
    await get("/vary-star");
    assert.equal(origin.count("/vary-star"), 2);
  });

  it("answers HEAD from a stored GET without contacting the origin", async () => {
    origin.route("/head", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=100", "Content-Type": "text/plain" });
      res.end("0123456789");
    });
    await get("/head");
    const h = await get("/head", {}, "HEAD");
    assert.equal(h.status, 200);
    assert.equal(h.body.length, 0);
    assert.equal(h.headers["content-length"], "10");
    assert.match(String(h.headers["cache-status"]), /hit/);
    assert.equal(origin.count("/head"), 1);
  });

  it("invalidates the target and its same-origin Location after a successful POST", async () => {
    origin.route("/inv", (req, res) => {
      if (req.method === "POST") {
        res.writeHead(201, { Location: "/inv-loc" });
        res.end("created");
        return;
      }
      res.writeHead(200, { "Cache-Control": "max-age=100" });
      res.end("inv");
    });
    origin.route("/inv-loc", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=100" });
      res.end("loc");
    });
    await get("/inv");
    await get("/inv-loc");
    const p = await viaProxy(proxy.port, `${origin.base}/inv`, { method: "POST", body: "x=1", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    assert.equal(p.status, 201);
    const again = await get("/inv");
    assert.match(String(again.headers["cache-status"]), /fwd=uri-miss/);
    const loc = await get("/inv-loc");
    assert.match(String(loc.headers["cache-status"]), /fwd=uri-miss/);
  });

  it("collapses 20 concurrent requests for the same uncached URL into one origin request", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    origin.route("/collapse", (_req, res) => {
      void gate.then(() => {
        res.writeHead(200, { "Cache-Control": "max-age=100" });
        res.end("collapsed body");
      });
    });
    const all = Array.from({ length: 20 }, () => get("/collapse"));
    await waitUntil(() => origin.count("/collapse") >= 1, 10_000, "the first origin request");
    setTimeout(release, 200);
    const results = await Promise.all(all);
    for (const r of results) assert.equal(r.body.toString(), "collapsed body");
    assert.equal(origin.count("/collapse"), 1);
  });

  it("uses heuristic freshness (10% of the Last-Modified age) only when there is no explicit lifetime", async () => {
    const lm = new Date(Date.now() - 10_000 * 1000).toUTCString(); // 10000 s old → ~1000 s fresh
    origin.route("/heur", (_req, res) => {
      res.writeHead(200, { "Last-Modified": lm });
      res.end("h");
    });
    await get("/heur");
    clock.advance(50_000);
    assert.match(String((await get("/heur")).headers["cache-status"]), /hit/);
    assert.equal(origin.count("/heur"), 1);
  });

  it("serves a stale entry when the origin is unreachable, but not one marked must-revalidate", async () => {
    const down = await startOrigin();
    down.route("/sie", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=1" });
      res.end("still here");
    });
    down.route("/sie-mr", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=1, must-revalidate" });
      res.end("strict");
    });
    await viaProxy(proxy.port, `${down.base}/sie`);
    await viaProxy(proxy.port, `${down.base}/sie-mr`);
    await down.close();
    clock.advance(5000);
    const stale = await viaProxy(proxy.port, `${down.base}/sie`);
    assert.equal(stale.status, 200);
    assert.equal(stale.body.toString(), "still here");
    assert.match(String(stale.headers["cache-status"]), /hit; ttl=-\d+; detail="origin unreachable/);
    const strict = await viaProxy(proxy.port, `${down.base}/sie-mr`);
    assert.equal(strict.status, 502);
  });

  it("replaces the stored response when validation brings a new one", async () => {
    let version = 1;
    origin.route("/refresh", (req, res) => {
      const etag = `"r${version}"`;
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, { ETag: etag });
        res.end();
        return;
      }
      // Date from the test's clock: the proxy's fake time has run ahead of the real one.
      res.writeHead(200, { ETag: etag, "Cache-Control": "max-age=10", Date: new Date(clock.now()).toUTCString() });
      res.end(`version ${version}`);
    });
    await get("/refresh");
    version = 2;
    clock.advance(11_000);
    const r = await get("/refresh");
    assert.equal(r.body.toString(), "version 2");
    assert.match(String(r.headers["cache-status"]), /fwd=stale; fwd-status=200; stored/);
    const hit = await get("/refresh");
    assert.equal(hit.body.toString(), "version 2");
    assert.match(String(hit.headers["cache-status"]), /hit/);
  });

  for (const [size, where] of [
    [9, "in memory"],
    [600 * 1024, "on disk only"],
  ] as const) {
    it(`writes the headers a 304 refreshed to disk, so they survive a restart (body ${where})`, async () => {
      const d = await mkdtemp(join(tmpdir(), "wk-proxy-304-"));
      const c2 = new FakeClock(Date.now(), 0);
      origin.route(`/persist304-${size}`, (req, res) => {
        if (req.headers["if-none-match"] === '"p"') {
          res.writeHead(304, { ETag: '"p"', "Cache-Control": "max-age=1000", "X-Generation": "2" });
          res.end();
          return;
        }
        res.writeHead(200, { ETag: '"p"', "Cache-Control": "max-age=1", "X-Generation": "1" });
        res.end(Buffer.alloc(size, 112));
      });
      try {
        let p = await createProxyServer({ port: 0, cacheDir: d, clock: c2 });
        await viaProxy(p.port, `${origin.base}/persist304-${size}`);
        c2.advance(5000);
        assert.equal((await viaProxy(p.port, `${origin.base}/persist304-${size}`)).headers["x-generation"], "2");
        await p.close();
        p = await createProxyServer({ port: 0, cacheDir: d, clock: c2 });
        const r = await viaProxy(p.port, `${origin.base}/persist304-${size}`);
        await p.close();
        assert.match(String(r.headers["cache-status"]), /hit/);
        assert.equal(r.headers["x-generation"], "2");
        assert.deepEqual(r.body, Buffer.alloc(size, 112));
      } finally {
        await rm(d, { recursive: true, force: true });
      }
    });
  }

  it("reports hits, misses and revalidations at /_wirekit/stats", async () => {
    const r = await viaProxy(proxy.port, "", { path: "/_wirekit/stats" });
    const s = JSON.parse(r.body.toString()) as Record<string, number>;
    assert.ok((s.hits ?? 0) > 0 && (s.misses ?? 0) > 0 && (s.revalidations ?? 0) > 0);
    assert.ok((s.entries ?? 0) > 0 && (s.diskBytes ?? 0) > 0);
    assert.equal(typeof s.hitRatio, "number");
  });
});

/**
 * Purge (PURGE, POST /_wirekit/purge by URL or surrogate key, soft) and the Prometheus metrics,
 * in forward and gateway mode, against a test origin on real sockets.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { FakeClock } from "../../../src/core/clock.js";
import { parsePurgeBody } from "../../../src/http/proxy/purge.js";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { startOrigin, viaProxy, type ProxyResponse, type TestOrigin } from "./fixtures.js";

/** This host's first non-loopback IPv4 address, to be a client that is not on loopback. */
function outsideAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (i.family === "IPv4" && !i.internal) return i.address;
  return undefined;
}

/** A request from `localAddress` (to be a client that is not on loopback). */
function from(localAddress: string, port: number, method: string, path: string, body?: string): Promise<ProxyResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: localAddress, port, method, path, localAddress, agent: false, headers: body === undefined ? {} : { "Content-Type": "application/json" } });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("purge request bodies, pure", () => {
  it("takes url, tag and soft, and refuses anything else", () => {
    assert.deepEqual(parsePurgeBody('{"url": "http://a.test/x"}'), { ok: true, value: { url: "http://a.test/x" } });
    assert.deepEqual(parsePurgeBody('{"tag": "t", "soft": true}'), { ok: true, value: { tag: "t", soft: true } });
    for (const bad of ["", "[]", "{}", '{"url": 1}', '{"tag": ""}', '{"tag": "t", "soft": "yes"}', "not json"]) assert.equal(parsePurgeBody(bad).ok, false, bad);
  });
});

describe("proxy purge and metrics", () => {
  let origin: TestOrigin;
  let proxy: ProxyServer;
  let gw: ProxyServer;
  const dirs: string[] = [];
  const clock = new FakeClock(Date.now(), 0);
  const date = (): string => new Date(clock.now()).toUTCString();

  before(async () => {
    origin = await startOrigin();
    const d1 = await mkdtemp(join(tmpdir(), "wk-proxy-purge-"));
    const d2 = await mkdtemp(join(tmpdir(), "wk-proxy-purge-"));
    dirs.push(d1, d2);
    proxy = await createProxyServer({ port: 0, cacheDir: d1, clock });
    gw = await createProxyServer({ port: 0, cacheDir: d2, clock, reverse: origin.base });
    for (const [path, tags] of [
      ["/p1", { "Surrogate-Key": "shop product-7" }],
      ["/p2", { "Cache-Tag": "product-7, blue" }],
      ["/p3", { "Surrogate-Key": "other" }],
    ] as const) {
      origin.route(path, (_req, res) => {
        res.writeHead(200, { "Cache-Control": "max-age=600", ETag: '"e1"', Date: date(), ...tags });
        res.end(`body of ${path}`);
      });
    }
  });
  after(async () => {
    await Promise.all([proxy.close(), gw.close()]);
    await origin.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const get = (path: string) => viaProxy(proxy.port, `${origin.base}${path}`);
  const status = async (path: string): Promise<string> => String((await get(path)).headers["cache-status"]);
  const post = (p: ProxyServer, body: unknown) => viaProxy(p.port, "", { method: "POST", path: "/_wirekit/purge", body: JSON.stringify(body), headers: { "Content-Type": "application/json", Host: "site.test" } });

  it("PURGE <absolute URL> removes the entry (forward mode)", async () => {
    await get("/p1");
    assert.match(await status("/p1"), /hit/);
    const r = await viaProxy(proxy.port, `${origin.base}/p1`, { method: "PURGE" });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body.toString()), { purged: 1, soft: false });
    assert.match(await status("/p1"), /fwd=uri-miss/);
  });

  it("PURGE /path removes the entry of that Host (gateway mode)", async () => {
    const g = (path: string) => viaProxy(gw.port, "", { path, headers: { Host: "site.test" } });
    await g("/p3");
    assert.match(String((await g("/p3")).headers["cache-status"]), /hit/);
    const r = await viaProxy(gw.port, "", { method: "PURGE", path: "/p3", headers: { Host: "site.test" } });
    assert.deepEqual(JSON.parse(r.body.toString()), { purged: 1, soft: false });
    assert.match(String((await g("/p3")).headers["cache-status"]), /fwd=uri-miss/);
    const byPost = await post(gw, { url: "/p3" });
    assert.deepEqual(JSON.parse(byPost.body.toString()), { purged: 1, soft: false });
  });

  it("POST /_wirekit/purge by surrogate key removes every entry tagged with it (Surrogate-Key or Cache-Tag)", async () => {
    for (const p of ["/p1", "/p2", "/p3"]) await get(p);
    const r = await post(proxy, { tag: "product-7" });
    assert.deepEqual(JSON.parse(r.body.toString()), { purged: 2, soft: false });
    assert.match(await status("/p1"), /fwd=uri-miss/);
    assert.match(await status("/p2"), /fwd=uri-miss/);
    assert.match(await status("/p3"), /hit/, "an entry without the tag stays");
  });

  it('{"soft": true} keeps the entries but makes their next use a revalidation', async () => {
    const entries = proxy.stats().entries;
    const r = await post(proxy, { url: `${origin.base}/p3`, soft: true });
    assert.deepEqual(JSON.parse(r.body.toString()), { purged: 1, soft: true });
    assert.equal(proxy.stats().entries, entries);
    assert.match(await status("/p3"), /fwd=stale/);
  });

  it("answers 400 to a body it cannot use and 405 to another method", async () => {
    assert.equal((await post(proxy, { nothing: 1 })).status, 400);
    assert.equal((await post(proxy, { url: "/relative" })).status, 400, "a forward proxy needs an absolute URL");
    assert.equal((await viaProxy(proxy.port, "", { path: "/_wirekit/purge" })).status, 405);
  });

  it("allows purges from loopback and --purge-allow only: everyone else gets 403", async (t) => {
    const outside = outsideAddress();
    if (outside === undefined) return t.skip("no non-loopback IPv4 address on this host");
    const d = await mkdtemp(join(tmpdir(), "wk-proxy-purge-"));
    dirs.push(d);
    const open = await createProxyServer({ port: 0, cacheDir: d, host: "0.0.0.0", allow: ["0.0.0.0/0"], allowToLoopback: true, clock });
    const trusted = await createProxyServer({ port: 0, cache: false, host: "0.0.0.0", allow: ["0.0.0.0/0"], purgeAllow: [`${outside}/32`], clock });
    try {
      assert.equal((await from(outside, open.port, "PURGE", `${origin.base}/p1`)).status, 403);
      assert.equal((await from(outside, open.port, "POST", "/_wirekit/purge", '{"tag":"shop"}')).status, 403);
      assert.equal((await from(outside, trusted.port, "PURGE", `${origin.base}/p1`)).status, 200);
    } finally {
      await open.close();
      await trusted.close();
    }
  });

  it("serves Prometheus metrics: requests by cache status, hits, misses, bytes, entries and an origin latency histogram", async () => {
    const r = await viaProxy(proxy.port, "", { path: "/_wirekit/metrics" });
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    const text = r.body.toString();
    const value = (line: string): number => Number(new RegExp(`^${line.replace(/[{}"+.]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? "NaN");
    const s = proxy.stats();
    assert.equal(value('wirekit_proxy_requests_total{cache_status="HIT"}'), s.hits);
    assert.equal(value("wirekit_proxy_hits_total"), s.hits);
    assert.equal(value("wirekit_proxy_misses_total"), s.misses);
    assert.equal(value("wirekit_proxy_revalidations_total"), s.revalidations);
    assert.equal(value("wirekit_proxy_cache_bytes_total"), s.bytesFromCache);
    assert.equal(value("wirekit_proxy_origin_bytes_total"), s.bytesFromOrigin);
    assert.equal(value("wirekit_proxy_cache_entries"), s.entries);
    assert.equal(value("wirekit_proxy_cache_disk_bytes"), s.diskBytes);
    const count = value("wirekit_proxy_origin_latency_seconds_count");
    assert.ok(count >= s.misses + s.revalidations && count > 0, `${count} origin requests observed`);
    assert.equal(value('wirekit_proxy_origin_latency_seconds_bucket{le="+Inf"}'), count);
    // Every family is announced with HELP and TYPE before its samples.
    for (const m of text.matchAll(/^(wirekit_\w+?)(?:_bucket|_sum|_count)?(?:\{[^}]*\})? \S+$/gm)) {
      const name = m[1] as string;
      assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, "m"), name);
    }
  });
});

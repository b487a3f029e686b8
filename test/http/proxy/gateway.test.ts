/**
 * Gateway mode (`--reverse`): a caching reverse proxy in front of one test origin, on real
 * sockets. Host is kept or replaced, the same cache answers, and only here the targeted
 * fields of RFC 9213 (Wirekit-Cache-Control over CDN-Cache-Control over Cache-Control) decide.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { FakeClock } from "../../../src/core/clock.js";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import type { AccessRecord } from "../../../src/http/proxy/stats.js";
import { decisionFields, GATEWAY_TARGETS, targetedDirectives } from "../../../src/http/proxy/cache/targeted.js";
import { startOrigin, viaProxy, type TestOrigin } from "./fixtures.js";

describe("targeted cache-control fields (RFC 9213), pure", () => {
  for (const [value, want] of [
    ["max-age=600", "max-age=600"],
    ['max-age=600, private="x", stale-if-error=?1, no-cache=?0', 'max-age=600, private="x", stale-if-error'],
    ["none", "none"],
    ["max-age=60;a=1", "max-age=60"],
    ["", undefined],
    ["MAX-AGE=60", undefined],
    ["max-age=60,, x", undefined],
    ["max-age=[60]", undefined],
  ] as const) {
    it(`reads ${JSON.stringify(value)} as ${JSON.stringify(want)}`, () => assert.equal(targetedDirectives(value), want));
  }
  it("lets Wirekit-Cache-Control win over CDN-Cache-Control, and drops Cache-Control and Expires", () => {
    const fields: Array<[string, string]> = [
      ["Cache-Control", "no-store"],
      ["Expires", "Thu, 01 Jan 1970 00:00:00 GMT"],
      ["CDN-Cache-Control", "max-age=10"],
      ["Wirekit-Cache-Control", "max-age=20"],
      ["ETag", '"a"'],
    ];
    assert.deepEqual(decisionFields(fields, GATEWAY_TARGETS), [["CDN-Cache-Control", "max-age=10"], ["Wirekit-Cache-Control", "max-age=20"], ["ETag", '"a"'], ["Cache-Control", "max-age=20"]]);
  });
  it("falls back to the next target, then to Cache-Control, when a targeted field is invalid", () => {
    const bad: Array<[string, string]> = [["Cache-Control", "no-store"], ["Wirekit-Cache-Control", "Bad Value"], ["CDN-Cache-Control", "max-age=5"]];
    assert.deepEqual(decisionFields(bad, GATEWAY_TARGETS).find(([k]) => k === "Cache-Control"), ["Cache-Control", "max-age=5"]);
    const none: Array<[string, string]> = [["Cache-Control", "no-store"], ["CDN-Cache-Control", ""]];
    assert.equal(decisionFields(none, GATEWAY_TARGETS), none);
    assert.equal(decisionFields(bad, []), bad, "a forward proxy has no target list");
  });
});

describe("proxy --reverse (gateway mode)", () => {
  let origin: TestOrigin;
  let gw: ProxyServer;
  let renamed: ProxyServer;
  let forward: ProxyServer;
  const dirs: string[] = [];
  const clock = new FakeClock(Date.now(), 0);
  const records: AccessRecord[] = [];

  /** Response fields dated by the fake clock, so ages are what the test advanced (±1 s of Date's rounding). */
  const dated = (fields: Record<string, string>): Record<string, string> => ({ Date: new Date(clock.now()).toUTCString(), ...fields });

  const tmp = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), "wk-proxy-gw-"));
    dirs.push(d);
    return d;
  };

  before(async () => {
    origin = await startOrigin();
    gw = await createProxyServer({ port: 0, cacheDir: await tmp(), clock, reverse: origin.base });
    gw.on("event", (e) => void records.push(e.record));
    renamed = await createProxyServer({ port: 0, cacheDir: await tmp(), clock, reverse: origin.base, originHost: "www.example.test" });
    forward = await createProxyServer({ port: 0, cacheDir: await tmp(), clock });
  });
  after(async () => {
    await Promise.all([gw.close(), renamed.close(), forward.close()]);
    await origin.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** An origin-form request to a gateway, with the Host the client names. */
  const get = (p: ProxyServer, path: string, host = "site.test", headers: Record<string, string> = {}) => viaProxy(p.port, "", { path, headers: { Host: host, ...headers } });

  it("forwards origin-form requests to the origin, keeps the client's Host, and answers the second from the cache", async () => {
    origin.route("/page", (_req, res) => {
      res.writeHead(200, dated({ "Cache-Control": "max-age=60", "Content-Type": "text/plain" }));
      res.end("page\n");
    });
    const first = await get(gw, "/page?x=1");
    assert.equal(first.status, 200);
    assert.equal(first.body.toString(), "page\n");
    assert.match(String(first.headers["cache-status"]), /^wirekit; fwd=uri-miss; fwd-status=200; stored$/);
    assert.match(String(first.headers.via), /^1\.1 127\.0\.0\.1:\d+ \(wirekit\)$/);
    const seen = origin.seen.at(-1);
    assert.equal(seen?.url, "/page?x=1");
    assert.equal(seen?.headers.host, "site.test");
    assert.match(String(seen?.headers.via), /\(wirekit\)/);
    clock.advance(2000);
    const second = await get(gw, "/page?x=1");
    assert.match(String(second.headers["cache-status"]), /^wirekit; hit; ttl=5[78]$/);
    assert.match(String(second.headers.age), /^[23]$/);
    assert.equal(origin.count("/page"), 1);
    const logged = records.filter((r) => r.url === "http://site.test/page?x=1").map((r) => r.cacheStatus);
    assert.deepEqual(logged, ["MISS", "HIT"]);
    assert.equal(gw.stats().hits, 1);
  });

  it("keys the cache by the client's Host: another name is another resource", async () => {
    origin.route("/named", (req, res) => {
      res.writeHead(200, dated({ "Cache-Control": "max-age=60" }));
      res.end(`for ${req.headers.host}`);
    });
    assert.equal((await get(gw, "/named", "a.test")).body.toString(), "for a.test");
    assert.equal((await get(gw, "/named", "b.test")).body.toString(), "for b.test");
    assert.equal((await get(gw, "/named", "a.test")).body.toString(), "for a.test");
    assert.equal(origin.count("/named"), 2);
  });

  it("sends --origin-host as the Host", async () => {
    origin.route("/renamed", (req, res) => res.end(String(req.headers.host)));
    const r = await get(renamed, "/renamed", "client.test");
    assert.equal(r.body.toString(), "www.example.test");
  });

  it("stores by CDN-Cache-Control over Cache-Control: no-store, where a forward proxy does not", async () => {
    origin.route("/cdn", (_req, res) => {
      res.writeHead(200, dated({ "Cache-Control": "no-store", "CDN-Cache-Control": "max-age=600" }));
      res.end("cdn");
    });
    await get(gw, "/cdn");
    const hit = await get(gw, "/cdn");
    assert.match(String(hit.headers["cache-status"]), /hit; ttl=(600|599)\b/);
    assert.equal(hit.headers["cache-control"], "no-store", "the fields are relayed unchanged for the caches downstream");
    assert.equal(origin.count("/cdn"), 1);
    await viaProxy(forward.port, `${origin.base}/cdn`);
    await viaProxy(forward.port, `${origin.base}/cdn`);
    assert.equal(origin.count("/cdn"), 3, "a forward proxy is not a CDN: Cache-Control: no-store rules");
  });

  it("lets Wirekit-Cache-Control win over CDN-Cache-Control and Cache-Control, both ways", async () => {
    origin.route("/wk-store", (_req, res) => {
      res.writeHead(200, dated({ "Cache-Control": "private", "CDN-Cache-Control": "no-store", "Wirekit-Cache-Control": "max-age=30" }));
      res.end("a");
    });
    origin.route("/wk-nostore", (_req, res) => {
      res.writeHead(200, dated({ "Cache-Control": "max-age=600", "CDN-Cache-Control": "max-age=600", "Wirekit-Cache-Control": "no-store" }));
      res.end("b");
    });
    await get(gw, "/wk-store");
    assert.match(String((await get(gw, "/wk-store")).headers["cache-status"]), /hit; ttl=(30|29)\b/);
    await get(gw, "/wk-nostore");
    assert.match(String((await get(gw, "/wk-nostore")).headers["cache-status"]), /fwd=uri-miss/);
    assert.equal(origin.count("/wk-store"), 1);
    assert.equal(origin.count("/wk-nostore"), 2);
  });

  it("ignores an invalid targeted field and an Expires beside a valid one", async () => {
    origin.route("/cdn-invalid", (_req, res) => {
      res.writeHead(200, dated({ "Cache-Control": "no-store", "CDN-Cache-Control": "Max-Age=600" }));
      res.end("x");
    });
    await get(gw, "/cdn-invalid");
    await get(gw, "/cdn-invalid");
    assert.equal(origin.count("/cdn-invalid"), 2, "an invalid CDN-Cache-Control falls back to Cache-Control");
    origin.route("/cdn-expires", (_req, res) => {
      res.writeHead(200, dated({ Expires: "Thu, 01 Jan 1970 00:00:00 GMT", "CDN-Cache-Control": "max-age=100" }));
      res.end("y");
    });
    await get(gw, "/cdn-expires");
    assert.match(String((await get(gw, "/cdn-expires")).headers["cache-status"]), /hit; ttl=(100|99)\b/);
  });

  it("serves its statistics, refuses CONNECT with 405 and passes everything else to the origin", async () => {
    const stats = await get(gw, "/_wirekit/stats");
    assert.equal(stats.headers["content-type"], "application/json");
    assert.ok((JSON.parse(stats.body.toString()) as { requests: number }).requests > 0);
    origin.route("/", (_req, res) => res.end("origin root"));
    assert.equal((await get(gw, "/")).body.toString(), "origin root");
    const raw = await new Promise<string>((resolve) => {
      const s = connect(gw.port, "127.0.0.1", () => s.write("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n"));
      let out = "";
      s.setEncoding("utf8").on("data", (d: string) => (out += d)).on("close", () => resolve(out));
    });
    assert.match(raw, /^HTTP\/1\.1 405 /);
  });

  it("works for curl, an independent client, miss then hit", async () => {
    origin.route("/curl-gw", (_req, res) => {
      res.writeHead(200, dated({ "CDN-Cache-Control": "max-age=60", "Content-Type": "text/plain" }));
      res.end("through the gateway\n");
    });
    const run = () => promisify(execFile)("curl", ["-sS", "-i", "--max-time", "30", `http://127.0.0.1:${gw.port}/curl-gw`]);
    assert.match((await run()).stdout, /\r\nCache-Status: wirekit; fwd=uri-miss; fwd-status=200; stored\r\n/);
    const second = await run();
    assert.match(second.stdout, /\r\nCache-Status: wirekit; hit; ttl=\d+\r\n/);
    assert.match(second.stdout, /\r\n\r\nthrough the gateway\n$/);
    assert.equal(origin.seen.at(-1)?.headers.host, `127.0.0.1:${gw.port}`, "curl's Host is kept");
  });

  it("follows the same RFC corners as forward mode: Age lists, qualified no-cache, ranges, stale-while-revalidate under CDN-Cache-Control", async () => {
    origin.route("/gw-age", (_req, res) => {
      res.writeHead(200, dated({ "Cache-Control": "max-age=3600", Age: "7200, 0" }));
      res.end("aged");
    });
    await get(gw, "/gw-age");
    assert.doesNotMatch(String((await get(gw, "/gw-age")).headers["cache-status"]), /hit/, "the first Age member makes it stale");
    origin.route("/gw-qnc", (_req, res) => {
      res.writeHead(200, dated({ "Cache-Control": 'max-age=60, no-cache="X-Foo"', "X-Foo": "secret", "Content-Type": "text/plain" }));
      res.end("0123456789");
    });
    await get(gw, "/gw-qnc");
    const ranged = await get(gw, "/gw-qnc", "site.test", { Range: "bytes=3-5" });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.body.toString(), "345");
    assert.equal(ranged.headers["x-foo"], undefined);
    let n = 0;
    origin.route("/gw-swr", (_req, res) => {
      n++;
      res.writeHead(200, dated({ "Cache-Control": "no-store", "CDN-Cache-Control": "max-age=1, stale-while-revalidate=60" }));
      res.end(`v${n}`);
    });
    await get(gw, "/gw-swr");
    clock.advance(5000);
    const stale = await get(gw, "/gw-swr");
    assert.equal(stale.body.toString(), "v1");
    assert.match(String(stale.headers["cache-status"]), /hit; fwd=stale/);
    const deadline = Date.now() + 5000;
    while ((await get(gw, "/gw-swr")).body.toString() !== "v2") {
      if (Date.now() > deadline) throw new Error("no background refresh");
      await new Promise((r) => setTimeout(r, 10));
    }
  });

  it("binds beyond loopback only with --allow, refuses a URL that is not an origin, and --origin-host without --reverse", async () => {
    await assert.rejects(createProxyServer({ port: 0, cache: false, host: "0.0.0.0", reverse: origin.base }), (e: { code?: string }) => e.code === "ERR_USAGE");
    await assert.rejects(createProxyServer({ port: 0, cache: false, reverse: `${origin.base}/sub/path` }), (e: { code?: string }) => e.code === "ERR_USAGE");
    await assert.rejects(createProxyServer({ port: 0, cache: false, reverse: "ftp://x.test" }), (e: { code?: string }) => e.code === "ERR_USAGE");
    await assert.rejects(createProxyServer({ port: 0, cache: false, originHost: "a.test" }), (e: { code?: string }) => e.code === "ERR_USAGE");
    const open = await createProxyServer({ port: 0, cache: false, host: "0.0.0.0", reverse: origin.base, allow: ["127.0.0.0/8"] });
    try {
      origin.route("/allowed", (_req, res) => res.end("allowed"));
      assert.equal((await get(open, "/allowed")).body.toString(), "allowed");
    } finally {
      await open.close();
    }
  });
});

/**
 * The cache stores behind the one store interface: `--store memory` (a bounded LRU), and
 * `--store redis://...` shared by two proxies on a real redis-server started by the test: a miss
 * on one node is a hit on the other with one origin request, bodies in chunks, garbage under our
 * keys discarded and refetched, a refused login as one line, and Redis stopped and restarted
 * mid-run (answers go on without the cache, one notice each way, caching resumes).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { parseStoreSpec } from "../../../src/http/proxy/cache/entry-store.js";
import { decodeRedisHead, redisTtlMs } from "../../../src/http/proxy/cache/redis-store.js";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { startOrigin, viaProxy, waitUntil, type TestOrigin } from "./fixtures.js";
import { haveRedis, startRedis, type TestRedis } from "./redis-fixture.js";
import { runCliCapture, spawnCli } from "../../helpers/cli.js";

describe("--store, pure", () => {
  it("parses disk, memory and Redis URLs, the password from the URL or the environment, never shown", () => {
    assert.deepEqual(parseStoreSpec("disk"), { ok: true, value: { kind: "disk" } });
    assert.deepEqual(parseStoreSpec("memory"), { ok: true, value: { kind: "memory" } });
    const r = parseStoreSpec("redis://ada:s%3Acret@127.0.0.1:6380/2");
    assert.deepEqual(r, { ok: true, value: { kind: "redis", tls: false, host: "127.0.0.1", port: 6380, db: 2, username: "ada", password: "s:cret", display: "redis://127.0.0.1:6380/2" } });
    const t = parseStoreSpec("rediss://cache.test", "fromenv");
    assert.ok(t.ok && t.value.kind === "redis" && t.value.tls && t.value.port === 6379 && t.value.password === "fromenv");
    const u = parseStoreSpec("redis://:inurl@[::1]:7000", "fromenv");
    assert.ok(u.ok && u.value.kind === "redis" && u.value.password === "inurl" && u.value.host === "::1" && u.value.display === "redis://[::1]:7000/0");
    for (const bad of ["", "redis", "redis://", "http://h:1", "redis://h:0", "redis://h:70000", "redis://h:1/16", "redis://h:1/x", "memcached://h", "redis://:p%zz@h"]) {
      const p = parseStoreSpec(bad);
      assert.equal(p.ok, false, bad);
    }
    const secret = parseStoreSpec("redis://u:topsecret@h:1/99");
    assert.ok(!secret.ok && !secret.reason.includes("topsecret"));
    const garbled = parseStoreSpec("redis://u:topsecret@h:x");
    assert.ok(!garbled.ok && !garbled.reason.includes("topsecret") && !garbled.reason.includes("\n"), garbled.ok ? "" : garbled.reason);
  });

  it("decodes only well-formed heads for the id, and gives keys freshness + stale windows + margin", () => {
    assert.equal(decodeRedisHead("not json", "0".repeat(40)), undefined);
    assert.equal(decodeRedisHead('{"w":1}', "0".repeat(40)), undefined);
    assert.equal(decodeRedisHead("[1,2]", "0".repeat(40)), undefined);
    const facts = { lifetimeMs: 60_000, initialAgeMs: 10_000, swrMs: 30_000, sieMs: 5_000, noStale: false, noCache: false } as Parameters<typeof redisTtlMs>[0];
    assert.equal(redisTtlMs(facts, 60_000), 50_000 + 30_000 + 60_000);
  });
});

describe("--store memory", () => {
  let origin: TestOrigin;
  let proxy: ProxyServer;
  before(async () => {
    origin = await startOrigin();
    proxy = await createProxyServer({ port: 0, store: "memory", cacheSize: 4096 });
    for (const p of ["/a", "/b", "/c"]) origin.route(p, (_q, res) => res.writeHead(200, { "Cache-Control": "max-age=60", Date: new Date().toUTCString() }).end("x".repeat(1000)));
  });
  after(async () => {
    await proxy.close();
    await origin.close();
  });

  it("serves a miss then a hit from memory, and stays within its bound (LRU)", async () => {
    const first = await viaProxy(proxy.port, `${origin.base}/a`);
    assert.match(String(first.headers["cache-status"]), /fwd=uri-miss; fwd-status=200; stored/);
    const second = await viaProxy(proxy.port, `${origin.base}/a`);
    assert.match(String(second.headers["cache-status"]), /wirekit; hit/);
    assert.equal(second.body.length, 1000);
    await viaProxy(proxy.port, `${origin.base}/b`);
    await viaProxy(proxy.port, `${origin.base}/c`);
    const s = proxy.stats();
    assert.ok(s.diskBytes <= 4096, `held ${s.diskBytes}`);
    assert.ok(s.entries < 3);
    assert.equal(proxy.store?.kind, "memory");
  });

  it("refuses --cache-dir with it", async () => {
    await assert.rejects(createProxyServer({ port: 0, store: "memory", cacheDir: "/tmp/x" }), /--cache-dir is for --store disk/);
  });
});

describe("--store redis: two proxies on one redis-server", { skip: haveRedis() ? false : "redis-server is not installed" }, () => {
  let redis: TestRedis;
  let origin: TestOrigin;
  let a: ProxyServer;
  let b: ProxyServer;
  let raw: Redis;
  const notices: string[] = [];

  before(async () => {
    redis = await startRedis();
    origin = await startOrigin();
    a = await createProxyServer({ port: 0, store: redis.url, onNotice: (l) => notices.push(`A ${l}`) });
    b = await createProxyServer({ port: 0, store: redis.url, onNotice: (l) => notices.push(`B ${l}`) });
    raw = new Redis({ host: "127.0.0.1", port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    raw.on("error", () => undefined);
    await raw.connect();
    let n = 0;
    for (const [p, size] of [["/small", 100], ["/big", 600 * 1024], ["/junk", 2000], ["/down", 10], ["/t1", 10], ["/t2", 10]] as const) {
      origin.route(p, (_q, res) => {
        const body = Buffer.alloc(size, 97 + (n++ % 26));
        const tags = p === "/t1" ? { "Surrogate-Key": "shop product-7" } : p === "/t2" ? { "Cache-Tag": "product-7, blue" } : {};
        res.writeHead(200, { "Cache-Control": "max-age=60", Date: new Date().toUTCString(), "Content-Length": String(body.length), ...tags }).end(body);
      });
    }
    // Both nodes listen for purges before the tests start.
    const deadline = Date.now() + 5000;
    while (Number(((await raw.pubsub("NUMSUB", "wirekit:purge")) as [string, number])[1]) < 2) {
      if (Date.now() > deadline) throw new Error("the nodes did not subscribe");
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  after(async () => {
    raw.disconnect();
    await a.close();
    await b.close();
    await origin.close();
    await redis.close();
  });

  /** Wait until Redis holds `n` heads (a node writes to Redis just after it answers). */
  async function heads(n: number): Promise<string[]> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const keys = await raw.keys("wirekit:h:*");
      if (keys.length >= n) return keys;
      if (Date.now() > deadline) throw new Error(`Redis holds ${keys.length} heads, not ${n}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it("a miss on A is a hit on B, and the origin sees one request (small and chunked bodies)", async () => {
    let expected = 0;
    for (const path of ["/small", "/big"]) {
      const missA = await viaProxy(a.port, `${origin.base}${path}`);
      assert.match(String(missA.headers["cache-status"]), /fwd=uri-miss; fwd-status=200/);
      await heads(++expected);
      const hitB = await viaProxy(b.port, `${origin.base}${path}`);
      assert.match(String(hitB.headers["cache-status"]), /^wirekit; hit; ttl=\d+$/);
      assert.ok(hitB.body.equals(missA.body), `${path}: B serves A's body`);
      assert.equal(origin.count(path), 1, path);
      // Hot on B now: served again without asking the origin.
      const again = await viaProxy(b.port, `${origin.base}${path}`);
      assert.ok(again.body.equals(missA.body));
      assert.equal(origin.count(path), 1);
    }
    // 600 KiB in 256 KiB chunks: three chunk keys, none bigger than a chunk.
    const chunks = await raw.keys("wirekit:b:*");
    assert.equal(chunks.length, 1 + 3);
    for (const k of chunks) assert.ok((await raw.strlen(k)) <= 256 * 1024);
    const ttl = await raw.pttl((await raw.keys("wirekit:h:*"))[0] as string);
    assert.ok(ttl > 60_000 && ttl <= 120_000, `head TTL ${ttl} = freshness 60 s + margin 60 s`);
  });

  it("Vary and revalidation (304) work across nodes", async () => {
    let etagHits = 0;
    origin.route("/vary", (q, res) => {
      const lang = String(q.headers["accept-language"] ?? "en");
      res.writeHead(200, { "Cache-Control": "max-age=60", Vary: "Accept-Language", Date: new Date().toUTCString(), "Content-Language": lang }).end(`hello in ${lang}`);
    });
    origin.route("/etag", (q, res) => {
      if (q.headers["if-none-match"] === '"v1"') {
        etagHits++;
        res.writeHead(304, { ETag: '"v1"', "Cache-Control": "max-age=0", Date: new Date().toUTCString() }).end();
        return;
      }
      res.writeHead(200, { ETag: '"v1"', "Cache-Control": "max-age=0", Date: new Date().toUTCString() }).end("validated body");
    });
    const before = await raw.keys("wirekit:h:*");
    await viaProxy(a.port, `${origin.base}/vary`, { headers: { "accept-language": "fr" } });
    await viaProxy(a.port, `${origin.base}/vary`, { headers: { "accept-language": "de" } });
    await heads(before.length + 2);
    const fr = await viaProxy(b.port, `${origin.base}/vary`, { headers: { "accept-language": "fr" } });
    const de = await viaProxy(b.port, `${origin.base}/vary`, { headers: { "accept-language": "de" } });
    assert.match(String(fr.headers["cache-status"]), /^wirekit; hit/);
    assert.equal(fr.body.toString(), "hello in fr");
    assert.match(String(de.headers["cache-status"]), /^wirekit; hit/);
    assert.equal(de.body.toString(), "hello in de");
    const es = await viaProxy(b.port, `${origin.base}/vary`, { headers: { "accept-language": "es" } });
    assert.match(String(es.headers["cache-status"]), /fwd=vary-miss/);
    assert.equal(origin.count("/vary"), 3);
    // Stored by A (always stale: max-age=0), validated by B with A's validator: a 304, A's body.
    await viaProxy(a.port, `${origin.base}/etag`);
    await heads(before.length + 4);
    const v = await viaProxy(b.port, `${origin.base}/etag`);
    assert.match(String(v.headers["cache-status"]), /fwd=stale; fwd-status=304/);
    assert.equal(v.body.toString(), "validated body");
    assert.equal(etagHits, 1);
  });

  it("20 concurrent misses spread over both nodes cause one origin fetch (a short lock in Redis)", async () => {
    origin.route("/slow", (_q, res) => {
      setTimeout(() => res.writeHead(200, { "Cache-Control": "max-age=60", Date: new Date().toUTCString() }).end("worth the wait"), 150);
    });
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => viaProxy(i % 2 === 0 ? a.port : b.port, `${origin.base}/slow`)));
    for (const r of all) {
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), "worth the wait");
    }
    assert.equal(origin.count("/slow"), 1);
    assert.equal(all.filter((r) => /fwd=uri-miss/.test(String(r.headers["cache-status"]))).length, 1);
    assert.equal((await raw.keys("wirekit:l:*")).length, 0, "the lock is gone");
    const s = a.stats();
    assert.equal(s.store, "redis");
    assert.equal(s.storeState, "up");
    assert.ok(typeof s.storeLatencyMs === "number" && s.storeLatencyMs >= 0);
    const m = await viaProxy(a.port, "", { path: "/_wirekit/metrics" });
    assert.match(m.body.toString(), /^wirekit_proxy_store_up\{store="redis"\} 1$/m);
    assert.match(m.body.toString(), /^wirekit_proxy_store_latency_seconds\{store="redis"\} [\d.]+$/m);
  });

  it("garbage under wirekit's keys is detected, discarded and refetched, never served", async () => {
    await viaProxy(a.port, `${origin.base}/junk`);
    // The entry reaches Redis after the response: wait for its own head (others exist already).
    let junkHead: string | undefined;
    for (const deadline = Date.now() + 5000; junkHead === undefined && Date.now() < deadline; ) {
      for (const k of await heads(1)) if (String(await raw.get(k)).includes("/junk")) junkHead = k;
      if (junkHead === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(junkHead !== undefined);
    await raw.set(junkHead, "\x00garbage{not a head");
    const before = b.stats().discarded;
    const r1 = await viaProxy(b.port, `${origin.base}/junk`);
    assert.match(String(r1.headers["cache-status"]), /fwd=uri-miss/);
    assert.equal(r1.body.length, 2000);
    assert.equal(origin.count("/junk"), 2);
    assert.equal(b.stats().discarded, before + 1);
    // A body chunk overwritten: the hash fails, the entry is dropped and fetched again.
    // B stores its fresh copy after answering: wait for that head under the same key (a count of
    // heads can be met by other entries first).
    let text: string | null = null;
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
      text = await raw.get(junkHead);
      if (text !== null && text.startsWith("{")) break;
    }
    assert.ok(text !== null && text.startsWith("{"), "B stored /junk again");
    const v = (JSON.parse(text) as { v: string }).v;
    await raw.set(`wirekit:b:${junkHead.slice("wirekit:h:".length)}:${v}:0`, Buffer.alloc(2000, 0));
    const r2 = await viaProxy(a.port, `${origin.base}/junk`, { headers: { "cache-control": "max-age=60" } });
    // A still has its own hot copy: fine, it is the right body. B has none and must check the hash.
    assert.ok(r2.body.every((x) => x !== 0));
    const r3 = await viaProxy(b.port, `${origin.base}/junk?other`, {});
    assert.equal(r3.status, 200);
    // The URL set itself replaced by a wrong type.
    const urlKeys = await raw.keys("wirekit:u:*");
    for (const k of urlKeys) {
      await raw.del(k);
      await raw.lpush(k, "junk");
    }
    const r4 = await viaProxy(b.port, `${origin.base}/small`);
    assert.equal(r4.status, 200);
    assert.equal(r4.body.length, 100);
  });

  it("a chunk replaced behind a node's back fails the hash on the next node and is refetched", async () => {
    const c = await createProxyServer({ port: 0, store: redis.url });
    try {
      await viaProxy(a.port, `${origin.base}/big`);
      await heads(1);
      const keys = await raw.keys("wirekit:h:*");
      let bigHead: string | undefined;
      for (const k of keys) if (String(await raw.get(k)).includes("/big")) bigHead = k;
      assert.ok(bigHead !== undefined, "the /big head");
      const h = JSON.parse(String(await raw.get(bigHead))) as { v: string };
      await raw.set(`wirekit:b:${bigHead.slice("wirekit:h:".length)}:${h.v}:1`, Buffer.alloc(256 * 1024, 0));
      const seen = origin.count("/big");
      const r = await viaProxy(c.port, `${origin.base}/big`);
      assert.equal(r.body.length, 600 * 1024);
      assert.ok(r.body.every((x) => x !== 0), "never the mixed body");
      assert.equal(origin.count("/big"), seen + 1);
      assert.ok(c.stats().discarded >= 1);
    } finally {
      await c.close();
    }
  });

  it("a purge by URL and by tag through B makes A miss (its hot copy dropped too)", async () => {
    const post = (body: unknown) => viaProxy(b.port, "", { method: "POST", path: "/_wirekit/purge", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
    const warm = async (path: string): Promise<void> => {
      await viaProxy(a.port, `${origin.base}${path}`);
      for (;;) {
        const r = await viaProxy(b.port, `${origin.base}${path}`);
        if (/hit/.test(String(r.headers["cache-status"]))) break;
        await new Promise((res) => setTimeout(res, 10));
      }
      const hitA = await viaProxy(a.port, `${origin.base}${path}`);
      assert.match(String(hitA.headers["cache-status"]), /^wirekit; hit/);
    };
    await warm("/t1");
    await warm("/t2");
    const seen1 = origin.count("/t1");
    const purged = await viaProxy(b.port, `${origin.base}/t1`, { method: "PURGE" });
    assert.equal(purged.status, 200);
    assert.deepEqual(JSON.parse(purged.body.toString()), { purged: 1, soft: false });
    let afterUrl = await viaProxy(a.port, `${origin.base}/t1`);
    for (let i = 0; i < 50 && /hit/.test(String(afterUrl.headers["cache-status"])); i++) {
      await new Promise((res) => setTimeout(res, 10));
      afterUrl = await viaProxy(a.port, `${origin.base}/t1`);
    }
    assert.match(String(afterUrl.headers["cache-status"]), /fwd=uri-miss/);
    assert.equal(origin.count("/t1"), seen1 + 1);
    await warm("/t1");
    const seen2 = origin.count("/t2");
    const byTag = await post({ tag: "product-7" });
    assert.deepEqual(JSON.parse(byTag.body.toString()), { purged: 2, soft: false });
    assert.equal(await raw.exists("wirekit:t:product-7"), 0, "the tag's set goes with it");
    for (const path of ["/t1", "/t2"]) {
      let r = await viaProxy(a.port, `${origin.base}${path}`);
      // The message may take a moment to reach A; a hit before it is the old copy, never wrong data.
      for (let i = 0; i < 50 && /hit/.test(String(r.headers["cache-status"])); i++) {
        await new Promise((res) => setTimeout(res, 10));
        r = await viaProxy(a.port, `${origin.base}${path}`);
      }
      assert.match(String(r.headers["cache-status"]), /fwd=uri-miss/, path);
    }
    assert.equal(origin.count("/t2"), seen2 + 1);
  });

  it("a node SIGKILLed while it writes a 10 MiB entry never makes another serve a truncated or mixed body", async () => {
    const size = 10 * 1024 * 1024;
    let letter = "p";
    origin.route("/huge", (_q, res) => res.writeHead(200, { "Cache-Control": "max-age=60", Date: new Date().toUTCString(), "Content-Length": String(size) }).end(Buffer.alloc(size, letter)));
    const first = await viaProxy(b.port, `${origin.base}/huge`);
    assert.equal(first.body.length, size);
    const v1 = async (): Promise<string | undefined> => {
      for (const k of await raw.keys("wirekit:h:*")) {
        const t = String(await raw.get(k));
        if (t.includes("/huge")) return (JSON.parse(t) as { v: string }).v;
      }
      return undefined;
    };
    for (let i = 0; i < 200 && (await v1()) === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    const old = await v1();
    assert.ok(old !== undefined);
    letter = "q";
    const node = spawnCli(["proxy", "--port", "0", "--quiet", "--store", redis.url]);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(await node.waitFor(/listening on 127\.0\.0\.1:\d+/))?.[1]);
    // Killed the moment its first chunk of the new version reaches Redis.
    const monitor = await raw.duplicate().monitor();
    monitor.on("monitor", (_t: string, args: string[]) => {
      if (String(args[0]).toLowerCase() === "set" && String(args[1]).startsWith("wirekit:b:") && !String(args[1]).includes(old)) node.kill("SIGKILL");
    });
    await viaProxy(port, `${origin.base}/huge`, { headers: { "cache-control": "no-cache" } }).catch(() => undefined);
    const exit = await node.done;
    monitor.disconnect();
    assert.notEqual(exit.code, 0, "killed");
    const seen = origin.count("/huge");
    const r = await viaProxy(b.port, `${origin.base}/huge`);
    assert.equal(r.body.length, size);
    const c0 = r.body[0];
    assert.ok(c0 === 0x70 || c0 === 0x71);
    assert.ok(r.body.every((x) => x === c0), "one version, whole");
    assert.ok(origin.count("/huge") <= seen + 1);
  });

  it("Redis stopped mid-run: answers go on without the cache, one line; restarted: caching resumes", async () => {
    notices.length = 0;
    await redis.stop();
    for (let i = 0; i < 3; i++) {
      const r = await viaProxy(a.port, `${origin.base}/down`);
      assert.equal(r.status, 200);
      assert.equal(r.headers["cache-status"], "wirekit; fwd=uri-miss; fwd-status=200; detail=store-unavailable");
    }
    assert.equal(a.stats().storeState, "down");
    const downA = notices.filter((l) => l.startsWith("A ") && l.includes("unavailable"));
    assert.equal(downA.length, 1, notices.join("\n"));
    assert.match(downA[0] ?? "", new RegExp(`^A store redis://127\\.0\\.0\\.1:${redis.port}/0 unavailable \\(.*\\): answering without the cache, reconnecting$`));
    await redis.start();
    await waitUntil(() => notices.some((l) => l.startsWith("A ") && l.includes("is back")), 10_000, "A to reconnect");
    const stored = await viaProxy(a.port, `${origin.base}/down`);
    assert.match(String(stored.headers["cache-status"]), /fwd=uri-miss; fwd-status=200; stored/);
    await raw.connect().catch(() => undefined);
    await waitUntil(() => notices.some((l) => l.startsWith("B ") && l.includes("is back")), 10_000, "B to reconnect");
    await heads(1);
    const hit = await viaProxy(b.port, `${origin.base}/down`);
    assert.match(String(hit.headers["cache-status"]), /^wirekit; hit/);
  });
});

describe("--store redis: a refused login", { skip: haveRedis() ? false : "redis-server is not installed" }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis("right-password");
  });
  after(async () => {
    await redis.close();
  });

  it("is one clear line that never shows the password", async () => {
    const err = await createProxyServer({ port: 0, store: `redis://:wrong-password@127.0.0.1:${redis.port}` }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(err !== undefined);
    assert.match(err.message, new RegExp(`^--store redis://127\\.0\\.0\\.1:${redis.port}/0: Redis refused the login \\(.*\\); check the password`));
    assert.ok(!err.message.includes("wrong-password") && !err.message.includes("\n"), err.message);
    const cli = await runCliCapture(["proxy", "--port", "0", "--store", `redis://127.0.0.1:${redis.port}`], { env: { WIREKIT_REDIS_PASSWORD: "wrong-password" } });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /^wirekit: --store redis:\/\/127\.0\.0\.1:\d+\/0: Redis refused the login \(WRONGPASS [^\n]*\); check the password \(URL or WIREKIT_REDIS_PASSWORD\)\n$/);
    assert.ok(!cli.stderr.includes("wrong-password"));
    const ok = await createProxyServer({ port: 0, store: `redis://127.0.0.1:${redis.port}`, redisPassword: "right-password" });
    assert.equal(ok.store?.kind, "redis");
    await ok.close();
  });
});

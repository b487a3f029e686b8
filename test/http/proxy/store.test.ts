/** The disk store: restart, crash leftovers, truncated and corrupt entries, LRU eviction. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProxyServer, type ProxyServer, type ProxyServerOptions } from "../../../src/http/proxy/server.js";
import { CacheStore, entryId } from "../../../src/http/proxy/cache/store.js";
import { startOrigin, viaProxy, type TestOrigin } from "./fixtures.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

async function entryFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".wkc")).map((n) => join(dir, n));
}

describe("entryId, pure", () => {
  it("is the first 40 hex digits of SHA-256 over the URL, a NUL and the JSON of the Vary values (the files' names)", () => {
    const url = "http://o.test/a?b=1";
    for (const vary of [[], ["gzip", null], ["a\0b"]]) {
      const want = createHash("sha256").update(`${url}\0${JSON.stringify(vary)}`).digest("hex").slice(0, 40);
      assert.equal(entryId(url, vary), want);
    }
    assert.notEqual(entryId(url, []), entryId(url, [null]));
  });
});

describe("proxy cache store", () => {
  let origin: TestOrigin;
  let dir: string;
  let proxy: ProxyServer | undefined;
  const body = randomBytes(512 * 1024); // above the hot-layer limit: served from disk

  const start = async (extra: ProxyServerOptions = {}): Promise<ProxyServer> => {
    proxy = await createProxyServer({ port: 0, cacheDir: dir, ...extra });
    return proxy;
  };
  const stop = async (): Promise<void> => {
    await proxy?.close();
    proxy = undefined;
  };

  before(async () => {
    origin = await startOrigin();
    origin.route("/obj", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=600", "Content-Length": String(body.length) });
      res.end(body);
    });
    for (let i = 0; i < 10; i++) {
      origin.route(`/small/${i}`, (_req, res) => {
        res.writeHead(200, { "Cache-Control": "max-age=600" });
        res.end(Buffer.alloc(10 * 1024, i));
      });
    }
  });
  after(async () => {
    await stop();
    await origin.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const fresh = async (): Promise<void> => {
    await stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = await mkdtemp(join(tmpdir(), "wk-proxy-store-"));
  };

  it("serves stored entries after a restart without contacting the origin", async () => {
    await fresh();
    const before = origin.count("/obj");
    await start();
    await viaProxy(proxy!.port, `${origin.base}/obj`);
    await stop();
    const p = await start();
    assert.equal(p.stats().entries, 1);
    const r = await viaProxy(p.port, `${origin.base}/obj`);
    assert.match(String(r.headers["cache-status"]), /hit/);
    assert.equal(sha(r.body), sha(body));
    assert.equal(origin.count("/obj") - before, 1);
  });

  it("discards an entry truncated on disk and refetches it, never serving it broken", async () => {
    await fresh();
    const before = origin.count("/obj");
    await start();
    await viaProxy(proxy!.port, `${origin.base}/obj`);
    await stop();
    const [file] = await entryFiles(dir);
    assert.ok(file);
    await truncate(file, (await stat(file)).size - 1000);
    const p = await start();
    const r = await viaProxy(p.port, `${origin.base}/obj`);
    assert.match(String(r.headers["cache-status"]), /fwd=uri-miss/);
    assert.equal(sha(r.body), sha(body));
    assert.equal(origin.count("/obj") - before, 2);
  });

  it("detects an entry truncated while the proxy runs and refetches it", async () => {
    await fresh();
    const p = await start();
    const before = origin.count("/obj");
    await viaProxy(p.port, `${origin.base}/obj`);
    await p.flush(); // the response went out before its entry was written
    const [file] = await entryFiles(dir);
    assert.ok(file);
    await truncate(file, 100_000);
    const r = await viaProxy(p.port, `${origin.base}/obj`);
    assert.equal(sha(r.body), sha(body));
    assert.equal(origin.count("/obj") - before, 2);
  });

  it("detects a corrupted body by its hash and refetches it", async () => {
    await fresh();
    await start();
    const before = origin.count("/obj");
    await viaProxy(proxy!.port, `${origin.base}/obj`);
    await stop();
    const [file] = await entryFiles(dir);
    assert.ok(file);
    const bytes = await readFile(file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    const p = await start();
    const r = await viaProxy(p.port, `${origin.base}/obj`);
    assert.match(String(r.headers["cache-status"]), /fwd=uri-miss/);
    assert.equal(sha(r.body), sha(body));
    assert.equal(origin.count("/obj") - before, 2);
    assert.equal(p.stats().discarded, 1);
  });

  it("cache poisoning by disk corruption: a byte changed in an entry while the proxy runs is never served whole, and the entry is refetched", async () => {
    await fresh();
    const p = await start();
    const big = randomBytes(8 * 1024 * 1024);
    origin.route("/big-corrupt", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=3600", "Content-Length": String(big.length) });
      res.end(big);
    });
    const before = origin.count("/big-corrupt");
    const first = await viaProxy(p.port, `${origin.base}/big-corrupt`);
    assert.equal(sha(first.body), sha(big));
    const hit = await viaProxy(p.port, `${origin.base}/big-corrupt`);
    assert.match(String(hit.headers["cache-status"]), /hit/);
    const [file] = await entryFiles(dir);
    assert.ok(file);
    const fd = await open(file, "r+");
    const at = Math.floor((await fd.stat()).size / 2);
    const one = Buffer.alloc(1);
    await fd.read(one, 0, 1, at);
    one[0] = (one[0] ?? 0) ^ 0xff;
    await fd.write(one, 0, 1, at);
    await fd.close();
    const corrupted = await viaProxy(p.port, `${origin.base}/big-corrupt`).then(
      (r) => r,
      () => undefined,
    );
    assert.ok(corrupted === undefined || sha(corrupted.body) === sha(big), "the corrupted body was served as a complete response");
    const again = await viaProxy(p.port, `${origin.base}/big-corrupt`);
    assert.match(String(again.headers["cache-status"]), /fwd=uri-miss/);
    assert.equal(sha(again.body), sha(big));
    assert.equal(origin.count("/big-corrupt") - before, 2);
    assert.equal(p.stats().discarded, 1);
  });

  it("removes temporary files a crash left behind", async () => {
    await fresh();
    await writeFile(join(dir, "abc.999999999.1.tmp"), "half an entry");
    await writeFile(join(dir, "deadbeef.wkc"), "WKCACHE1 not really");
    // A temporary file of a live writer (this process stands in for another proxy) is left alone.
    await writeFile(join(dir, `abc.${process.ppid}.1.tmp`), "being written");
    const store = await CacheStore.open({ dir });
    assert.equal(store.entries, 0);
    assert.deepEqual(await readdir(dir), [`abc.${process.ppid}.1.tmp`]);
  });

  it("evicts least recently used entries to stay under --cache-size", async () => {
    await fresh();
    const limit = 50 * 1024;
    const p = await start({ cacheSize: limit });
    for (let i = 0; i < 10; i++) await viaProxy(p.port, `${origin.base}/small/${i}`);
    await p.flush(); // evicted entries' files are removed after the responses that evicted them
    const s = p.stats();
    assert.ok(s.diskBytes <= limit, `${s.diskBytes} > ${limit}`);
    assert.ok(s.entries >= 3 && s.entries < 10);
    let onDisk = 0;
    for (const f of await entryFiles(dir)) onDisk += (await stat(f)).size;
    assert.ok(onDisk <= limit, `files use ${onDisk}`);
    const last = await viaProxy(p.port, `${origin.base}/small/9`);
    assert.match(String(last.headers["cache-status"]), /hit/);
    const first = await viaProxy(p.port, `${origin.base}/small/0`);
    assert.match(String(first.headers["cache-status"]), /fwd=uri-miss/);
  });

  it("streams objects larger than --max-object-size without storing them", async () => {
    await fresh();
    const p = await start({ maxObjectSize: 100 * 1024 });
    const r = await viaProxy(p.port, `${origin.base}/obj`);
    assert.equal(sha(r.body), sha(body));
    assert.doesNotMatch(String(r.headers["cache-status"]), /stored/);
    assert.equal(p.stats().entries, 0);
  });

  it("gives up storing a chunked response once it outgrows --max-object-size, still relaying all of it", async () => {
    origin.route("/chunked-big", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=600" });
      for (let i = 0; i < 8; i++) res.write(body.subarray(i * 65536, (i + 1) * 65536));
      res.end();
    });
    await fresh();
    const p = await start({ maxObjectSize: 300 * 1024 });
    const r = await viaProxy(p.port, `${origin.base}/chunked-big`);
    assert.equal(sha(r.body), sha(body));
    await p.close();
    proxy = undefined;
    // The abandoned temporary file is deleted in the background.
    let left = await readdir(dir);
    for (let i = 0; i < 500 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      left = await readdir(dir);
    }
    assert.deepEqual(left, []);
  });
});

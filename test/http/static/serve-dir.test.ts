/** The request → response static handler, called directly: an in-memory fs, a fake clock, no sockets. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { gzipSync, gunzipSync, brotliDecompressSync } from "node:zlib";
import { FakeClock } from "../../../src/core/clock.js";
import { createRandom } from "../../../src/core/random.js";
import { getField } from "../../../src/http/header-list.js";
import type { ExchangeControl, HttpRequest, HttpResponse } from "../../../src/http/h1/types.js";
import { createStaticHandler, type ServeDirOptions, type StaticRequestHandler } from "../../../src/http/static/serve-dir.js";
import { zlibCompressor, type Compressor } from "../../../src/http/static/representation-cache.js";
import { nodeStaticFs } from "../../../src/http/static/static-fs.js";
import { labSiteRoot } from "../../../src/http/static/lab-site.js";
import type { Coding } from "../../../src/http/static/compress.js";
import { MemoryFs } from "../../helpers/memory-fs.js";

const MTIME = Date.UTC(2025, 5, 1, 12, 0, 0);
const BIG = "All work and no play makes Jack a dull boy.\n".repeat(200);
const LARGE = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
const SECRET = "TOP-SECRET-5f1c0a";

function makeFs(): MemoryFs {
  const fs = new MemoryFs(MTIME);
  fs.writeFile("/base/secret.txt", SECRET);
  fs.writeFile("/base/root/hello.txt", "hello, world\n");
  fs.writeFile("/base/root/index.html", "<h1>home</h1>\n");
  fs.writeFile("/base/root/big.txt", BIG);
  fs.writeFile("/base/root/data.bin", Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256)));
  fs.writeFile("/base/root/large.bin", LARGE);
  fs.writeFile("/base/root/app.js", "console.log('plain');\n".repeat(100));
  fs.writeFile("/base/root/app.js.gz", gzipSync(Buffer.from("console.log('PRECOMPRESSED');\n")));
  fs.writeFile("/base/root/app.js.br", Buffer.from("not really brotli"));
  fs.writeFile("/base/root/.env", "PASSWORD=hunter2\n");
  fs.writeFile("/base/root/.git/config", "[core]\n");
  fs.writeFile("/base/root/docs/<b>bold<b> & co.txt", "x");
  fs.writeFile("/base/root/docs/a.txt", "a");
  fs.writeFile("/base/root/docs/.hidden", "h");
  fs.mkdir("/base/root/docs/sub");
  fs.symlink("a.txt", "/base/root/docs/link.txt");
  fs.writeFile("/base/root/withindex/index.html", "<p>index of withindex</p>\n");
  fs.symlink("/base/secret.txt", "/base/root/leak.txt");
  fs.symlink("/base", "/base/root/up");
  fs.symlink("../secret.txt", "/base/root/rel-leak.txt");
  fs.symlink("/base/root/hello.txt", "/base/root/inside-link.txt");
  return fs;
}

interface Setup {
  fs: MemoryFs;
  clock: FakeClock;
  handler: StaticRequestHandler;
  compressions: Coding[];
}

function setup(options: Partial<ServeDirOptions> = {}, fs = makeFs()): Setup {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const compressions: Coding[] = [];
  const compress: Compressor = (c, data) => {
    compressions.push(c);
    return zlibCompressor(c, data);
  };
  const handler = createStaticHandler({ root: "/base/root", fs, clock, random: createRandom(7), compress, ...options });
  return { fs, clock, handler, compressions };
}

const control: ExchangeControl = {
  sendInterim() {},
  takeover() {
    throw new Error("no socket here");
  },
};

function request(target: string, headers: Record<string, string> = {}, method = "GET", signal = new AbortController().signal): HttpRequest {
  return {
    method, target, version: "1.1", headers: Object.entries(headers), body: Readable.from([]), trailers: [],
    remoteAddress: "127.0.0.1", remotePort: 40000, localAddress: "127.0.0.1", localPort: 8080, secure: false,
    signal, receivedAt: 0,
  };
}

interface Got {
  status: number;
  res: HttpResponse;
  h(name: string): string | undefined;
  body: Buffer;
}

/** Call the handler and collect the body as the engine would send it (and close a FileBody's fd). */
async function call(s: Setup, target: string, headers: Record<string, string> = {}, method = "GET"): Promise<Got> {
  const res = await s.handler(request(target, headers, method), control);
  return { status: res.status, res, h: (n) => getField(res.headers, n), body: await collect(s.fs, res) };
}

async function collect(fs: MemoryFs, res: HttpResponse): Promise<Buffer> {
  const b = res.body;
  if (b === undefined) return Buffer.alloc(0);
  if (typeof b === "string") return Buffer.from(b);
  if (b instanceof Uint8Array) return Buffer.from(b);
  if ("kind" in b) {
    const out = await fs.readFd(b.fd, b.start, b.length);
    if (b.close !== false) await fs.close(b.fd);
    b.onDone?.();
    return out;
  }
  const chunks: Buffer[] = [];
  for await (const c of b as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

test("an existing file is 200 with type, length, Last-Modified and ETag", async () => {
  const s = setup();
  const r = await call(s, "/hello.txt");
  assert.equal(r.status, 200);
  assert.equal(r.h("content-type"), "text/plain; charset=utf-8");
  assert.equal(r.h("content-length"), "13");
  assert.equal(r.h("last-modified"), new Date(MTIME).toUTCString());
  assert.match(r.h("etag") ?? "", /^"[0-9a-f]+-d"$/);
  assert.equal(r.h("accept-ranges"), "bytes");
  assert.equal(r.body.toString(), "hello, world\n");
  assert.equal(s.fs.openFds, 0);
});

test("a missing file is 404 with a small HTML page, and HEAD has the GET headers and no body", async () => {
  const s = setup();
  const r = await call(s, "/nope.txt");
  assert.equal(r.status, 404);
  assert.equal(r.h("content-type"), "text/html; charset=utf-8");
  assert.match(r.body.toString(), /404 Not Found/);
  const get = await call(s, "/hello.txt");
  const head = await call(s, "/hello.txt", {}, "HEAD");
  assert.equal(head.status, 200);
  assert.deepEqual(head.res.headers, get.res.headers);
  assert.equal(head.res.body, undefined);
  const bigHead = await call(s, "/large.bin", {}, "HEAD");
  assert.equal(bigHead.h("content-length"), String(LARGE.length));
  assert.equal(bigHead.res.body, undefined);
  assert.ok(!s.fs.opened.includes("/base/root/large.bin"), "HEAD of a large file opens nothing");
});

test("other methods are 405 with Allow, and OPTIONS is 405 without --cors", async () => {
  const s = setup();
  for (const m of ["POST", "PUT", "DELETE", "OPTIONS", "BREW"]) {
    const r = await call(s, "/hello.txt", {}, m);
    assert.equal(r.status, 405, m);
    assert.equal(r.h("allow"), "GET, HEAD");
  }
});

test("--cors adds Access-Control-Allow-Origin and answers preflights", async () => {
  const s = setup({ cors: true });
  const r = await call(s, "/hello.txt", { Origin: "http://a.test" });
  assert.equal(r.h("access-control-allow-origin"), "*");
  const pre = await call(s, "/hello.txt", { Origin: "http://a.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-a" }, "OPTIONS");
  assert.equal(pre.status, 204);
  assert.equal(pre.h("access-control-allow-methods"), "GET, HEAD, OPTIONS");
  assert.equal(pre.h("access-control-allow-headers"), "x-a");
  assert.equal((await call(s, "/hello.txt", {}, "POST")).h("allow"), "GET, HEAD, OPTIONS");
});

test("path traversal in every spelling is refused and the file outside ROOT is never opened", async () => {
  const s = setup();
  const attempts = [
    "/../secret.txt", "/..", "/%2e%2e/secret.txt", "/.%2e/secret.txt", "/%2E%2E/secret.txt", "/docs/../../secret.txt",
    "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt", "/docs%2f..%2f..%2fsecret.txt", "/..%5csecret.txt", "/%5c..%5csecret.txt",
    "/hello.txt%00.html", "/%00", "/%c0%ae%c0%ae/secret.txt", "/%e0%80%ae%e0%80%ae/secret.txt",
    "/leak.txt", "/rel-leak.txt", "/up/secret.txt", "/up/root/../secret.txt", "/.env", "/.git/config", "/docs/.hidden",
    "http://x/../secret.txt",
  ];
  for (const path of attempts) {
    const r = await call(s, path);
    assert.ok([400, 403, 404].includes(r.status), `${path} → ${r.status}`);
    assert.ok(!r.body.toString().includes(SECRET), path);
  }
  assert.deepEqual(s.fs.opened.filter((p) => !p.startsWith("/base/root/")), []);
  assert.equal((await call(s, "/%zz")).status, 400, "bad percent-encoding is 400, not 500");
  assert.equal((await call(s, "*")).status, 400);
});

test("a symlink inside ROOT is served, and one outside only with followSymlinks", async () => {
  const s = setup();
  assert.equal((await call(s, "/inside-link.txt")).body.toString(), "hello, world\n");
  assert.equal((await call(s, "/leak.txt")).status, 403);
  const follow = setup({ followSymlinks: true });
  assert.equal((await call(follow, "/leak.txt")).body.toString(), SECRET);
  assert.equal((await call(follow, "/up/secret.txt")).body.toString(), SECRET);
});

test("a symlink swapped to point outside after it was served is refused at once", async () => {
  const s = setup();
  s.fs.symlink("hello.txt", "/base/root/swap.txt");
  assert.equal((await call(s, "/swap.txt")).status, 200);
  s.fs.symlink("/base/secret.txt", "/base/root/swap.txt");
  assert.equal((await call(s, "/swap.txt")).status, 403);
});

test("an over-long request-target is 414", async () => {
  const s = setup({ maxUrlLength: 100 });
  assert.equal((await call(s, `/${"a".repeat(200)}`)).status, 414);
});

test("conditional requests answer 304 and 412 as RFC 9110 §13 says", async () => {
  const s = setup({ cacheControl: "max-age=60" });
  const first = await call(s, "/hello.txt");
  const etag = first.h("etag") ?? "";
  const lm = first.h("last-modified") ?? "";
  const inm = await call(s, "/hello.txt", { "If-None-Match": etag });
  assert.equal(inm.status, 304);
  assert.equal(inm.res.body, undefined);
  assert.equal(inm.h("etag"), etag);
  assert.equal(inm.h("cache-control"), "max-age=60", "§15.4.5: a 304 carries Cache-Control");
  assert.equal(inm.h("content-length"), undefined);
  assert.equal((await call(s, "/hello.txt", { "If-None-Match": `W/${etag}` })).status, 304, "weak comparison");
  assert.equal((await call(s, "/hello.txt", { "If-None-Match": '"other"' })).status, 200);
  assert.equal((await call(s, "/hello.txt", { "If-Modified-Since": lm })).status, 304);
  assert.equal((await call(s, "/hello.txt", { "If-Modified-Since": new Date(MTIME - 60_000).toUTCString() })).status, 200);
  assert.equal((await call(s, "/hello.txt", { "If-None-Match": '"other"', "If-Modified-Since": lm })).status, 200, "If-None-Match wins");
  assert.equal((await call(s, "/hello.txt", { "If-Match": '"other"' })).status, 412);
  assert.equal((await call(s, "/hello.txt", { "If-Match": etag })).status, 200);
  assert.equal((await call(s, "/hello.txt", { "If-Unmodified-Since": new Date(MTIME - 60_000).toUTCString() })).status, 412);
  assert.equal((await call(s, "/hello.txt", { "If-None-Match": etag }, "HEAD")).status, 304, "HEAD gets 304 too");
  const big = await call(s, "/large.bin");
  const bigInm = await call(s, "/large.bin", { "If-None-Match": big.h("etag") ?? "" });
  assert.equal(bigInm.status, 304);
  assert.equal(s.fs.openFds, 0, "the descriptor opened for a 304 is closed");
});

test("Last-Modified is never later than the server's clock (§8.8.2.1)", async () => {
  const s = setup();
  s.fs.writeFile("/base/root/future.txt", "x", Date.UTC(2030, 0, 1));
  const r = await call(s, "/future.txt");
  assert.equal(r.h("last-modified"), new Date(s.clock.now()).toUTCString());
});

for (const [label, opts] of [["from memory", {}], ["from a descriptor", { cacheMaxFileSize: 0 }]] as const) {
  test(`single, suffix and multiple ranges, 416 and If-Range work ${label}`, async () => {
    const s = setup(opts);
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));
    const one = await call(s, "/data.bin", { Range: "bytes=10-19" });
    assert.equal(one.status, 206);
    assert.equal(one.h("content-range"), "bytes 10-19/1000");
    assert.equal(one.h("content-length"), "10");
    assert.deepEqual(one.body, data.subarray(10, 20));
    if (label === "from a descriptor") assert.deepEqual(one.res.body && typeof one.res.body === "object" && "kind" in one.res.body ? [one.res.body.start, one.res.body.length] : [], [10, 10]);
    const suffix = await call(s, "/data.bin", { Range: "bytes=-5" });
    assert.deepEqual(suffix.body, data.subarray(995));
    const multi = await call(s, "/data.bin", { Range: "bytes=0-1, 100-101" });
    assert.equal(multi.status, 206);
    const m = /^multipart\/byteranges; boundary=(wirekit-[0-9a-f]{24})$/.exec(multi.h("content-type") ?? "");
    assert.ok(m, multi.h("content-type"));
    const boundary = m[1] ?? "";
    assert.equal(multi.h("content-length"), String(multi.body.length));
    const text = multi.body.toString("latin1");
    assert.ok(text.startsWith(`--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/1000\r\n\r\n\x00\x01\r\n--${boundary}\r\n`));
    assert.ok(text.includes(`Content-Range: bytes 100-101/1000\r\n\r\nde\r\n--${boundary}--\r\n`));
    const bad = await call(s, "/data.bin", { Range: "bytes=5000-" });
    assert.equal(bad.status, 416);
    assert.equal(bad.h("content-range"), "bytes */1000");
    assert.equal((await call(s, "/data.bin", { Range: "bytes=x" })).status, 200, "a malformed Range is ignored");
    const etag = one.h("etag") ?? "";
    assert.equal((await call(s, "/data.bin", { Range: "bytes=0-0", "If-Range": etag })).status, 206);
    assert.equal((await call(s, "/data.bin", { Range: "bytes=0-0", "If-Range": '"stale"' })).status, 200);
    assert.equal((await call(s, "/data.bin", { Range: "bytes=0-0", "If-Range": one.h("last-modified") ?? "" })).status, 206);
    assert.equal((await call(s, "/data.bin", { Range: "bytes=0-0" }, "HEAD")).status, 200, "Range applies to GET only");
    assert.equal(s.fs.openFds, 0);
  });
}

test("multipart boundaries come from the injected random source", async () => {
  const a = await call(setup(), "/data.bin", { Range: "bytes=0-1,5-6" });
  const b = await call(setup(), "/data.bin", { Range: "bytes=0-1,5-6" });
  assert.equal(a.h("content-type"), b.h("content-type"));
});

test("a large file is a FileBody: an open descriptor with start and length", async () => {
  const s = setup();
  const res = await s.handler(request("/large.bin"), control);
  const body = res.body;
  assert.ok(body !== undefined && typeof body === "object" && "kind" in body && body.kind === "file");
  assert.equal(body.start, 0);
  assert.equal(body.length, LARGE.length);
  assert.equal(getField(res.headers, "content-length"), String(LARGE.length));
  assert.equal(s.fs.openFds, 1);
  assert.deepEqual(await s.fs.readFd(body.fd, 0, body.length), LARGE);
  await s.fs.close(body.fd);
  const multi = await call(s, "/large.bin", { Range: "bytes=0-9,200000-200009" });
  assert.equal(multi.h("content-length"), String(multi.body.length));
  assert.ok(multi.body.includes(LARGE.subarray(200000, 200010)));
  assert.equal(s.fs.openFds, 0, "the multipart stream closes its descriptor");
});

test("a multipart body nobody starts to read closes its descriptor when the client goes away", async () => {
  const s = setup();
  const ac = new AbortController();
  const res = await s.handler(request("/large.bin", { Range: "bytes=0-9,200000-200009" }, "GET", ac.signal), control);
  assert.equal(s.fs.openFds, 1);
  ac.abort();
  await new Promise((r) => setImmediate(r));
  assert.equal(s.fs.openFds, 0);
  await assert.rejects(collect(s.fs, res), /went away/, "a closed descriptor is never read");
});

test("a large file replaced after it was opened is described and sent as the version opened", async () => {
  const s = setup();
  const res = await s.handler(request("/large.bin"), control);
  s.fs.replaceFile("/base/root/large.bin", "short now", MTIME + 5000);
  assert.equal(getField(res.headers, "content-length"), String(LARGE.length));
  assert.deepEqual(await collect(s.fs, res), LARGE);
  const next = await call(s, "/large.bin");
  assert.equal(next.body.toString(), "short now");
  assert.notEqual(next.h("etag"), getField(res.headers, "etag"));
});

test("a directory URL without a slash redirects, index.html is served, else an escaped listing", async () => {
  const s = setup();
  const redirect = await call(s, "/docs?x=1");
  assert.equal(redirect.status, 301);
  assert.equal(redirect.h("location"), "/docs/?x=1");
  assert.equal((await call(s, "//docs")).h("location"), "/docs/", "one leading slash: no protocol-relative open redirect");
  const idx = await call(s, "/withindex/");
  assert.equal(idx.body.toString(), "<p>index of withindex</p>\n");
  assert.equal((await call(s, "/")).body.toString(), "<h1>home</h1>\n");
  const list = await call(s, "/docs/");
  assert.equal(list.status, 200);
  const html = list.body.toString();
  assert.match(html, /&lt;b&gt;bold&lt;b&gt; &amp; co\.txt/);
  assert.match(html, /href="%3Cb%3Ebold%3Cb%3E%20%26%20co\.txt"/);
  assert.match(html, /href="sub\/"/);
  assert.ok(!html.includes(".hidden"), "dotfiles are not listed");
  assert.equal((await call(s, "/hello.txt/")).status, 404, "a file with a trailing slash");
  const nolist = setup({ listing: false });
  assert.equal((await call(nolist, "/docs/")).status, 403);
  const withDots = setup({ dotfiles: true });
  assert.match((await call(withDots, "/docs/")).body.toString(), /\.hidden/);
  assert.equal((await call(withDots, "/.env")).body.toString(), "PASSWORD=hunter2\n");
});

test("a listing is JSON when Accept prefers application/json", async () => {
  const s = setup();
  const r = await call(s, "/docs/", { Accept: "application/json" });
  assert.equal(r.h("content-type"), "application/json");
  assert.match(r.h("vary") ?? "", /Accept/);
  const list = JSON.parse(r.body.toString()) as Array<{ name: string; type: string; size: number; mtime: string }>;
  assert.deepEqual(list.map((e) => [e.name, e.type]), [["sub", "directory"], ["<b>bold<b> & co.txt", "file"], ["a.txt", "file"], ["link.txt", "symlink"]]);
  const a = list.find((e) => e.name === "a.txt");
  assert.deepEqual(a, { name: "a.txt", type: "file", size: 1, mtime: new Date(MTIME).toISOString() });
  assert.equal(list.find((e) => e.name === "link.txt")?.size, 1, "a symlink shows its target's size");
  for (const accept of ["text/html", "*/*", "text/html, application/json", "application/json;q=0.5, text/html"]) {
    assert.equal((await call(s, "/docs/", { Accept: accept })).h("content-type"), "text/html; charset=utf-8", accept);
  }
  assert.equal((await call(s, "/docs/", { Accept: "text/html;q=0.1, application/json" })).h("content-type"), "application/json");
});

test("a precompressed sibling is served with Content-Encoding, Vary and the original's Content-Type", async () => {
  const s = setup();
  const gz = await call(s, "/app.js", { "Accept-Encoding": "gzip" });
  assert.equal(gz.h("content-encoding"), "gzip");
  assert.equal(gz.h("vary"), "Accept-Encoding");
  assert.equal(gz.h("content-type"), "text/javascript; charset=utf-8");
  assert.equal(gunzipSync(gz.body).toString(), "console.log('PRECOMPRESSED');\n");
  const br = await call(s, "/app.js", { "Accept-Encoding": "br, gzip" });
  assert.equal(br.h("content-encoding"), "br");
  assert.equal(br.body.toString(), "not really brotli");
  assert.notEqual(br.h("etag"), gz.h("etag"));
  const plain = await call(s, "/app.js");
  assert.equal(plain.h("content-encoding"), undefined);
  assert.equal(plain.h("vary"), "Accept-Encoding");
  assert.match(plain.body.toString(), /plain/);
  assert.deepEqual(s.compressions, [], "no compression when a sibling exists");
  // A sibling that is a symlink out of ROOT is not used.
  s.fs.writeFile("/base/secret.txt.gz", gzipSync(Buffer.from(SECRET)));
  s.fs.symlink("/base/secret.txt.gz", "/base/root/hello.txt.gz");
  const h = await call(s, "/hello.txt", { "Accept-Encoding": "gzip" });
  assert.equal(h.body.toString(), "hello, world\n");
});

test("text is compressed once per file version, concurrent requests sharing one compression", async () => {
  const s = setup();
  const results = await Promise.all(Array.from({ length: 8 }, () => call(s, "/big.txt", { "Accept-Encoding": "gzip" })));
  assert.deepEqual(s.compressions, ["gzip"]);
  for (const r of results) {
    assert.equal(r.h("content-encoding"), "gzip");
    assert.equal(gunzipSync(r.body).toString(), BIG);
    assert.equal(r.h("content-length"), String(r.body.length));
    assert.match(r.h("etag") ?? "", /-gz"$/);
  }
  const br = await call(s, "/big.txt", { "Accept-Encoding": "br;q=1, gzip;q=0.5" });
  assert.equal(brotliDecompressSync(br.body).toString(), BIG);
  await call(s, "/big.txt", { "Accept-Encoding": "gzip" });
  await call(s, "/big.txt", { "Accept-Encoding": "br" });
  assert.deepEqual(s.compressions, ["gzip", "br"]);
  s.fs.writeFile("/base/root/big.txt", BIG.toUpperCase(), MTIME + 1000);
  const changed = await call(s, "/big.txt", { "Accept-Encoding": "gzip" });
  assert.equal(gunzipSync(changed.body).toString(), BIG.toUpperCase());
  assert.deepEqual(s.compressions, ["gzip", "br", "gzip"]);
  assert.equal((await call(s, "/data.bin", { "Accept-Encoding": "gzip" })).h("content-encoding"), undefined, "binary is not compressed");
  assert.equal((await call(s, "/hello.txt", { "Accept-Encoding": "gzip" })).h("content-encoding"), undefined, "tiny text is not compressed");
});

test("text above the cache's file size is compressed once per version too, keeping only the variant", async () => {
  const s = setup({ cacheMaxFileSize: 100 });
  const all = await Promise.all(Array.from({ length: 4 }, () => call(s, "/big.txt", { "Accept-Encoding": "gzip" })));
  for (const r of all) {
    assert.equal(r.h("content-encoding"), "gzip");
    assert.equal(gunzipSync(r.body).toString(), BIG);
  }
  const head = await call(s, "/big.txt", { "Accept-Encoding": "gzip" }, "HEAD");
  assert.equal(head.h("content-length"), String(all[0]?.body.length));
  assert.deepEqual(s.compressions, ["gzip"]);
  assert.equal(s.fs.openFds, 0, "the descriptor opened before the variant was known is closed");
  const identity = await s.handler(request("/big.txt"), control);
  assert.ok(typeof identity.body === "object" && "kind" in identity.body, "identity is still a FileBody");
  await collect(s.fs, identity);
  s.fs.writeFile("/base/root/big.txt", BIG.toUpperCase(), MTIME + 1000);
  assert.equal(gunzipSync((await call(s, "/big.txt", { "Accept-Encoding": "gzip" })).body).toString(), BIG.toUpperCase());
  assert.deepEqual(s.compressions, ["gzip", "gzip"]);
  const capped = setup({ cacheMaxFileSize: 100, compressMaxFileSize: 1000 });
  assert.equal((await call(capped, "/big.txt", { "Accept-Encoding": "gzip" })).h("content-encoding"), undefined, "above compressMaxFileSize: as it is");
  assert.deepEqual(capped.compressions, []);
  assert.equal(capped.fs.openFds, 0);
});

test("concurrent misses for one version share one read", async () => {
  const s = setup();
  await Promise.all(Array.from({ length: 5 }, () => call(s, "/hello.txt")));
  assert.equal(s.fs.opened.filter((p) => p === "/base/root/hello.txt").length, 1);
  await call(s, "/hello.txt");
  assert.equal(s.fs.opened.filter((p) => p === "/base/root/hello.txt").length, 1, "a hit opens nothing");
});

test("a cached file is revalidated against size, mtime and inode", async () => {
  const s = setup();
  const opens = (): number => s.fs.opened.filter((p) => p === "/base/root/hello.txt").length;
  assert.equal((await call(s, "/hello.txt")).body.toString(), "hello, world\n");
  s.fs.writeFile("/base/root/hello.txt", "hello, world, again\n", MTIME); // size
  assert.equal((await call(s, "/hello.txt")).body.toString(), "hello, world, again\n");
  s.fs.writeFile("/base/root/hello.txt", "HELLO, WORLD, AGAIN\n", MTIME + 1); // same size, mtime
  assert.equal((await call(s, "/hello.txt")).body.toString(), "HELLO, WORLD, AGAIN\n");
  s.fs.replaceFile("/base/root/hello.txt", "hello, WORLD, again\n", MTIME + 1); // same size and mtime, new inode
  assert.equal((await call(s, "/hello.txt")).body.toString(), "hello, WORLD, again\n");
  assert.equal(opens(), 4);
  await call(s, "/hello.txt");
  assert.equal(opens(), 4);
});

test("with revalidateMs a hot file costs no syscall, and a change shows once the window has passed", async () => {
  const s = setup({ revalidateMs: 1000 });
  assert.equal((await call(s, "/hello.txt", { "Accept-Encoding": "gzip, br" })).body.toString(), "hello, world\n");
  const before = [...s.fs.calls.values()].reduce((a, b) => a + b, 0);
  for (let i = 0; i < 5; i++) await call(s, "/hello.txt", { "Accept-Encoding": "gzip, br" });
  assert.equal([...s.fs.calls.values()].reduce((a, b) => a + b, 0), before, "no fs call inside the window");
  assert.equal((await call(s, "/missing.txt")).status, 404);
  s.fs.writeFile("/base/root/missing.txt", "now here");
  assert.equal((await call(s, "/missing.txt")).status, 404, "a miss is remembered too");
  s.fs.writeFile("/base/root/hello.txt", "hello, changed\n", MTIME + 1);
  s.clock.advance(999);
  assert.equal((await call(s, "/hello.txt")).body.toString(), "hello, world\n");
  s.clock.advance(1);
  assert.equal((await call(s, "/hello.txt")).body.toString(), "hello, changed\n");
  assert.equal((await call(s, "/missing.txt")).body.toString(), "now here");
  const strict = setup();
  await call(strict, "/hello.txt");
  strict.fs.writeFile("/base/root/hello.txt", "hello, changed\n", MTIME + 1);
  assert.equal((await call(strict, "/hello.txt")).body.toString(), "hello, changed\n", "by default a change shows at once");
});

test("requests of one event-loop turn share one stat of a path; a request after it settles stats again", async () => {
  const s = setup();
  await call(s, "/hello.txt");
  const stats = (): number => s.fs.calls.get("stat") ?? 0;
  const before = stats();
  const all = await Promise.all(Array.from({ length: 20 }, () => call(s, "/hello.txt")));
  assert.ok(all.every((g) => g.status === 200 && g.body.toString() === "hello, world\n"));
  assert.equal(stats() - before, 1, "20 concurrent requests, one stat");
  s.fs.writeFile("/base/root/hello.txt", "hello, changed\n", MTIME + 1);
  assert.equal((await call(s, "/hello.txt")).body.toString(), "hello, changed\n", "a change made before the request is seen");
  assert.equal(stats() - before, 2);
});

test("a target is decoded once, yet what it names is stat'ed each time: replaced, removed, a directory, a symlink outside", async () => {
  const s = setup();
  const fresh = Buffer.from("hello, WORLD\n"); // same size and mtime as hello.txt: only the inode tells
  assert.equal((await call(s, "/hello.txt")).body.toString(), "hello, world\n");
  s.fs.replaceFile("/base/root/hello.txt", fresh, MTIME);
  const replaced = await call(s, "/hello.txt");
  assert.equal(replaced.body.toString(), "hello, WORLD\n", "the synchronous cache hit checks the inode too");
  s.fs.remove("/base/root/hello.txt");
  assert.equal((await call(s, "/hello.txt")).status, 404);
  s.fs.mkdir("/base/root/hello.txt");
  const dir = await call(s, "/hello.txt");
  assert.equal(dir.status, 301);
  assert.equal(dir.h("location"), "/hello.txt/");
  s.fs.remove("/base/root/hello.txt");
  s.fs.symlink("/base/secret.txt", "/base/root/hello.txt");
  const leak = await call(s, "/hello.txt");
  assert.equal(leak.status, 403);
  assert.ok(!leak.body.toString().includes(SECRET));
  s.fs.remove("/base/root/hello.txt");
  s.fs.writeFile("/base/root/hello.txt", "back\n");
  assert.equal((await call(s, "/hello.txt")).body.toString(), "back\n");
  assert.equal((await call(s, "/%2e%2e/secret.txt")).status, 403, "a refused target stays refused");
  assert.equal((await call(s, "/%2e%2e/secret.txt")).status, 403);
});

test("request fields are read as getField reads them: any case, repeated lines joined", async () => {
  const s = setup();
  const first = await call(s, "/hello.txt");
  const etag = first.h("etag") ?? "";
  const send = async (headers: Array<[string, string]>, method = "GET"): Promise<HttpResponse> => s.handler({ ...request("/hello.txt", {}, method), headers }, control);
  assert.equal((await send([["IF-NONE-MATCH", '"other"'], ["if-none-match", etag]])).status, 304, "a tag on the second line matches");
  assert.equal((await send([["If-None-Match", '"other"']])).status, 200);
  assert.equal((await send([["If-Match", '"other"']])).status, 412);
  const part = await send([["RANGE", "bytes=0-4"]]);
  assert.equal(part.status, 206);
  assert.equal(getField(part.headers, "content-range"), "bytes 0-4/13");
  const headRange = await send([["Range", "bytes=0-4"]], "HEAD");
  assert.equal(headRange.status, 200, "HEAD ignores Range");
  assert.equal(headRange.body, undefined);
  assert.equal((await send([["Range", "bytes=0-4"], ["If-Range", '"other"']])).status, 200, "a failed If-Range sends the whole file");
  const tag = (await call(s, "/app.js")).h("etag") ?? "";
  const app = async (headers: Array<[string, string]>): Promise<HttpResponse> => s.handler({ ...request("/app.js"), headers }, control);
  for (let i = 0; i < 2; i++) {
    assert.equal(getField((await app([["Accept-Encoding", "gzip"]])).headers, "content-encoding"), "gzip");
    assert.equal(getField((await app([["accept-encoding", "br"]])).headers, "content-encoding"), "br");
    assert.equal(getField((await app([["Accept-Encoding", "gzip;q=0"], ["Accept-Encoding", "br"]])).headers, "content-encoding"), "br", "two lines are one list");
    assert.equal(getField((await app([])).headers, "content-encoding"), undefined);
    assert.equal(getField((await app([])).headers, "etag"), tag);
  }
});

test("a cached file's whole 200 reuses one frozen field list, so the engine keeps its serialization", async () => {
  const s = setup({ headers: [["X-Served-By", "wirekit"]] });
  const a = await call(s, "/hello.txt");
  const b = await call(s, "/hello.txt", {}, "HEAD");
  assert.equal(a.res.headers, b.res.headers, "the same list for GET and HEAD");
  assert.ok(Object.isFrozen(a.res.headers) && a.res.headers.every((f) => Object.isFrozen(f)));
  assert.equal(a.res.immutable, true, "the engine may keep the whole answer");
  assert.equal((await call(s, "/hello.txt", { "If-None-Match": '"other"' })).res.immutable, true, "also when a precondition let it through");
  assert.equal(a.h("content-length"), "13");
  assert.equal(a.h("x-served-by"), "wirekit");
  s.fs.writeFile("/base/root/hello.txt", "hello, changed\n", MTIME + 1);
  const c = await call(s, "/hello.txt");
  assert.notEqual(c.res.headers, a.res.headers, "a new version, new fields");
  assert.equal(c.h("content-length"), "15");
  assert.notEqual(c.h("etag"), a.h("etag"));
  const ranged = await call(s, "/hello.txt", { Range: "bytes=0-4" });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.h("content-length"), "5", "a part announces its own length, not the whole file's");
  assert.equal(ranged.res.headers.filter(([k]) => k.toLowerCase() === "content-length").length, 1);
  assert.notEqual(ranged.res.immutable, true, "a part is not the cached answer");
});

test("the cache is bounded by total bytes, least recently used out first", async () => {
  const s = setup({ cacheMaxBytes: 3000 });
  await call(s, "/data.bin"); // 1000
  await call(s, "/app.js"); // 2200
  await call(s, "/hello.txt");
  assert.ok(s.handler.cacheStats().bytes <= 3000);
  await call(s, "/data.bin");
  const before = s.fs.opened.length;
  await call(s, "/data.bin");
  assert.equal(s.fs.opened.length, before, "the most recent entry is still held");
  await s.handler.close();
  assert.equal(s.handler.cacheStats().entries, 0);
  assert.equal((await call(s, "/hello.txt")).status, 200, "close() leaves a working handler");
});

test("--spa answers a navigation to no file with the page, and a missing asset stays 404", async () => {
  const s = setup({ spa: "index.html" });
  const nav = await call(s, "/app/settings/profile", { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" });
  assert.equal(nav.status, 200);
  assert.equal(nav.body.toString(), "<h1>home</h1>\n");
  assert.equal(nav.h("content-type"), "text/html; charset=utf-8");
  assert.equal(nav.h("vary"), "Accept, Accept-Encoding", "the fallback depends on Accept");
  assert.equal((await call(s, "/missing.css", { Accept: "text/css" })).h("vary"), "Accept");
  assert.equal((await call(setup(), "/missing.css")).h("vary"), undefined);
  assert.equal((await call(s, "/app/settings/profile", { Accept: "text/html" }, "HEAD")).status, 200);
  assert.equal((await call(s, "/missing.png", { Accept: "image/avif,image/webp,*/*" })).status, 404);
  assert.equal((await call(s, "/missing.js", { Accept: "*/*" })).status, 404);
  assert.equal((await call(s, "/missing.js")).status, 404);
  assert.equal((await call(s, "/hello.txt", { Accept: "text/html" })).body.toString(), "hello, world\n", "files are still files");
  assert.equal((await call(s, "/.env", { Accept: "text/html" })).status, 404, "a hidden file is not a navigation");
  assert.equal((await call(s, "/leak.txt", { Accept: "text/html" })).status, 403);
  assert.equal((await call(s, "/x", { Accept: "text/html" }, "POST")).status, 405);
  const other = setup({ spa: "withindex/index.html" });
  assert.equal((await call(other, "/deep/link", { Accept: "text/html" })).body.toString(), "<p>index of withindex</p>\n");
  const gone = setup({ spa: "nope.html" });
  assert.equal((await call(gone, "/deep/link", { Accept: "text/html" })).status, 404);
});

test("-H fields are added to every response", async () => {
  const s = setup({ headers: [["X-Frame-Options", "DENY"], ["X-Lab", "one"]] });
  for (const [target, hdrs, method] of [["/hello.txt", {}, "GET"], ["/nope", {}, "GET"], ["/docs", {}, "GET"], ["/docs/", {}, "GET"], ["/hello.txt", { "If-None-Match": "*" }, "GET"], ["/hello.txt", {}, "POST"], ["/data.bin", { Range: "bytes=9999-" }, "GET"]] as const) {
    const r = await call(s, target, hdrs, method);
    assert.equal(r.h("x-frame-options"), "DENY", `${method} ${target} ${r.status}`);
    assert.equal(r.h("x-lab"), "one");
  }
});

test("--cache-control is sent on every file response, and a listing stays no-cache", async () => {
  const s = setup({ cacheControl: "max-age=3600" });
  assert.equal((await call(s, "/hello.txt")).h("cache-control"), "max-age=3600");
  assert.equal((await call(s, "/large.bin")).h("cache-control"), "max-age=3600");
  assert.equal((await call(s, "/data.bin", { Range: "bytes=0-1" })).h("cache-control"), "max-age=3600");
  assert.equal((await call(s, "/")).h("cache-control"), "max-age=3600");
  assert.equal((await call(s, "/docs/")).h("cache-control"), "no-cache");
  assert.equal((await call(setup(), "/hello.txt")).h("cache-control"), undefined);
});

test("--auth: 401 with a Basic challenge unless the credentials are right", async () => {
  const s = setup({ auth: [{ user: "ada", password: "s3cret:with colon" }, { user: "bob", password: "pw" }], cors: true });
  const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;
  const none = await call(s, "/hello.txt");
  assert.equal(none.status, 401);
  assert.equal(none.h("www-authenticate"), 'Basic realm="wirekit"');
  assert.ok(!none.body.toString().includes("hello"));
  for (const authorization of [basic("ada", "wrong"), basic("ada", "s3cret"), basic("eve", "pw"), basic("bob", "s3cret:with colon"), "Basic", "Basic !!!!", "Basic YWRh", "Bearer abc", `Basic ${Buffer.from("ada").toString("base64")}`, "Basic YWRhOnB3\u0000"]) {
    const r = await call(s, "/hello.txt", { Authorization: authorization });
    assert.equal(r.status, 401, authorization);
  }
  const req = request("/hello.txt", { Authorization: basic("ada", "s3cret:with colon") });
  const ok = await s.handler(req, control);
  assert.equal(ok.status, 200);
  assert.equal(s.handler.userOf(req), "ada");
  assert.equal((await call(s, "/hello.txt", { Authorization: `basic ${Buffer.from("bob:pw").toString("base64")}` })).status, 200, "the scheme is case-insensitive");
  assert.equal((await call(s, "/nope", { Authorization: basic("bob", "pw") })).status, 404);
  assert.equal((await call(s, "/nope")).status, 401, "no existence leak before auth");
  assert.equal((await call(s, "/hello.txt", { "Access-Control-Request-Method": "GET" }, "OPTIONS")).status, 204, "a preflight needs no credentials");
  assert.equal((await call(s, "/hello.txt", { Authorization: `Basic ${Buffer.from("bob:pw").toString("base64")}` }, "HEAD")).status, 200);
});

test("the handler refuses a root that is not a directory, and maps fs failures to statuses", async () => {
  const fs = makeFs();
  await assert.rejects(createStaticHandler({ root: "/base/none", fs }).ready, { code: "ENOENT" });
  await assert.rejects(createStaticHandler({ root: "/base/secret.txt", fs }).ready, { code: "ENOTDIR" });
  const s = setup({}, fs);
  await s.handler.ready;
  fs.denied.add("/base/root/docs");
  assert.equal((await call(s, "/docs/")).status, 403);
  fs.denied.add("/base/root/hello.txt");
  assert.equal((await call(s, "/hello.txt")).status, 403);
  fs.writeFile("/base/root/broken.txt", "x");
  fs.denied.add("/base/root/broken.txt"); // stat fails first: 403 as well
  assert.equal((await call(s, "/broken.txt")).status, 403);
});

test("the lab site is served from disk through the node:fs adapter", async () => {
  const handler = createStaticHandler({ root: labSiteRoot(), fs: nodeStaticFs, cacheMaxFileSize: 1 });
  await handler.ready;
  const res = await handler(request("/"), control);
  assert.equal(res.status, 200);
  assert.equal(getField(res.headers, "content-type"), "text/html; charset=utf-8");
  const body = res.body;
  assert.ok(body !== undefined && typeof body === "object" && "kind" in body);
  const buf = new Uint8Array(body.length);
  let got = 0;
  while (got < body.length) got += await nodeStaticFs.read(body.fd, buf, got, body.length - got, got);
  await nodeStaticFs.close(body.fd);
  assert.match(Buffer.from(buf).toString(), /<html/i);
  const small = createStaticHandler({ root: labSiteRoot() });
  const hello = await small(request("/hello.txt"), control);
  assert.equal(hello.status, 200);
  assert.ok(hello.body instanceof Uint8Array);
  assert.equal((await small(request("/nope"), control)).status, 404);
});

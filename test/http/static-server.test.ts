/** The static server over real sockets on 127.0.0.1 (port 0). */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs, { writeFileSync, utimesSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { request, Agent, type IncomingHttpHeaders } from "node:http";
import { gunzipSync, brotliDecompressSync } from "node:zlib";
import { createStaticServer, type StaticServer } from "../../src/http/static/server.js";
import { httpGet } from "../../src/http/client/client.js";
import { makeSite, rawRequest, statusOf, type Site } from "./site.js";

let site: Site;
let srv: StaticServer;
let streaming: StaticServer; // no memory cache: every body is streamed from disk
const opened: string[] = [];
const fsRecord = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
const originals: Record<string, (...a: unknown[]) => unknown> = {};

before(async () => {
  site = makeSite();
  // Record every path the server opens, to prove the secret outside ROOT is never read.
  for (const name of ["open", "openSync", "readFileSync", "createReadStream"]) {
    const orig = fsRecord[name];
    if (orig === undefined) continue;
    originals[name] = orig;
    fsRecord[name] = (...args: unknown[]) => {
      opened.push(String(args[0]));
      return orig(...args);
    };
  }
  syncBuiltinESMExports();
  srv = await createStaticServer({ root: site.root, port: 0 });
  streaming = await createStaticServer({ root: site.root, port: 0, cacheMaxFileSize: 0 });
});

after(async () => {
  for (const [name, orig] of Object.entries(originals)) fsRecord[name] = orig;
  syncBuiltinESMExports();
  await srv.close();
  await streaming.close();
  site.cleanup();
});

interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(server: StaticServer, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("an existing file is 200 with type, length, Last-Modified and ETag", async () => {
  for (const s of [srv, streaming]) {
    const r = await get(s, "/hello.txt");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(r.headers["content-length"], "13");
    assert.match(r.headers.etag ?? "", /^"[0-9a-f]+-d"$/);
    assert.ok(r.headers["last-modified"]?.endsWith("GMT"));
    assert.equal(r.body.toString(), "hello, world\n");
  }
});

test("a missing file is 404 with a small HTML page", async () => {
  const r = await get(srv, "/nope.html");
  assert.equal(r.status, 404);
  assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
  assert.match(r.body.toString(), /404 Not Found/);
});

test("HEAD has the GET headers and no body", async () => {
  const r = await get(srv, "/hello.txt", {}, "HEAD");
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-length"], "13");
  assert.equal(r.body.length, 0);
});

test("other methods are 405 with Allow", async () => {
  for (const m of ["POST", "PUT", "DELETE"]) {
    const r = await get(srv, "/hello.txt", {}, m);
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, "GET, HEAD");
  }
});

test("path traversal in every spelling is 403/404 and the file outside ROOT is never opened", async () => {
  const targets = [
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/.%2e/secret.txt",
    "/..%2fsecret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "/hello.txt%00.html",
    "/%00",
    "/%c0%ae%c0%ae/secret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    `/${site.secret}`,
    `//${site.secret}`,
    "/leak.txt",
    "/up/secret.txt",
    "/.env",
    "/.git/config",
    "/docs/.hidden",
    "http://example.test/../secret.txt",
  ];
  opened.length = 0;
  for (const t of targets) {
    const raw = await rawRequest(srv.port, `GET ${t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const status = statusOf(raw);
    assert.ok(status === 403 || status === 404, `${t} -> ${status}`);
    assert.ok(!raw.includes(site.secretText), t);
    assert.ok(!raw.includes("hunter2"), t);
  }
  assert.deepEqual(opened.filter((p) => p.includes("secret") || p.endsWith(".env")), []);
});

test("bad percent-encoding is 400, not 500", async () => {
  for (const t of ["/%zz", "/a%", "/%4"]) {
    const raw = await rawRequest(srv.port, `GET ${t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(raw), 400, t);
  }
});

test("a symlink inside ROOT is served, and one outside only with followSymlinks", async () => {
  assert.equal((await get(srv, "/inside-link.txt")).status, 200);
  const loose = await createStaticServer({ root: site.root, port: 0, followSymlinks: true, dotfiles: true });
  try {
    const r = await get(loose, "/leak.txt");
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), site.secretText);
    assert.equal((await get(loose, "/.env")).status, 200);
  } finally {
    await loose.close();
  }
});

test("an over-long request-target is 414 and over-large headers 431", async () => {
  const long = await rawRequest(srv.port, `GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal(statusOf(long), 414);
  const big = await rawRequest(srv.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20000)}\r\n\r\n`);
  assert.equal(statusOf(big), 431);
  const junk = await rawRequest(srv.port, "NOT HTTP AT ALL\r\n\r\n");
  assert.equal(statusOf(junk), 400);
});

test("conditional requests answer 304 and 412 as RFC 9110 §13 says", async () => {
  const first = await get(srv, "/hello.txt");
  const etag = first.headers.etag ?? "";
  const lm = first.headers["last-modified"] ?? "";
  const nm = await get(srv, "/hello.txt", { "If-None-Match": etag });
  assert.equal(nm.status, 304);
  assert.equal(nm.body.length, 0);
  assert.equal(nm.headers.etag, etag);
  assert.equal(nm.headers["content-type"], undefined);
  assert.equal((await get(srv, "/hello.txt", { "If-Modified-Since": lm })).status, 304);
  assert.equal((await get(srv, "/hello.txt", { "If-None-Match": '"other"', "If-Modified-Since": lm })).status, 200);
  assert.equal((await get(srv, "/hello.txt", { "If-Match": '"other"' })).status, 412);
  assert.equal((await get(srv, "/hello.txt", { "If-Match": etag })).status, 200);
  assert.equal((await get(srv, "/hello.txt", { "If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT" })).status, 412);
});

test("single, suffix and multiple ranges, 416 and If-Range work from memory and from disk", async () => {
  for (const s of [srv, streaming]) {
    const r = await get(s, "/data.bin", { Range: "bytes=10-19" });
    assert.equal(r.status, 206);
    assert.equal(r.headers["content-range"], "bytes 10-19/1000");
    assert.deepEqual([...r.body], Array.from({ length: 10 }, (_, i) => 10 + i));
    const suffix = await get(s, "/data.bin", { Range: "bytes=-3" });
    assert.equal(suffix.headers["content-range"], "bytes 997-999/1000");
    assert.deepEqual([...suffix.body], [997 % 256, 998 % 256, 999 % 256]);
    const bad = await get(s, "/data.bin", { Range: "bytes=5000-" });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers["content-range"], "bytes */1000");
    const etag = r.headers.etag ?? "";
    assert.equal((await get(s, "/data.bin", { Range: "bytes=0-0", "If-Range": etag })).status, 206);
    const changed = await get(s, "/data.bin", { Range: "bytes=0-0", "If-Range": '"stale"' });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.length, 1000);
    const multi = await get(s, "/data.bin", { Range: "bytes=0-1,100-101" });
    assert.equal(multi.status, 206);
    const boundary = /boundary=(\S+)/.exec(multi.headers["content-type"] ?? "")?.[1];
    assert.ok(boundary);
    assert.equal(Number(multi.headers["content-length"]), multi.body.length);
    const text = multi.body.toString("latin1");
    assert.ok(text.includes("Content-Range: bytes 0-1/1000\r\n\r\n" + String.fromCharCode(0, 1) + "\r\n--"));
    assert.match(text, /Content-Range: bytes 100-101\/1000\r\n\r\nde\r\n--/);
    assert.ok(text.endsWith(`--${boundary}--\r\n`));
  }
});

test("a directory URL without a slash redirects, index.html is served, else an escaped listing", async () => {
  const redirect = await get(srv, "/docs?x=1");
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, "/docs/?x=1");
  const open = await rawRequest(srv.port, "GET //docs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.match(open, /\r\nLocation: \/docs\/\r\n/, "no protocol-relative open redirect");
  const idx = await get(srv, "/withindex/");
  assert.match(idx.body.toString(), /index of withindex/);
  const list = await get(srv, "/docs/");
  const html = list.body.toString();
  assert.equal(list.status, 200);
  assert.ok(html.includes("&lt;b&gt;bold&lt;b&gt; &amp; co.txt"));
  assert.ok(!html.includes("<b>bold"));
  assert.ok(html.includes('href="sub/"'));
  assert.ok(html.includes('href="../"'));
  assert.ok(!html.includes(".hidden"));
  assert.ok(html.indexOf("sub/</a>") < html.indexOf("a.txt"));
  const nolist = await createStaticServer({ root: site.root, port: 0, listing: false });
  try {
    assert.equal((await get(nolist, "/docs/")).status, 403);
    assert.equal((await get(nolist, "/withindex/")).status, 200);
  } finally {
    await nolist.close();
  }
});

test("a precompressed sibling is served with Content-Encoding and Vary", async () => {
  const r = await get(srv, "/app.js", { "Accept-Encoding": "gzip" });
  assert.equal(r.headers["content-encoding"], "gzip");
  assert.equal(r.headers.vary, "Accept-Encoding");
  assert.equal(gunzipSync(r.body).toString(), "console.log('PRECOMPRESSED');\n");
  const plain = await get(srv, "/app.js");
  assert.equal(plain.headers["content-encoding"], undefined);
  assert.equal(plain.headers.vary, "Accept-Encoding");
  assert.match(plain.body.toString(), /plain/);
});

test("text is compressed on the fly and decodes back, by node:http and by our client", async () => {
  const original = fs.readFileSync(join(site.root, "big.txt"));
  for (const s of [srv, streaming]) {
    const gz = await get(s, "/big.txt", { "Accept-Encoding": "gzip" });
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.ok(gz.body.length < original.length / 5);
    assert.deepEqual(gunzipSync(gz.body), original);
    const br = await get(s, "/big.txt", { "Accept-Encoding": "br;q=1, gzip;q=0.5" });
    assert.equal(br.headers["content-encoding"], "br");
    assert.deepEqual(brotliDecompressSync(br.body), original);
    const chunks: Buffer[] = [];
    const ex = await httpGet({ url: new URL(`${s.url}big.txt`), headers: [["Accept-Encoding", "gzip, br"]], onBody: (b) => chunks.push(b) });
    assert.ok(ex.wireBodyBytes < original.length / 5);
    assert.deepEqual(Buffer.concat(chunks), original);
  }
  const png = await get(srv, "/data.bin", { "Accept-Encoding": "gzip" });
  assert.equal(png.headers["content-encoding"], undefined);
});

test("a changed file is never served stale from memory", async () => {
  const path = join(site.root, "hello.txt");
  assert.equal((await get(srv, "/hello.txt")).body.toString(), "hello, world\n");
  writeFileSync(path, "hello, again\n"); // same size
  utimesSync(path, new Date(), new Date(Date.now() - 60_000));
  assert.equal((await get(srv, "/hello.txt")).body.toString(), "hello, again\n");
  writeFileSync(path, "hello, world\n");
  assert.equal((await get(srv, "/hello.txt")).body.toString(), "hello, world\n");
});

test("keep-alive connections are reused across requests", async () => {
  let connections = 0;
  const onConn = (): void => void connections++;
  srv.server?.on("connection", onConn);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port: srv.port, path: "/hello.txt", agent }, (res) => {
          res.resume();
          res.on("end", () => resolve());
        });
        req.on("error", reject);
        req.end();
      });
    }
    assert.equal(connections, 1);
  } finally {
    srv.server?.off("connection", onConn);
    agent.destroy();
  }
});

test("--cors adds Access-Control-Allow-Origin and answers preflights", async () => {
  const cors = await createStaticServer({ root: site.root, port: 0, cors: true });
  try {
    const r = await get(cors, "/hello.txt", { Origin: "http://a.test" });
    assert.equal(r.headers["access-control-allow-origin"], "*");
    const pre = await get(cors, "/hello.txt", { Origin: "http://a.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-a" }, "OPTIONS");
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-methods"], "GET, HEAD, OPTIONS");
    assert.equal(pre.headers["access-control-allow-headers"], "x-a");
    assert.equal((await get(srv, "/hello.txt", {}, "OPTIONS")).status, 405);
  } finally {
    await cors.close();
  }
});

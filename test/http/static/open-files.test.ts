/**
 * Cached files of 16 KiB and more keep the descriptor they were read from, so the engine sends
 * them by sendfile(2) on plain TCP and from their bytes over TLS and HTTP/2; a descriptor closes
 * only once its entry is gone and the last send using it is done.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { fstatSync, mkdtempSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { connect as h2connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { execFileSync } from "node:child_process";
import { nodeStaticFs } from "../../../src/http/static/static-fs.js";
import { RepresentationCache } from "../../../src/http/static/representation-cache.js";
import { createStaticHandler } from "../../../src/http/static/serve-dir.js";
import { createStaticServer } from "../../../src/http/static/server.js";
import { eventually } from "../h1/raw.js";
import type { ExchangeControl, FileBody, HttpRequest } from "../../../src/http/h1/types.js";

const dir = mkdtempSync(join(tmpdir(), "wk-open-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const BIG = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 31) % 256));
writeFileSync(join(dir, "big.bin"), BIG);
writeFileSync(join(dir, "small.txt"), "small\n");

const control: ExchangeControl = {
  sendInterim() {},
  takeover() {
    throw new Error("no socket");
  },
};
function request(target: string, method = "GET"): HttpRequest {
  return {
    method, target, version: "1.1", headers: [], body: Readable.from([]), trailers: [], remoteAddress: "127.0.0.1", remotePort: 1,
    localAddress: "127.0.0.1", localPort: 2, secure: false, signal: new AbortController().signal, receivedAt: 0,
  };
}
const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

test("a cached 64 KiB file is a FileBody with its bytes and a leased descriptor; a small one stays a buffer", async () => {
  const h = createStaticHandler({ root: dir, fs: nodeStaticFs });
  await h.ready;
  const res = await h(request("/big.bin"), control);
  const body = res.body as FileBody;
  assert.equal(body.kind, "file");
  assert.equal(body.close, false, "the engine must not close the cache's descriptor");
  assert.deepEqual(Buffer.from(body.bytes ?? []), BIG);
  assert.equal(body.length, BIG.length);
  assert.ok(isOpen(body.fd));
  body.onDone?.();
  const head = await h(request("/big.bin", "HEAD"), control);
  assert.equal(head.body, undefined);
  const small = await h(request("/small.txt"), control);
  assert.ok(small.body instanceof Uint8Array);
  await h.close();
  await eventually(() => !isOpen(body.fd), "closed once the cache is dropped and no send holds it");
});

test("a replaced file's old descriptor stays open for the send in progress, then closes", async () => {
  const h = createStaticHandler({ root: dir, fs: nodeStaticFs });
  await h.ready;
  const first = (await h(request("/big.bin"), control)).body as FileBody;
  // Replaced by rename: a new inode, so the next request drops the entry.
  const next = Buffer.from(BIG).reverse();
  writeFileSync(join(dir, "big.bin.new"), next);
  renameSync(join(dir, "big.bin.new"), join(dir, "big.bin"));
  const second = (await h(request("/big.bin"), control)).body as FileBody;
  assert.deepEqual(Buffer.from(second.bytes ?? []), next);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(isOpen(first.fd), "still leased by the first send");
  first.onDone?.();
  first.onDone?.(); // a second call is harmless
  await eventually(() => !isOpen(first.fd) || first.fd === second.fd, "the old version's descriptor is closed");
  second.onDone?.();
  await h.close();
  writeFileSync(join(dir, "big.bin"), BIG);
});

test("at most maxOpenFiles descriptors are kept; the least recently used idle one closes first", async () => {
  for (let i = 0; i < 3; i++) writeFileSync(join(dir, `f${i}.bin`), Buffer.alloc(20_000, i));
  const cache = new RepresentationCache({ maxOpenFiles: 2 });
  const files = [];
  for (let i = 0; i < 3; i++) {
    const path = join(dir, `f${i}.bin`);
    const f = await cache.lookup(nodeStaticFs, path, await nodeStaticFs.stat(path));
    assert.ok(f !== undefined);
    files.push(f);
  }
  assert.equal(cache.openFiles, 2);
  assert.equal(cache.lease(files[0] as NonNullable<(typeof files)[0]>), undefined, "the oldest gave its descriptor up");
  const lease = cache.lease(files[2] as NonNullable<(typeof files)[0]>);
  assert.ok(lease !== undefined);
  lease.done();
  cache.clear();
  await eventually(() => cache.openFiles === 0, "every descriptor closed after clear()");
});

test("the same 64 KiB arrives whole by sendfile (plain TCP), over TLS and over HTTP/2", async () => {
  const plain = await createStaticServer({ root: dir, port: 0 });
  try {
    for (let i = 0; i < 3; i++) assert.deepEqual(Buffer.from(await (await fetch(`${plain.url}big.bin`)).arrayBuffer()), BIG);
  } finally {
    await plain.close();
  }
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"], { stdio: "ignore" });
  const { readFileSync } = await import("node:fs");
  const tls = await createStaticServer({ root: dir, port: 0, tls: { cert: readFileSync(cert), key: readFileSync(key) } });
  try {
    const https = await import("node:https");
    const got = await new Promise<Buffer>((resolve, reject) => {
      https.get(`${tls.url}big.bin`, { rejectUnauthorized: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks)));
      }).on("error", reject);
    });
    assert.deepEqual(got, BIG, "HTTPS/1.1");
    const session = h2connect(tls.url, { rejectUnauthorized: false });
    const h2 = await new Promise<Buffer>((resolve, reject) => {
      const s = session.request({ ":path": "/big.bin" });
      const chunks: Buffer[] = [];
      s.on("data", (c: Buffer) => chunks.push(c));
      s.on("end", () => resolve(Buffer.concat(chunks)));
      s.on("error", reject);
    });
    session.close();
    assert.deepEqual(h2, BIG, "HTTP/2");
  } finally {
    await tls.close();
  }
});

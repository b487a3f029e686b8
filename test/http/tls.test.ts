/** HTTPS: `serve --tls-cert/--tls-key`, the client with -k, and https through a CONNECT proxy. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, connect, type Server, type Socket } from "node:net";
import { runCliCapture } from "../helpers/cli.js";
import { createStaticServer, type StaticServer } from "../../src/http/static/server.js";
import { makeSite, type Site } from "./site.js";

let site: Site;
let srv: StaticServer;
let proxy: Server;
const proxyLog: string[] = [];

before(async () => {
  site = makeSite();
  const key = join(site.base, "key.pem");
  const cert = join(site.base, "cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"], { stdio: "ignore" });
  srv = await createStaticServer({ root: site.root, port: 0, tls: { cert: readFileSync(cert), key: readFileSync(key) } });
  // A CONNECT-only proxy: it sees the authority, never the encrypted request.
  proxy = createServer((client: Socket) => {
    client.once("data", (d: Buffer) => {
      const line = d.toString("latin1").split("\r\n")[0] ?? "";
      proxyLog.push(line);
      const m = /^CONNECT ([^:\s]+):(\d+) HTTP\/1\.1$/.exec(line);
      if (!m) return void client.end("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
      const up = connect({ host: m[1], port: Number(m[2]) }, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        up.pipe(client);
        client.pipe(up);
      });
      up.on("error", () => client.destroy());
      client.on("error", () => up.destroy());
    });
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
});

after(async () => {
  await srv.close();
  await new Promise((r) => proxy.close(r));
  site.cleanup();
});

test("the server speaks HTTPS and the client checks the certificate unless -k", async () => {
  assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  const strict = await runCliCapture(["http", "get", `${srv.url}hello.txt`]);
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /^wirekit: TLS with 127\.0\.0\.1: /);
  const r = await runCliCapture(["http", "get", `${srv.url}hello.txt`, "-k", "--timing"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.ok(r.stdout.endsWith("hello, world\n"));
  assert.match(r.stderr, /^tls +[\d.]+ ms$/m);
});

test("https through a proxy goes through a CONNECT tunnel", async () => {
  proxyLog.length = 0;
  const port = (proxy.address() as { port: number }).port;
  const r = await runCliCapture(["http", "get", `${srv.url}hello.txt`, "-k", "-x", `http://127.0.0.1:${port}`]);
  assert.equal(r.code, 0);
  assert.ok(r.stdout.endsWith("hello, world\n"));
  assert.deepEqual(proxyLog, [`CONNECT 127.0.0.1:${srv.port} HTTP/1.1`]);
});

test("over TLS the server speaks HTTP/2 to curl --http2 and node:http2, and HTTP/1.1 to the rest", async () => {
  const { execFile } = await import("node:child_process");
  const curl = (args: string[]): Promise<string> =>
    new Promise((resolve, reject) => execFile("curl", ["-sk", ...args], (err, out) => (err ? reject(err) : resolve(out))));
  const h2 = await curl(["--http2", "-D", "-", "-o", "/dev/null", `${srv.url}hello.txt`]);
  assert.match(h2, /^HTTP\/2 200 ?\r\n/);
  assert.match(h2, /\r\ncontent-length: 13\r\n/i);
  assert.equal(await curl(["--http2", `${srv.url}hello.txt`]), "hello, world\n");
  const range = await curl(["--http2", "-r", "0-4", `${srv.url}hello.txt`]);
  assert.equal(range, "hello");
  assert.match(await curl(["--http1.1", "-D", "-", "-o", "/dev/null", `${srv.url}hello.txt`]), /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(await curl(["--http2", "-D", "-", "-o", "/dev/null", `${srv.url}missing`]), /^HTTP\/2 404 ?\r\n/);

  const { connect: h2connect } = await import("node:http2");
  const session = h2connect(srv.url, { rejectUnauthorized: false });
  try {
    const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = session.request({ ":path": "/hello.txt" });
      let status = 0;
      let text = "";
      req.on("response", (h) => (status = Number(h[":status"])));
      req.setEncoding("utf8");
      req.on("data", (d: string) => (text += d));
      req.on("end", () => resolve({ status, text }));
      req.on("error", reject);
      req.end();
    });
    assert.deepEqual(body, { status: 200, text: "hello, world\n" });
  } finally {
    session.close();
  }
});

test("--no-http2 (http2: false) offers HTTP/1.1 only", async () => {
  const { execFile } = await import("node:child_process");
  const only1 = await createStaticServer({ root: site.root, port: 0, http2: false, tls: { cert: readFileSync(join(site.base, "cert.pem")), key: readFileSync(join(site.base, "key.pem")) } });
  try {
    const head = await new Promise<string>((resolve, reject) =>
      execFile("curl", ["-sk", "--http2", "-D", "-", "-o", "/dev/null", `${only1.url}hello.txt`], (err, out) => (err ? reject(err) : resolve(out))),
    );
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  } finally {
    await only1.close();
  }
});

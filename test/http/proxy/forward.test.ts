/** Forwarding through the proxy: request forms, bodies of any size both ways, hop-by-hop fields, errors. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, createServer, request } from "node:http";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import type { AccessRecord } from "../../../src/http/proxy/stats.js";
import { startOrigin, streaming, viaProxy, waitUntil, type TestOrigin } from "./fixtures.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

describe("proxy forwarding", () => {
  let origin: TestOrigin;
  let proxy: ProxyServer;
  let dir: string;
  const records: AccessRecord[] = [];
  const big = randomBytes(10 * 1024 * 1024);

  before(async () => {
    origin = await startOrigin();
    dir = await mkdtemp(join(tmpdir(), "wk-proxy-fwd-"));
    proxy = await createProxyServer({ port: 0, cacheDir: dir });
    proxy.on("event", (e) => void records.push(e.record));
  });
  after(async () => {
    await proxy.close();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("streams a 10 MB response and caches it byte-identical", async () => {
    origin.route("/big", (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(big.length), "Cache-Control": "max-age=600" });
      res.end(big);
    });
    const first = await viaProxy(proxy.port, `${origin.base}/big`);
    assert.equal(first.body.length, big.length);
    assert.equal(sha(first.body), sha(big));
    const second = await viaProxy(proxy.port, `${origin.base}/big`);
    assert.match(String(second.headers["cache-status"]), /hit/);
    assert.equal(sha(second.body), sha(big));
    assert.equal(origin.count("/big"), 1);
  });

  it("relays and stores a chunked origin response, then serves it with a Content-Length", async () => {
    origin.route("/chunked", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=600" });
      for (let i = 0; i < 50; i++) res.write(`chunk ${i}\n`);
      res.end();
    });
    const expected = Array.from({ length: 50 }, (_, i) => `chunk ${i}\n`).join("");
    const first = await viaProxy(proxy.port, `${origin.base}/chunked`);
    assert.equal(first.headers["transfer-encoding"], "chunked");
    assert.equal(first.body.toString(), expected);
    const second = await viaProxy(proxy.port, `${origin.base}/chunked`);
    assert.equal(second.body.toString(), expected);
    assert.equal(second.headers["content-length"], String(Buffer.byteLength(expected)));
  });

  it("passes POST bodies through, with Content-Length and chunked, byte for byte", async () => {
    origin.route("/echo", (req, res, body) => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end(`${req.method} ${body.length} ${sha(body)} ${req.headers["transfer-encoding"] ?? "cl"}`);
    });
    const payload = randomBytes(3 * 1024 * 1024);
    const withLength = await viaProxy(proxy.port, `${origin.base}/echo`, { method: "POST", body: payload, headers: { "Content-Length": String(payload.length) } });
    assert.equal(withLength.body.toString(), `POST ${payload.length} ${sha(payload)} cl`);
    const chunkedReply = await new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: proxy.port, method: "PUT", path: `${origin.base}/echo`, agent: false });
      req.on("response", (res) => {
        let s = "";
        res.setEncoding("utf8").on("data", (d: string) => (s += d)).on("end", () => resolve(s));
      });
      req.on("error", reject);
      for (let i = 0; i < 3; i++) req.write(payload.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
      req.end();
    });
    assert.equal(chunkedReply, `PUT ${payload.length} ${sha(payload)} chunked`);
  });

  it("removes hop-by-hop fields both ways, sets Host for the origin and adds Via", async () => {
    origin.route("/hop", (_req, res) => {
      res.writeHead(200, { Connection: "X-Secret-Hop", "X-Secret-Hop": "1", "Keep-Alive": "timeout=5", "X-Kept": "yes" });
      res.end("hop");
    });
    const r = await viaProxy(proxy.port, `${origin.base}/hop`, { headers: { Connection: "X-Client-Hop", "X-Client-Hop": "1", "Proxy-Connection": "keep-alive", "Proxy-Authorization": "Basic eA==", "X-Kept": "c" } });
    assert.equal(r.headers["x-secret-hop"], undefined);
    assert.equal(r.headers["x-kept"], "yes");
    assert.match(String(r.headers.via), /^1\.1 127\.0\.0\.1:\d+ \(wirekit\)$/);
    const seen = origin.seen.find((s) => s.url === "/hop");
    assert.ok(seen);
    assert.equal(seen.headers["x-client-hop"], undefined);
    assert.equal(seen.headers["proxy-connection"], undefined);
    assert.equal(seen.headers["proxy-authorization"], undefined);
    assert.equal(seen.headers["x-kept"], "c");
    assert.equal(seen.headers.host, `127.0.0.1:${origin.port}`);
    assert.match(String(seen.headers.via), /\(wirekit\)/);
  });

  it("keeps the client's connection alive and reuses one pooled keep-alive connection to the origin", async () => {
    const originPorts: number[] = [];
    origin.route("/pooled", (req, res) => {
      originPorts.push(req.socket.remotePort ?? 0);
      res.writeHead(200, { "Content-Type": "text/plain", "Cache-Control": "no-store" });
      res.end("pooled\n");
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const clientPorts: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          const req = request({ host: "127.0.0.1", port: proxy.port, path: `${origin.base}/pooled`, agent }, (res) => {
            let text = "";
            res.setEncoding("utf8").on("data", (d: string) => (text += d));
            res.on("end", () => resolve(text));
          });
          req.on("socket", (s) => (s.localPort !== undefined ? clientPorts.push(s.localPort) : s.once("connect", () => clientPorts.push(s.localPort ?? 0))));
          req.on("error", reject);
          req.end();
        });
        assert.equal(body, "pooled\n");
      }
    } finally {
      agent.destroy();
    }
    assert.equal(originPorts.length, 3, "no-store: every request reached the origin");
    assert.equal(new Set(clientPorts).size, 1, `one client connection to the proxy (${clientPorts.join(", ")})`);
    assert.equal(new Set(originPorts).size, 1, `one pooled connection from the proxy to the origin (${originPorts.join(", ")})`);
  });

  it("works for curl -x, an independent client, miss then hit", async () => {
    origin.route("/curl", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=60", "Content-Type": "text/plain" });
      res.end("for curl\n");
    });
    const run = () => promisify(execFile)("curl", ["-sS", "-i", "--max-time", "30", "-x", `http://127.0.0.1:${proxy.port}`, `${origin.base}/curl`]);
    const first = await run();
    assert.match(first.stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(first.stdout, /\r\nCache-Status: wirekit; fwd=uri-miss; fwd-status=200; stored\r\n/);
    const second = await run();
    assert.match(second.stdout, /\r\nCache-Status: wirekit; hit; ttl=\d+\r\n/);
    assert.match(second.stdout, /\r\n\r\nfor curl\n$/);
    assert.equal(origin.count("/curl"), 1);
  });

  it("accepts the lab form http://proxy:port/host:port/path", async () => {
    origin.route("/lab/page.html", (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<p>lab</p>");
    });
    const r = await viaProxy(proxy.port, "", { path: `/127.0.0.1:${origin.port}/lab/page.html` });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "<p>lab</p>");
    assert.equal(origin.seen.find((s) => s.url === "/lab/page.html")?.headers.host, `127.0.0.1:${origin.port}`);
    // The page's absolute-path link /lab-img.png arrives as http://proxy/lab-img.png; the Referer says where it belongs.
    origin.route("/lab-img.png", (_req, res) => res.end("png"));
    const img = await viaProxy(proxy.port, "", { path: "/lab-img.png", headers: { Referer: `http://127.0.0.1:${proxy.port}/127.0.0.1:${origin.port}/lab/page.html` } });
    assert.equal(img.status, 200);
    assert.equal(img.body.toString(), "png");
  });

  it("answers 502 with the reason when the origin refuses the connection", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await viaProxy(proxy.port, `http://127.0.0.1:${port}/`);
    assert.equal(r.status, 502);
    assert.match(r.body.toString(), /connection refused/);
    assert.match(String(r.headers["proxy-status"]), /error=connection_refused/);
  });

  it("answers 504 when the origin does not answer in time", async () => {
    origin.route("/slow", () => undefined);
    const impatient = await createProxyServer({ port: 0, cache: false, timeoutMs: 300 });
    try {
      const r = await viaProxy(impatient.port, `${origin.base}/slow`);
      assert.equal(r.status, 504);
      assert.match(String(r.headers["proxy-status"]), /http_response_timeout/);
    } finally {
      await impatient.close();
    }
  });

  it("answers 400 to a malformed request and to a target that is no URL", async () => {
    const raw = await new Promise<string>((resolve) => {
      const s = connect(proxy.port, "127.0.0.1", () => s.write("GARBAGE\r\n\r\n"));
      let out = "";
      s.setEncoding("utf8").on("data", (d: string) => (out += d)).on("close", () => resolve(out));
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    const bad = await viaProxy(proxy.port, "", { path: "ftp://example.test/" });
    assert.equal(bad.status, 400);
  });

  it("survives a burst of garbage and half requests and keeps serving", async () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const shapes = [
      () => Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256))),
      () => Buffer.from(`GET http://127.0.0.1:${origin.port}/x HTTP/1.1\r\nHost: a\r\nContent-Length: 99\r\n\r\nshort`),
      () => Buffer.from(`GET /%zz/%%/ HTTP/1.1\r\n\r\n`),
      () => Buffer.from(`CONNECT nohostport HTTP/1.1\r\n\r\n`),
      () => Buffer.from(`GET http://[::1/ HTTP/1.1\r\nHost: x\r\n\r\n`),
      () => Buffer.from(`POST http://127.0.0.1:${origin.port}/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`),
    ];
    await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        new Promise<void>((resolve) => {
          const s = connect(proxy.port, "127.0.0.1", () => {
            s.write(shapes[i % shapes.length]?.() ?? "");
            setTimeout(() => s.destroy(), 20);
          });
          s.on("error", () => undefined);
          s.on("close", () => resolve());
        }),
      ),
    );
    origin.route("/after-garbage", (_req, res) => res.end("fine"));
    const r = await viaProxy(proxy.port, `${origin.base}/after-garbage`);
    assert.equal(r.body.toString(), "fine");
  });

  it("answers TRACE and OPTIONS itself at Max-Forwards: 0 and decrements it otherwise", async () => {
    origin.route("/mf", (req, res) => res.end(`mf=${req.headers["max-forwards"] ?? "none"}`));
    const trace = await viaProxy(proxy.port, `${origin.base}/mf`, { method: "TRACE", headers: { "Max-Forwards": "0", "X-Probe": "1" } });
    assert.equal(trace.status, 200);
    assert.equal(trace.headers["content-type"], "message/http");
    assert.match(trace.body.toString(), /^TRACE http:\/\/127\.0\.0\.1:\d+\/mf HTTP\/1\.1\r\n[^]*X-Probe: 1\r\n/);
    const options = await viaProxy(proxy.port, `${origin.base}/mf`, { method: "OPTIONS", headers: { "Max-Forwards": "0" } });
    assert.match(String(options.headers.allow), /CONNECT/);
    assert.equal(origin.count("/mf"), 0);
    const forwarded = await viaProxy(proxy.port, `${origin.base}/mf`, { method: "OPTIONS", headers: { "Max-Forwards": "5" } });
    assert.equal(forwarded.body.toString(), "mf=4");
  });

  it("answers 508 to a request addressed to the proxy itself", async () => {
    const r = await viaProxy(proxy.port, `http://127.0.0.1:${proxy.port}/loop`);
    assert.equal(r.status, 508);
  });

  it("aborts the origin request when the client disconnects", async () => {
    let originClosed = false;
    origin.route(
      "/endless",
      streaming((_req, res) => {
        res.writeHead(200, { "Content-Type": "application/octet-stream" });
        const chunk = Buffer.alloc(64 * 1024);
        const timer = setInterval(() => res.write(chunk), 5);
        res.on("close", () => {
          clearInterval(timer);
          originClosed = true;
        });
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: proxy.port, path: `${origin.base}/endless`, agent: false });
      req.on("response", (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => undefined);
      setTimeout(() => reject(new Error("no data")), 10_000).unref();
      req.end();
    });
    await waitUntil(() => originClosed, 10_000, "the origin connection to close");
  });

  it("logs one access record per request with the cache status", () => {
    const big1 = records.filter((r) => r.url === `${origin.base}/big`);
    assert.deepEqual(big1.map((r) => r.cacheStatus), ["MISS", "HIT"]);
    assert.equal(big1[1]?.bytes, big.length);
    assert.ok(records.some((r) => r.status === 502 && r.cacheStatus === "ERROR"));
  });
});

describe("proxy access control", () => {
  it("refuses clients outside --allow with 403", async () => {
    const origin = await startOrigin();
    origin.route("/", (_req, res) => res.end("ok"));
    const proxy = await createProxyServer({ port: 0, cache: false, allow: ["10.0.0.0/8"] });
    try {
      const r = await viaProxy(proxy.port, `${origin.base}/`);
      assert.equal(r.status, 403);
      assert.equal(origin.seen.length, 0);
    } finally {
      await proxy.close();
      await origin.close();
    }
  });

  it("refuses to bind beyond loopback without --allow", async () => {
    await assert.rejects(createProxyServer({ host: "0.0.0.0", port: 0, cache: false }), { code: "ERR_USAGE" });
  });
});

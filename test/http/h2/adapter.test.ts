/**
 * The HTTP/2 adapter: a TLS listener negotiating h2 by ALPN hands sockets to H2Sessions, and
 * node:http2's client sees the handler's responses (string, file range, stream, HEAD, 500).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { connect } from "node:http2";
import { openSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { generate } from "selfsigned";
import { H2Sessions, type H2Exchange } from "../../../src/http/h2/adapter.js";
import type { HttpHandler } from "../../../src/http/h1/types.js";
import { getField } from "../../../src/http/header-list.js";

async function withServer(handler: HttpHandler, fn: (url: string, exchanges: H2Exchange[]) => Promise<void>): Promise<void> {
  const pems = await generate([{ name: "commonName", value: "localhost" }], { keySize: 2048 });
  const exchanges: H2Exchange[] = [];
  const h2 = new H2Sessions({ handler, onExchange: (e) => exchanges.push(e) });
  const server = createTlsServer({ cert: pems.cert, key: pems.private, ALPNProtocols: ["h2", "http/1.1"] });
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol === "h2") h2.accept(socket);
    else socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    await fn(`https://127.0.0.1:${port}`, exchanges);
  } finally {
    await h2.close(200);
    await new Promise((r) => server.close(r));
  }
}

function get(url: string, path: string, method = "GET"): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const client = connect(url, { rejectUnauthorized: false });
    client.on("error", reject);
    const req = client.request({ ":path": path, ":method": method });
    let body = "";
    let headers: Record<string, unknown> = {};
    req.on("response", (h) => (headers = h));
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => {
      client.close();
      resolve({ status: Number(headers[":status"]), headers, body });
    });
    req.on("error", reject);
    req.end();
  });
}

test("h2: the handler sees method, target, Host from :authority, and its responses arrive", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wk-h2-"));
  writeFileSync(join(dir, "f.txt"), "0123456789");
  const handler: HttpHandler = (req) => {
    if (req.target === "/file") return { status: 200, headers: [["content-type", "text/plain"]], body: { kind: "file", fd: openSync(join(dir, "f.txt"), "r"), start: 2, length: 5 } };
    if (req.target === "/stream") return { status: 200, headers: [], body: Readable.from([Buffer.from("a"), Buffer.from("b")]) };
    if (req.target === "/throw") throw new Error("boom");
    return { status: 200, headers: [["x-seen", `${req.method} ${req.target} ${req.version} ${getField(req.headers, "host") ?? "-"}`], ["connection", "close"]], body: "hello" };
  };
  try {
    await withServer(handler, async (url, exchanges) => {
      const plain = await get(url, "/x?y=1");
      assert.equal(plain.status, 200);
      assert.equal(plain.body, "hello");
      assert.match(String(plain.headers["x-seen"]), /^GET \/x\?y=1 2 127\.0\.0\.1:\d+$/);
      assert.equal(plain.headers["connection"], undefined, "connection-specific fields are dropped on HTTP/2");
      assert.equal((await get(url, "/file")).body, "23456");
      assert.equal((await get(url, "/stream")).body, "ab");
      const head = await get(url, "/x", "HEAD");
      assert.equal(head.status, 200);
      assert.equal(head.body, "");
      assert.equal((await get(url, "/throw")).status, 500);
      assert.equal((await get(url, "/x")).status, 200, "a throwing handler does not stop the server");
      assert.ok(exchanges.length >= 6);
      assert.ok(exchanges.every((e) => !e.aborted));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Attack: path normalisation in the proxy. A target such as `/ok/%2e%2e/m` or `/ok/\..\z` must
 * reach the origin byte for byte (as Squid forwards it), not resolved to `/m` or `/ok/z`, and be
 * cached under that same target. Raw sockets, because an HTTP client library would normalise it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { startOrigin, type TestOrigin } from "./fixtures.js";

function rawRequest(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let text = "";
    s.on("data", (d: Buffer) => (text += d.toString("latin1")));
    s.on("end", () => resolve(text));
    s.on("error", reject);
    s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

describe("proxy request target", () => {
  let origin: TestOrigin;
  let proxy: ProxyServer;
  let dir: string;

  before(async () => {
    origin = await startOrigin();
    for (const path of ["/m", "/ok/z", "/ok/%2e%2e/m", "/ok/\\..\\z", "/c", "/a/./b/../c", "/m2", "/ok/%2e%2e/m2"]) {
      origin.route(path, (_req, res) => {
        res.writeHead(200, { "Cache-Control": path.endsWith("2") ? "max-age=600" : "no-store", "Content-Type": "text/plain" });
        res.end(`route ${path}\n`);
      });
    }
    dir = await mkdtemp(join(tmpdir(), "wk-proxy-target-"));
    proxy = await createProxyServer({ port: 0, cacheDir: dir });
  });
  after(async () => {
    await proxy.close();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const path of ["/ok/%2e%2e/m", "/ok/\\..\\z", "/a/./b/../c?x=%2e%2e"]) {
    it(`forwards ${path} exactly as sent, in absolute form and in the lab form`, async () => {
      for (const target of [`${origin.base}${path}`, `/127.0.0.1:${origin.port}${path}`]) {
        const n = origin.seen.length;
        const r = await rawRequest(proxy.port, target);
        assert.match(r, /^HTTP\/1\.1 \d{3} /, target);
        assert.equal(origin.seen.slice(n).map((s) => s.url).join(" "), path, target);
      }
    });
  }

  it("keys the cache by the target as sent: /m2 stored is not served for /ok/%2e%2e/m2", async () => {
    const m = await rawRequest(proxy.port, `${origin.base}/m2`);
    assert.match(m, /route \/m2\n/);
    const odd = await rawRequest(proxy.port, `${origin.base}/ok/%2e%2e/m2`);
    assert.match(odd, /route \/ok\/%2e%2e\/m2\n/);
    const again = await rawRequest(proxy.port, `${origin.base}/ok/%2e%2e/m2`);
    assert.match(again, /Cache-Status: wirekit; hit/);
    assert.match(again, /route \/ok\/%2e%2e\/m2\n/);
  });
});

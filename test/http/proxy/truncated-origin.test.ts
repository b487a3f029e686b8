/**
 * Issue 20 item 10: an origin that announces a body and closes before sending all of it. The
 * entry is never committed, so no response may say `Cache-Status: ...; stored` and the next
 * request must be a miss again. Raw TCP on both sides: the origin has to lie about its length,
 * and the client has to see the exact bytes of a response that ends early.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProxyServer, type ProxyServer, type ProxyServerEvent } from "../../../src/http/proxy/server.js";
import type { AccessRecord } from "../../../src/http/proxy/stats.js";
import { formatAccessLine } from "../../../src/render/proxy.js";
import { rawTcpOrigin, type RawOrigin } from "./fixtures.js";

/** An origin that, for each request, announces `announce` bytes and sends `send` of them, then closes. */
function lyingOrigin(announce: number, send: number): Promise<RawOrigin> {
  return rawTcpOrigin((s) => {
    s.write(`HTTP/1.1 200 OK\r\nCache-Control: max-age=3600\r\nContent-Type: application/octet-stream\r\nContent-Length: ${announce}\r\n\r\n`);
    s.end(Buffer.alloc(send, 0x61));
  });
}

/** Send one GET through the proxy on a raw socket; everything until the proxy closes (or `ms`). */
async function rawGet(proxyPort: number, url: string, ms = 5000): Promise<{ head: string; body: Buffer; closed: boolean }> {
  const s = connect(proxyPort, "127.0.0.1");
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => chunks.push(d));
  s.on("error", () => undefined);
  s.write(`GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n\r\n`);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    s.destroy();
  }, ms);
  await once(s, "close");
  clearTimeout(timer);
  const closed = !timedOut;
  const all = Buffer.concat(chunks);
  const end = all.indexOf("\r\n\r\n");
  return { head: all.subarray(0, end).toString("latin1"), body: all.subarray(end + 4), closed };
}

function cacheStatusOf(head: string): string {
  return /^cache-status: (.*)$/im.exec(head)?.[1] ?? "(none)";
}

describe("an origin that closes before the body it announced", () => {
  let dir: string;
  let proxy: ProxyServer;
  const records: AccessRecord[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wk-proxy-trunc-"));
    proxy = await createProxyServer({ port: 0, cacheDir: dir });
    proxy.on("event", (e: ProxyServerEvent) => void records.push(e.record));
  });
  /** The access record of `url`; it may be emitted just after the client saw the connection close. */
  const recordFor = async (url: string): Promise<AccessRecord> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const r = records.find((x) => x.url === url);
      if (r !== undefined) return r;
      if (Date.now() > deadline) throw new Error(`no access record for ${url}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  after(async () => {
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [name, announce, send] of [
    ["a small body (read whole before the head is sent)", 1000, 500],
    ["a body larger than the memory layer (streamed)", 1024 * 1024, 600 * 1024],
  ] as const) {
    it(`never claims Cache-Status stored for ${name}, and the next request is a miss`, async () => {
      const origin = await lyingOrigin(announce, send);
      try {
        const url = `http://127.0.0.1:${origin.port}/cut-${announce}`;
        const first = await rawGet(proxy.port, url);
        assert.match(first.head, /^HTTP\/1\.1 200 /);
        assert.match(cacheStatusOf(first.head), /fwd=uri-miss/);
        assert.doesNotMatch(cacheStatusOf(first.head), /stored/);
        // A streamed body's last queued bytes may be lost when the proxy cuts the connection.
        if (send <= 1000) assert.equal(first.body.length, send, "the client gets what the origin sent");
        else assert.ok(first.body.length > 0 && first.body.length <= send, `the client gets at most what the origin sent: ${first.body.length}`);
        assert.ok(first.closed, "then the connection closes: the response is short of its Content-Length");
        const rec = await recordFor(url);
        assert.equal(rec.stored, false, "the log records that nothing was stored");
        assert.match(formatAccessLine(rec), / MISS NOT-STORED$/);

        const second = await rawGet(proxy.port, url);
        assert.match(cacheStatusOf(second.head), /fwd=uri-miss/);
        assert.doesNotMatch(cacheStatusOf(second.head), /hit|stored/);
        assert.equal(origin.requests(), 2, "nothing was stored, so the origin is asked again");
        assert.equal(proxy.stats().entries, 0);
      } finally {
        await origin.close();
      }
    });
  }

  it("a streamed body that does arrive whole is stored: its head cannot say so, the log and the next hit do", async () => {
    const size = 1024 * 1024;
    const origin = await lyingOrigin(size, size);
    try {
      const url = `http://127.0.0.1:${origin.port}/whole-${size}`;
      const first = await rawGet(proxy.port, `${url}`, 1000); // kept alive: ends by the timeout
      assert.doesNotMatch(cacheStatusOf(first.head), /stored/);
      assert.equal(first.body.length, size);
      assert.equal((await recordFor(url)).stored, true);
      const second = await rawGet(proxy.port, url, 1000);
      assert.match(cacheStatusOf(second.head), /^wirekit; hit/);
      assert.equal(origin.requests(), 1);
    } finally {
      await origin.close();
    }
  });
});

/**
 * `wirekit http serve` refuses request heads that RFC 9112 forbids but a lenient parser accepts
 * (issue 20 item 8). Raw bytes over TCP, judged on the bytes that come back, so the tests hold
 * for any HTTP engine behind the server: each case gets exactly one response, and the ones whose
 * framing cannot be trusted get a closed connection (a pipelined GET after them is never
 * answered: no request smuggling).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createStaticServer, type StaticServer } from "../../src/http/static/server.js";
import { makeSite, type Site } from "./site.js";

/** Send `raw`, collect everything until the server closes (or `ms` passes). */
function exchange(port: number, raw: string, ms = 3000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.on("error", () => undefined);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: false });
    }, ms);
    sock.on("close", () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: true });
    });
    sock.write(raw);
  });
}

function statusLines(text: string): string[] {
  return text.match(/^HTTP\/\d\.\d \d{3}[^\r\n]*/gm) ?? [];
}

const NEXT = "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";

describe("http serve: request framing and method rules (RFC 9112)", () => {
  let site: Site;
  let srv: StaticServer;
  before(async () => {
    site = makeSite();
    srv = await createStaticServer({ root: site.root, port: 0 });
  });
  after(async () => {
    await srv.close();
    site.cleanup();
  });

  const cases: Array<{ name: string; raw: string; status: RegExp }> = [
    { name: "host confusion: two Host fields get 400", raw: "GET /hello.txt HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", status: /^HTTP\/1\.1 400 / },
    { name: "smuggling: HTTP/1.0 with Transfer-Encoding: chunked gets 400 and the connection closes", raw: "POST /hello.txt HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: /^HTTP\/1\.1 400 / },
    { name: "smuggling: Transfer-Encoding: xchunked gets 501", raw: "POST /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", status: /^HTTP\/1\.1 501 / },
    { name: "smuggling: Transfer-Encoding: chunked twice gets 400", raw: "POST /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", status: /^HTTP\/1\.1 400 / },
    { name: "version confusion: a request line with HTTP/2.0 gets 505", raw: "GET /hello.txt HTTP/2.0\r\nHost: x\r\n\r\n", status: /^HTTP\/1\.1 505 / },
    { name: "version confusion: a request line with HTTP/1.9 gets 505", raw: "GET /hello.txt HTTP/1.9\r\nHost: x\r\n\r\n", status: /^HTTP\/1\.1 505 / },
    { name: "tunnel attempt: CONNECT gets 405 with Allow, not a silently closed socket", raw: "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n", status: /^HTTP\/1\.1 405 / },
  ];
  for (const c of cases) {
    it(`${c.name}, exactly one response, then close`, async () => {
      const r = await exchange(srv.port, c.raw + NEXT);
      const lines = statusLines(r.text);
      assert.equal(lines.length, 1, `one response: ${JSON.stringify(r.text)}`);
      assert.match(lines[0] ?? "", c.status);
      assert.match(r.text, /\r\nConnection: close\r\n/i);
      assert.ok(!r.text.includes("hello, world"), "the pipelined GET after it is not answered");
      assert.ok(r.closed, "the server closed the connection");
    });
  }

  it("the 405 for CONNECT names the methods the server has", async () => {
    const r = await exchange(srv.port, "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n");
    assert.match(r.text, /\r\nAllow: GET, HEAD\r\n/);
  });

  it("a plain HTTP/1.1 request with one Host still gets through", async () => {
    const r = await exchange(srv.port, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(statusLines(r.text)[0] ?? "", /^HTTP\/1\.1 200 /);
    assert.ok(r.text.endsWith("hello, world\n"));
  });
});

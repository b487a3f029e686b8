/** Requests the parser rejects: exactly one error response, then the connection closes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { createH1Server, type H1Server } from "../../../src/http/h1/server.js";
import type { HttpHandler } from "../../../src/http/h1/types.js";
import { RawClient, field } from "./raw.js";

const hello: HttpHandler = () => ({ status: 200, headers: [], body: "hello\n" });

async function refusal(srv: H1Server, raw: string): Promise<number[]> {
  const c = new RawClient(srv.port);
  c.send(raw);
  await c.closedP;
  const rs = await c.responses(5);
  for (const r of rs.slice(-1)) assert.equal(field(r, "connection"), "close");
  return rs.map((r) => r.status);
}

const many = Array.from({ length: 101 }, (_, i) => `X-F${i}: v\r\n`).join("");
const cases: Array<[string, string, number]> = [
  ["Transfer-Encoding: chunked with Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", 400],
  ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505],
  ["an unknown transfer coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked, chunked\r\n\r\n", 501],
  ["two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  ["a long target", `GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
  ["101 fields", `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`, 431],
  ["a head over the size limit", `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`, 431],
  ["garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400],
  ["an unsupported expectation", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\nx", 417],
];

for (const [name, raw, status] of cases) {
  test(`${name} gets exactly one ${status} and a closed connection`, async () => {
    const srv = createH1Server({ handler: hello, clock: new FakeClock() });
    await srv.listen(0);
    try {
      assert.deepEqual(await refusal(srv, raw), [status]);
      assert.equal(srv.totals().errorResponses, 1);
    } finally {
      await srv.close();
    }
  });
}

test("a bad request pipelined after a good one is answered after it, and nothing after it is read", async () => {
  let calls = 0;
  const srv = createH1Server({ handler: (req) => (calls++, { status: 200, headers: [], body: req.target }), clock: new FakeClock() });
  await srv.listen(0);
  try {
    const statuses = await refusal(srv, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/9.9\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.deepEqual(statuses, [200, 505]);
    assert.equal(calls, 1);
  } finally {
    await srv.close();
  }
});

test("a bad request pipelined after good ones still answered asynchronously comes after all their answers", async () => {
  const srv = createH1Server({ handler: async (req) => ({ status: 200, headers: [], body: req.target }), clock: new FakeClock() });
  await srv.listen(0);
  try {
    const statuses = await refusal(srv, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/9.9\r\nHost: x\r\n\r\n");
    assert.deepEqual(statuses, [200, 200, 505]);
  } finally {
    await srv.close();
  }
});

test("a broken chunked body fails the body for the handler, which answers once, and the connection closes", async () => {
  const handler: HttpHandler = async (req) => {
    try {
      for await (const _ of req.body) void _;
      return { status: 200, headers: [], body: "read" };
    } catch {
      return { status: 400, headers: [], body: "bad body" };
    }
  };
  const srv = createH1Server({ handler, clock: new FakeClock() });
  await srv.listen(0);
  try {
    const statuses = await refusal(srv, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    assert.deepEqual(statuses, [400]);
  } finally {
    await srv.close();
  }
});

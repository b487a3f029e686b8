/** Whole responses kept ready for immutable bodies: the pure memo, and the engine writing from it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { createH1Server } from "../../../src/http/h1/server.js";
import { encodeHead } from "../../../src/http/h1/head.js";
import { ReadyResponses, type ReadyKey } from "../../../src/http/h1/ready-responses.js";
import type { HttpHandler } from "../../../src/http/h1/types.js";
import { RawClient, field } from "./raw.js";

const DATE = "Thu, 01 Jan 2026 00:00:00 GMT";

function keyFor(headers: ReadyKey["headers"], over: Partial<ReadyKey> = {}): ReadyKey {
  return { headers, status: 200, reason: undefined, version: "1.1", keepAlive: true, date: DATE, ...over };
}

function make(r: ReadyResponses, body: Uint8Array, key: ReadyKey): void {
  const enc = encodeHead({ ...key, method: "GET", bodyLength: body.length });
  r.set(body, key, enc, Buffer.concat([Buffer.from(enc.head, "latin1"), body]));
}

test("a ready response is found only under the key it was made for", () => {
  const r = new ReadyResponses(8);
  const headers = Object.freeze([Object.freeze(["Content-Type", "text/plain"] as const)]);
  const body = Buffer.from("hi");
  const key = keyFor(headers);
  make(r, body, key);
  assert.ok(r.get(body, keyFor(headers))?.bytes.toString("latin1").endsWith("\r\n\r\nhi"));
  for (const over of [{ status: 203 }, { reason: "Fine" }, { version: "1.0" as const }, { keepAlive: false }, { date: "Thu, 01 Jan 2026 00:00:01 GMT" }]) {
    assert.equal(r.get(body, keyFor(headers, over)), undefined, JSON.stringify(over));
  }
  // An equal list that is another object is another key: only identity proves it unchanged.
  assert.equal(r.get(body, keyFor(Object.freeze([Object.freeze(["Content-Type", "text/plain"] as const)]))), undefined);
  assert.equal(r.get(Buffer.from("hi"), key), undefined);
});

test("the memo holds at most its limit, dropping the least recently made", () => {
  const r = new ReadyResponses(2);
  const headers = Object.freeze([]);
  const [a, b, c] = [Buffer.from("a"), Buffer.from("b"), Buffer.from("c")];
  make(r, a, keyFor(headers));
  make(r, b, keyFor(headers));
  make(r, a, keyFor(headers)); // made again: now the newest
  make(r, c, keyFor(headers));
  assert.equal(r.size, 2);
  assert.equal(r.get(b, keyFor(headers)), undefined);
  assert.ok(r.get(a, keyFor(headers)));
  assert.ok(r.get(c, keyFor(headers)));
});

test("the engine answers an immutable body the same way each time, a new Date after the second turns, and never keeps a mutable one", async () => {
  const clock = new FakeClock();
  const fixed = Buffer.from("fixed body\n");
  const fixedFields = Object.freeze([Object.freeze(["Content-Type", "text/plain"] as const)]);
  const shared = Buffer.from("version 1\n");
  const handler: HttpHandler = (req) => {
    if (req.target === "/fixed") return { status: 200, headers: fixedFields, body: fixed, immutable: true };
    // Not marked immutable: the engine must read the bytes each time.
    return { status: 200, headers: fixedFields, body: shared };
  };
  const srv = createH1Server({ clock, handler });
  const port = await srv.listen(0);
  try {
    const c = new RawClient(port);
    c.send("GET /fixed HTTP/1.1\r\nHost: x\r\n\r\nGET /fixed HTTP/1.1\r\nHost: x\r\n\r\n");
    const [a, b] = await c.responses(2);
    assert.equal(a?.body.toString(), "fixed body\n");
    assert.deepEqual(b?.headers, a?.headers);
    assert.deepEqual(b?.body, a?.body);
    assert.equal(field(a!, "date"), DATE);
    clock.advance(1000);
    c.send("GET /fixed HTTP/1.1\r\nHost: x\r\n\r\nGET /shared HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(4);
    assert.equal(field(rs[2]!, "date"), "Thu, 01 Jan 2026 00:00:01 GMT");
    assert.equal(rs[2]?.body.toString(), "fixed body\n");
    assert.equal(rs[3]?.body.toString(), "version 1\n");
    shared.write("version 2\n");
    c.send("GET /shared HTTP/1.1\r\nHost: x\r\n\r\nGET /fixed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const more = await c.responses(6);
    assert.equal(more[4]?.body.toString(), "version 2\n");
    // The last one closes: another key (keep-alive off), so its own head.
    assert.equal(field(more[5]!, "connection"), "close");
    assert.equal(more[5]?.body.toString(), "fixed body\n");
    c.close();
  } finally {
    await srv.close();
  }
});

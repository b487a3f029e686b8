/** Deadlines of the HTTP/1.1 engine, driven by a fake clock: nothing here waits on wall time. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { createH1Server } from "../../../src/http/h1/server.js";
import type { ErrorResponseRecord, ExchangeRecord } from "../../../src/http/h1/connection.js";
import type { HttpHandler } from "../../../src/http/h1/types.js";
import { RawClient, eventually, field } from "./raw.js";

const hello: HttpHandler = () => ({ status: 200, headers: [], body: "hello\n" });

test("slowloris: 20 stalled heads get 408 and are closed at the head deadline, while another client is served at once", async () => {
  const clock = new FakeClock();
  const srv = createH1Server({ handler: hello, clock, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 60_000 });
  const errors: ErrorResponseRecord[] = [];
  srv.on("event", (e) => e.kind === "error-response" && void errors.push(e.record));
  const port = await srv.listen(0);
  try {
    const stalled = Array.from({ length: 20 }, () => new RawClient(port));
    for (const s of stalled) s.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    await eventually(() => srv.totals().connections === 20);
    clock.advance(5_000);
    const good = new RawClient(port);
    good.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const [r] = await good.responses(1);
    assert.equal(r?.body.toString(), "hello\n");
    assert.ok(stalled.every((s) => s.data.length === 0 && !s.closed));
    clock.advance(5_000); // the stalled heads have had 10 s; the good one started at 5 s and is idle now
    for (const s of stalled) await s.closedP;
    for (const s of stalled) {
      const rs = await s.responses(1);
      assert.equal(rs.length, 1);
      assert.equal(rs[0]?.status, 408);
      assert.equal(field(rs[0]!, "connection"), "close");
    }
    assert.equal(errors.length, 20);
    assert.equal(good.closed, false);
    good.close();
  } finally {
    await srv.close();
  }
});

test("an idle keep-alive connection is closed silently after the keep-alive timeout, not before", async () => {
  const clock = new FakeClock();
  const srv = createH1Server({ handler: hello, clock, keepAliveTimeoutMs: 5_000 });
  const port = await srv.listen(0);
  try {
    const c = new RawClient(port);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.responses(1);
    const before = c.data.length;
    clock.advance(4_000);
    c.send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.responses(2);
    clock.advance(4_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(c.closed, false, "the second request restarted the idle clock");
    const afterTwo = c.data.length;
    assert.ok(afterTwo > before);
    clock.advance(1_600);
    await c.closedP;
    assert.equal(c.data.length, afterTwo, "nothing written on an idle close");
  } finally {
    await srv.close();
  }
});

test("a request body that does not arrive within the request deadline gets 408 and the connection closes", async () => {
  const clock = new FakeClock();
  let signal!: AbortSignal;
  const handler: HttpHandler = async (req) => {
    signal = req.signal;
    for await (const _ of req.body) void _;
    return { status: 200, headers: [], body: "never" };
  };
  const srv = createH1Server({ handler, clock, requestTimeoutMs: 30_000 });
  const port = await srv.listen(0);
  try {
    const c = new RawClient(port);
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a little");
    await eventually(() => signal !== undefined);
    clock.advance(31_000);
    await c.closedP;
    const rs = await c.responses(1);
    assert.equal(rs.length, 1);
    assert.equal(rs[0]?.status, 408);
    assert.equal(signal.aborted, true);
  } finally {
    await srv.close();
  }
});

test("a response that makes no write progress for the send timeout has its connection destroyed", async () => {
  const clock = new FakeClock();
  const big = Buffer.alloc(48 * 1024 * 1024, 0x62);
  const records: ExchangeRecord[] = [];
  const srv = createH1Server({ handler: () => ({ status: 200, headers: [], body: big }), clock, sendTimeoutMs: 60_000 });
  srv.on("event", (e) => e.kind === "exchange" && void records.push(e.record));
  const port = await srv.listen(0);
  try {
    const c = new RawClient(port);
    await c.ready;
    c.socket.pause(); // a client that never reads
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await eventually(() => srv.totals().connections === 1);
    // give the server time to hand what the kernel will take, then let the clock run
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(30_000);
    assert.equal(records.length, 0);
    clock.advance(31_000);
    await eventually(() => records.length === 1);
    assert.equal(records[0]?.aborted, true);
    await eventually(() => srv.totals().connections === 0);
    c.close();
  } finally {
    await srv.close();
  }
});

test("the request deadline of a later request on a keep-alive connection counts from that request", async () => {
  const clock = new FakeClock();
  let posted = false;
  const handler: HttpHandler = async (req) => {
    if (req.method === "POST") posted = true;
    for await (const _ of req.body) void _;
    return { status: 200, headers: [], body: "ok" };
  };
  const srv = createH1Server({ handler, clock, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 120_000 });
  const port = await srv.listen(0);
  try {
    const c = new RawClient(port);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.responses(1);
    clock.advance(40_000);
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab");
    await eventually(() => posted);
    clock.advance(20_000);
    c.send("cd");
    const rs = await c.responses(2);
    assert.equal(rs[1]?.status, 200);
    assert.equal(c.closed, false);
    c.close();
  } finally {
    await srv.close();
  }
});

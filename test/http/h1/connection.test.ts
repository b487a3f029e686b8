/** The HTTP/1.1 connection engine over real sockets on 127.0.0.1: framing, order, keep-alive, bodies. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import type { Socket } from "node:net";
import { FakeClock } from "../../../src/core/clock.js";
import { createH1Server, type H1Server, type H1ServerEvent, type H1ServerOptions } from "../../../src/http/h1/server.js";
import type { ExchangeRecord } from "../../../src/http/h1/connection.js";
import type { HttpHandler, HttpResponse } from "../../../src/http/h1/types.js";
import { getField } from "../../../src/http/header-list.js";
import { RawClient, eventually, field } from "./raw.js";

async function withServer(handler: HttpHandler, fn: (srv: H1Server, port: number) => Promise<void>, opts: Partial<H1ServerOptions> = {}): Promise<void> {
  const srv = createH1Server({ clock: new FakeClock(), ...opts, handler });
  const port = await srv.listen(0);
  try {
    await fn(srv, port);
  } finally {
    await srv.close();
  }
}

const hello: HttpHandler = (req) => ({ status: 200, headers: [["Content-Type", "text/plain"]], body: `hello ${req.target}\n` });

async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test("a simple GET gets 200 with Content-Length and Date, and the connection stays open", async () => {
  await withServer(hello, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    const [r] = await c.responses(1);
    assert.equal(r?.status, 200);
    assert.equal(r?.body.toString(), "hello /a\n");
    assert.equal(field(r!, "content-length"), "9");
    assert.equal(field(r!, "date"), "Thu, 01 Jan 2026 00:00:00 GMT");
    assert.equal(field(r!, "connection"), undefined);
    c.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(2);
    assert.equal(rs[1]?.body.toString(), "hello /b\n");
    assert.equal(c.closed, false);
    c.close();
  });
});

test("HEAD gets the GET's Content-Length and no body, even when the handler gives one", async () => {
  await withServer(hello, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /z HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(2, [0]);
    assert.equal(field(rs[0]!, "content-length"), "9");
    assert.equal(rs[0]?.body.length, 0);
    assert.equal(rs[1]?.body.toString(), "hello /z\n");
    c.close();
  });
});

test("304 and 204 carry no body and no added Content-Length; a given stream is destroyed", async () => {
  const streams: Readable[] = [];
  const handler: HttpHandler = (req) => {
    const s = Readable.from([Buffer.from("should not appear")]);
    streams.push(s);
    return { status: req.target === "/304" ? 304 : 204, headers: [], body: s };
  };
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("GET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(2);
    assert.deepEqual(
      rs.map((r) => [r.status, field(r, "content-length"), field(r, "transfer-encoding")]),
      [
        [304, undefined, undefined],
        [204, undefined, undefined],
      ],
    );
    await eventually(() => streams.every((s) => s.destroyed));
    assert.ok(!c.data.toString().includes("should not appear"));
    c.close();
  });
});

test("three pipelined requests are answered in order even when the first handler is slowest", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const started: string[] = [];
  const handler: HttpHandler = async (req) => {
    started.push(req.target);
    if (req.target === "/1") await gate;
    return { status: 200, headers: [], body: `r${req.target}` };
  };
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
    await eventually(() => started.length === 3);
    assert.equal(c.data.length, 0, "nothing written before the first response");
    release();
    const rs = await c.responses(3);
    assert.deepEqual(
      rs.map((r) => r.body.toString()),
      ["r/1", "r/2", "r/3"],
    );
    c.close();
  });
});

test("a client that half-closes after pipelining gets every answer owed, the last with Connection: close", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let started = 0;
  const handler: HttpHandler = async (req) => {
    started++;
    await gate;
    return { status: 200, headers: [], body: `r${req.target}` };
  };
  await withServer(handler, async (srv, port) => {
    // Registered after the engine's own listener: it fires once the engine has seen the FIN.
    const finSeen = new Promise<void>((r) => srv.server.once("connection", (s: Socket) => s.once("end", () => r())));
    const c = new RawClient(port);
    c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
    await eventually(() => started === 3);
    c.socket.end();
    await finSeen;
    release();
    await c.closedP;
    const rs = await c.responses(3);
    assert.deepEqual(
      rs.map((r) => r.body.toString()),
      ["r/1", "r/2", "r/3"],
    );
    assert.deepEqual(
      rs.map((r) => field(r, "connection")),
      [undefined, undefined, "close"],
    );
  });
});

test("responses returned synchronously to pipelined requests go out together, in order, after every request was read", async () => {
  const seen: string[] = [];
  const handler: HttpHandler = (req) => {
    seen.push(req.target);
    return { status: 200, headers: [], body: `r${req.target}` };
  };
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(3);
    assert.deepEqual(seen, ["/1", "/2", "/3"]);
    assert.deepEqual(
      rs.map((r) => r.body.toString()),
      ["r/1", "r/2", "r/3"],
    );
    assert.ok(rs.every((r) => field(r, "connection") === undefined), "the connection stays open");
    c.close();
  });
});

test("HTTP/1.0 closes after the response unless it asked for keep-alive", async () => {
  await withServer(hello, async (_srv, port) => {
    const a = new RawClient(port);
    a.send("GET /a HTTP/1.0\r\n\r\n");
    await a.closedP;
    const [r] = await a.responses(1);
    assert.equal(r?.status, 200);
    assert.match(a.data.toString(), /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(field(r!, "connection"), "close");

    const b = new RawClient(port);
    b.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const [r2] = await b.responses(1);
    assert.equal(field(r2!, "connection"), "keep-alive");
    b.send("GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const rs = await b.responses(2);
    assert.equal(rs[1]?.body.toString(), "hello /c\n");
    assert.equal(b.closed, false);
    b.close();
  });
});

test("a stream of unknown length is chunked on 1.1 and close-delimited on 1.0", async () => {
  const handler: HttpHandler = () => ({ status: 200, headers: [], body: Readable.from([Buffer.from("ab"), Buffer.from("cde")]) });
  await withServer(handler, async (_srv, port) => {
    const a = new RawClient(port);
    a.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const [r] = await a.responses(1);
    assert.equal(field(r!, "transfer-encoding"), "chunked");
    assert.equal(r?.body.toString(), "abcde");
    a.close();
    const b = new RawClient(port);
    b.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    await b.closedP;
    const [r2] = await b.responses(1);
    assert.equal(field(r2!, "connection"), "close");
    assert.equal(r2?.body.toString(), "abcde");
  });
});

test("response.close and a handler's Connection: close end the connection after the response", async () => {
  const handler: HttpHandler = (req) => ({ status: 200, headers: req.target === "/h" ? [["Connection", "close"]] : [], body: "x", close: req.target === "/c" });
  await withServer(handler, async (_srv, port) => {
    for (const path of ["/c", "/h"]) {
      const c = new RawClient(port);
      c.send(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n`);
      await c.closedP;
      const rs = await c.responses(1);
      assert.equal(rs.length, 1);
      assert.equal(field(rs[0]!, "connection"), "close");
    }
  });
});

test("request bodies (Content-Length and chunked, with trailers) are streamed to the handler", async () => {
  const seen: string[] = [];
  const handler: HttpHandler = async (req) => {
    const body = await readAll(req.body);
    seen.push(`${body.toString()}|${getField(req.trailers, "x-sum") ?? ""}`);
    return { status: 200, headers: [], body: `got ${body.length}` };
  };
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel");
    await new Promise((r) => setTimeout(r, 5));
    c.send("loPOST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 9\r\n\r\n");
    const rs = await c.responses(2);
    assert.deepEqual(
      rs.map((r) => r.body.toString()),
      ["got 5", "got 5"],
    );
    assert.deepEqual(seen, ["hello|", "abcde|9"]);
    c.close();
  });
});

test("a large request body is read with backpressure: the socket pauses until the handler reads", async () => {
  let body!: Readable;
  let got = 0;
  const handler: HttpHandler = async (req) => {
    body = req.body;
    await new Promise((r) => setTimeout(r, 20)); // not reading yet: bytes must not pile up unbounded
    for await (const c of req.body) got += (c as Buffer).length;
    return { status: 200, headers: [], body: String(got) };
  };
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    const total = 8 * 1024 * 1024;
    c.send(`PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = async (): Promise<void> => {
      while (sent < total) {
        sent += chunk.length;
        if (!c.socket.write(chunk)) await new Promise((r) => c.socket.once("drain", r));
      }
    };
    const p = pump();
    await eventually(() => body !== undefined);
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(body.readableLength <= 256 * 1024, `buffered ${body.readableLength}`);
    await p;
    const [r] = await c.responses(1);
    assert.equal(r?.body.toString(), String(total));
    c.close();
  });
});

test("100-continue is sent when the handler starts reading the body, not before", async () => {
  let readNow!: () => void;
  const gate = new Promise<void>((r) => (readNow = r));
  const handler: HttpHandler = async (req) => {
    await gate;
    const b = await readAll(req.body);
    return { status: 201, headers: [], body: b };
  };
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.data.length, 0);
    readNow();
    await c.until(() => c.data.includes("100 Continue"));
    assert.equal(c.data.toString(), "HTTP/1.1 100 Continue\r\n\r\n");
    c.send("ping");
    const rs = await c.responses(2);
    assert.equal(rs[0]?.status, 100);
    assert.equal(rs[1]?.status, 201);
    assert.equal(rs[1]?.body.toString(), "ping");
    c.close();
  });
});

test("a final answer without reading an Expect: 100-continue body closes the connection (no 100 sent)", async () => {
  await withServer(
    () => ({ status: 413, headers: [], body: "too big" }),
    async (_srv, port) => {
      const c = new RawClient(port);
      c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
      await c.closedP;
      const rs = await c.responses(1);
      assert.equal(rs.length, 1);
      assert.equal(rs[0]?.status, 413);
      assert.equal(field(rs[0]!, "connection"), "close");
      assert.ok(!c.data.includes("100 Continue"));
    },
  );
});

test("a body the handler ignores is drained (small) or the connection closed (large), never mis-framed", async () => {
  await withServer(hello, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(2);
    assert.deepEqual(
      rs.map((r) => r.body.toString()),
      ["hello /a\n", "hello /b\n"],
    );
    c.close();
    const big = new RawClient(port);
    big.send(`POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n` + "x".repeat(1000));
    const [r] = await big.responses(1);
    assert.equal(r?.body.toString(), "hello /big\n");
    await big.closedP;
  });
});

test("a handler that throws or rejects gets 500 and one handler-error event; the next request is served", async () => {
  const handler: HttpHandler = async (req) => {
    if (req.target === "/throw") throw new Error("boom");
    if (req.target === "/bad") return { status: 200, headers: [["X", "a\r\nInjected: 1"]], body: "" };
    if (req.target === "/none") return undefined as unknown as HttpResponse;
    return { status: 200, headers: [], body: "ok" };
  };
  const errors: unknown[] = [];
  await withServer(handler, async (srv, port) => {
    srv.on("event", (e) => e.kind === "handler-error" && void errors.push(e.error));
    const c = new RawClient(port);
    c.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /bad HTTP/1.1\r\nHost: x\r\n\r\nGET /none HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(4);
    assert.deepEqual(
      rs.map((r) => r.status),
      [500, 500, 500, 200],
    );
    assert.ok(!c.data.includes("Injected"));
    assert.equal(errors.length, 3);
    assert.equal(srv.totals().handlerErrors, 3);
    c.close();
  });
});

test("the engine's one 'event' tells exchanges, its own error answers and handler errors apart by kind", async () => {
  const handler: HttpHandler = (req) => {
    if (req.target === "/throw") throw new Error("boom");
    return { status: 200, headers: [], body: "ok" };
  };
  const events: H1ServerEvent[] = [];
  await withServer(handler, async (srv, port) => {
    srv.on("event", (e) => void events.push(e));
    const c = new RawClient(port);
    c.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.deepEqual((await c.responses(2)).map((r) => r.status), [200, 500]);
    c.close();
    const bad = new RawClient(port);
    bad.send("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    assert.equal((await bad.responses(1))[0]?.status, 400);
    bad.close();
    await eventually(() => events.some((e) => e.kind === "error-response"));
  });
  const handlerError = events.find((e) => e.kind === "handler-error");
  assert.ok(handlerError?.kind === "handler-error" && handlerError.target === "/throw" && handlerError.error instanceof Error);
  const exchange = events.find((e) => e.kind === "exchange");
  assert.ok(exchange?.kind === "exchange" && exchange.record.target === "/ok" && exchange.record.status === 200);
  const refused = events.find((e) => e.kind === "error-response");
  assert.ok(refused?.kind === "error-response" && refused.record.status === 400);
  assert.deepEqual([...new Set(events.map((e) => e.kind))].sort(), ["error-response", "exchange", "handler-error"]);
});

test("each exchange is recorded once with status, bytes and address", async () => {
  const records: ExchangeRecord[] = [];
  await withServer(hello, async (srv, port) => {
    srv.on("event", (e) => e.kind === "exchange" && void records.push(e.record));
    const c = new RawClient(port);
    c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.responses(1);
    await eventually(() => records.length === 1);
    assert.equal(records[0]?.status, 200);
    assert.equal(records[0]?.bytes, 9);
    assert.equal(records[0]?.remoteAddress, "127.0.0.1");
    assert.equal(records[0]?.aborted, false);
    assert.equal(srv.totals().exchanges, 1);
    c.close();
  });
});

test("a Content-Length the handler declares is exactly what is sent: longer bodies are cut and the connection closed", async () => {
  const handler: HttpHandler = (req): HttpResponse =>
    req.target === "/long"
      ? { status: 200, headers: [["Content-Length", "3"]], body: "abcdef" }
      : { status: 200, headers: [["Content-Length", "4"]], body: Readable.from([Buffer.from("abcdefgh")]) };
  await withServer(handler, async (_srv, port) => {
    for (const path of ["/long", "/stream"]) {
      const c = new RawClient(port);
      c.send(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await c.closedP;
      const head = c.data.indexOf("\r\n\r\n");
      assert.equal(c.data.subarray(head + 4).toString(), path === "/long" ? "abc" : "abcd");
    }
  });
});

test("takeover hands over the socket and the bytes already read past the head", async () => {
  const handler: HttpHandler = (req, control) => {
    if (req.method === "CONNECT") {
      const { socket, head } = control.takeover();
      socket.write(`tunnel:${head.toString()}|`);
      socket.on("data", (d: Buffer) => socket.write(d));
      socket.on("end", () => socket.end()); // the engine's sockets are half-open capable
      socket.resume();
    }
    return { status: 200, headers: [] };
  };
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nearly");
    await c.until(() => c.data.includes("|"));
    c.send("more");
    await c.until(() => c.data.toString().endsWith("more"));
    assert.equal(c.data.toString(), "tunnel:early|more");
    c.close();
  });
});

test("the engine passes an absolute-form target as sent", async () => {
  await withServer(hello, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n");
    const [r] = await c.responses(1);
    assert.equal(r?.body.toString(), "hello http://example.com/x?y\n");
    c.close();
  });
});

test("close() ends idle keep-alive connections at once and lets an in-flight response finish", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let slowStarted = false;
  const handler: HttpHandler = async (req) => {
    if (req.target === "/slow") {
      slowStarted = true;
      await gate;
    }
    return { status: 200, headers: [], body: "done" };
  };
  const srv = createH1Server({ handler, clock: new FakeClock() });
  const port = await srv.listen(0);
  const idle = new RawClient(port);
  idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  await idle.responses(1);
  const busy = new RawClient(port);
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  await eventually(() => srv.totals().connections === 2 && slowStarted);
  let closed = false;
  const closing = srv.close().then(() => (closed = true));
  await idle.closedP;
  assert.equal(closed, false);
  release();
  const [r] = await busy.responses(1);
  assert.equal(r?.body.toString(), "done");
  assert.equal(field(r!, "connection"), "close");
  await closing;
  await busy.closedP;
});

test("the client vanishing during a stalled stream body destroys the stream and aborts the signal", async () => {
  let stream!: Readable;
  let signal!: AbortSignal;
  const handler: HttpHandler = (req) => {
    signal = req.signal;
    stream = new Readable({ read() {} });
    stream.push("first chunk");
    return { status: 200, headers: [], body: stream };
  };
  const records: ExchangeRecord[] = [];
  await withServer(handler, async (srv, port) => {
    srv.on("event", (e) => e.kind === "exchange" && void records.push(e.record));
    const c = new RawClient(port);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until(() => c.data.includes("first chunk"));
    c.close();
    await eventually(() => records.length === 1);
    assert.equal(records[0]?.aborted, true);
    assert.equal(stream.destroyed, true);
    assert.equal(signal.aborted, true);
  });
});

test("onAbort callbacks run when the client vanishes mid-response, and at once for an exchange already aborted", async () => {
  const calls: string[] = [];
  let request!: Parameters<HttpHandler>[0];
  const handler: HttpHandler = (req) => {
    request = req;
    req.onAbort?.(() => calls.push("first"));
    req.onAbort?.(() => calls.push("second"));
    const stream = new Readable({ read() {} });
    stream.push("first chunk");
    return { status: 200, headers: [], body: stream };
  };
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until(() => c.data.includes("first chunk"));
    assert.equal(calls.length, 0);
    c.close();
    await eventually(() => calls.length === 2);
    assert.equal(calls.join(), "first,second");
    assert.equal(request.signal.aborted, true);
    request.onAbort?.(() => calls.push("late"));
    await eventually(() => calls.length === 3);
    assert.equal(calls.join(), "first,second,late");
  });
});

test("Connection: close from the client is answered with Connection: close and the connection ends", async () => {
  await withServer(hello, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.closedP;
    const rs = await c.responses(2);
    assert.equal(rs.length, 1);
    assert.equal(field(rs[0]!, "connection"), "close");
  });
});

test("a request head trickling in byte by byte is parsed once complete", async () => {
  await withServer(hello, async (_srv, port) => {
    const c = new RawClient(port);
    for (const ch of "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n") {
      c.send(ch);
      await new Promise((r) => setImmediate(r));
    }
    const [r] = await c.responses(1);
    assert.equal(r?.body.toString(), "hello /slow\n");
    c.close();
  });
});

test("sendInterim writes a 103 before the final response, in order", async () => {
  const handler: HttpHandler = (_req, control) => {
    control.sendInterim(103, [["Link", "</s.css>; rel=preload"]]);
    return { status: 200, headers: [], body: "ok" };
  };
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(2);
    assert.equal(rs[0]?.status, 103);
    assert.equal(field(rs[0]!, "link"), "</s.css>; rel=preload");
    assert.equal(rs[1]?.body.toString(), "ok");
    c.close();
  });
});

test("a handler may stream the request body back as the response (echo), with 100-continue", async () => {
  const handler: HttpHandler = (req) => ({ status: 200, headers: [], body: req.body });
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
    await c.until(() => c.data.includes("100 Continue"));
    c.send("5\r\nhello\r\n");
    await c.until(() => c.data.includes("hello"));
    c.send("6\r\n world\r\n0\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(2);
    assert.equal(rs[0]?.status, 100);
    assert.equal(rs[1]?.body.toString(), "hello world");
    c.close();
  });
});

test("reading pauses when maxPipelined requests wait for their responses, and resumes as they go out", async () => {
  const started: string[] = [];
  const gates: Array<() => void> = [];
  const handler: HttpHandler = async (req) => {
    started.push(req.target);
    await new Promise<void>((r) => gates.push(r));
    return { status: 200, headers: [], body: req.target };
  };
  await withServer(
    handler,
    async (_srv, port) => {
      const c = new RawClient(port);
      c.send([1, 2, 3, 4, 5].map((i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join(""));
      await eventually(() => started.length === 2);
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(started.length, 2, "no third handler while two responses are owed");
      while (gates.length > 0 || started.length < 5) {
        await eventually(() => gates.length > 0);
        gates.shift()?.();
      }
      const rs = await c.responses(5);
      assert.deepEqual(
        rs.map((r) => r.body.toString()),
        ["/1", "/2", "/3", "/4", "/5"],
      );
      c.close();
    },
    { maxPipelined: 2 },
  );
});

test("an ignored chunked body larger than the drain limit closes the connection after the response", async () => {
  await withServer(
    hello,
    async (_srv, port) => {
      const c = new RawClient(port);
      c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
      const [r] = await c.responses(1);
      assert.equal(r?.body.toString(), "hello /\n");
      const chunk = `1000\r\n${"z".repeat(0x1000)}\r\n`;
      for (let i = 0; i < 8 && !c.closed; i++) c.send(chunk);
      await c.closedP;
      assert.equal((await c.responses(2)).length, 1);
    },
    { drainLimit: 16 * 1024 },
  );
});

test("control.sendInterim(100) sends 100 Continue once; reading the body afterwards sends no second one", async () => {
  const handler: HttpHandler = async (req, control) => {
    control.sendInterim(100);
    const b = await readAll(req.body);
    return { status: 200, headers: [], body: b };
  };
  await withServer(handler, async (_srv, port) => {
    const c = new RawClient(port);
    c.send("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    await c.until(() => c.data.includes("100 Continue"));
    c.send("ok");
    const rs = await c.responses(2);
    assert.deepEqual(
      rs.map((r) => r.status),
      [100, 200],
    );
    assert.equal(c.data.toString().split("100 Continue").length, 2);
    c.close();
  });
});

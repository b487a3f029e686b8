/** FileBody: exactly `length` bytes whatever the file does meanwhile, and fds closed on every path. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, fstatSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock } from "../../../src/core/clock.js";
import { createH1Server } from "../../../src/http/h1/server.js";
import type { ExchangeRecord } from "../../../src/http/h1/connection.js";
import type { HttpHandler } from "../../../src/http/h1/types.js";
import { RawClient, eventually, field } from "./raw.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "wirekit-h1-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function makeFile(name: string, size: number): string {
  const p = join(dir, name);
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = i % 251;
  writeFileSync(p, b);
  return p;
}

function isClosed(fd: number): boolean {
  try {
    fstatSync(fd);
    return false;
  } catch {
    return true;
  }
}

test("a file range is sent exactly, with Content-Length, and the fd is closed", async () => {
  const path = makeFile("range", 300_000);
  const fds: number[] = [];
  const handler: HttpHandler = () => {
    const fd = openSync(path, "r");
    fds.push(fd);
    return { status: 200, headers: [], body: { kind: "file", fd, start: 1000, length: 200_000 } };
  };
  const srv = createH1Server({ handler, clock: new FakeClock() });
  const port = await srv.listen(0);
  try {
    const c = new RawClient(port);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(2);
    for (const r of rs) {
      assert.equal(field(r, "content-length"), "200000");
      assert.equal(r.body.length, 200_000);
      assert.equal(r.body[0], 1000 % 251);
      assert.equal(r.body[199_999], 200_999 % 251);
    }
    await eventually(() => fds.every(isClosed));
    assert.equal(c.closed, false);
    c.close();
  } finally {
    await srv.close();
  }
});

test("a file that grows while sent yields exactly the announced length; the connection stays usable", async () => {
  const path = makeFile("grows", 500_000);
  const handler: HttpHandler = (req) => {
    if (req.target === "/next") return { status: 200, headers: [], body: "next" };
    const fd = openSync(path, "r");
    const length = fstatSync(fd).size;
    appendFileSync(path, Buffer.alloc(300_000, 0x7a));
    return { status: 200, headers: [], body: { kind: "file", fd, start: 0, length } };
  };
  const srv = createH1Server({ handler, clock: new FakeClock() });
  const port = await srv.listen(0);
  try {
    const c = new RawClient(port);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(2);
    assert.equal(rs[0]?.body.length, 500_000);
    assert.equal(rs[0]?.body[499_999], 499_999 % 251, "the appended bytes were not sent");
    assert.equal(rs[1]?.body.toString(), "next");
    c.close();
  } finally {
    await srv.close();
  }
});

test("a file that shrinks while sent ends the response short and closes the connection (never mis-framed)", async () => {
  const path = makeFile("shrinks", 500_000);
  const records: ExchangeRecord[] = [];
  const handler: HttpHandler = () => {
    const fd = openSync(path, "r+");
    const length = fstatSync(fd).size;
    ftruncateSync(fd, 100_000);
    return { status: 200, headers: [], body: { kind: "file", fd, start: 0, length } };
  };
  const srv = createH1Server({ handler, clock: new FakeClock() });
  srv.on("event", (e) => e.kind === "exchange" && void records.push(e.record));
  const port = await srv.listen(0);
  try {
    const c = new RawClient(port);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.closedP;
    const head = c.data.indexOf("\r\n\r\n");
    assert.match(c.data.subarray(0, head).toString(), /Content-Length: 500000/);
    assert.equal(c.data.length - head - 4, 100_000);
    await eventually(() => records.length >= 1);
    assert.equal(records[0]?.aborted, true, JSON.stringify(records[0]));
    assert.equal(records[0]?.bytes, 100_000);
  } finally {
    await srv.close();
  }
});

test("the client vanishing mid-response aborts the signal and closes the file", async () => {
  // Larger than loopback's socket buffers can hold, and the client stops reading: sendfile(2)
  // would otherwise finish the whole file before the client goes.
  const size = 64 * 1024 * 1024;
  const path = makeFile("big", size);
  let fd = -1;
  let signal!: AbortSignal;
  const records: ExchangeRecord[] = [];
  const handler: HttpHandler = (req) => {
    signal = req.signal;
    fd = openSync(path, "r");
    return { status: 200, headers: [], body: { kind: "file", fd, start: 0, length: size } };
  };
  const srv = createH1Server({ handler, clock: new FakeClock() });
  srv.on("event", (e) => e.kind === "exchange" && void records.push(e.record));
  const port = await srv.listen(0);
  try {
    const c = new RawClient(port);
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until(() => c.data.length > 100_000);
    c.socket.pause();
    await new Promise((r) => setTimeout(r, 50));
    c.socket.resetAndDestroy();
    await eventually(() => records.length === 1);
    assert.equal(records[0]?.aborted, true, JSON.stringify(records[0]));
    assert.ok(records[0]!.bytes < size);
    assert.equal(signal.aborted, true);
    await eventually(() => isClosed(fd));
  } finally {
    await srv.close();
  }
});

test("a file body on a HEAD request or a 304 is closed unsent", async () => {
  const path = makeFile("head", 1000);
  const fds: number[] = [];
  const handler: HttpHandler = (req) => {
    const fd = openSync(path, "r");
    fds.push(fd);
    return { status: req.target === "/304" ? 304 : 200, headers: [], body: { kind: "file", fd, start: 0, length: 1000 } };
  };
  const srv = createH1Server({ handler, clock: new FakeClock() });
  const port = await srv.listen(0);
  try {
    const c = new RawClient(port);
    c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /end HTTP/1.1\r\nHost: x\r\n\r\n");
    const rs = await c.responses(3, [0]);
    assert.equal(field(rs[0]!, "content-length"), "1000");
    assert.equal(rs[1]?.status, 304);
    assert.equal(rs[2]?.body.length, 1000);
    await eventually(() => fds.every(isClosed));
    c.close();
  } finally {
    await srv.close();
  }
});

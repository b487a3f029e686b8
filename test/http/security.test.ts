/** Security regressions of `wirekit http serve`, each named after the attack it covers. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
import { createStaticServer } from "../../src/http/static/server.js";
import { makeSite, type Site } from "./site.js";

let site: Site;
before(() => {
  site = makeSite();
});
after(() => site.cleanup());

const INJECTED = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Injected: yes\r\n\r\nEVIL!";

test("response splitting: a file that grows while it is sent stops at its Content-Length on a kept-alive connection", async () => {
  const size = 4 * 1024 * 1024;
  const file = join(site.root, "growing.bin");
  writeFileSync(file, Buffer.alloc(size, 0x61));
  const srv = await createStaticServer({ root: site.root, port: 0 });
  try {
    const sock = connect({ host: "127.0.0.1", port: srv.port });
    sock.on("error", () => undefined);
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    const chunks: Buffer[] = [];
    sock.pause(); // do not read: the first response stalls part-way, then the file grows
    sock.write("GET /growing.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(file, INJECTED);
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.resume();
    const text = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("responses never arrived")), 60_000);
      const check = (): void => {
        const all = Buffer.concat(chunks).toString("latin1");
        if (all.endsWith("hello, world\n") || all.includes("EVIL!")) {
          clearTimeout(timer);
          resolve(all);
        }
      };
      sock.on("data", check);
      sock.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    });
    sock.destroy();
    assert.ok(!text.includes("X-Injected"), "no bytes past Content-Length reached the client");
    const heads = text.match(/HTTP\/1\.1 200 OK\r\n/g) ?? [];
    assert.equal(heads.length, 2, "exactly two responses");
    assert.ok(text.endsWith("hello, world\n"), "the second response is the one asked for");
  } finally {
    await srv.close();
  }
});

test("mis-framing: a file that shrinks while it is sent closes the connection instead of running into the next response", async () => {
  const size = 32 * 1024 * 1024;
  const file = join(site.root, "shrinking.bin");
  writeFileSync(file, Buffer.alloc(size, 0x65));
  const srv = await createStaticServer({ root: site.root, port: 0 });
  try {
    const sock = connect({ host: "127.0.0.1", port: srv.port });
    sock.on("error", () => undefined);
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    const chunks: Buffer[] = [];
    sock.pause(); // the first response stalls part-way, then the file loses most of its bytes
    sock.write("GET /shrinking.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => setTimeout(r, 300));
    truncateSync(file, 1024 * 1024);
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.resume();
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 30_000);
      sock.on("close", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    sock.destroy();
    const all = Buffer.concat(chunks);
    const headEnd = all.indexOf("\r\n\r\n");
    const head = all.subarray(0, headEnd).toString("latin1");
    assert.match(head, new RegExp(`^HTTP/1\\.1 200 OK\r\n[^]*Content-Length: ${size}\r?$`, "im"));
    assert.ok(closed, "the server closed the connection");
    const body = all.subarray(headEnd + 4);
    assert.ok(body.length < size, `the body is short of its Content-Length (${body.length})`);
    assert.ok(!body.includes("HTTP/1.1 200 OK"), "no second response was written into the short body");
    assert.ok(!body.includes("hello, world"), "the pipelined request was not answered on the mis-framed connection");
  } finally {
    await srv.close();
  }
});

test("a client that never reads a large file is cut off after the send timeout", async () => {
  const file = join(site.root, "huge.bin");
  writeFileSync(file, Buffer.alloc(32 * 1024 * 1024, 0x62));
  const srv = await createStaticServer({ root: site.root, port: 0, sendTimeoutMs: 300 });
  try {
    // The server's end of the connection: the client stays paused until the server has closed it.
    const serverSide = new Promise<void>((resolve) => srv.server?.once("connection", (s) => s.once("close", () => resolve())));
    const sock = connect({ host: "127.0.0.1", port: srv.port });
    sock.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    sock.pause();
    sock.write("GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("timeout"), 20_000)));
    void serverSide.then(() => sock.resume()); // drain what the kernel buffered, then see the close
    const r = await Promise.race([closed.then(() => "closed"), timedOut]);
    clearTimeout(timer);
    sock.destroy();
    assert.equal(r, "closed", "the server closed the stalled connection");
  } finally {
    await srv.close();
  }
});

test("a client that reads slowly but steadily is not cut off by the send timeout", async () => {
  const size = 8 * 1024 * 1024;
  writeFileSync(join(site.root, "steady.bin"), Buffer.alloc(size, 0x63));
  const srv = await createStaticServer({ root: site.root, port: 0, sendTimeoutMs: 300 });
  try {
    const sock = connect({ host: "127.0.0.1", port: srv.port });
    sock.on("error", () => undefined);
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    let got = 0;
    sock.on("data", (c: Buffer) => (got += c.length));
    // Read in short bursts with pauses shorter than the timeout.
    const tick = setInterval(() => (sock.isPaused() ? sock.resume() : sock.pause()), 100);
    sock.write("GET /steady.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    const done = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 60_000);
      sock.on("data", () => got > size && (clearTimeout(t), resolve(true)));
      sock.on("close", () => (clearTimeout(t), resolve(got > size)));
    });
    clearInterval(tick);
    sock.destroy();
    assert.ok(done, `the whole body arrived (${got} bytes)`);
  } finally {
    await srv.close();
  }
});

test("the access log names the client of a connection it aborted right after its request", async () => {
  writeFileSync(join(site.root, "abort.bin"), Buffer.alloc(16 * 1024 * 1024, 0x64));
  const srv = await createStaticServer({ root: site.root, port: 0 });
  try {
    const record = new Promise<{ client: string; path: string }>((resolve) => srv.on("event", (e) => e.kind === "request" && e.record.path === "/abort.bin" && resolve(e.record)));
    const sock = connect({ host: "127.0.0.1", port: srv.port });
    sock.on("error", () => undefined);
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    sock.write("GET /abort.bin HTTP/1.1\r\nHost: x\r\n\r\n", () => sock.destroy());
    const r = await record;
    assert.equal(r.client, "127.0.0.1");
  } finally {
    await srv.close();
  }
});

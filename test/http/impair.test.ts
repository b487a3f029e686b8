/** `--delay` and `--rate` on the TCP servers: http serve (a handler wrapper) and the lab's mail sink. */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { FakeClock, systemClock } from "../../src/core/clock.js";
import { TokenBucket } from "../../src/core/impair.js";
import { isWirekitError } from "../../src/core/errors.js";
import { impairHttp } from "../../src/http/impair.js";
import type { ExchangeControl, HttpRequest, HttpResponse } from "../../src/http/h1/types.js";
import { getField } from "../../src/http/header-list.js";
import { createStaticServer } from "../../src/http/static/server.js";
import { createMailSink } from "../../src/lab/mail/sink.js";
import { startLab } from "../../src/lab/lab.js";
import { runCliCapture } from "../helpers/cli.js";
import { eventually } from "./h1/raw.js";

const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

const control: ExchangeControl = {
  sendInterim() {},
  takeover() {
    throw new Error("no socket");
  },
};

function request(signal = new AbortController().signal, method = "GET"): HttpRequest {
  return {
    method, target: "/x", version: "1.1", headers: [], body: Readable.from([]), trailers: [], remoteAddress: "127.0.0.1", remotePort: 1,
    localAddress: "127.0.0.1", localPort: 2, secure: false, signal, receivedAt: 0,
  };
}

/** Let promise callbacks run (fake time does not move by itself). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test("TokenBucket: a full bucket passes its depth at once, then bytes wait rate-long", () => {
  const b = new TokenBucket(1000, 1500);
  assert.equal(b.take(1500, 0), 0);
  assert.equal(b.take(500, 0), 500);
  assert.equal(b.take(500, 1000), 0, "a second refilled 1000 tokens, 500 of them owed");
  assert.equal(b.take(2000, 1000, 1000), undefined, "over the limit: nothing taken");
  assert.equal(b.take(500, 1000), 500, "the refused take left the balance at 0");
  assert.throws(() => new TokenBucket(0), RangeError);
});

test("--delay holds each response back on the injected clock; an aborted request stops waiting", async () => {
  const clock = new FakeClock();
  const { handler, counts } = impairHttp(() => ({ status: 200, headers: [], body: "hi" }), { delayMs: 250 }, clock);
  let done = undefined as HttpResponse | undefined;
  void Promise.resolve(handler(request(), control)).then((r) => (done = r));
  await settle();
  clock.advance(249);
  await settle();
  assert.equal(done, undefined, "not before 250 ms");
  clock.advance(1);
  await settle();
  assert.equal((done as HttpResponse | undefined)?.status, 200);
  assert.equal(counts().delayed, 1);
  const ac = new AbortController();
  const p = Promise.resolve(handler(request(ac.signal), control));
  await settle();
  ac.abort();
  assert.equal((await p).status, 200, "answered at once: the engine drops it for the gone client");
});

test("--rate paces the body in slices on the injected clock, keeps the bytes and announces their length", async () => {
  const clock = new FakeClock();
  const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
  const { handler, counts } = impairHttp(() => ({ status: 200, headers: [["Content-Type", "application/octet-stream"]], body: data }), { rateBytesPerSec: 2000 }, clock);
  const res = await handler(request(), control);
  assert.equal(getField(res.headers, "content-length"), "10000");
  const got: Buffer[] = [];
  const stamps: number[] = [];
  const reading = (async () => {
    for await (const c of res.body as AsyncIterable<Uint8Array>) {
      got.push(Buffer.from(c));
      stamps.push(clock.monotonic());
    }
  })();
  for (let i = 0; i < 200 && got.reduce((n, c) => n + c.length, 0) < data.length; i++) {
    await settle();
    clock.advance(50);
  }
  await reading;
  assert.deepEqual(Buffer.concat(got), data);
  assert.ok(got.every((c) => c.length <= 1500), "slices of at most the bucket's depth");
  // 10,000 bytes at 2,000 bytes/s with 1,500 to start: the last slice leaves after 4.25 s.
  assert.ok((stamps.at(-1) ?? 0) >= 4250, `last slice at ${stamps.at(-1)} ms`);
  assert.equal(counts().rateDelayed, 1);
  // HEAD and 304 carry no body: nothing to pace.
  const head = await impairHttp(() => ({ status: 304, headers: [] }), { rateBytesPerSec: 10 }, clock).handler(request(), control);
  assert.equal(head.body, undefined);
});

test("a paced file body the client never reads is closed when the request is aborted", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wk-impair-"));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "f.bin"), Buffer.alloc(4096, 1));
  const fd = openSync(join(dir, "f.bin"), "r");
  const ac = new AbortController();
  const { handler } = impairHttp(() => ({ status: 200, headers: [], body: { kind: "file", fd, start: 0, length: 4096 } }), { rateBytesPerSec: 1000 }, new FakeClock());
  const res = await handler(request(ac.signal), control);
  assert.ok(res.body !== undefined);
  ac.abort();
  await eventually(() => {
    try {
      fstatSync(fd);
      return false;
    } catch {
      return true;
    }
  }, "the descriptor closed after the abort");
  assert.throws(() => fstatSync(fd), /EBADF/, "the descriptor was closed");
  try {
    closeSync(fd);
  } catch {
    /* already closed, as asserted */
  }
});

test("http serve --delay --rate over real sockets: the body arrives whole, no sooner than the rate allows", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wk-impair-"));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  const big = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 13) % 256));
  writeFileSync(join(dir, "big.bin"), big);
  const srv = await createStaticServer({ root: dir, port: 0, impair: { delayMs: 100, rateBytesPerSec: 256 * 1024 } });
  closers.push(() => srv.close());
  const t0 = systemClock.monotonic();
  const res = await fetch(`${srv.url}big.bin`);
  const body = Buffer.from(await res.arrayBuffer());
  const took = systemClock.monotonic() - t0;
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-length"), String(big.length));
  assert.deepEqual(body, big);
  // A lower bound only (never a speed assertion): 100 ms of delay plus (64 KiB - 12.8 KiB) / 256 KiB/s.
  assert.ok(took >= 100 + 190, `took ${took} ms`);
});

test("wirekit http serve --delay/--rate: the listening line names them; a bad value is one usage line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wk-impair-"));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  const ac = new AbortController();
  const run = runCliCapture(["http", "serve", dir, "--port", "0", "--delay", "150", "--rate", "64k"], { signal: ac.signal, onStdout: (s) => s.includes("listening") && ac.abort() });
  const out = await run;
  assert.match(out.stdout, /^listening on 127\.0\.0\.1:\d+ \(http, root .*, 1 worker, impair: delay 150ms, rate 64\.0 KiB\/s\)\n/);
  const bad = await runCliCapture(["http", "serve", dir, "--port", "0", "--rate", "fast"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
});

/** A raw SMTP client on a socket: what it has read, and a way to wait for a line, while fake time is moved by the test. */
function smtpClient(port: number): { sock: ReturnType<typeof connect>; text: () => string } {
  const sock = connect(port, "127.0.0.1");
  let got = "";
  sock.setEncoding("utf8").on("data", (d: string) => (got += d));
  return { sock, text: () => got };
}

/** Move fake time in 50 ms steps (letting sockets run between) until `done`; the fake ms it took. */
async function advanceUntil(clock: FakeClock, done: () => boolean, limitMs = 60_000): Promise<number> {
  let moved = 0;
  for (let i = 0; i < 10 && !done(); i++) await new Promise((r) => setTimeout(r, 2));
  while (!done()) {
    assert.ok(moved < limitMs, `still waiting after ${moved} fake ms`);
    clock.advance(50);
    moved += 50;
    await new Promise((r) => setTimeout(r, 2));
  }
  return moved;
}

test("the lab's mail sink with --delay holds its greeting and replies back on its clock", async () => {
  const clock = new FakeClock();
  const sink = await createMailSink({ port: 0, delayMs: 400, clock });
  closers.push(() => sink.close());
  const c = smtpClient(sink.port);
  try {
    const waited = await advanceUntil(clock, () => /^220 /.test(c.text()));
    assert.ok(waited >= 400, `greeting after ${waited} fake ms`);
    c.sock.write("EHLO t\r\nMAIL FROM:<a@x>\r\n");
    const before = c.text().length;
    const waitedMail = await advanceUntil(clock, () => /250 [^\n]*Accepted|250 2\.1\.0/.test(c.text().slice(before)));
    assert.ok(waitedMail >= 400, `MAIL answered after ${waitedMail} fake ms`);
  } finally {
    c.sock.destroy();
  }
});

test("the lab's mail sink with --rate reads message data at the rate, on its clock", async () => {
  const clock = new FakeClock();
  const sink = await createMailSink({ port: 0, rateBytesPerSec: 4096, clock });
  closers.push(() => sink.close());
  const c = smtpClient(sink.port);
  try {
    await advanceUntil(clock, () => /^220 /.test(c.text()));
    c.sock.write("EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
    await advanceUntil(clock, () => /354 /.test(c.text()));
    const body = `Subject: slow\r\n\r\n${"x".repeat(76)}\r\n`.repeat(250); // ~20 KB
    c.sock.write(`${body}.\r\n`);
    const waited = await advanceUntil(clock, () => /queued as/.test(c.text()));
    // 20 KB at 4 KiB/s, 1500 bytes of bucket to start: at least 4 s of the sink's clock.
    assert.ok(waited >= 4000, `message accepted after ${waited} fake ms`);
    assert.equal(sink.totals().messages, 1);
  } finally {
    c.sock.destroy();
  }
});

test("lab --impair: http and mail take delay and rate; a datagram impairment on them, or any on the proxy, is refused", async () => {
  const lab = await startLab({ host: "127.0.0.1", defaultPort: 0, exclude: ["udp-ping", "heartbeat", "udp-echo", "proxy"], impair: { http: { config: { delayMs: 20 } }, mail: { config: { rateBytesPerSec: 8192 } } } });
  closers.push(() => lab.close());
  const http = lab.running().find((s) => s.name === "http")?.running;
  const mail = lab.running().find((s) => s.name === "mail")?.running;
  assert.equal(http?.impairment, "impair: delay 20ms");
  assert.equal(mail?.impairment, "impair: rate 8.0 KiB/s");
  const res = await fetch(`http://127.0.0.1:${http?.port}/`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  await assert.rejects(startLab({ host: "127.0.0.1", defaultPort: 0, impair: { mail: { config: { loss: 0.3 } } } }), (e) => isWirekitError(e, "ERR_USAGE") && /'loss' applies to datagrams/.test(e.message));
  await assert.rejects(startLab({ host: "127.0.0.1", defaultPort: 0, impair: { proxy: { config: { delayMs: 5 } } } }), (e) => isWirekitError(e, "ERR_USAGE"));
});

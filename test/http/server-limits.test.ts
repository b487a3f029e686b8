/** Slowloris, big files with flat memory, and `--workers` (node:cluster) over real sockets. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { closeSync, ftruncateSync, openSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
import { request } from "node:http";
import cluster, { type Worker } from "node:cluster";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { BIN } from "../helpers/cli.js";
import { FakeClock } from "../../src/core/clock.js";
import { createStaticServer, type StaticServer, type StaticServerEvent } from "../../src/http/static/server.js";
import { makeSite, type Site } from "./site.js";

let site: Site;
before(() => {
  site = makeSite();
});
after(() => site.cleanup());

function getStatus(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("a stalled half-request does not delay others and is cut off after the header timeout", async () => {
  // Fake time: the stalled head is cut off when the clock passes its deadline, not after a real second.
  const clock = new FakeClock();
  const srv = await createStaticServer({ root: site.root, port: 0, headersTimeoutMs: 1000, clock });
  try {
    const stalled = connect({ host: "127.0.0.1", port: srv.port });
    let reply = "";
    let closed = false;
    stalled.setEncoding("latin1").on("data", (d: string) => (reply += d));
    const closedP = new Promise<void>((resolve) => stalled.on("close", () => ((closed = true), resolve())));
    stalled.on("error", () => undefined);
    await new Promise<void>((resolve) => stalled.once("connect", () => resolve()));
    stalled.write("GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    const other = await getStatus(srv.port, "/hello.txt");
    assert.equal(other.status, 200);
    assert.equal(other.body, "hello, world\n");
    assert.equal(closed, false, "the stalled client was still connected while the other was served");
    clock.advance(999);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed, false, "still connected just before the header timeout");
    clock.advance(1001);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closedP, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("stalled connection never closed")), 20_000)))]);
    clearTimeout(timer);
    assert.match(reply, /^HTTP\/1\.1 408 /);
  } finally {
    await srv.close();
  }
});

test("an idle keep-alive connection is closed after the keep-alive timeout, once its response is complete", async () => {
  const srv = await createStaticServer({ root: site.root, port: 0, keepAliveTimeoutMs: 300 });
  try {
    const idle = connect({ host: "127.0.0.1", port: srv.port });
    let reply = "";
    idle.setEncoding("latin1").on("data", (d: string) => (reply += d));
    idle.on("error", () => undefined);
    const closedP = new Promise<void>((resolve) => idle.on("close", () => resolve()));
    await new Promise<void>((resolve) => idle.once("connect", () => resolve()));
    idle.write("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"); // HTTP/1.1: keep-alive unless told otherwise
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closedP, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("idle keep-alive connection never closed")), 20_000)))]);
    clearTimeout(timer);
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    // HTTP/1.1 is persistent unless a side says close (RFC 9112 §9.3): no close offered.
    assert.doesNotMatch(reply, /\r\nConnection: close\r\n/i, "the server offered to keep the connection");
    assert.ok(reply.endsWith("\r\n\r\nhello, world\n"), "the whole response arrived before the close");
    const other = await getStatus(srv.port, "/hello.txt");
    assert.equal(other.status, 200, "the server keeps serving new connections");
  } finally {
    await srv.close();
  }
});

test("a 2 GiB sparse file streams with flat memory", async () => {
  const path = join(site.root, "huge.bin");
  const fd = openSync(path, "w");
  ftruncateSync(fd, 2 * 1024 ** 3);
  closeSync(fd);
  const srv = await createStaticServer({ root: site.root, port: 0 });
  try {
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const wanted = 256 * 1024 * 1024;
    const result = await new Promise<{ length: string | undefined; got: number }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: srv.port, path: "/huge.bin", agent: false }, (res) => {
        let got = 0;
        res.on("data", (c: Buffer) => {
          got += c.length;
          if ((got & 0xffffff) < c.length) peak = Math.max(peak, process.memoryUsage().rss);
          if (got >= wanted) {
            res.destroy();
            resolve({ length: res.headers["content-length"], got });
          }
        });
        res.on("error", () => undefined);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(result.length, String(2 * 1024 ** 3));
    assert.ok(result.got >= wanted);
    assert.ok(peak - rss0 < 128 * 1024 * 1024, `rss grew by ${Math.round((peak - rss0) / 1048576)} MiB`);
  } finally {
    await srv.close();
  }
});

test("--workers 2 serves through two cluster workers that are gone after close", async () => {
  const srv: StaticServer = await createStaticServer({ root: site.root, port: 0, workers: 2 });
  const pids = Object.values(cluster.workers ?? {}).map((w) => w?.process.pid);
  // The workers' records come back as the cluster's own "request" events.
  const events: StaticServerEvent[] = [];
  srv.on("event", (e) => void events.push(e));
  try {
    assert.equal(srv.workers, 2);
    assert.equal(pids.length, 2);
    for (let i = 0; i < 4; i++) assert.equal((await getStatus(srv.port, "/hello.txt")).status, 200);
    const deadline = Date.now() + 15_000;
    while (srv.totals().requests < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(srv.totals().requests, 4);
    assert.deepEqual(events.map((e) => (e.kind === "request" ? `${e.kind} ${e.record.path} ${e.record.status}` : e.kind)), Array<string>(4).fill("request /hello.txt 200"));
  } finally {
    await srv.close();
  }
  for (const pid of pids) {
    assert.ok(pid !== undefined);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  }
});

test("a worker asked to stop while it is still starting stops by itself, not by the kill fallback", async () => {
  const srv = await createStaticServer({ root: site.root, port: 0, workers: 2 });
  const victim = Object.values(cluster.workers ?? {})[0];
  assert.ok(victim);
  const victimPid = victim.process.pid;
  const replacement = new Promise<Worker>((resolve) => {
    const on = (w: Worker): void => {
      if (w.process.pid === victimPid) return;
      cluster.off("fork", on);
      resolve(w);
    };
    cluster.on("fork", on);
  });
  victim.process.kill("SIGKILL");
  const w = await replacement;
  // close() as soon as the replacement exists: its shutdown arrives while it is starting.
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => w.once("exit", (code, signal) => resolve({ code, signal })));
  await srv.close();
  assert.deepEqual(await exited, { code: 0, signal: null }, "exit 0 of its own accord, not SIGKILL");
});

test("a worker that dies is replaced and the port keeps serving", async () => {
  const srv = await createStaticServer({ root: site.root, port: 0, workers: 2 });
  try {
    const victim = Object.values(cluster.workers ?? {})[0];
    assert.ok(victim);
    const victimPid = victim.process.pid;
    // The replacement says "listening" once it serves (and would obey a shutdown); wait for that,
    // so close() below does not catch it half-started.
    const replacementListening = new Promise<void>((resolve) => {
      const on = (w: Worker, m: { kind?: string }): void => {
        if (w.process.pid !== victimPid && m.kind === "listening") {
          cluster.off("message", on);
          resolve();
        }
      };
      cluster.on("message", on);
    });
    victim.process.kill("SIGKILL");
    const deadline = Date.now() + 20_000;
    const alive = (): number => Object.values(cluster.workers ?? {}).filter((w) => w !== undefined && !w.isDead() && w.process.pid !== victimPid).length;
    while (alive() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(), 2);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([replacementListening, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the replacement never listened")), 20_000)))]);
    clearTimeout(timer);
    for (let i = 0; i < 3; i++) assert.equal((await getStatus(srv.port, "/hello.txt")).status, 200);
  } finally {
    await srv.close();
  }
});

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test("wirekit http serve --workers 2 logs through the primary and leaves no worker behind on SIGINT", async () => {
  const child = spawn(process.execPath, [BIN, "http", "serve", site.root, "--port", "0", "--workers", "2"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const seen = (re: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(out);
        if (m) {
          child.stdout.off("data", check);
          resolve(m[1] ?? m[0]);
        }
      };
      child.stdout.setEncoding("utf8").on("data", (d: string) => ((out += d), check()));
      child.once("exit", () => reject(new Error(`exited early: ${out}`)));
      check();
    });
  const port = Number(await seen(/listening on 127\.0\.0\.1:(\d+) \(http, root .*, 2 workers\)/));
  const workers = childrenOf(child.pid ?? 0);
  assert.equal(workers.length, 2, "two worker processes under the primary");
  assert.equal((await getStatus(port, "/hello.txt")).status, 200);
  await seen(/"GET \/hello\.txt HTTP\/1\.1" 200 13 /);
  child.kill("SIGINT");
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  assert.equal(code, 0);
  assert.match(out, /\n1 request, 13 bytes sent, 0 client errors, 0 server errors\n$/);
  for (const pid of workers) assert.throws(() => process.kill(pid, 0), /ESRCH/);
});

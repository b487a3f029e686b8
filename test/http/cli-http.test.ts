/** `wirekit http get` and `wirekit http serve` through the CLI, against real sockets. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type Server, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { request } from "node:http";
import { runCliCapture, spawnCli } from "../helpers/cli.js";
import { runCli } from "../../src/cli/main.js";
import type { CliContext } from "../../src/cli/context.js";
import { systemClock } from "../../src/core/clock.js";
import { createStaticServer, type StaticServer } from "../../src/http/static/server.js";
import { makeSite, type Site } from "./site.js";

let site: Site;
let srv: StaticServer;
let scripted: Server; // answers with a fixed raw response, to check byte-exact printing
let proxy: Server; // a tiny forward proxy: absolute-form in, origin-form out
const proxyLog: string[] = [];
const RAW = "HTTP/1.1 200 OK\r\nX-Zeta: 1\r\nx-alpha: two\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
const gz = gzipSync(Buffer.from("decoded body\n"));

function listen(s: Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as { port: number }).port)));
}

before(async () => {
  site = makeSite();
  srv = await createStaticServer({ root: site.root, port: 0 });
  scripted = createServer((sock) => {
    sock.once("data", () => {
      const half = gz.length >> 1;
      sock.write(RAW);
      sock.write(`${half.toString(16)}\r\n`);
      sock.write(Buffer.concat([gz.subarray(0, half), Buffer.from(`\r\n${(gz.length - half).toString(16)}\r\n`), gz.subarray(half), Buffer.from("\r\n0\r\n\r\n")]));
      sock.end();
    });
  });
  proxy = createServer((client: Socket) => {
    client.once("data", (d: Buffer) => {
      const text = d.toString("latin1");
      const line = text.split("\r\n")[0] ?? "";
      proxyLog.push(line);
      const m = /^(\S+) http:\/\/([^/]+)(\S*) (HTTP\/1\.1)$/.exec(line);
      if (!m) return void client.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      const [host, port] = (m[2] ?? "").split(":");
      const up = connect({ host, port: Number(port) }, () => {
        up.write(`${m[1]} ${m[3] || "/"} ${m[4]}\r\n${text.slice(line.length + 2)}`);
        up.pipe(client);
      });
      up.on("error", () => client.destroy());
    });
  });
  await Promise.all([listen(scripted), listen(proxy)]);
});

after(async () => {
  await srv.close();
  await new Promise((r) => scripted.close(r));
  await new Promise((r) => proxy.close(r));
  site.cleanup();
});

const port = (s: Server): number => (s.address() as { port: number }).port;

test("the lab form prints status line, headers, blank line and body", async () => {
  const r = await runCliCapture(["http", "get", "127.0.0.1", String(srv.port), "hello.txt"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
  assert.match(r.stdout, /\r\nContent-Length: 13\r\n/);
  assert.ok(r.stdout.endsWith("\r\n\r\nhello, world\n"));
});

test("a missing file prints the 404 response and exits 0, or 22 with --fail", async () => {
  const r = await runCliCapture(["http", "get", "127.0.0.1", String(srv.port), "missing.html"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(r.stdout, /<h1>404 Not Found<\/h1>/);
  const f = await runCliCapture(["http", "get", `${srv.url}missing.html`, "--fail"]);
  assert.equal(f.code, 22);
  assert.equal(f.stdout, "");
  assert.equal(f.stderr, "wirekit: server returned 404 Not Found\n");
});

test("headers print in their order and case; chunked gzip is decoded, or kept with --raw", async () => {
  const r = await runCliCapture(["http", "get", "127.0.0.1", String(port(scripted)), "/x"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `${RAW}decoded body\n`);
  const raw = await runCliCapture(["http", "get", `http://127.0.0.1:${port(scripted)}/x`, "--raw"]);
  assert.ok(raw.stdout.startsWith(RAW));
  assert.match(raw.stdout.slice(RAW.length), /^[0-9a-f]+\r\n/);
  assert.ok(raw.stdout.endsWith("\r\n0\r\n\r\n"));
});

test("connection refused is one line and exit 1; usage errors exit 2", async () => {
  const tmp = createServer();
  const p = await listen(tmp);
  await new Promise((r) => tmp.close(r));
  const r = await runCliCapture(["http", "get", "127.0.0.1", String(p), "index.html"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `wirekit: connection refused by 127.0.0.1:${p}\n`);
  assert.equal((await runCliCapture(["http", "get", "127.0.0.1", "notaport", "x"])).code, 2);
  assert.equal((await runCliCapture(["http", "get", srv.url, "-H", "Bad Header: x"])).code, 2);
  assert.equal((await runCliCapture(["http", "get", srv.url, "-H", "X-A: 1\r\nX-B: 2"])).code, 2);
  assert.equal((await runCliCapture(["http", "get"])).code, 2);
});

test("-I sends HEAD and prints only the head; -v shows > and < lines on stderr", async () => {
  const h = await runCliCapture(["http", "get", `${srv.url}hello.txt`, "-I"]);
  assert.match(h.stdout, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Content-Length: 13\r\n[\s\S]*\r\n\r\n$/);
  const v = await runCliCapture(["http", "get", `${srv.url}hello.txt`, "-v", "-H", "X-Test: yes"]);
  assert.equal(v.stdout, "hello, world\n");
  assert.match(v.stderr, /^> GET \/hello\.txt HTTP\/1\.1\n> Host: 127\.0\.0\.1:\d+\n/m);
  assert.match(v.stderr, /^> X-Test: yes$/m);
  assert.match(v.stderr, /^< HTTP\/1\.1 200 OK$/m);
  assert.ok(v.stderr.indexOf("> GET") < v.stderr.indexOf("< HTTP"));
});

test("-o writes the body only to the file and nothing to stdout; -i -o puts the head in the file before the body, as curl does", async () => {
  const out = join(site.base, "out.bin");
  const r = await runCliCapture(["http", "get", `${srv.url}data.bin`, "-o", out]);
  assert.equal(r.code, 0);
  assert.deepEqual(readFileSync(out), readFileSync(join(site.root, "data.bin")));
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "");
  const i = await runCliCapture(["http", "get", `${srv.url}data.bin`, "-i", "-o", out]);
  assert.equal(i.code, 0);
  assert.equal(i.stdout, "");
  const saved = readFileSync(out);
  const split = saved.indexOf("\r\n\r\n");
  assert.match(saved.subarray(0, split).toString("latin1"), /^HTTP\/1\.1 200 OK\r\n[\s\S]*Content-Length: 1000(\r\n|$)/);
  assert.deepEqual(saved.subarray(split + 4), readFileSync(join(site.root, "data.bin")));
});

test("-o on a terminal draws a progress bar on stderr (bytes, total, percent, rate, ETA), and none when stderr is not one", async () => {
  const out = join(site.base, "progress.bin");
  let stdout = "";
  let stderr = "";
  const ctx: CliContext = {
    stdout: { write: (s: string) => ((stdout += s), true) },
    stderr: { isTTY: true, write: (s: string) => ((stderr += s), true) },
    env: {},
    clock: systemClock,
    signal: new AbortController().signal,
    debug: false,
    onStatusRequest: () => () => {},
  };
  const code = await runCli(["http", "get", `${srv.url}data.bin`, "-o", out], ctx);
  assert.equal(code, 0, stderr);
  assert.deepEqual(readFileSync(out), readFileSync(join(site.root, "data.bin")));
  assert.equal(stdout, "", "-o: the body goes to the file, nothing to stdout");
  assert.match(stderr, /\r1000 B \/ 1000 B 100% {2}\d+(\.\d)? (B|KiB|MiB|GiB)\/s {2}ETA 0s {3}\n$/);
  const plain = await runCliCapture(["http", "get", `${srv.url}data.bin`, "-o", out]);
  assert.equal(plain.code, 0);
  assert.equal(plain.stderr, "", "no progress bar when stderr is not a terminal");
});

test("-x sends an absolute-form request through an HTTP proxy", async () => {
  proxyLog.length = 0;
  const r = await runCliCapture(["http", "get", `${srv.url}hello.txt`, "-x", `http://127.0.0.1:${port(proxy)}`]);
  assert.equal(r.code, 0);
  assert.ok(r.stdout.endsWith("hello, world\n"));
  assert.deepEqual(proxyLog, [`GET http://127.0.0.1:${srv.port}/hello.txt HTTP/1.1`]);
});

test("-L follows redirects and prints every response head", async () => {
  const no = await runCliCapture(["http", "get", `${srv.url}docs`]);
  assert.match(no.stdout, /^HTTP\/1\.1 301 /);
  assert.doesNotMatch(no.stdout, /200 OK/);
  const yes = await runCliCapture(["http", "get", `${srv.url}docs`, "-L", "-w", "%{http_code}\\n"]);
  assert.equal(yes.code, 0);
  assert.match(yes.stdout, /^HTTP\/1\.1 301 Moved Permanently\r\nLocation: \/docs\/\r\n/);
  assert.match(yes.stdout, /\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  assert.match(yes.stdout, /Index of \/docs\//);
  assert.ok(yes.stdout.endsWith("200\n"));
});

test("--compressed asks for br/gzip and prints the decoded text; --json gives one document", async () => {
  const r = await runCliCapture(["http", "get", `${srv.url}big.txt`, "--compressed"]);
  assert.match(r.stdout, /Content-Encoding: br\r\n/);
  assert.ok(r.stdout.endsWith(readFileSync(join(site.root, "big.txt"), "utf8")));
  const head = await runCliCapture(["http", "get", `${srv.url}big.txt`, "--compressed", "-I"]);
  assert.equal(head.code, 0, "a HEAD answer names a coding but has no body to decode");
  assert.match(head.stdout, /Content-Encoding: br\r\n[\s\S]*\r\n\r\n$/);
  const j = await runCliCapture(["http", "get", `${srv.url}hello.txt`, "--json"]);
  const doc = JSON.parse(j.stdout) as { status: number; body: string; headers: Array<[string, string]> };
  assert.equal(doc.status, 200);
  assert.equal(doc.body, "hello, world\n");
  assert.deepEqual(doc.headers[0], ["Content-Type", "text/plain; charset=utf-8"]);
});

test("wirekit http serve logs each request and prints totals on SIGINT", async () => {
  const child = spawnCli(["http", "serve", site.root, "--port", "0"]);
  const out = await child.waitFor(/listening on 127\.0\.0\.1:\d+/);
  const p = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  await new Promise<void>((resolve, reject) => {
    request({ host: "127.0.0.1", port: p, path: "/hello.txt", agent: false }, (res) => res.resume().on("end", resolve)).on("error", reject).end();
  });
  await child.waitFor(/"GET \/hello\.txt HTTP\/1\.1" 200 13 [\d.]+ms\n/);
  child.kill("SIGINT");
  const done = await child.done;
  assert.equal(done.code, 0);
  assert.match(done.stdout, /\n1 request, 13 bytes sent, 0 client errors, 0 server errors\n$/);
});

test("wirekit http serve flags reach the server: --quiet, --no-listing, --dotfiles, --follow-symlinks, --cors", async () => {
  const ac = new AbortController();
  let resolvePort: (p: number) => void = () => undefined;
  const portP = new Promise<number>((resolve) => (resolvePort = resolve));
  const run = runCliCapture(["http", "serve", site.root, "--port", "0", "--quiet", "--no-listing", "--dotfiles", "--follow-symlinks", "--cors"], {
    signal: ac.signal,
    onStdout: (soFar) => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(soFar);
      if (m) resolvePort(Number(m[1]));
    },
  });
  const p = await portP;
  const get = (path: string): Promise<{ status: number; cors: string | undefined; body: string }> =>
    new Promise((resolve, reject) => {
      request({ host: "127.0.0.1", port: p, path, agent: false, headers: { Origin: "http://a.test" } }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, cors: res.headers["access-control-allow-origin"] as string | undefined, body }));
      })
        .on("error", reject)
        .end();
    });
  try {
    assert.equal((await get("/docs/")).status, 403, "--no-listing");
    const env = await get("/.env");
    assert.equal(env.status, 200, "--dotfiles");
    assert.equal(env.body, "PASSWORD=hunter2\n");
    assert.equal(env.cors, "*", "--cors");
    const leak = await get("/leak.txt");
    assert.equal(leak.status, 200, "--follow-symlinks");
    assert.equal(leak.body, site.secretText);
  } finally {
    ac.abort();
  }
  const r = await run;
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.stdout, /"GET /, "--quiet: no access log");
  assert.match(r.stdout, /^listening on 127\.0\.0\.1:\d+ \(http, root .*, 1 worker\)\n\n\d requests, \d+ bytes sent, 1 client error, 0 server errors\n$/);
});

test("wirekit http serve refuses a missing root with one line and exit 2", async () => {
  const r = await runCliCapture(["http", "serve", join(site.base, "nope"), "--port", "0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^wirekit: cannot serve '.*nope': no such directory\n$/);
});

test("a server that never answers is given up after --max-time with exit 1", async () => {
  const held: Socket[] = [];
  const silent = createServer((sock) => void held.push(sock));
  const p = await listen(silent);
  try {
    const r = await runCliCapture(["http", "get", "127.0.0.1", String(p), "x", "-m", "300ms"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `wirekit: no complete response from 127.0.0.1:${p} within 300 ms\n`);
  } finally {
    for (const s of held) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test("-L stops with exit 1 after --max-redirs and drops credentials when the host changes", async () => {
  const seen: string[] = [];
  let hops = 0;
  const handler = (sock: Socket): void => {
    sock.once("data", (d: Buffer) => {
      seen.push(d.toString("latin1"));
      const next = hops++ === 0 ? `http://127.0.0.1:${port(other)}/b` : "/again";
      sock.end(`HTTP/1.1 302 Found\r\nLocation: ${next}\r\nContent-Length: 0\r\n\r\n`);
    });
  };
  const loop = createServer(handler);
  const other = createServer(handler);
  const p = await listen(loop);
  const q = await listen(other);
  try {
    const r = await runCliCapture(["http", "get", `http://127.0.0.1:${p}/a`, "-L", "--max-redirs", "3", "-H", "Authorization: Bearer s3cret"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^wirekit: too many redirects \(more than 3\)/);
    assert.equal(seen.length, 4);
    assert.match(seen[0] ?? "", /\r\nAuthorization: Bearer s3cret\r\n/);
    assert.doesNotMatch(seen[1] ?? "", /Authorization/);
    assert.match(seen[1] ?? "", new RegExp(`\\r\\nHost: 127\\.0\\.0\\.1:${q}\\r\\n`));
  } finally {
    await new Promise((r) => loop.close(r));
    await new Promise((r) => other.close(r));
  }
});

/**
 * The new `http serve` options end to end through today's node:http server (--spa, -H,
 * --cache-control, --auth, the JSON listing), and their checks at start (exit 2, one line,
 * never echoing a password). Real sockets on 127.0.0.1, port 0.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { request, type IncomingHttpHeaders } from "node:http";
import { createStaticServer, type StaticServer } from "../../../src/http/static/server.js";
import type { RequestRecord } from "../../../src/http/static/access-log.js";
import { formatAccessLog } from "../../../src/render/http-server.js";
import { runCliCapture } from "../../helpers/cli.js";
import { makeSite, type Site } from "../site.js";

let site: Site;
let srv: StaticServer;
const records: RequestRecord[] = [];

before(async () => {
  site = makeSite();
  srv = await createStaticServer({
    root: site.root, port: 0, spa: "index.html", headers: [["X-Frame-Options", "DENY"]], cacheControl: "max-age=3600",
    auth: [{ user: "ada", password: "s3cret" }],
  });
  srv.on("event", (e) => e.kind === "request" && void records.push(e.record));
});

after(async () => {
  await srv.close();
  site.cleanup();
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: srv.port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

const ada = { Authorization: `Basic ${Buffer.from("ada:s3cret").toString("base64")}` };

test("the node:http server already honours --auth, -H, --cache-control, --spa and the JSON listing", async () => {
  const denied = await get("/hello.txt");
  assert.equal(denied.status, 401);
  assert.equal(denied.headers["www-authenticate"], 'Basic realm="wirekit"');
  assert.equal(denied.headers["x-frame-options"], "DENY");
  assert.equal((await get("/hello.txt", { Authorization: `Basic ${Buffer.from("ada:nope").toString("base64")}` })).status, 401);
  const ok = await get("/hello.txt", ada);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers["cache-control"], "max-age=3600");
  assert.equal(ok.headers["x-frame-options"], "DENY");
  const etag = String(ok.headers.etag);
  const nm = await get("/hello.txt", { ...ada, "If-None-Match": etag });
  assert.equal(nm.status, 304);
  assert.equal(nm.headers["cache-control"], "max-age=3600");
  const spa = await get("/app/route", { ...ada, Accept: "text/html,*/*;q=0.8" });
  assert.equal(spa.status, 200);
  assert.equal(spa.body, "<h1>home</h1>\n");
  assert.equal(spa.headers.vary, "Accept, Accept-Encoding");
  assert.equal((await get("/app/missing.js", { ...ada, Accept: "*/*" })).status, 404);
  const json = await get("/docs/", { ...ada, Accept: "application/json" });
  assert.equal(json.headers["content-type"], "application/json");
  const list = JSON.parse(json.body) as Array<{ name: string; type: string }>;
  assert.deepEqual(list.map((e) => e.type), ["directory", "file", "file"]);
  // The access log names the user and never the password.
  await new Promise((r) => setTimeout(r, 50));
  const lines = records.map(formatAccessLog);
  assert.ok(lines.some((l) => / - ada \[/.test(l) && l.includes('"GET /hello.txt HTTP/1.1" 200')), lines.join("\n"));
  assert.ok(lines.some((l) => / - - \[/.test(l) && l.includes(" 401 ")));
  assert.ok(!lines.some((l) => l.includes("s3cret")));
});

test("an invalid -H, --cache-control, --auth or --auth-file is refused at start with exit 2 and one line", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["-H", "Bad Name: x"], /invalid header name 'Bad Name'/],
    [["-H", "NoColon"], /no colon/],
    [["-H", "X-A: a\r\nSet-Cookie: b"], /invalid value for header 'X-A'/],
    [["-H", "Content-Length: 0"], /set by the server/],
    [["--cache-control", "max-age=1\n"], /--cache-control/],
    [["--auth", "nocolon-hunter2"], /invalid --auth #1/],
    [["--auth", ":hunter2"], /invalid --auth #1/],
    [["--auth-file", join(site.base, "none.txt")], /cannot read --auth-file/],
    [["--spa=../x.html"], /invalid --spa/],
  ];
  for (const [args, message] of cases) {
    const r = await runCliCapture(["http", "serve", site.root, "-p", "0", ...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(!r.stderr.includes("hunter2"), "the password is never printed");
  }
  const file = join(site.base, "users.txt");
  writeFileSync(file, "# users\nada:one\n\nbob hunter2\n");
  const bad = await runCliCapture(["http", "serve", site.root, "-p", "0", "--auth-file", file]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /line 4: expected user:password/);
  assert.ok(!bad.stderr.includes("hunter2"));
});

test("wirekit http serve --auth-file --spa serves, naming the user count and never the password", async () => {
  const file = join(site.base, "users2.txt");
  writeFileSync(file, "ada:hunter2\nbob:pw:with:colons\n");
  const ac = new AbortController();
  let port = 0;
  const run = runCliCapture(["http", "serve", site.root, "-p", "0", "--auth-file", file, "--spa", "-H", "X-Lab: 1"], {
    signal: ac.signal,
    onStdout: (s) => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(s);
      if (m && port === 0) port = Number(m[1]);
    },
  });
  while (port === 0) await new Promise((r) => setTimeout(r, 10));
  const res = await new Promise<{ status: number; lab: string | undefined }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/deep/link", headers: { Accept: "text/html", Authorization: `Basic ${Buffer.from("bob:pw:with:colons").toString("base64")}` }, agent: false }, (r) => {
      r.resume();
      r.on("end", () => resolve({ status: r.statusCode ?? 0, lab: r.headers["x-lab"] as string | undefined }));
    });
    req.on("error", reject);
    req.end();
  });
  ac.abort();
  const out = await run;
  assert.equal(res.status, 200);
  assert.equal(res.lab, "1");
  assert.equal(out.code, 0);
  assert.match(out.stdout, /basic auth for 2 users/);
  assert.match(out.stdout, / - bob \[/);
  assert.ok(!out.stdout.includes("hunter2") && !out.stderr.includes("hunter2"));
});

/**
 * curl's habits in `wirekit http get`: request bodies (-d, --data-binary, --json, -F), -X, -u,
 * and output (-o, -O, -i, -s, -S, -w), against a node:http server that records what arrived,
 * with /usr/bin/curl as the judge where it is installed.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { runCliCapture } from "../helpers/cli.js";
import { runCli } from "../../src/cli/main.js";
import { systemClock } from "../../src/core/clock.js";
import { createRandom } from "../../src/core/random.js";
import { createStaticServer, type StaticServer } from "../../src/http/static/server.js";
import { makeSite, type Site } from "./site.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

const HAVE_CURL = existsSync("/usr/bin/curl");
const curlSkip = HAVE_CURL ? false : "curl is not installed (/usr/bin/curl)";
const run = promisify(execFile);
let site: Site;
let srv: StaticServer;
let echo: Server;
let base: string;
const seen: Seen[] = [];

before(async () => {
  site = makeSite();
  srv = await createStaticServer({ root: site.root, port: 0 });
  echo = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
      if (req.url === "/see-other") return void res.writeHead(303, { Location: "/done", "Content-Length": "0" }).end();
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
    });
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(echo.address() as { port: number }).port}`;
});

after(async () => {
  await srv.close();
  await new Promise((r) => echo.close(r));
  site.cleanup();
});

/** Run wirekit and return what the echo server received. */
async function send(args: string[]): Promise<Seen> {
  seen.length = 0;
  const r = await runCliCapture(["http", "get", `${base}/echo`, "-s", "-S", ...args]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(seen.length, 1);
  return seen[0] as Seen;
}

async function curlSend(args: string[]): Promise<Seen> {
  seen.length = 0;
  await run("/usr/bin/curl", ["-sS", "-o", "/dev/null", `${base}/echo`, ...args]);
  assert.equal(seen.length, 1);
  return seen[0] as Seen;
}

async function curlOut(args: string[]): Promise<string> {
  return (await run("/usr/bin/curl", ["-sS", ...args], { encoding: "latin1" })).stdout;
}

test("-d sends a urlencoded POST, several -d are joined with '&', and the bytes equal curl's", { skip: curlSkip }, async () => {
  const ours = await send(["-d", "name=ada", "-d", "lang=en"]);
  assert.equal(ours.method, "POST");
  assert.equal(ours.headers["content-type"], "application/x-www-form-urlencoded");
  assert.equal(ours.headers["content-length"], "16");
  assert.equal(ours.body.toString(), "name=ada&lang=en");
  const theirs = await curlSend(["-d", "name=ada", "-d", "lang=en"]);
  assert.deepEqual(ours.body, theirs.body);
  assert.equal(ours.headers["content-type"], theirs.headers["content-type"]);
});

test("-d @FILE drops CR and LF as curl does; --data-binary @FILE sends the file unchanged", { skip: curlSkip }, async () => {
  const f = join(site.base, "form.txt");
  writeFileSync(f, "a=1\r\nb=2\nc=3\r\n");
  const d = await send(["-d", `@${f}`]);
  assert.equal(d.body.toString(), "a=1b=2c=3");
  assert.deepEqual(d.body, (await curlSend(["-d", `@${f}`])).body);
  const bin = await send(["--data-binary", `@${f}`]);
  assert.deepEqual(bin.body, readFileSync(f));
  assert.deepEqual(bin.body, (await curlSend(["--data-binary", `@${f}`])).body);
});

test("--data-binary @FILE streams a big file with its Content-Length", async () => {
  const f = join(site.base, "big.bin");
  const data = Buffer.alloc(6 * 1024 * 1024 + 7, 0x5a);
  for (let i = 0; i < data.length; i += 4093) data[i] = i & 0xff;
  writeFileSync(f, data);
  const r = await send(["--data-binary", `@${f}`, "-H", "Content-Type: application/octet-stream"]);
  assert.equal(r.headers["content-length"], String(data.length));
  assert.equal(r.headers["content-type"], "application/octet-stream", "-H wins over the implied type");
  assert.ok(r.body.equals(data));
});

test("--json DATA sets Content-Type and Accept to application/json and implies POST, as curl's --json", { skip: curlSkip }, async () => {
  const ours = await send(["--json", '{"a":1}']);
  assert.equal(ours.method, "POST");
  assert.equal(ours.headers["content-type"], "application/json");
  assert.equal(ours.headers.accept, "application/json");
  assert.equal(ours.body.toString(), '{"a":1}');
  const theirs = await curlSend(["--json", '{"a":1}']);
  assert.deepEqual(ours.body, theirs.body);
  assert.equal(theirs.headers["content-type"], "application/json");
  const eq = await send(["--json=[1,2]"]);
  assert.equal(eq.body.toString(), "[1,2]");
  // Plain --json is still wirekit's JSON output document.
  const doc = await runCliCapture(["http", "get", `${base}/echo`, "--json"]);
  assert.equal((JSON.parse(doc.stdout) as { status: number }).status, 200);
});

test("-X sets the method: PUT with a body, DELETE without; -I with -d is a usage error", async () => {
  const put = await send(["-X", "PUT", "--data-binary", "x"]);
  assert.equal(put.method, "PUT");
  assert.equal(put.body.toString(), "x");
  const del = await send(["-X", "DELETE"]);
  assert.equal(del.method, "DELETE");
  assert.equal(del.body.length, 0);
  assert.equal((await runCliCapture(["http", "get", `${base}/echo`, "-I", "-d", "a"])).code, 2);
  assert.equal((await runCliCapture(["http", "get", `${base}/echo`, "-X", "GE T"])).code, 2);
});

test("-F builds multipart/form-data that a multipart parser reads the same as curl's", { skip: curlSkip }, async () => {
  const f = join(site.base, "notes.txt");
  writeFileSync(f, "line 1\r\nline 2\n");
  const png = join(site.base, "pic.png");
  writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]));
  const args = ["-F", "title=hello world", "-F", `doc=@${f}`, "-F", `pic=@${png}`];
  const ours = await send(args);
  const theirs = await curlSend(args);
  const parse = async (s: Seen): Promise<Array<[string, string, string, string]>> => {
    const form = await new Request("http://x/", { method: "POST", headers: { "content-type": String(s.headers["content-type"]) }, body: s.body }).formData();
    const out: Array<[string, string, string, string]> = [];
    for (const [k, v] of form.entries()) {
      if (typeof v === "string") out.push([k, v, "", ""]);
      else out.push([k, Buffer.from(await v.arrayBuffer()).toString("latin1"), v.name, v.type]);
    }
    return out;
  };
  assert.match(String(ours.headers["content-type"]), /^multipart\/form-data; boundary=-+[0-9a-f]{24}$/);
  assert.deepEqual(await parse(ours), await parse(theirs));
  assert.deepEqual((await parse(ours))[2], ["pic", "\x89PNG\x00\x01\x02\xff", "pic.png", "image/png"]);
  assert.equal(ours.headers["content-length"], String(ours.body.length));
});

test("-F takes its boundary from the injected random source: the same seed gives the same bytes", async () => {
  const once = async (): Promise<Buffer> => {
    seen.length = 0;
    const ctx = {
      stdout: { write: () => true },
      stderr: { write: () => true },
      env: {},
      clock: systemClock,
      random: createRandom(7),
      signal: new AbortController().signal,
      debug: false,
      onStatusRequest: () => () => {},
    };
    assert.equal(await runCli(["http", "get", `${base}/echo`, "-F", "a=1"], ctx), 0);
    return (seen[0] as Seen).body;
  };
  assert.deepEqual(await once(), await once());
});

test("-u sends Basic credentials and -v shows them redacted; the password is printed nowhere", async () => {
  seen.length = 0;
  const r = await runCliCapture(["http", "get", `${base}/echo`, "-v", "-u", "ada:s3cret-pw"]);
  assert.equal(r.code, 0);
  assert.equal(seen[0]?.headers.authorization, `Basic ${Buffer.from("ada:s3cret-pw").toString("base64")}`);
  assert.match(r.stderr, /^> Authorization: Basic <redacted>$/m);
  const b64 = Buffer.from("ada:s3cret-pw").toString("base64");
  for (const text of [r.stdout, r.stderr]) {
    assert.ok(!text.includes("s3cret-pw") && !text.includes(b64));
  }
  const h = await runCliCapture(["http", "get", `${base}/echo`, "-v", "-H", "Authorization: Bearer tok-123"]);
  assert.match(h.stderr, /^> Authorization: Bearer <redacted>$/m);
  assert.ok(!h.stderr.includes("tok-123"));
  assert.equal((await runCliCapture(["http", "get", `${base}/echo`, "-u", "nocolon"])).code, 2);
});

test("a POST answered with 303 is followed with -L as a GET without the body", async () => {
  seen.length = 0;
  const r = await runCliCapture(["http", "get", `${base}/see-other`, "-L", "-d", "a=1", "-s"]);
  assert.equal(r.code, 0);
  assert.deepEqual(seen.map((s) => [s.method, s.url, s.body.toString()]), [["POST", "/see-other", "a=1"], ["GET", "/done", ""]]);
  assert.equal(r.stdout, "ok\n");
});

test("-w prints only its format after the transfer; with -o /dev/null it equals curl's", { skip: curlSkip }, async () => {
  const fmt = "%{http_code} %{size_download} %{content_type} %{num_redirects} %{url_effective}\\n";
  for (const path of ["hello.txt", "missing.html", "data.bin"]) {
    const ours = await runCliCapture(["http", "get", `${srv.url}${path}`, "-o", "/dev/null", "-w", fmt]);
    assert.equal(ours.stdout, await curlOut(["-o", "/dev/null", "-w", fmt, `${srv.url}${path}`]), path);
  }
  const redir = await runCliCapture(["http", "get", `${srv.url}docs`, "-L", "-s", "-o", "/dev/null", "-w", "%{response_code} %{num_redirects} %{url_effective}"]);
  assert.equal(redir.stdout, await curlOut(["-L", "-o", "/dev/null", "-w", "%{response_code} %{num_redirects} %{url_effective}", `${srv.url}docs`]));
  const t = await runCliCapture(["http", "get", `${srv.url}hello.txt`, "-s", "-o", "/dev/null", "-w", "%{time_total} %{remote_ip}:%{remote_port} %%"]);
  assert.match(t.stdout, new RegExp(`^\\d+\\.\\d{6} 127\\.0\\.0\\.1:${srv.port} %$`));
});

test("-o FILE holds the same bytes as curl -o; -s prints nothing; plain -s prints the body only", { skip: curlSkip }, async () => {
  for (const path of ["data.bin", "big.txt", "missing.html"]) {
    const ours = join(site.base, "ours.out");
    const theirs = join(site.base, "theirs.out");
    const r = await runCliCapture(["http", "get", `${srv.url}${path}`, "-o", ours]);
    assert.equal(r.stdout + r.stderr, "");
    await curlOut(["-o", theirs, `${srv.url}${path}`]);
    assert.deepEqual(readFileSync(ours), readFileSync(theirs), path);
  }
  const s = await runCliCapture(["http", "get", `${srv.url}hello.txt`, "-s"]);
  assert.equal(s.stdout, await curlOut([`${srv.url}hello.txt`]));
  const i = await runCliCapture(["http", "get", `${srv.url}hello.txt`, "-s", "-i"]);
  assert.match(i.stdout, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhello, world\n$/);
});

test("-s hides the error line but keeps the exit status; -S shows it again", async () => {
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
  const p = (dead.address() as { port: number }).port;
  await new Promise((r) => dead.close(r));
  const s = await runCliCapture(["http", "get", `http://127.0.0.1:${p}/`, "-s"]);
  assert.deepEqual([s.code, s.stdout, s.stderr], [1, "", ""]);
  const sS = await runCliCapture(["http", "get", `http://127.0.0.1:${p}/`, "-sS"]);
  assert.equal(sS.code, 1);
  assert.equal(sS.stderr, `wirekit: connection refused by 127.0.0.1:${p}\n`);
  const f = await runCliCapture(["http", "get", `${srv.url}missing.html`, "-sf"]);
  assert.deepEqual([f.code, f.stdout, f.stderr], [22, "", ""]);
});

test("-O saves under the URL's last path segment and refuses a URL without a plain file name", async () => {
  const cwd = process.cwd();
  process.chdir(site.base);
  try {
    const r = await runCliCapture(["http", "get", `${srv.url}data.bin`, "-O"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "");
    assert.deepEqual(readFileSync(join(site.base, "data.bin")), readFileSync(join(site.root, "data.bin")));
    for (const bad of [srv.url, `${srv.url}docs/`, `${srv.url}docs/..`]) {
      const e = await runCliCapture(["http", "get", bad, "-O"]);
      assert.equal(e.code, 2, bad);
      assert.match(e.stderr, /^wirekit: -O: [^\n]*\(use -o FILE\)\n$/);
    }
  } finally {
    process.chdir(cwd);
  }
});

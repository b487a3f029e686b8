/** curl, an independent client, as the judge of what the static server sends. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { createStaticServer, type StaticServer } from "../../src/http/static/server.js";
import { makeSite, type Site } from "./site.js";

const run = promisify(execFile);
let site: Site;
let srv: StaticServer;

before(async () => {
  site = makeSite();
  srv = await createStaticServer({ root: site.root, port: 0, cacheMaxFileSize: 0 });
});
after(async () => {
  await srv.close();
  site.cleanup();
});

async function curl(args: string[]): Promise<string> {
  const { stdout } = await run("curl", ["-sS", ...args], { encoding: "latin1", maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

test("curl decodes our streamed gzip and brotli bodies to the original file", async () => {
  const original = readFileSync(join(site.root, "big.txt"), "latin1");
  assert.equal(await curl(["--compressed", `${srv.url}big.txt`]), original);
  assert.equal(await curl(["-H", "Accept-Encoding: gzip", "--compressed", `${srv.url}big.txt`]), original);
});

test("curl's range and conditional requests get what RFC 9110 promises", async () => {
  assert.equal(await curl(["-r", "0-4", `${srv.url}hello.txt`]), "hello");
  const code = await curl(["-o", "/dev/null", "-w", "%{http_code}", "-z", "Sat, 01 Jan 2000 00:00:00 GMT", `${srv.url}hello.txt`]);
  assert.equal(code, "200");
  const future = await curl(["-o", "/dev/null", "-w", "%{http_code}", "-z", new Date(Date.now() + 86_400_000).toUTCString(), `${srv.url}hello.txt`]);
  assert.equal(future, "304");
});

test("curl reuses one keep-alive connection for several URLs", async () => {
  const out = await curl(["-v", `${srv.url}hello.txt`, `${srv.url}index.html`].concat(["--stderr", "-"]));
  assert.match(out, /Re-using existing connection|Reusing existing connection/);
});

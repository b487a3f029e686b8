/**
 * `wirekit http get -x` through `wirekit proxy`: the project's own client and proxy together,
 * against the project's own static server as the origin.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { createStaticServer, type StaticServer } from "../../../src/http/static/server.js";
import { runCliCapture } from "../../helpers/cli.js";

const root = mkdtempSync(join(tmpdir(), "wirekit-x-root-"));
const cacheDir = mkdtempSync(join(tmpdir(), "wirekit-x-cache-"));
let origin: StaticServer | undefined;
let proxy: ProxyServer | undefined;
after(async () => {
  await origin?.close();
  await proxy?.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

test("wirekit http get -x fetches through wirekit proxy: a miss from the origin, then a hit from the cache", async () => {
  const body = `${"proxied line\n".repeat(400)}`; // 5.2 KB, more than the lab's old 4 KiB limit
  writeFileSync(join(root, "page.txt"), body);
  // The static server sends Last-Modified and no Cache-Control, so the proxy uses heuristic freshness
  // (10% of the time since modification, RFC 9111 §4.2.2): a file changed 10 days ago stays fresh a day.
  const tenDaysAgo = new Date(Date.now() - 10 * 86400_000);
  utimesSync(join(root, "page.txt"), tenDaysAgo, tenDaysAgo);
  origin = await createStaticServer({ root, host: "127.0.0.1", port: 0 });
  proxy = await createProxyServer({ host: "127.0.0.1", port: 0, cacheDir });
  const url = `http://127.0.0.1:${origin.port}/page.txt`;
  const x = `http://127.0.0.1:${proxy.port}`;

  const first = await runCliCapture(["http", "get", "-x", x, url]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^HTTP\/1\.1 200 OK\r?\n/);
  assert.match(first.stdout, /^Cache-Status: wirekit; fwd=uri-miss.*stored/im);
  assert.match(first.stdout, /^Via: 1\.1 /im);
  assert.ok(first.stdout.endsWith(body), "body relayed unchanged");

  const second = await runCliCapture(["http", "get", "-x", x, url]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^Cache-Status: wirekit; hit/im);
  assert.match(second.stdout, /^Age: \d+/im);
  assert.ok(second.stdout.endsWith(body), "body from the cache is byte-identical");

  const stats = proxy.stats();
  assert.equal(stats.hits, 1);
  assert.equal(stats.misses, 1);
  assert.equal(origin.totals().requests, 1, "the origin saw only the first request");
});

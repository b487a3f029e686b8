/** `--hot-size`: the in-memory layer in front of the store, and 0 turning it off (every hit read from the store, still whole). */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createProxyServer } from "../../../src/http/proxy/server.js";
import { runCliCapture } from "../../helpers/cli.js";
import { startOrigin, viaProxy } from "./fixtures.js";

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

test("with --hot-size 0 a hit comes from the disk store, whole, and the origin is asked once", async () => {
  const origin = await startOrigin();
  cleanup.push(() => origin.close());
  const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  origin.route("/obj", (_req, res) => {
    res.writeHead(200, { "Cache-Control": "max-age=600", "Content-Length": body.length });
    res.end(body);
  });
  const dir = await mkdtemp(join(tmpdir(), "wk-hot-"));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const proxy = await createProxyServer({ port: 0, cacheDir: dir, hotMaxBytes: 0, reverse: origin.base });
  cleanup.push(() => proxy.close());
  const first = await viaProxy(proxy.port, "/obj");
  assert.equal(first.status, 200);
  for (let i = 0; i < 3; i++) {
    const hit = await viaProxy(proxy.port, "/obj");
    assert.match(String(hit.headers["cache-status"]), /hit/);
    assert.deepEqual(hit.body, body);
  }
  assert.equal(origin.count("/obj"), 1);
});

test("--hot-size takes a size and is in --help", async () => {
  const help = await runCliCapture(["proxy", "--help"]);
  assert.match(help.stdout, /--hot-size SIZE/);
  const bad = await runCliCapture(["proxy", "--port", "0", "--hot-size", "lots"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
});

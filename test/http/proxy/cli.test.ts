/** `wirekit proxy` on the command line, and its `wirekit lab` entry. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliCapture, spawnCli } from "../../helpers/cli.js";
import { LAB_SERVICES } from "../../../src/lab/services.js";
import { proxyService } from "../../../src/lab/services/proxy.js";
import { startOrigin, viaProxy, type TestOrigin } from "./fixtures.js";

describe("wirekit proxy CLI", () => {
  let origin: TestOrigin;
  let dir: string;
  before(async () => {
    origin = await startOrigin();
    origin.route("/page", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=60" });
      res.end("page");
    });
    dir = await mkdtemp(join(tmpdir(), "wk-proxy-cli-"));
  });
  after(async () => {
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a cache directory that cannot be one is a one-line error, exit 2 (also under /proc, where a recursive mkdir never returns)", async () => {
    const file = join(dir, "a-file");
    await writeFile(file, "x");
    for (const [cacheDir, why] of [
      [file, "not a directory"],
      [join(file, "sub"), "not a directory"],
      ["/proc/wirekit-no-such/cache", "no such file or directory"],
    ] as const) {
      const r = await runCliCapture(["proxy", "--port", "0", "--cache-dir", cacheDir]);
      assert.equal(r.code, 2, cacheDir);
      assert.equal(r.stderr, `wirekit: cache directory ${cacheDir}: ${why}\n`);
    }
    const nested = join(dir, "new", "deeper", "cache");
    const p = spawnCli(["proxy", "--port", "0", "--cache-dir", nested]);
    await p.waitFor(/listening on 127\.0\.0\.1:\d+ \(cache /);
    p.kill("SIGINT");
    assert.equal((await p.done).code, 0);
    assert.ok((await stat(nested)).isDirectory(), "missing parents are created");
  });

  it("prints the listening line, one access-log line per request and the totals on SIGINT", async () => {
    const p = spawnCli(["proxy", "--port", "0", "--cache-dir", dir]);
    const out = await p.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    await viaProxy(port, `${origin.base}/page`);
    await viaProxy(port, `${origin.base}/page`);
    await p.waitFor(/ HIT\n/);
    p.kill("SIGINT");
    const r = await p.done;
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\S+Z 127\.0\.0\.1 GET http:\/\/127\.0\.0\.1:\d+\/page 200 4 [\d.]+ms MISS$/m);
    assert.match(r.stdout, /^\S+Z 127\.0\.0\.1 GET http:\/\/127\.0\.0\.1:\d+\/page 200 4 [\d.]+ms HIT$/m);
    assert.match(r.stdout, /2 requests, 1 hits, 1 misses, 0 revalidations, hit ratio 50\.0%/);
  });

  for (const [what, argv] of [
    ["a non-loopback address without --allow", ["proxy", "--host", "0.0.0.0", "--port", "0", "--no-cache"]],
    ["a bad --allow CIDR", ["proxy", "--port", "0", "--no-cache", "--allow", "10.0.0.0/40"]],
    ["a bad --cache-size", ["proxy", "--port", "0", "--cache-size", "lots"]],
    ["a bad --connect-ports", ["proxy", "--port", "0", "--no-cache", "--connect-ports", "443,x"]],
    ["a bad --store", ["proxy", "--port", "0", "--store", "bogus"]],
    ["a --store URL with a bad port (the password not shown)", ["proxy", "--port", "0", "--store", "redis://u:secret@h:99999"]],
    ["--store with --no-cache", ["proxy", "--port", "0", "--no-cache", "--store", "memory"]],
  ] as const) {
    it(`rejects ${what} with a usage error`, async () => {
      const r = await runCliCapture([...argv]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^wirekit: [^\n]*\n$/);
      assert.ok(!r.stderr.includes("secret"));
    });
  }

  it("has help with an example", async () => {
    const r = await runCliCapture(["proxy", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /wirekit proxy --port 8888/);
  });
});

describe("lab proxy service", () => {
  it("runs with a temporary cache, reports totals, a snapshot and live request events", async () => {
    const origin = await startOrigin();
    origin.route("/lab", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=60" });
      res.end("lab");
    });
    assert.ok(LAB_SERVICES.includes(proxyService));
    const svc = proxyService;
    const running = await svc.start({ host: "127.0.0.1", port: 0 });
    try {
      const events: string[] = [];
      const unsubscribe = running.subscribe?.((e) => events.push(`${e.kind} ${e.text}`));
      await viaProxy(running.port, `${origin.base}/lab`);
      await viaProxy(running.port, `${origin.base}/lab`);
      unsubscribe?.();
      assert.deepEqual(running.totals(), { requests: 2, hits: 1, misses: 1, revalidations: 0, bytesFromCache: 3, bytesFromOrigin: 3 });
      const snap = running.snapshot?.() as { stats: Record<string, number>; recent: Array<{ cacheStatus: string }> };
      assert.equal(snap.stats.entries, 1);
      assert.equal(snap.stats.hitRatio, 0.5);
      assert.deepEqual(snap.recent.map((r) => r.cacheStatus), ["MISS", "HIT"]);
      assert.equal(events.length, 2);
      assert.match(events[1] ?? "", /^request .* HIT$/);
    } finally {
      await running.close();
      await origin.close();
    }
  });
});

/** A real browser (headless Chromium) as the judge: the lab's sample site and a 404, as in the lab. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStaticServer, type StaticServer } from "../../src/http/static/server.js";
import { labSiteRoot } from "../../src/http/static/lab-site.js";
import type { RequestRecord } from "../../src/http/static/access-log.js";

const chromium = ["chromium", "chromium-browser", "google-chrome"].find((c) => spawnSync("sh", ["-c", `command -v ${c}`]).status === 0);
let srv: StaticServer;
let profile: string;
const records: RequestRecord[] = [];

before(async () => {
  profile = mkdtempSync(join(tmpdir(), "wirekit-chromium-"));
  srv = await createStaticServer({ root: labSiteRoot(), port: 0 });
  srv.on("event", (e) => e.kind === "request" && void records.push(e.record));
});
after(async () => {
  await srv.close();
  rmSync(profile, { recursive: true, force: true });
});

function dumpDom(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      chromium ?? "chromium",
      ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", `--user-data-dir=${profile}`, "--dump-dom", url],
      { timeout: 90_000, maxBuffer: 8 * 1024 * 1024 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
}

test("Chromium loads the sample page with its stylesheet and images, and shows our 404 page", { skip: chromium === undefined ? "chromium is not installed (.ci/run installs it)" : false }, async () => {
  records.length = 0;
  const dom = await dumpDom(srv.url);
  assert.match(dom, /It works: wirekit's web server/);
  const ok = (path: string): RequestRecord | undefined => records.find((r) => r.method === "GET" && r.path === path && r.status === 200);
  assert.ok(ok("/"), "page");
  assert.ok(ok("/style.css"), "stylesheet");
  for (const img of ["plasma", "sunset", "rings"]) {
    const r = ok(`/images/${img}.png`);
    assert.ok(r, img);
    assert.equal(r.bytes, statSync(join(labSiteRoot(), "images", `${img}.png`)).size);
  }
  const missing = await dumpDom(`${srv.url}missing.html`);
  assert.match(missing, /<h1>404 Not Found<\/h1>/);
  assert.ok(records.some((r) => r.path === "/missing.html" && r.status === 404));
});

/**
 * The lab's own judge for the caching proxy: a real browser (headless Chromium, driven by
 * playwright-core) configured to use `wirekit proxy` loads a page with images larger than
 * 4 KiB from a `wirekit http serve` origin, twice, in two fresh browser contexts (so the
 * browser's own cache cannot answer). The second load must come from the proxy's cache:
 * every response the browser saw says `Cache-Status: wirekit; hit`, and the origin saw each
 * image exactly once.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { chromium, type Browser } from "playwright-core";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { createStaticServer, type StaticServer } from "../../../src/http/static/server.js";
import type { RequestRecord } from "../../../src/http/static/access-log.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} missing (Debian package chromium; .ci/run installs it)`;

const IMAGES = ["red", "green", "blue"] as const;
const SIDE = 64; // 64x64 RGB noise: ~12 KiB per PNG, well over the lab's 4 KiB

/** CRC-32 (ISO 3309, as PNG chunks use). */
function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A valid SIDE x SIDE 8-bit RGB PNG of deterministic noise tinted by channel `tint`. */
function noisePng(tint: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(SIDE, 0);
  ihdr.writeUInt32BE(SIDE, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const rows: number[] = [];
  let x = 0x9e3779b9 + tint;
  for (let y = 0; y < SIDE; y++) {
    rows.push(0); // filter: none
    for (let i = 0; i < SIDE * 3; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      rows.push(i % 3 === tint ? 255 : (x >>> 24) & 0x7f);
    }
  }
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.from(rows))), chunk("IEND", Buffer.alloc(0))]);
}

let root = "";
let cacheDir = "";
let origin: StaticServer | undefined;
let proxy: ProxyServer | undefined;
let browser: Browser | undefined;
const originSaw: RequestRecord[] = [];

before(async () => {
  if (skip) return;
  root = mkdtempSync(join(tmpdir(), "wirekit-browser-origin-"));
  cacheDir = mkdtempSync(join(tmpdir(), "wirekit-browser-cache-"));
  const imgs = IMAGES.map((name) => `<img id="${name}" src="/images/${name}.png" width="${SIDE}" height="${SIDE}" alt="${name}">`).join("\n");
  writeFileSync(join(root, "index.html"), `<!doctype html>\n<html><head><meta charset="utf-8"><title>through the proxy</title><link rel="icon" href="data:,"></head>\n<body><h1>Cached by wirekit proxy</h1>\n${imgs}\n</body></html>\n`);
  mkdirSync(join(root, "images"));
  IMAGES.forEach((name, i) => writeFileSync(join(root, "images", `${name}.png`), noisePng(i)));
  // The static server sends Last-Modified and no Cache-Control, so the proxy gives the files
  // heuristic freshness (RFC 9111 §4.2.2, 10% of their age): files changed 10 days ago stay fresh a day.
  const tenDaysAgo = new Date(Date.now() - 10 * 86400_000);
  for (const f of ["index.html", ...IMAGES.map((n) => join("images", `${n}.png`))]) utimesSync(join(root, f), tenDaysAgo, tenDaysAgo);
  origin = await createStaticServer({ root, host: "127.0.0.1", port: 0 });
  origin.on("event", (e) => e.kind === "request" && void originSaw.push(e.record));
  proxy = await createProxyServer({ host: "127.0.0.1", port: 0, cacheDir });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
      `--proxy-server=http://127.0.0.1:${proxy.port}`,
      // Chromium never proxies loopback unless told to: "<-loopback>" removes that implicit bypass.
      "--proxy-bypass-list=<-loopback>",
    ],
  });
});

after(async () => {
  await browser?.close();
  await origin?.close();
  await proxy?.close();
  if (root !== "") rmSync(root, { recursive: true, force: true });
  if (cacheDir !== "") rmSync(cacheDir, { recursive: true, force: true });
});

interface Load {
  /** path -> the Cache-Status header of the response the browser received. */
  cacheStatus: Map<string, string | undefined>;
  /** Images as decoded by the browser: id -> naturalWidth. */
  decoded: Record<string, number>;
}

/** Load the page in a fresh browser context (empty browser cache) and collect what it saw. */
async function load(url: string, using: Browser | undefined = browser): Promise<Load> {
  assert.ok(using);
  const context = await using.newContext();
  try {
    const page = await context.newPage();
    const cacheStatus = new Map<string, string | undefined>();
    page.on("response", (r) => {
      cacheStatus.set(new URL(r.url()).pathname, r.headers()["cache-status"]);
    });
    const res = await page.goto(url, { waitUntil: "load", timeout: 60_000 });
    assert.equal(res?.status(), 200);
    // A string, evaluated in the page (the tests compile without the DOM library).
    const decoded = (await page.evaluate("Object.fromEntries([...document.images].map((i) => [i.id, i.complete ? i.naturalWidth : -1]))")) as Record<string, number>;
    return { cacheStatus, decoded };
  } finally {
    await context.close();
  }
}

test("Chromium through wirekit proxy: the second load of a page with >4 KiB images is served from the cache", { skip, timeout: 120_000 }, async () => {
  assert.ok(origin && proxy);
  const url = `http://127.0.0.1:${origin.port}/`;
  const paths = ["/", ...IMAGES.map((n) => `/images/${n}.png`)];

  const first = await load(url);
  for (const p of paths) assert.match(first.cacheStatus.get(p) ?? "(none)", /^wirekit; fwd=uri-miss; fwd-status=200; stored/, `first load of ${p}`);
  for (const n of IMAGES) assert.equal(first.decoded[n], SIDE, `${n}.png decoded by the browser on the first load`);

  const second = await load(url);
  for (const p of paths) assert.match(second.cacheStatus.get(p) ?? "(none)", /^wirekit; hit/, `second load of ${p} answered by the proxy's cache`);
  for (const n of IMAGES) assert.equal(second.decoded[n], SIDE, `${n}.png from the cache decoded by the browser`);

  // The origin's view: each image (and the page) fetched once, never again.
  for (const p of paths) assert.equal(originSaw.filter((r) => r.path === p).length, 1, `origin requests for ${p}`);
  for (const n of IMAGES) {
    const r = originSaw.find((x) => x.path === `/images/${n}.png`);
    assert.ok(r && r.status === 200 && r.bytes > 4096, `${n}.png is larger than 4 KiB (${r?.bytes} bytes)`);
  }
  const stats = proxy.stats();
  assert.ok(stats.hits >= paths.length, `proxy counted ${stats.hits} hits`);
});

test("Chromium with no proxy settings browses the lab's form http://proxy:port/host:port/ and gets the same cached page and images", { skip, timeout: 120_000 }, async () => {
  assert.ok(origin && proxy);
  const plain = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
  try {
    const context = await plain.newContext();
    const page = await context.newPage();
    const cacheStatus = new Map<string, string | undefined>();
    page.on("response", (r) => {
      cacheStatus.set(new URL(r.url()).pathname, r.headers()["cache-status"]);
    });
    const before = originSaw.length;
    const res = await page.goto(`http://127.0.0.1:${proxy.port}/127.0.0.1:${origin.port}/`, { waitUntil: "load", timeout: 60_000 });
    assert.equal(res?.status(), 200);
    assert.match(await page.title(), /through the proxy/);
    const decoded = (await page.evaluate("Object.fromEntries([...document.images].map((i) => [i.id, i.complete ? i.naturalWidth : -1]))")) as Record<string, number>;
    // The page's /images/x.png links arrive at the proxy as /images/x.png; the Referer names the origin.
    for (const n of IMAGES) {
      assert.equal(decoded[n], SIDE, `${n}.png decoded`);
      assert.match(cacheStatus.get(`/images/${n}.png`) ?? "(none)", /^wirekit; hit/, `${n}.png from the cache entry the first test stored`);
    }
    assert.equal(originSaw.length, before, "the origin was not contacted");
    await context.close();
  } finally {
    await plain.close();
  }
});

test("Chromium loading a page through gateway mode (--reverse) twice: the second load is all hits", { skip, timeout: 120_000 }, async () => {
  assert.ok(origin);
  const gwCache = mkdtempSync(join(tmpdir(), "wirekit-browser-gw-cache-"));
  const gw = await createProxyServer({ host: "127.0.0.1", port: 0, cacheDir: gwCache, reverse: `http://127.0.0.1:${origin.port}` });
  // No proxy settings: to the browser the gateway is the site.
  const plain = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
  try {
    const paths = ["/", ...IMAGES.map((n) => `/images/${n}.png`)];
    const before = new Map(paths.map((p) => [p, originSaw.filter((r) => r.path === p).length]));
    const url = `http://127.0.0.1:${gw.port}/`;
    const first = await load(url, plain);
    for (const p of paths) assert.match(first.cacheStatus.get(p) ?? "(none)", /^wirekit; fwd=uri-miss; fwd-status=200; stored/, `first load of ${p}`);
    const second = await load(url, plain);
    for (const p of paths) assert.match(second.cacheStatus.get(p) ?? "(none)", /^wirekit; hit/, `second load of ${p} answered by the gateway's cache`);
    for (const n of IMAGES) assert.equal(second.decoded[n], SIDE, `${n}.png from the cache decoded by the browser`);
    for (const p of paths) assert.equal(originSaw.filter((r) => r.path === p).length - (before.get(p) ?? 0), 1, `origin requests for ${p} through the gateway`);
  } finally {
    await plain.close();
    await gw.close();
    rmSync(gwCache, { recursive: true, force: true });
  }
});

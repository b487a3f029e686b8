/**
 * End to end in a real browser: headless Chromium (Debian package `chromium`, installed by
 * .ci/run) driven by playwright-core opens the dashboard of a running lab and watches it
 * react to real pings and a real mail, and to fake heartbeat/proxy/web services that produce
 * the agreed snapshot shapes. Saves a screenshot to test-artifacts/ (not committed).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { startLab, type Lab } from "../../src/lab/lab.js";
import { startDashboard, type Dashboard } from "../../src/lab/dashboard/server.js";
import { LAB_SERVICES } from "../../src/lab/services.js";
import { udpPing } from "../../src/udp/ping/client.js";
import { fakeService, hbClient, type FakeHandle } from "./fakes.js";
import { mailWithAttachment, sendRawMail } from "./smtp-raw.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/", import.meta.url));
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} missing (Debian package chromium; .ci/run installs it)`;

let lab: Lab;
let dash: Dashboard;
let browser: Browser;
let page: Page;
let hb: FakeHandle;
let proxy: FakeHandle;
const pageErrors: string[] = [];

function port(name: string): number {
  const s = lab.running().find((r) => r.name === name);
  assert.ok(s);
  return s.running.port;
}

before(async () => {
  if (skip) return;
  const now = Date.now();
  const heartbeat = fakeService("heartbeat", "fake heartbeat monitor", { clients: [] }, { heartbeats: 0 });
  const px = fakeService("proxy", "fake caching proxy", { stats: { requests: 0, hits: 0, misses: 0, revalidations: 0, hitRatio: 0, bytesFromCache: 0, bytesFromOrigin: 0, entries: 0, diskBytes: 0 }, recent: [] }, { requests: 0 });
  const web = fakeService("http", "fake web server", {
    recent: [
      { at: now - 2000, client: "127.0.0.1:51000", method: "GET", path: "/index.html", status: 200, bytes: 1843, ms: 0.9 },
      { at: now - 1000, client: "127.0.0.1:51002", method: "GET", path: "/missing.html", status: 404, bytes: 120, ms: 0.3 },
    ],
  }, { requests: 2, bytes: 1963 });
  hb = heartbeat.handle;
  proxy = px.handle;
  lab = await startLab({ host: "127.0.0.1", services: [...LAB_SERVICES, heartbeat.service, px.service, web.service], ports: { "udp-ping": 0, mail: 0 }, defaultPort: 0 });
  dash = await startDashboard(lab, { port: 0, stateMs: 250 });
  // History from before the page opened (the dashboard records it): c1's heartbeats for the last 40 s, with two gaps.
  for (let i = 1; i <= 40; i++) {
    if (i === 12 || i === 13 || i === 30) continue;
    hb.emit({ kind: "heartbeat", at: now - (41 - i) * 1000, text: "", data: { client: "c1", seq: i, delayMs: 0.2 + 0.15 * Math.sin(i / 3) + (i % 7 === 0 ? 0.6 : 0) } });
  }
  hb.emit({ kind: "joined", text: "c1 joined from 127.0.0.1:40000", data: { client: "c1" } });
  hb.emit({ kind: "lost", text: "c1 lost seq 12-13", data: { client: "c1", from: 12, to: 13 } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(m.text());
  });
  await page.goto(dash.url);
  await page.waitForSelector("body[data-ready='1']", { timeout: 30000 });
});

after(async () => {
  await browser?.close();
  await dash?.close();
  await lab?.close();
});

test("the dashboard shows a panel per service and pings move its counters", { skip }, async () => {
  for (const name of ["udp-ping", "mail", "heartbeat", "proxy", "http"]) assert.equal(await page.locator(`#panel-${name}`).count(), 1, name);
  await page.locator("#ping-received").filter({ hasText: /^0$/ }).waitFor({ timeout: 30000 });
  const r = await udpPing({ host: "127.0.0.1", port: port("udp-ping"), count: 12, intervalMs: 30, timeoutMs: 2000 });
  await page.locator("#ping-received").filter({ hasText: /^12$/ }).waitFor({ timeout: 30000 });
  assert.equal(await page.textContent("#ping-replied"), String(r.totals.received));
  assert.equal(await page.textContent("#ping-dropped"), String(12 - r.totals.received));
  assert.ok((await page.locator("#ping-recent tbody tr").count()) >= 8);
});

test("a heartbeat client appears alive, then turns dead, and its events reach the feed", { skip }, async () => {
  hb.snapshot = { clients: [hbClient("c1", "alive", 37, 3), hbClient("c2", "alive", 120, 0), hbClient("c3", "suspect", 80, 4)] };
  hb.totals = { heartbeats: 237 };
  const status = page.locator("#hb-table tr[data-client='c1'] [data-testid='hb-status']");
  await status.filter({ hasText: "alive" }).waitFor({ timeout: 30000 });
  await page.locator("#hb-table tr[data-client='c1']").click();
  await page.locator("#hb-table tr.selected[data-client='c1']").waitFor({ timeout: 30000 });
  // Its delay chart starts from the history the dashboard kept (37 heartbeats).
  await page.locator("#chart-hb-delay[data-points='37']").waitFor({ timeout: 30000 });
  hb.emit({ kind: "heartbeat", text: "", data: { client: "c1", seq: 41, delayMs: 0.3 } });
  hb.snapshot = { clients: [hbClient("c1", "dead", 41, 3), hbClient("c2", "alive", 121, 0), hbClient("c3", "suspect", 80, 4)] };
  hb.emit({ kind: "stopped", text: "c1 stopped: nothing for 3 s (timeout)", data: { client: "c1" } });
  await status.filter({ hasText: "dead" }).waitFor({ timeout: 30000 });
  await page.locator("#chart-hb-delay[data-points='38']").waitFor({ timeout: 30000 });
  await page.locator("#hb-feed li", { hasText: "c1 stopped" }).waitFor({ timeout: 30000 });
  assert.equal(await page.textContent("#hb-dead"), "1");
  // Dead clients are listed first.
  assert.equal(await page.locator("#hb-table tbody tr").first().getAttribute("data-client"), "c1");
});

test("a proxy hit is shown with its Cache-Status and the hit ratio", { skip }, async () => {
  const now = Date.now();
  proxy.snapshot = {
    stats: { requests: 2, hits: 1, misses: 1, revalidations: 0, hitRatio: 0.5, bytesFromCache: 5120, bytesFromOrigin: 5120, entries: 1, diskBytes: 5400 },
    recent: [
      { at: now, client: "127.0.0.1:52001", method: "GET", url: "http://127.0.0.1:8080/cat.png", status: 200, cacheStatus: "HIT", bytes: 5120, ms: 0.4 },
      { at: now - 500, client: "127.0.0.1:52000", method: "GET", url: "http://127.0.0.1:8080/cat.png", status: 200, cacheStatus: "MISS", bytes: 5120, ms: 3.1 },
    ],
  };
  proxy.totals = { requests: 2 };
  await page.locator("#proxy-recent [data-testid='cache-status']", { hasText: "HIT" }).waitFor({ timeout: 30000 });
  assert.equal(await page.textContent("#proxy-hit-ratio"), "50.0%");
  assert.equal(await page.textContent("#proxy-bytes-cache"), "5.0 KiB");
});

test("a mail with an attachment appears, opens with its text, and the attachment downloads", { skip }, async () => {
  const content = Buffer.from("id,rtt_ms\n1,0.31\n2,0.28\n3,0.95\n");
  const data = mailWithAttachment("Lab 3 results", "Hi Bob,\r\n\r\nthe ping results are attached.\r\n\r\nAda", "results.csv", content);
  const replies = await sendRawMail("127.0.0.1", port("mail"), { from: "ada@lab.test", to: "bob@lab.test", data });
  assert.match(replies[5] ?? "", /^250 /);
  const item = page.locator("#mail-list li", { hasText: "Lab 3 results" });
  await item.waitFor({ timeout: 30000 });
  assert.match((await item.textContent()) ?? "", /results\.csv/);
  await item.click();
  await page.locator("#mail-dialog[open]").waitFor({ timeout: 30000 });
  assert.match((await page.textContent("#mail-text")) ?? "", /the ping results are attached/);
  assert.match((await page.textContent("#mail-headers")) ?? "", /ada@lab\.test/);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}lab-mail-dialog.png` });
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 30000 }), page.locator("#mail-attachments a", { hasText: "results.csv" }).click()]);
  assert.equal(download.suggestedFilename(), "results.csv");
  const path = await download.path();
  assert.deepEqual(readFileSync(path), content);
  await page.keyboard.press("Escape");
  await page.locator("#mail-dialog[open]").waitFor({ state: "detached", timeout: 30000 }).catch(() => {});
});

test("a screenshot of the whole dashboard is saved as a test artifact", { skip }, async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = `${ARTIFACTS}lab-dashboard.png`;
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(readFileSync(file).length > 10000);
});

test("the page ran without a script error or a blocked resource", { skip }, () => {
  assert.deepEqual(pageErrors, []);
});

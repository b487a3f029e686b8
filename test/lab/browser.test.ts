/**
 * End to end in a real browser: headless Chromium (Debian package `chromium`, installed by
 * .ci/run) driven by playwright-core opens the dashboard of a running lab — every real
 * service on free loopback ports — and watches it react to real clients: pings, heartbeat
 * senders that start and stop, a page fetched twice through the proxy, and a mail with an
 * attachment. Saves screenshots to test-artifacts/ (not committed).
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
import { sendHeartbeats } from "../../src/udp/heartbeat/sender.js";
import { httpGet } from "../../src/http/client/client.js";
import { headerValue } from "../../src/http/client/response.js";
import { mailWithAttachment, sendRawMail } from "./smtp-raw.js";

/** The dashboard's byte format (assets/dom.js fmtBytes). */
function fmtBytes(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${u[i]}`;
}

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/", import.meta.url));
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} missing (Debian package chromium; .ci/run installs it)`;

let lab: Lab;
let dash: Dashboard;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

function port(name: string): number {
  const s = lab.running().find((r) => r.name === name);
  assert.ok(s, `${name} is running`);
  return s.running.port;
}

before(async () => {
  if (skip) return;
  lab = await startLab({ host: "127.0.0.1", defaultPort: 0 });
  dash = await startDashboard(lab, { port: 0, stateMs: 250 });
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
  for (const name of LAB_SERVICES.map((s) => s.name)) assert.equal(await page.locator(`#panel-${name}`).count(), 1, name);
  await page.locator("#ping-received").filter({ hasText: /^0$/ }).waitFor({ timeout: 30000 });
  // The run ends one timeout after the last dropped ping; a loopback reply takes far less than 1 s.
  const r = await udpPing({ host: "127.0.0.1", port: port("udp-ping"), count: 12, intervalMs: 30, timeoutMs: 1000 });
  await page.locator("#ping-received").filter({ hasText: /^12$/ }).waitFor({ timeout: 30000 });
  assert.equal(await page.textContent("#ping-replied"), String(r.totals.received));
  assert.equal(await page.textContent("#ping-dropped"), String(12 - r.totals.received));
  assert.ok((await page.locator("#ping-recent tbody tr").count()) >= 8);
  // The live ladder redraws with the new exchanges: a loaded picture that names them.
  const ladder = page.locator("#ladder-udp-ping");
  for (let i = 0; !/\?t=/.test((await ladder.getAttribute("src")) ?? ""); i++) {
    assert.ok(i < 100, "the ladder was redrawn after the pings");
    await page.waitForTimeout(100);
  }
  for (let i = 0; ; i++) {
    const loaded = await ladder.evaluate((img) => {
      const el = img as unknown as { complete: boolean; naturalWidth: number };
      return el.complete && el.naturalWidth > 100;
    });
    if (loaded) break;
    assert.ok(i < 100, "the ladder picture loads");
    await page.waitForTimeout(100);
  }
});

test("a heartbeat sender appears alive, turns dead after it stops, and its events reach the feed", { skip }, async () => {
  const hbPort = port("heartbeat");
  const stopC1 = new AbortController();
  const stopC2 = new AbortController();
  // c1 skips seqs 5 and 6 (the monitor must report them lost); c2 keeps running throughout.
  const c1 = sendHeartbeats({ host: "127.0.0.1", port: hbPort, intervalMs: 100, timeoutMs: 1000, id: "c1", skip: (seq) => seq === 5 || seq === 6, signal: stopC1.signal });
  const c2 = sendHeartbeats({ host: "127.0.0.1", port: hbPort, intervalMs: 100, timeoutMs: 1000, id: "c2", signal: stopC2.signal });
  try {
    const status = page.locator("#hb-table tr[data-client='c1'] [data-testid='hb-status']");
    await status.filter({ hasText: "alive" }).waitFor({ timeout: 30000 });
    await page.locator("#hb-table tr[data-client='c2'] [data-testid='hb-status']").filter({ hasText: "alive" }).waitFor({ timeout: 30000 });
    await page.locator("#hb-feed li", { hasText: "lost seq 5-6 from c1" }).waitFor({ timeout: 30000 });
    await page.locator("#hb-table tr[data-client='c1']").click();
    await page.locator("#hb-table tr.selected[data-client='c1']").waitFor({ timeout: 30000 });
    // The delay chart of the selected client fills with its heartbeats as they arrive.
    const delayChart = page.locator("#chart-hb-delay");
    for (let i = 0; Number((await delayChart.getAttribute("data-points")) ?? 0) < 10; i++) {
      assert.ok(i < 300, "the delay chart of c1 gets 10 points");
      await page.waitForTimeout(100);
    }
    stopC1.abort();
    const r1 = await c1;
    assert.ok(r1.totals.transmitted >= 10);
    // The monitor's default --dead-after is 3 s: the page shows c1 dead, with the stopped event.
    await status.filter({ hasText: "dead" }).waitFor({ timeout: 30000 });
    // On a loaded machine a late heartbeat can resume c1 for a moment, so it may stop twice: any one will do.
    await page.locator("#hb-feed li", { hasText: "c1 stopped: no heartbeat for" }).first().waitFor({ timeout: 30000 });
    assert.equal(await page.textContent("#hb-dead"), "1");
    assert.equal(await page.textContent("#hb-alive"), "1");
    // Dead clients are listed first; c1's row says what the monitor counted.
    assert.equal(await page.locator("#hb-table tbody tr").first().getAttribute("data-client"), "c1");
    const cells = await page.locator("#hb-table tr[data-client='c1'] td").allTextContents();
    assert.equal(cells[4], "2", "two heartbeats lost");
    assert.equal(await page.locator("#hb-table tr[data-client='c2'] [data-testid='hb-status']").textContent(), "alive");
  } finally {
    stopC1.abort();
    stopC2.abort();
    await Promise.all([c1, c2]);
  }
});

test("a page fetched twice through the proxy shows a miss, then a hit with its Cache-Status, and the web server's request", { skip }, async () => {
  const url = new URL(`http://127.0.0.1:${port("http")}/index.html`);
  const proxyUrl = new URL(`http://127.0.0.1:${port("proxy")}`);
  const first = await httpGet({ url, proxy: proxyUrl, timeoutMs: 10_000 });
  const second = await httpGet({ url, proxy: proxyUrl, timeoutMs: 10_000 });
  assert.match(headerValue(second.head, "cache-status") ?? "", /^wirekit; hit/);
  await page.locator("#proxy-recent [data-testid='cache-status']", { hasText: /^HIT$/ }).waitFor({ timeout: 30000 });
  assert.equal(await page.locator("#proxy-recent [data-testid='cache-status']", { hasText: /^MISS$/ }).count(), 1);
  assert.equal(await page.textContent("#proxy-hit-ratio"), "50.0%");
  assert.equal(await page.textContent("#proxy-hits"), "1");
  assert.equal(await page.textContent("#proxy-bytes-cache"), fmtBytes(second.bodyBytes));
  assert.equal(await page.textContent("#proxy-bytes-origin"), fmtBytes(first.bodyBytes));
  // The web server saw only the miss.
  await page.locator("#http-recent tbody tr", { hasText: "/index.html" }).waitFor({ timeout: 30000 });
  assert.equal(await page.locator("#http-recent tbody tr", { hasText: "/index.html" }).count(), 1);
  assert.equal(await page.textContent("#http-requests"), "1");
});

test("the request just made is the top row, and no table is clipped at 1400 px or 1024 px", { skip }, async () => {
  const proxyUrl = new URL(`http://127.0.0.1:${port("proxy")}`);
  const marker = `/images/plasma.png?newest=${"x".repeat(60)}`;
  await httpGet({ url: new URL(`http://127.0.0.1:${port("http")}${marker}`), proxy: proxyUrl, timeoutMs: 10_000 });
  await page.locator("#proxy-recent tbody tr", { hasText: "newest=" }).waitFor({ timeout: 30000 });
  for (const id of ["proxy-recent", "http-recent"]) {
    assert.match((await page.locator(`#${id} tbody tr`).first().textContent()) ?? "", /newest=/, `${id}: the newest request is the first row`);
  }
  for (const width of [1400, 1024]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(100);
    for (const id of ["proxy-recent", "http-recent", "echo-recent", "ping-recent"]) {
      const fit = await page.locator(`#${id}`).evaluate((table) => {
        const box = table.closest(".scroll");
        return box === null ? null : { scroll: box.scrollWidth, client: box.clientWidth };
      });
      assert.ok(fit !== null, `${id} is in a scroll box`);
      assert.ok(fit.scroll <= fit.client + 1, `${id} at ${width} px: ${fit.scroll} px of columns in ${fit.client} px (the last columns are cut off)`);
    }
  }
  await page.setViewportSize({ width: 1440, height: 900 });
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

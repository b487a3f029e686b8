/**
 * Chromium, the judge of today's SMTP diagram, judges every tool's: each ladder opens as an SVG
 * document (no parse error page) and its layout holds with any number of lifelines: every text
 * inside the picture, each message's text and decision between the two lifelines it joins,
 * every actor label inside its box.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CHROMIUM, skip, SVG_MEASURE, type SvgLayout } from "../helpers/svg-measure.js";
import { chromium, type Browser } from "playwright-core";
import { renderLadderSvg, type Ladder } from "../../src/render/ladder.js";
import { udpPingLadder } from "../../src/render/udp-ping.js";
import { httpGetLadder, type HttpGetWireEvent } from "../../src/render/http-get.js";
import { tracerouteLadder } from "../../src/render/traceroute.js";
import type { UdpPingEvent } from "../../src/udp/ping/client.js";
import type { TracerouteEvent } from "../../src/icmp/traceroute.js";
import { sendBigLadder } from "../../src/render/udp-echo.js";
import { mtrLadder } from "../../src/render/mtr.js";
import type { SendBigEvent } from "../../src/udp/echo/bigsend.js";
import type { MtrEvent } from "../../src/icmp/mtr.js";




const S = { address: "127.0.0.1", port: 12000 };
const LADDERS: Array<[string, Ladder]> = [
  ["udp-ping", udpPingLadder([
    { at: 0, event: { kind: "start", host: "127.0.0.1", server: S, local: { address: "0.0.0.0", port: 40000 }, size: 0 } },
    { at: 0, event: { kind: "sent", seq: 1, bytes: 30 } },
    { at: 200, event: { kind: "foreign", from: { address: "203.0.113.77", port: 5353 }, bytes: 12 } },
    { at: 1000, event: { kind: "timeout", seq: 1 } },
    { at: 1000, event: { kind: "sent", seq: 2, bytes: 30 } },
    { at: 2100, event: { kind: "timeout", seq: 2 } },
    { at: 2200, event: { kind: "late", seq: 2, rttMs: 1200, from: S } },
  ] satisfies Array<{ at: number; event: UdpPingEvent }>, { timeoutMs: 1000 })],
  ["http get via proxy", httpGetLadder([
    { at: 0, event: { kind: "request", head: "GET http://origin.example.edu/a/rather/long/path/to/a/file.html HTTP/1.1\r\nHost: origin.example.edu\r\n\r\n", remote: { address: "127.0.0.1", port: 8888 }, url: new URL("http://origin.example.edu/a/rather/long/path/to/a/file.html"), proxy: true } },
    { at: 3, event: { kind: "head", interim: false, head: { statusLine: "HTTP/1.1 200 OK", version: "HTTP/1.1", status: 200, reason: "OK", headers: [["Cache-Status", "wirekit; fwd=uri-miss; fwd-status=200; stored"]], raw: Buffer.alloc(0) } } },
    { at: 4, event: { kind: "body", bytes: 1234 } },
  ] satisfies Array<{ at: number; event: HttpGetWireEvent }>)],
  ["traceroute", tracerouteLadder([
    { at: 0, event: { kind: "start", host: "d", address: "10.0.0.3", family: 4, maxHops: 30, packetBytes: 60, socket: "raw", method: "udp", paris: false, flow: {} as never } },
    { at: 1, event: { kind: "hop", hop: { hop: 1, probes: [{ from: "10.0.0.1", name: "router-one.lab.example.edu", rttMs: 0.1, annotation: "", reached: false }, { from: null }] } } },
    { at: 2, event: { kind: "hop", hop: { hop: 2, probes: [{ from: "10.0.0.3", rttMs: 0.3, annotation: "!H", reached: true }] } } },
  ] satisfies Array<{ at: number; event: TracerouteEvent }>)],
  ["udp-echo send-big", sendBigLadder([
    { at: 0, event: { kind: "start", local: { address: "127.0.0.1", port: 40000 }, server: S, size: 80000, messageId: "k3j9x0q2" } },
    { at: 1, event: { kind: "single", status: "too-big", bytes: 80000, limit: 65507, family: 4 } },
    { at: 2, event: { kind: "part", number: 1, count: 3, bytes: 26687 } },
    { at: 3, event: { kind: "part", number: 2, count: 3, bytes: 26687 } },
    { at: 4, event: { kind: "part", number: 3, count: 3, bytes: 26686, error: "send to 127.0.0.1:12000: ENOBUFS" } },
    { at: 5, event: { kind: "ignored", from: { address: "203.0.113.77", port: 5353 }, bytes: 12, reason: "not the server" } },
    { at: 2005, event: { kind: "reply", from: S, text: "incomplete message: 1 of 3 parts (26666 of 80000 bytes) arrived, missing parts 2-3", forParts: true } },
  ] satisfies Array<{ at: number; event: SendBigEvent }>, { single: "too-big", size: 80000, messageId: "k3j9x0q2", limit: 65507, parts: 3, partBytes: 26667, confirmation: "incomplete" }, { waitMs: 4000, doneAt: 2005 })],
  ["mtr", mtrLadder([
    { at: 0, event: { kind: "start", host: "d", address: "10.0.0.3", family: 4, method: "icmp", paris: false, flow: {} as never, packetBytes: 60 } },
    { at: 0, event: { kind: "probe", cycle: 1, ttl: 1 } },
    { at: 0, event: { kind: "probe", cycle: 1, ttl: 2 } },
    { at: 1, event: { kind: "reply", cycle: 1, ttl: 1, from: "10.0.0.1", rttMs: 0.1, annotation: "", final: false, reached: false } },
    { at: 2, event: { kind: "reply", cycle: 1, ttl: 2, from: "10.0.0.3", rttMs: 0.3, annotation: "", final: true, reached: true } },
    { at: 100, event: { kind: "probe", cycle: 2, ttl: 1 } },
    { at: 100, event: { kind: "probe", cycle: 2, ttl: 2 } },
    { at: 101, event: { kind: "reply", cycle: 2, ttl: 2, from: "10.0.0.3", rttMs: 0.3, annotation: "", final: true, reached: true } },
    { at: 1100, event: { kind: "timeout", cycle: 2, ttl: 1 } },
    { at: 1300, event: { kind: "late", cycle: 2, ttl: 1, from: "10.0.0.1", rttMs: 1200 } },
  ] satisfies Array<{ at: number; event: MtrEvent }>, {
    host: "d", address: "10.0.0.3", family: 4, method: "icmp", paris: false, cycles: 2, reached: true,
    rows: [
      { hop: 1, hosts: [{ address: "10.0.0.1", name: "router-one.lab.example.edu", replies: 1 }], sent: 2, received: 1, lossPercent: 50, lastMs: 0.1, avgMs: 0.1, bestMs: 0.1, worstMs: 0.1, stdevMs: 0, annotation: "" },
      { hop: 2, hosts: [{ address: "10.0.0.3", replies: 2 }], sent: 2, received: 2, lossPercent: 0, lastMs: 0.3, avgMs: 0.3, bestMs: 0.3, worstMs: 0.3, stdevMs: 0, annotation: "" },
    ],
  }, { waitMs: 1000 })],
];

describe("every tool's ladder in a browser", { skip }, () => {
  let browser: Browser;
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wirekit-ladder-"));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync"],
    });
  });
  after(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [name, ladder] of LADDERS) {
    it(`${name}: opens as SVG, one lifeline per party, texts between the lifelines they join`, async () => {
      const file = join(dir, `${name.replace(/\W+/g, "-")}.svg`);
      await writeFile(file, renderLadderSvg(ladder));
      const page = await browser.newPage();
      let l: SvgLayout;
      try {
        await page.goto(pathToFileURL(file).href);
        l = (await page.evaluate(SVG_MEASURE)) as SvgLayout;
      } finally {
        await page.close();
      }
      assert.equal(l.root, "svg");
      assert.equal(l.parseError, false);
      assert.equal(l.lifelines.length, ladder.lifelines.length);
      const xs = [...l.lifelines].sort((a, b) => a - b);
      let checked = 0;
      for (const t of l.texts) {
        assert.ok(t.x >= 0 && t.right <= l.width && t.y >= 0 && t.bottom <= l.height, `inside the picture: ${t.text}`);
        if (/\b(c2s|s2c)\b/.test(t.cls)) {
          const left = /\bs2c\b/.test(t.cls);
          // A message's text starts at the lifeline it leaves and must end before the next one.
          const i = xs.findIndex((x) => Math.abs(x - (t.anchor + (left ? 12 : -12))) < 1);
          if (i === -1) continue;
          const lo = left ? (xs[i - 1] ?? 0) : (xs[i] ?? 0);
          const hi = left ? (xs[i] ?? 0) : (xs[i + 1] ?? l.width);
          checked++;
          assert.ok(t.x > lo && t.right < hi, `between its lifelines: ${t.text}`);
        }
      }
      assert.ok(checked >= ladder.rows.filter((r) => r.kind === "message").length, `every message text was placed (${checked})`);
      const actors = l.texts.filter((t) => t.cls === "actor");
      assert.equal(actors.length, 2 * ladder.lifelines.length);
      for (const a of actors) assert.ok(l.boxes.some((b) => b.x <= a.x && a.right <= b.right), `label inside its box: ${a.text}`);
    });
  }
});

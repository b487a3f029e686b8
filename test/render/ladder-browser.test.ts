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
import { CHROMIUM, skip, SVG_MEASURE } from "../helpers/svg-measure.js";
import { chromium, type Browser } from "playwright-core";
import { renderLadderSvg, type Ladder } from "../../src/render/ladder.js";
import { udpPingLadder } from "../../src/render/udp-ping.js";
import { httpGetLadder, type HttpGetWireEvent } from "../../src/render/http-get.js";
import { tracerouteLadder } from "../../src/render/traceroute.js";
import type { UdpPingEvent } from "../../src/udp/ping/client.js";
import type { TracerouteEvent } from "../../src/icmp/traceroute.js";



interface Layout {
  root: string;
  parseError: boolean;
  width: number;
  height: number;
  lifelines: number[];
  texts: Array<{ cls: string; text: string; x: number; right: number; y: number; bottom: number; anchor: number }>;
  boxes: Array<{ x: number; right: number }>;
}

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
      let l: Layout;
      try {
        await page.goto(pathToFileURL(file).href);
        l = (await page.evaluate(SVG_MEASURE)) as Layout;
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

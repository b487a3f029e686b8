/**
 * A real browser (headless Chromium through playwright-core) as the judge of the sequence
 * diagram: the SVG of a real session against smtp-server opens as an SVG document (no XML
 * parse error page), and the layout holds: every command stays between the lifelines, every
 * label inside its box, everything inside the picture.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CHROMIUM, skip, SVG_MEASURE, type SvgLayout } from "../helpers/svg-measure.js";
import { chromium, type Browser } from "playwright-core";
import { createRandom } from "../../src/core/random.js";
import { renderDiagramSvg } from "../../src/render/smtp.js";
import { buildMessage } from "../../src/smtp/mime/message.js";
import { sendMail } from "../../src/smtp/session.js";
import type { TranscriptEntry } from "../../src/smtp/transcript.js";
import { PASSWORD, USER, startSmtpPeer, testCert, type SmtpPeer } from "./peer.js";




describe("sequence diagram in a browser", { skip }, () => {
  let browser: Browser;
  let dir = "";
  let peer: SmtpPeer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wirekit-diagram-"));
    peer = await startSmtpPeer({
      banner: "lab mail sink with a rather long banner text that makes the greeting line wide",
      onRcptTo(addr, _s, cb) {
        if (addr.address.startsWith("nobody")) cb(Object.assign(new Error("No such user here"), { responseCode: 550 }));
        else cb();
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-component-update", "--disable-sync"],
    });
  });
  after(async () => {
    await browser?.close();
    await peer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function layout(svg: string, name: string): Promise<SvgLayout> {
    const file = join(dir, name);
    await writeFile(file, svg);
    const page = await browser.newPage();
    try {
      await page.goto(pathToFileURL(file).href);
      // Runs in the page (a string: this project's TypeScript has no DOM types).
      return (await page.evaluate(SVG_MEASURE)) as SvgLayout;
    } finally {
      await page.close();
    }
  }

  function checkLayout(l: SvgLayout): void {
    assert.equal(l.root, "svg");
    assert.equal(l.parseError, false);
    assert.equal(l.lifelines.length, 2);
    const [cx = 0, sx = 0] = l.lifelines.sort((a, b) => a - b);
    for (const t of l.texts) {
      assert.ok(t.x >= 0 && t.right <= l.width && t.y >= 0 && t.bottom <= l.height, `inside the picture: ${t.text}`);
      if (t.cls === "c2s" || t.cls === "s2c") assert.ok(t.x > cx && t.right < sx, `between the lifelines: ${t.text}`);
    }
    const actors = l.texts.filter((t) => t.cls === "actor");
    assert.equal(actors.length, 4);
    for (const a of actors) assert.ok(l.boxes.some((b) => b.x <= a.x && a.right <= b.right), `label inside its box: ${a.text}`);
  }

  it("opens the diagram of a real STARTTLS + AUTH session as an SVG whose text stays between the lifelines", async () => {
    const message = buildMessage({ from: { address: "a@lab.test" }, to: [{ address: "b@lab.test" }], subject: "s", text: "t", date: 0, random: createRandom(1) }).bytes;
    const r = await sendMail({
      host: "127.0.0.1",
      port: peer.port,
      ca: (await testCert()).cert,
      auth: { user: USER, password: PASSWORD, mechanism: "LOGIN" },
      from: "a@lab.test",
      recipients: ["b@lab.test", "nobody@lab.test"],
      message,
      timeoutMs: 20_000,
    });
    assert.equal(r.outcome.status, "accepted", r.error?.message);
    const l = await layout(renderDiagramSvg(r.transcript), "session.svg");
    checkLayout(l);
    const all = l.texts.map((t) => t.text);
    for (const e of r.transcript) {
      if (e.kind === "client") assert.ok(all.includes(e.text), e.text);
      if (e.kind === "server") for (const line of e.lines) assert.ok(all.includes(line), line);
    }
  });

  it("keeps a long reply, a long host name and hostile text inside the picture", async () => {
    const transcript: TranscriptEntry[] = [
      { kind: "connect", at: 0, host: "smtp.mail.a-rather-long-university-domain-name.example.edu", address: "127.0.0.1", port: 587, tls: false },
      { kind: "server", at: 1, code: 220, lines: [`220 ${"x".repeat(150)} <svg onload=alert(1)> & ]]> <![CDATA[`] },
      { kind: "client", at: 2, text: "EHLO client.lab.test" },
      { kind: "server", at: 3, code: 250, lines: ["250-mx", "250 Grüße, 你好"] },
      { kind: "error", at: 4, text: "timed out after 30 s waiting for the reply to EHLO" },
    ];
    checkLayout(await layout(renderDiagramSvg(transcript), "long.svg"));
  });
});

/**
 * `--diagram FILE` of every client tool on loopback: the file is written, the SVG is
 * well-formed with one arrow per message the tool reported, Mermaid and text carry the same
 * exchange, and a file name with no known extension is a usage error before anything is sent.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { runCliCapture, spawnCli, type Spawned } from "../helpers/cli.js";

const isRoot = process.getuid?.() === 0;
const rootOnly = isRoot ? {} : { skip: "needs root (raw ICMP sockets)" };

let dir = "";
const servers: Spawned[] = [];
async function serve(argv: string[]): Promise<number> {
  const s = spawnCli(argv);
  servers.push(s);
  const out = await s.waitFor(/listening on \S+:(\d+)/);
  return Number(/listening on \S+:(\d+)/.exec(out)?.[1]);
}
const arrows = (svg: string): number => (svg.match(/<line [^>]*class="(?:c2s|s2c)[^"]*"/g) ?? []).length;
const crosses = (svg: string): number => (svg.match(/class="cross"/g) ?? []).length;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "wirekit-diagram-cli-"));
});
after(async () => {
  for (const s of servers) s.kill("SIGTERM");
  await Promise.all(servers.map((s) => s.done));
  await rm(dir, { recursive: true, force: true });
});

describe("--diagram on the client tools", { concurrency: true }, () => {
  it("udp-ping: one arrow per ping and reply, a cross per timeout, against a lossy server", async () => {
    const port = await serve(["udp-ping", "serve", "--host", "127.0.0.1", "-p", "0", "--loss", "0.5", "--seed", "7", "-q"]);
    const file = join(dir, "udp-ping.svg");
    const r = await runCliCapture(["udp-ping", "127.0.0.1", String(port), "-c", "6", "-i", "20ms", "-W", "1s", "--diagram", file]);
    const replies = (r.stdout.match(/^Reply from/gm) ?? []).length;
    const timeouts = (r.stdout.match(/^Request timed out/gm) ?? []).length;
    assert.equal(replies + timeouts, 6, r.stdout);
    assert.ok(timeouts > 0 && replies > 0, "seed 7 drops some and answers some");
    const svg = await readFile(file, "utf8");
    assert.equal(XMLValidator.validate(svg), true);
    assert.equal(arrows(svg), 6 + replies);
    assert.equal(crosses(svg), timeouts);
    assert.match(svg, /counted lost/);
    assert.match(r.stderr, /diagram written to /);
  });

  it("udp-echo: the request and its reply, as Mermaid", async () => {
    const port = await serve(["udp-echo", "serve", "-p", "0", "--quiet"]);
    const file = join(dir, "echo.mmd");
    const r = await runCliCapture(["udp-echo", "127.0.0.1", String(port), "-m", "hi", "--timeout", "2s", "--diagram", file]);
    assert.equal(r.code, 0, r.stderr);
    const mmd = await readFile(file, "utf8");
    assert.equal(mmd.split("\n")[0], "sequenceDiagram");
    assert.match(mmd, /C->>S: request id [0-9a-f]{16}, attempt 1 \(wait 2 s\)/);
    assert.match(mmd, /S-->>C: reply \(2 bytes echoed\) RTT/);
  });

  it("udp-echo send-big: one arrow per part and for the verdict, a cross per part the verdict names missing, the refused datagram as a note", async () => {
    const port = await serve(["udp-echo", "serve", "--host", "127.0.0.1", "-p", "0", "--loss", "0.3", "--seed", "7", "-q"]);
    const file = join(dir, "big.svg");
    const r = await runCliCapture(["udp-echo", "send-big", "127.0.0.1", String(port), "--size", "80000", "--parts", "16", "--wait", "3s", "--diagram", file]);
    const missing = /missing parts (.*)$/m.exec(r.stdout)?.[1] ?? "";
    const lost = missing.split(", ").reduce((n, x) => {
      const [a = 0, b = a] = x.split("-").map(Number);
      return n + b - a + 1;
    }, 0);
    assert.ok(lost > 0 && lost < 16, r.stdout);
    const svg = await readFile(file, "utf8");
    assert.equal(XMLValidator.validate(svg), true);
    assert.equal(arrows(svg), 16 + 1);
    assert.equal(crosses(svg), lost);
    assert.match(svg, /refused by the OS \(EMSGSIZE\)/);
    assert.match(svg, /verdict: incomplete message/);
    // No verdict at all (nothing listens): each part, then the timeout.
    const txt = join(dir, "big-none.txt");
    const none = await runCliCapture(["udp-echo", "send-big", "127.0.0.1", "9", "--size", "3000", "--parts", "3", "--wait", "200ms", "--diagram", txt]);
    assert.equal(none.code, 1, none.stdout);
    const text = await readFile(txt, "utf8");
    assert.match(text, /\|--- one datagram of 3000 bytes -+>\|/);
    assert.equal((text.match(/part \d\/3 \(1020 bytes\)/g) ?? []).length, 3);
    assert.match(text, /timeout: no verdict from the server within 200 ms/);
  });

  it("heartbeat: each heartbeat and its ack, as text", async () => {
    const port = await serve(["heartbeat", "serve", "--host", "127.0.0.1", "-p", "0"]);
    const file = join(dir, "hb.txt");
    const r = await runCliCapture(["heartbeat", "127.0.0.1", String(port), "-c", "3", "-i", "20ms", "-W", "2s", "--id", "lab-pc", "--diagram", file]);
    assert.equal(r.code, 0, r.stderr);
    const txt = await readFile(file, "utf8");
    assert.match(txt.split("\n")[0] ?? "", /sender lab-pc +monitor 127\.0\.0\.1:\d+/);
    for (let i = 1; i <= 3; i++) {
      assert.match(txt, new RegExp(`\\|--- heartbeat seq ${i} \\(\\d+ bytes\\) -+>\\|`));
      assert.match(txt, new RegExp(`\\|<-- ack seq ${i}, RTT`));
    }
  });

  it("http get: the request, the response and its body; through the proxy, a third lifeline with the Cache-Status decision", async () => {
    const root = join(dir, "site");
    await import("node:fs/promises").then((fs) => fs.mkdir(root));
    await writeFile(join(root, "a.txt"), "hello\n");
    const web = await serve(["http", "serve", root, "-p", "0", "--quiet"]);
    const file = join(dir, "get.svg");
    const r = await runCliCapture(["http", "get", "127.0.0.1", String(web), "a.txt", "-s", "--diagram", file]);
    assert.equal(r.code, 0, r.stderr);
    const svg = await readFile(file, "utf8");
    assert.equal(XMLValidator.validate(svg), true);
    assert.equal(arrows(svg), 3, "request, response head, body");
    assert.match(svg, /GET \/a\.txt HTTP\/1\.1/);
    const proxy = await serve(["proxy", "-p", "0", "--cache-dir", join(dir, "cache"), "--quiet"]);
    const pfile = join(dir, "proxy.txt");
    const p = await runCliCapture(["http", "get", `http://127.0.0.1:${web}/a.txt`, "--proxy", `http://127.0.0.1:${proxy}`, "-s", "--diagram", pfile]);
    assert.equal(p.code, 0, p.stderr);
    const txt = await readFile(pfile, "utf8");
    assert.match(txt.split("\n")[0] ?? "", /client \(wirekit\) +proxy 127\.0\.0\.1:\d+ +origin 127\.0\.0\.1:\d+/);
    assert.match(txt, /cache MISS \(fwd=uri-miss\)/);
    assert.match(txt, /\(inferred from Cache-Status\)/);
  });

  it("ping: each echo request and reply", rootOnly, async () => {
    const file = join(dir, "ping.txt");
    const r = await runCliCapture(["ping", "127.0.0.1", "-n", "2", "-i", "0.05", "-W", "5s", "--diagram", file]);
    assert.equal(r.code, 0, r.stderr);
    const txt = await readFile(file, "utf8");
    assert.match(txt, /\|--- echo request seq 0 -+>\|/);
    assert.match(txt, /\|<-- echo reply seq 1, 56 bytes, ttl 64, RTT/);
  });

  it("traceroute: one probe and its reply per TTL", rootOnly, async () => {
    const file = join(dir, "trace.svg");
    const r = await runCliCapture(["traceroute", "127.0.0.1", "-n", "-q", "1", "-m", "3", "-w", "5s", "--diagram", file]);
    assert.equal(r.code, 0, r.stderr);
    const svg = await readFile(file, "utf8");
    assert.equal(XMLValidator.validate(svg), true);
    assert.equal(arrows(svg), 2);
    assert.match(svg, /reply from the destination from 127\.0\.0\.1/);
  });

  it("mtr: per cycle each probe and its answer, one lifeline per hop; the first 10 cycles only", rootOnly, async () => {
    const file = join(dir, "mtr.svg");
    const r = await runCliCapture(["mtr", "127.0.0.1", "-n", "--report", "-c", "12", "-i", "0.02", "-m", "3", "-w", "5s", "--diagram", file]);
    assert.equal(r.code, 0, r.stderr);
    const svg = await readFile(file, "utf8");
    assert.equal(XMLValidator.validate(svg), true);
    // The destination answers at TTL 1: 10 probes and 10 answers are drawn. The cycles sent before
    // the first answer came back (cycle 1, and more on a loaded machine: cycles are 20 ms apart)
    // also probed TTL 2 and 3; those are counted in a note, two per such cycle.
    assert.equal(arrows(svg), 20);
    assert.equal(crosses(svg), 0);
    assert.match(svg, /cycle 10: ICMP echo TTL=1/);
    assert.doesNotMatch(svg, /cycle 11:/);
    const past = /(\d+) probes past the end of the path \(TTL 2-3\) not drawn/.exec(svg);
    assert.ok(past !== null, "the probes past the end of the path are counted");
    const n = Number(past[1]);
    assert.ok(n >= 2 && n % 2 === 0, `${n} probes past the end: two (TTL 2 and 3) per early cycle`);
    assert.match(svg, /2 more cycles ran; the diagram draws the first 10/);
    const watch = await runCliCapture(["traceroute", "127.0.0.1", "-n", "--report", "-c", "1", "-m", "1", "--diagram", join(dir, "watch.mmd")]);
    assert.equal(watch.code, 0, watch.stderr);
    assert.match(await readFile(join(dir, "watch.mmd"), "utf8"), /^sequenceDiagram\n/);
  });

  it("names an unknown diagram format as a usage error (exit 2, one line) before sending anything", async () => {
    for (const argv of [
      ["udp-ping", "127.0.0.1", "9", "--diagram", "x.png"],
      ["udp-echo", "127.0.0.1", "9", "--diagram", "x.png"],
      ["heartbeat", "127.0.0.1", "9", "--diagram", "x.png"],
      ["http", "get", "http://127.0.0.1:9/", "--diagram", "x.png"],
      ["ping", "127.0.0.1", "--diagram", "x.png"],
      ["traceroute", "127.0.0.1", "--diagram", "x.png"],
      ["traceroute", "127.0.0.1", "--watch", "--diagram", "x.png"],
      ["mtr", "127.0.0.1", "--diagram", "x.png"],
      ["udp-echo", "send-big", "127.0.0.1", "9", "--diagram", "x.png"],
      ["mail", "--from", "a@lab.test", "--to", "b@lab.test", "--server", "x", "--diagram", "x.png"],
    ]) {
      const r = await runCliCapture(argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.equal(r.stderr, "wirekit: --diagram 'x.png': the file name must end in .svg, .mmd or .txt\n", argv.join(" "));
    }
  });
});

/**
 * traceroute -U / -T / --paris and the mtr view, in namespaces built by the test (needs root):
 * UDP and TCP probes to a listener and to a closed port, the flow fields of --paris probes read
 * from the packets as they reach the destination, and mtr's loss at a hop that drops 30% of its
 * Time Exceeded messages.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADDR, createTopology, netnsSkipReason, type Topology } from "../helpers/netns.js";
import { CHAIN, createChain, createEcmp, ECMP, type Chain } from "../helpers/netns-chain.js";
import { noTshark, readCapture } from "../helpers/tshark.js";

const skip = netnsSkipReason();
const CAPTURE = fileURLToPath(new URL("../helpers/raw-capture.js", import.meta.url));
const UDP_ECHO_PORT = 5353;
const TCP_OPEN_PORT = 8080;
const TCP_CLOSED_PORT = 8081;

/** Lines " 1  10.77.0.1  0.123 ms ..." of a trace, as [hop, first address]. */
function hops(stdout: string): string[] {
  return [...stdout.matchAll(/^ ?(\d+) {2}(\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
}

/** Start a raw capture of IP protocol `proto` in the target namespace; resolves once it listens. */
async function capture(topo: Topology, proto: number, count: number): Promise<{ packets: Promise<Buffer[]> }> {
  const child: ChildProcess = spawn("ip", ["netns", "exec", topo.target, process.execPath, CAPTURE, String(proto), String(count), "8000"], { stdio: ["ignore", "pipe", "inherit"] });
  let text = "";
  const packets = new Promise<Buffer[]>((resolve) => {
    child.on("exit", () => resolve(text.split("\n").filter((l) => /^[0-9a-f]+$/.test(l)).map((l) => Buffer.from(l, "hex"))));
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.startsWith("ready\n")) resolve();
    });
    child.on("exit", () => reject(new Error(`capture ended early: ${text}`)));
  });
  return { packets };
}

/** The transport header of a captured IPv4 packet. */
function l4(p: Buffer): Buffer {
  return p.subarray(((p[0] ?? 0) & 0x0f) * 4);
}

describe("traceroute -U / -T / --paris through a router namespace", { skip }, () => {
  let topo: Topology;
  let servers: ChildProcess | undefined;
  before(async () => {
    topo = await createTopology();
    // A UDP echo service and a TCP listener (v4 and v6) on the target, for as long as the tests run.
    servers = spawn("ip", [
      "netns", "exec", topo.target, process.execPath, "-e",
      `const s=require("dgram").createSocket("udp4");s.on("message",(m,r)=>s.send(m,r.port,r.address));s.bind(${UDP_ECHO_PORT});` +
        `require("net").createServer((c)=>c.destroy()).listen(${TCP_OPEN_PORT},"::",()=>console.log("ready"));`,
    ], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => servers?.stdout?.once("data", () => resolve()));
    // Resolve the neighbours of both families first: the first IPv6 neighbour solicitation on a
    // fresh link is often lost, and the IPv6 test would otherwise meet it (as ping-netns does).
    await Promise.all([topo.wirekit(["ping", ADDR.target4, "-n", "1", "-W", "3"]), topo.wirekit(["ping", ADDR.target6, "-n", "1", "-W", "3"])]);
  });
  after(() => {
    servers?.kill();
    topo?.destroy();
  });

  test("-U to a closed port: the router, then the target's port unreachable ends the trace", async () => {
    const r = await topo.wirekit(["traceroute", "-n", "-U", ADDR.target4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^traceroute to 10\.77\.1\.2 \(10\.77\.1\.2\), 30 hops max, 60 byte packets, udp\n/);
    assert.deepEqual(hops(r.stdout), ["1 10.77.0.1", "2 10.77.1.2"]);
    assert.match(r.stdout, /^ 2 {2}10\.77\.1\.2( {2}\d+\.\d{3} ms){3}$/m);
  });

  test("-U --paris -p to a UDP service: its answer ends the trace", async () => {
    const r = await topo.wirekit(["traceroute", "-n", "-U", "--paris", "-p", String(UDP_ECHO_PORT), ADDR.target4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /udp port 5353, paris\n/);
    assert.match(r.stdout, /^ 2 {2}10\.77\.1\.2( {2}\d+\.\d{3} ms){3}$/m);
  });

  test("-T to a listening port (SYN-ACK) and to a closed one (RST) both end at the target", async () => {
    for (const port of [TCP_OPEN_PORT, TCP_CLOSED_PORT]) {
      const r = await topo.wirekit(["traceroute", "-n", "-T", "-p", String(port), ADDR.target4]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`44 byte packets, tcp port ${port}\\n`));
      assert.deepEqual(hops(r.stdout), ["1 10.77.0.1", "2 10.77.1.2"]);
      assert.match(r.stdout, /^ 2 {2}10\.77\.1\.2( {2}\d+\.\d{3} ms){3}$/m);
    }
  });

  test("-T and -U over IPv6", async () => {
    const t = await topo.wirekit(["traceroute", "-n", "-6", "-T", "-p", String(TCP_OPEN_PORT), ADDR.target6]);
    assert.equal(t.code, 0, t.stdout + t.stderr);
    assert.deepEqual(hops(t.stdout), ["1 fd77::1", "2 fd77:1::2"]);
    const u = await topo.wirekit(["traceroute", "-n", "-6", "-U", "-q", "1", ADDR.target6]);
    assert.equal(u.code, 0, u.stdout + u.stderr);
    assert.deepEqual(hops(u.stdout), ["1 fd77::1", "2 fd77:1::2"]);
  });

  test("-U and -T keep the annotations: a rejecting router gives !H", async () => {
    for (const m of ["-U", "-T"]) {
      const r = await topo.wirekit(["traceroute", "-n", m, "-q", "1", ADDR.unreachable4]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /^ 2 {2}10\.77\.0\.1 {2}\d+\.\d{3} ms !H$/m, `${m}\n${r.stdout}`);
    }
  });

  test("--paris ICMP: identifier and checksum stay constant, only the sequence moves (read at the target)", async () => {
    const cap = await capture(topo, 1, 6);
    const r = await topo.wirekit(["traceroute", "-n", "--paris", "-f", "2", "-q", "6", "-N", "1", ADDR.target4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const echo = (await cap.packets).map(l4).filter((b) => b[0] === 8);
    assert.equal(echo.length, 6);
    assert.equal(new Set(echo.map((b) => b.readUInt16BE(2))).size, 1, "checksum");
    assert.equal(new Set(echo.map((b) => b.readUInt16BE(4))).size, 1, "identifier");
    assert.equal(new Set(echo.map((b) => b.readUInt16BE(6))).size, 6, "sequence");
    // Without --paris the checksum follows the sequence.
    const cap2 = await capture(topo, 1, 3);
    await topo.wirekit(["traceroute", "-n", "-f", "2", "-q", "3", "-N", "1", ADDR.target4]);
    const plain = (await cap2.packets).map(l4).filter((b) => b[0] === 8);
    assert.equal(new Set(plain.map((b) => b.readUInt16BE(2))).size, plain.length);
  });

  test("--paris UDP: both ports stay constant; classic -U moves the destination port per probe", async () => {
    const cap = await capture(topo, 17, 5);
    const r = await topo.wirekit(["traceroute", "-n", "-U", "--paris", "-f", "2", "-q", "5", "-N", "1", ADDR.target4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const udp = (await cap.packets).map(l4);
    assert.equal(udp.length, 5);
    assert.equal(new Set(udp.map((b) => b.readUInt16BE(0))).size, 1, "source port");
    assert.deepEqual([...new Set(udp.map((b) => b.readUInt16BE(2)))], [33434], "destination port");
    assert.equal(new Set(udp.map((b) => b.readUInt16BE(4))).size, 1, "UDP length");
    assert.equal(new Set(udp.map((b) => b.readUInt16BE(6))).size, 5, "the checksum names the probe");
    const cap2 = await capture(topo, 17, 3);
    await topo.wirekit(["traceroute", "-n", "-U", "-f", "2", "-q", "3", "-N", "1", ADDR.target4]);
    const classic = (await cap2.packets).map(l4);
    assert.deepEqual(classic.map((b) => b.readUInt16BE(2)), [33434, 33435, 33436]);
  });

  test("-T: every SYN has the same ports; the sequence number names the probe", async () => {
    const cap = await capture(topo, 6, 4);
    const r = await topo.wirekit(["traceroute", "-n", "-T", "-p", String(TCP_CLOSED_PORT), "-f", "2", "-q", "4", "-N", "1", ADDR.target4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const syn = (await cap.packets).map(l4).filter((b) => (b[13] ?? 0) === 0x02);
    assert.equal(syn.length, 4);
    assert.equal(new Set(syn.map((b) => `${b.readUInt16BE(0)}:${b.readUInt16BE(2)}`)).size, 1);
    assert.equal(new Set(syn.map((b) => b.readUInt32BE(4))).size, 4);
  });

  test("--watch off a terminal prints the table once, at the end", async () => {
    const r = await topo.wirekit(["traceroute", "-n", "--watch", "-c", "3", "-i", "0.01", ADDR.target4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.match(/^ Hop {2}Host/gm)?.length, 1, r.stdout);
    assert.ok(!r.stdout.includes("\u001b"), "no terminal escapes off a terminal");
    const rows = r.stdout.trimEnd().split("\n").slice(2);
    assert.deepEqual(rows.map((l) => l.trim().split(/\s+/).slice(0, 4)), [
      ["1", "10.77.0.1", "0.0%", "3"],
      ["2", "10.77.1.2", "0.0%", "3"],
    ]);
  });

  test("wirekit mtr --report -T --json: the same table as a document", async () => {
    const r = await topo.wirekit(["mtr", "-n", "--report", "-c", "2", "-i", "0.01", "-T", "-p", String(TCP_OPEN_PORT), "--json", ADDR.target4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { method: string; cycles: number; hops: Array<{ hop: number; hosts: Array<{ address: string }>; sent: number; loss_percent: number }> };
    assert.equal(doc.method, "tcp");
    assert.equal(doc.cycles, 2);
    assert.deepEqual(doc.hops.map((h) => [h.hop, h.hosts.map((x) => x.address), h.sent, h.loss_percent]), [
      [1, [ADDR.router4], 2, 0],
      [2, [ADDR.target4], 2, 0],
    ]);
  });
});

describe("mtr --report over three hops, the second dropping 30% of its Time Exceeded", { skip }, () => {
  let chain: Chain;
  before(async () => {
    chain = await createChain({ lossAtR2: 30 });
    await chain.wirekit(["ping", CHAIN.target, "-n", "1", "-W", "3"]);
  });
  after(() => chain?.destroy());

  test("shows about 30% loss at hop 2 (binomial bounds) and none at hops 1 and 3", async () => {
    const N = 100;
    const r = await chain.wirekit(["mtr", "-n", "--report", "-c", String(N), "-i", "0.005", "-w", "1", "--json", CHAIN.target], 60_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { hops: Array<{ hop: number; hosts: Array<{ address: string }>; sent: number; received: number }> };
    assert.deepEqual(doc.hops.map((h) => [h.hop, h.hosts[0]?.address, h.sent]), [
      [1, CHAIN.r1, N],
      [2, CHAIN.r2, N],
      [3, CHAIN.target, N],
    ]);
    const [h1, h2, h3] = doc.hops;
    assert.equal(h1?.received, N);
    assert.equal(h3?.received, N);
    // Lost ~ Binomial(100, 0.3): mean 30, sd 4.6; [10, 50] is beyond 4 sd on each side.
    const lost = N - (h2?.received ?? 0);
    assert.ok(lost >= 10 && lost <= 50, `hop 2 lost ${lost} of ${N}`);
  });

  test("--diagram draws each cycle's probe and answer per hop, a cross per lost one; --pcap holds them with the losses as comments", noTshark, async () => {
    const dir = await mkdtemp(join(tmpdir(), "wirekit-mtr-"));
    try {
      const [svgFile, pcapFile] = [join(dir, "mtr.svg"), join(dir, "mtr.pcapng")];
      const r = await chain.wirekit(["mtr", "-n", "--report", "-c", "10", "-i", "0.005", "-w", "0.3", "--json", "--diagram", svgFile, "--pcap", pcapFile, CHAIN.target], 60_000);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout) as { hops: Array<{ hop: number; sent: number; received: number }> };
      assert.deepEqual(doc.hops.map((h) => [h.hop, h.sent]), [[1, 10], [2, 10], [3, 10]]);
      const received = doc.hops.reduce((n, h) => n + h.received, 0);
      const lost = 30 - received;
      const svg = await readFile(svgFile, "utf8");
      assert.equal((svg.match(/<line [^>]*class="(?:c2s|s2c)[^"]*"/g) ?? []).length, 30 + received, "a probe per hop and cycle, and each answer");
      assert.equal((svg.match(/class="cross"/g) ?? []).length, lost);
      assert.match(svg, new RegExp(`hop 2: ${CHAIN.r2.replace(/\./g, "\\.")}`));
      const out = (await readCapture(pcapFile, { prefs: ["ip.check_checksum:TRUE"], fields: ["frame.comment", "ip.checksum.status", "icmp.checksum.status"] })).fields;
      const rows = out.trim().split("\n").map((l) => l.split("|"));
      // 1 = good; a Time Exceeded quotes the probe's first bytes only, so tshark leaves the quoted checksum unverified (2). None is bad (0).
      assert.ok(rows.every((x) => x.slice(1).every((c) => c === "" || /^1(,[12])*$/.test(c))), `no bad checksum: ${out}`);
      assert.ok(rows.filter((x) => /^probe TTL=\d+; cycle \d+/.test(x[0] ?? "")).length >= 30, out);
      assert.equal(rows.filter((x) => /; no answer within 300 ms: cycle \d+, TTL \d counted lost$/.test(x[0] ?? "")).length, lost, out);
      assert.equal(rows.filter((x) => /^answers cycle \d+, TTL [123]$/.test(x[0] ?? "")).length, received, out);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("two equal-cost paths: classic UDP probes spread over both, --paris keeps one", { skip }, () => {
  let net: Chain;
  before(async () => {
    net = await createEcmp();
    await net.wirekit(["ping", ECMP.target, "-n", "1", "-W", "3"]);
  });
  after(() => net?.destroy());

  type Doc = { hops: Array<{ hop: number; hosts: Array<{ address: string }> }> };
  const hop2 = (d: Doc): string[] => (d.hops.find((h) => h.hop === 2)?.hosts ?? []).map((h) => h.address).sort();

  test("mtr -U shows both routers at hop 2 (one line each); with --paris only one of them", async () => {
    const classic = await net.wirekit(["mtr", "-n", "--report", "-U", "-c", "16", "-i", "0.01", "-w", "2", "--json", ECMP.target]);
    assert.equal(classic.code, 0, classic.stdout + classic.stderr);
    assert.deepEqual(hop2(JSON.parse(classic.stdout) as Doc), [ECMP.r2a, ECMP.r2b].sort());
    const text = await net.wirekit(["mtr", "-n", "--report", "-U", "-c", "16", "-i", "0.01", "-w", "2", ECMP.target]);
    assert.match(text.stdout, /^ {3}2 {2}10\.78\.[14]\.2 .*\n {6}10\.78\.[14]\.2\n/m, text.stdout);
    const paris = await net.wirekit(["mtr", "-n", "--report", "-U", "--paris", "-c", "16", "-i", "0.01", "-w", "2", "--json", ECMP.target]);
    assert.equal(paris.code, 0, paris.stdout + paris.stderr);
    assert.equal(hop2(JSON.parse(paris.stdout) as Doc).length, 1, paris.stdout);
  });
});

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { ADDR, createTopology, netnsSkipReason, type Topology } from "../helpers/netns.js";
import { runCliCapture } from "../helpers/cli.js";
import { renderHop } from "../../src/render/traceroute.js";

const skip = netnsSkipReason();
const HOP_LINE = (hop: number, addr: string, suffix = ""): RegExp =>
  new RegExp(`^ ?${hop}  ${addr.replace(/\./g, "\\.")}(  \\d+\\.\\d{3} ms${suffix.replace(/!/g, "!")}){3}$`, "m");

describe("wirekit traceroute through a router namespace", { skip }, () => {
  let topo: Topology;
  before(async () => {
    topo = await createTopology();
    // One echo each resolves the neighbours on the way; the reply itself does not matter.
    await Promise.all([topo.wirekit(["ping", ADDR.target4, "-n", "1", "-W", "3"]), topo.wirekit(["ping", ADDR.target6, "-n", "1", "-W", "3"])]);
  });
  after(() => topo?.destroy());

  test("lists the router, then the target, and stops there", async () => {
    const r = await topo.wirekit(["traceroute", "-n", ADDR.target4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines[0], "traceroute to 10.77.1.2 (10.77.1.2), 30 hops max, 60 byte packets");
    assert.equal(lines.length, 3, r.stdout);
    assert.match(r.stdout, HOP_LINE(1, ADDR.router4));
    assert.match(r.stdout, HOP_LINE(2, ADDR.target4));
  });

  test("without -n each responder is 'name (address)', the address standing in for a name DNS does not know", async () => {
    // The client's resolver is a closed port (test/helpers/netns.ts): every reverse lookup fails, as traceroute(8) shows it.
    const r = await topo.wirekit(["traceroute", "-q", "1", ADDR.target4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split("\n").slice(1);
    assert.match(lines[0] ?? "", /^ 1 {2}10\.77\.0\.1 \(10\.77\.0\.1\) {2}\d+\.\d{3} ms$/, r.stdout);
    assert.match(lines[1] ?? "", /^ 2 {2}10\.77\.1\.2 \(10\.77\.1\.2\) {2}\d+\.\d{3} ms$/, r.stdout);
  });

  test("finds the same hops as traceroute -I", { skip: existsSync("/usr/sbin/traceroute") || existsSync("/usr/bin/traceroute") ? false : "traceroute not installed" }, async () => {
    const ref = await topo.exec(topo.client, "traceroute", ["-I", "-n", "-q", "1", "-w", "1", ADDR.target4]);
    const refHops = [...ref.stdout.matchAll(/^ ?(\d+) {2}(\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    const ours = await topo.wirekit(["traceroute", "-n", "-q", "1", ADDR.target4]);
    const ourHops = [...ours.stdout.matchAll(/^ ?(\d+) {2}(\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(ourHops, refHops);
    assert.deepEqual(ourHops, ["1 10.77.0.1", "2 10.77.1.2"]);
  });

  test("an unreachable destination ends the trace with !H at the router, as traceroute -I shows it", async () => {
    // TTL 1 expires at the router before its forward chain rejects; TTL 2 meets the reject rule.
    const r = await topo.wirekit(["traceroute", "-n", ADDR.unreachable4]);
    assert.equal(r.code, 1);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3, r.stdout);
    assert.match(lines[1] ?? "", /^ 1 {2}10\.77\.0\.1( {2}\d+\.\d{3} ms){3}$/);
    assert.match(lines[2] ?? "", /^ 2 {2}10\.77\.0\.1( {2}\d+\.\d{3} ms !H){3}$/);
  });

  test("IPv6: router then target, and !N for a prefix without route", async () => {
    const r = await topo.wirekit(["traceroute", "-n", "-6", ADDR.target6]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^ 1 {2}fd77::1( {2}\d+\.\d{3} ms){3}$/m);
    assert.match(r.stdout, /^ 2 {2}fd77:1::2( {2}\d+\.\d{3} ms){3}$/m);
    const u = await topo.wirekit(["traceroute", "-n", ADDR.unreachable6, "-q", "1"]);
    assert.match(u.stdout, /^ 1 {2}fd77::1 {2}\d+\.\d{3} ms\n 2 {2}fd77::1 {2}\d+\.\d{3} ms !N\n$/m);
  });

  test("a silent destination gives stars up to -m, each hop printed in order", async () => {
    const r = await topo.wirekit(["traceroute", "-n", "-m", "4", "-w", "0.3", ADDR.silent4]);
    assert.equal(r.code, 1);
    const lines = r.stdout.trimEnd().split("\n").slice(1);
    assert.deepEqual(lines.map((l) => l.slice(0, 2)), [" 1", " 2", " 3", " 4"]);
    assert.match(lines[0] ?? "", /^ 1 {2}10\.77\.0\.1 /);
    assert.equal(lines[2], " 3  * * *");
    assert.equal(lines[3], " 4  * * *");
  });

  test("-f starts at a later hop, and one probe in flight at a time gives the same path", async () => {
    const r = await topo.wirekit(["traceroute", "-n", "-f", "2", "-N", "1", ADDR.target4]);
    assert.equal(r.code, 0, r.stdout);
    const lines = r.stdout.trimEnd().split("\n").slice(1);
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0] ?? "", HOP_LINE(2, ADDR.target4));
  });

  test("--json lists every hop with its probes", async () => {
    const r = await topo.wirekit(["traceroute", "-n", "--json", ADDR.target4]);
    const doc = JSON.parse(r.stdout) as { reached: boolean; hops: Array<{ hop: number; probes: Array<{ from: string }> }> };
    assert.equal(doc.reached, true);
    assert.deepEqual(doc.hops.map((h) => [h.hop, h.probes.map((p) => p.from)]), [
      [1, [ADDR.router4, ADDR.router4, ADDR.router4]],
      [2, [ADDR.target4, ADDR.target4, ADDR.target4]],
    ]);
  });

  test("--json-lines: start, each probe as it settles, each hop in order, then the summary", async () => {
    const r = await topo.wirekit(["traceroute", "-n", "-q", "2", "--json-lines", ADDR.target4]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const events = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { kind: string; hop?: number | { hop: number }; index?: number; from?: string | null; at?: string });
    assert.equal(events[0]?.kind, "start");
    assert.equal(events.at(-1)?.kind, "summary");
    const probes = events.filter((e) => e.kind === "probe").map((e) => [e.hop, e.index, e.from]);
    assert.deepEqual(probes.sort(), [[1, 0, ADDR.router4], [1, 1, ADDR.router4], [2, 0, ADDR.target4], [2, 1, ADDR.target4]]);
    assert.deepEqual(events.filter((e) => e.kind === "hop").map((e) => (e.hop as { hop: number }).hop), [1, 2]);
    assert.ok(events.slice(0, -1).every((e) => typeof e.at === "string"), "every event has its wall time");
  });
});

test("traceroute usage errors exit 2", async () => {
  for (const argv of [["traceroute"], ["traceroute", "127.0.0.1", "-m", "0"], ["traceroute", "127.0.0.1", "-q", "11"], ["traceroute", "127.0.0.1", "-f", "40"], ["traceroute", "127.0.0.1", "--json", "--json-lines"], ["traceroute", "127.0.0.1", "--watch", "--json-lines"]]) {
    const r = await runCliCapture(argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, /^wirekit: [^\n]+\n$/);
  }
});

test("a hop line names its responder once per change, as traceroute(8) prints it", () => {
  const hop = {
    hop: 3,
    probes: [
      { from: "192.0.2.1", name: "gw.example.test", rttMs: 0.0494, annotation: "", reached: false },
      { from: null },
      { from: "192.0.2.9", rttMs: 1.5, annotation: "!H", reached: false },
    ],
  };
  assert.equal(renderHop(hop), " 3  192.0.2.1  0.049 ms * 192.0.2.9  1.500 ms !H\n");
  assert.equal(renderHop(hop, false), " 3  gw.example.test (192.0.2.1)  0.049 ms * 192.0.2.9 (192.0.2.9)  1.500 ms !H\n");
});

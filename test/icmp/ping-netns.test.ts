import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { ADDR, createTopology, netnsSkipReason, type ExecResult, type Topology } from "../helpers/netns.js";
import { BIN } from "../helpers/cli.js";

const skip = netnsSkipReason();

interface JsonRun {
  socket: string;
  pings: Array<{ status: string; ttl: number | null; error: string | null; from: string | null }>;
  summary: { received: number; errors: number };
}

describe("wirekit ping through a router namespace", { skip }, () => {
  let topo: Topology;
  before(async () => {
    topo = await createTopology();
    // IPv6 neighbour discovery makes the first probe slow: warm both families up.
    // One echo each resolves the neighbours on the way; the reply itself does not matter.
    await Promise.all([topo.wirekit(["ping", ADDR.target4, "-n", "1", "-W", "3"]), topo.wirekit(["ping", ADDR.target6, "-n", "1", "-W", "3"])]);
  });
  after(() => topo?.destroy());

  test("replies from two hops away carry TTL 63", async () => {
    const r = await topo.wirekit(["ping", ADDR.target4, "-n", "3", "-i", "0.05"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split("\n").filter((l) => /^Reply from 10\.77\.1\.2: bytes=56 time=\d+\.\d{3}ms TTL=63$/.test(l)).length, 3, r.stdout);
  });

  test("TTL 1 is answered by Time Exceeded from the router, and nothing counts as received", async () => {
    const r = await topo.wirekit(["ping", ADDR.target4, "-t", "1", "-n", "3", "-i", "0.05"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stdout.split("\n").filter((l) => l === "Reply from 10.77.0.1: TTL expired in transit.").length, 3, r.stdout);
    assert.ok(r.stdout.includes("Packets: Sent = 3, Received = 0, Lost = 3 (100% loss),"), r.stdout);
    assert.ok(!r.stdout.includes("Approximate round trip times"), r.stdout);
  });

  test("an unreachable destination is reported as Destination host unreachable from the router", async () => {
    const r = await topo.wirekit(["ping", ADDR.unreachable4, "-n", "4", "-i", "0.05"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout.split("\n").filter((l) => l === "Reply from 10.77.0.1: Destination host unreachable.").length, 4, r.stdout);
  });

  test("IPv6: no route and hop limit 1 are decoded from ICMPv6 errors", async () => {
    const [r, h, ok] = (await Promise.all([
      topo.wirekit(["ping", ADDR.unreachable6, "-n", "2", "-i", "0.05"]),
      topo.wirekit(["ping", ADDR.target6, "-t", "1", "-n", "2", "-i", "0.05"]),
      topo.wirekit(["ping", ADDR.target6, "-n", "2", "-i", "0.05"]),
    ])) as [ExecResult, ExecResult, ExecResult];
    assert.equal(r.code, 1);
    assert.equal(r.stdout.split("\n").filter((l) => l === "Reply from fd77::1: Destination net unreachable.").length, 2, r.stdout);
    assert.equal(h.code, 1);
    assert.equal(h.stdout.split("\n").filter((l) => l === "Reply from fd77::1: Hop limit exceeded in transit.").length, 2, h.stdout);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /^Reply from fd77:1::2: bytes=56 time=\d+\.\d{3}ms TTL=63$/m);
  });

  test("a target that drops echo requests times out and ping exits 1", async () => {
    const r = await topo.wirekit(["ping", ADDR.silent4, "-n", "2", "-i", "0.1", "-W", "0.3"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout.split("\n").filter((l) => l === "Request timed out.").length, 2, r.stdout);
    assert.ok(r.stdout.includes("Packets: Sent = 2, Received = 0, Lost = 2 (100% loss),"), r.stdout);
  });

  test("with ping sockets enabled, the datagram socket path gets replies and errors", async () => {
    await topo.setPingSockets(true);
    try {
      // Five independent runs at once: each ping socket gets its own identifier from the kernel.
      const [r, t, u, v6, u6] = (await Promise.all([
        topo.wirekit(["ping", ADDR.target4, "-n", "2", "-i", "0.05", "--json"]),
        topo.wirekit(["ping", ADDR.target4, "-t", "1", "-n", "2", "-i", "0.05", "--json"]),
        topo.wirekit(["ping", ADDR.unreachable4, "-n", "2", "-i", "0.05"]),
        topo.wirekit(["ping", ADDR.target6, "-n", "2", "-i", "0.05", "--json"]),
        topo.wirekit(["ping", ADDR.unreachable6, "-n", "1"]),
      ])) as [ExecResult, ExecResult, ExecResult, ExecResult, ExecResult];
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as JsonRun;
      assert.equal(doc.socket, "dgram");
      assert.deepEqual(doc.pings.map((p) => [p.status, p.ttl]), [["reply", 63], ["reply", 63]]);

      const te = JSON.parse(t.stdout) as JsonRun;
      assert.equal(te.socket, "dgram");
      assert.deepEqual(te.pings.map((p) => [p.status, p.from, p.error]), [
        ["error", ADDR.router4, "TTL expired in transit."],
        ["error", ADDR.router4, "TTL expired in transit."],
      ]);

      assert.equal(u.code, 1);
      assert.equal(u.stdout.split("\n").filter((l) => l === "Reply from 10.77.0.1: Destination host unreachable.").length, 2, u.stdout);

      const d6 = JSON.parse(v6.stdout) as JsonRun;
      assert.equal(d6.socket, "dgram");
      assert.equal(d6.summary.received, 2);
      assert.match(u6.stdout, /^Reply from fd77::1: Destination net unreachable\.$/m);
    } finally {
      await topo.setPingSockets(false);
    }
  });

  test("a reply that comes after its probe timed out is reported as late, not counted", async () => {
    // A forger in the target namespace answers seq 0 of identifier 4242 once ping has given up on it
    // (after 0.3 s); -w keeps the run open until 0.8 s to see that answer.
    const lib = (f: string): string => JSON.stringify(new URL(`../../src/icmp/${f}`, import.meta.url).href);
    const forgerCode = `
      const { IcmpSocket } = await import(${lib("socket.js")});
      const { encodeEchoRequest, internetChecksum } = await import(${lib("message/index.js")});
      const s = IcmpSocket.open({ family: 4, kind: "raw" });
      process.stdin.once("data", () => {
        const b = encodeEchoRequest({ family: 4, id: 4242, seq: 0, data: Buffer.alloc(56) });
        b[0] = 0; b.writeUInt16BE(0, 2); b.writeUInt16BE(internetChecksum(b), 2);
        s.send(b, "${ADDR.client4}"); s.close(); process.stdout.write("sent\\n"); process.stdin.destroy();
      });
      process.stdout.write("ready\\n");`;
    const forger = spawn("ip", ["netns", "exec", topo.target, process.execPath, "--input-type=module", "-e", forgerCode], { stdio: ["pipe", "pipe", "inherit"] });
    const forgerOut = forger.stdout.setEncoding("utf8");
    let fo = "";
    const ready = new Promise<void>((res) => forgerOut.on("data", (d: string) => { fo += d; if (fo.includes("ready")) res(); }));
    await ready;
    const ping = spawn("ip", ["netns", "exec", topo.client, process.execPath, BIN, "ping", ADDR.silent4, "-e", "4242", "-n", "1", "-W", "0.3", "-w", "0.8"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    ping.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes("Request timed out.") && forger.stdin.writable) forger.stdin.end("go\n");
    });
    const [code] = (await once(ping, "close")) as [number];
    forger.kill();
    assert.equal(code, 1, out);
    assert.match(out, /^Late reply from 10\.77\.1\.\d: icmp_seq=0 time=\d+\.\d{3}ms \(counted as lost\)$/m);
    assert.ok(out.includes("Packets: Sent = 1, Received = 0, Lost = 1 (100% loss),\n    Duplicates = 0, Late = 1\n"), out);
  });

  // Last in this file: the client keeps the learned path MTU for the target.
  test("a smaller MTU behind the router gives fragmentation needed with the next-hop MTU, then replies", async () => {
    await topo.exec(topo.router, "ip", ["link", "set", "eth1", "mtu", "1400"]);
    await topo.exec(topo.target, "ip", ["link", "set", "eth0", "mtu", "1400"]);
    const r = await topo.wirekit(["ping", ADDR.target4, "-s", "1472", "-n", "2", "-i", "0.1"]);
    assert.equal(r.code, 0, r.stdout);
    const lines = r.stdout.split("\n");
    assert.equal(lines[1], "Reply from 10.77.0.1: Fragmentation needed and DF set (next-hop MTU 1400).");
    assert.match(lines[2] ?? "", /^Reply from 10\.77\.1\.2: bytes=1472 time=\d+\.\d{3}ms TTL=63$/);
    const v6 = await topo.wirekit(["ping", ADDR.target6, "-s", "1452", "-n", "2", "-i", "0.1"]);
    assert.equal(v6.stdout.split("\n")[1], "Reply from fd77::1: Packet too big (next-hop MTU 1400).");
  });
});

/**
 * fping-style runs and path-MTU discovery through the router namespace: several targets at
 * once, one of them behind a rejecting router, one silent; and `-M do` across a link with a
 * small MTU reports the path MTU, from the router's ICMP error and then from the local refusal.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ADDR, createTopology, netnsSkipReason, type Topology } from "../helpers/netns.js";

const skip = netnsSkipReason();

describe("wirekit ping with several targets, and -M do, through a router namespace", { skip }, () => {
  let topo: Topology;
  before(async () => {
    topo = await createTopology();
    await topo.wirekit(["ping", ADDR.target4, "-n", "1", "-W", "3"]);
  });
  after(() => topo?.destroy());

  test("three targets: lines prefixed with the target, one row each, exit 1 because one is unreachable", async () => {
    const r = await topo.wirekit(["ping", ADDR.target4, ADDR.router4, ADDR.unreachable4, "-n", "3", "-i", "0.1", "-W", "2"]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split("\n");
    assert.equal(lines[0], "Pinging 3 targets with 56 bytes of data:");
    assert.equal(lines.filter((l) => /^10\.77\.1\.2: Reply from 10\.77\.1\.2: bytes=56 time=\d+\.\d{3}ms TTL=63$/.test(l)).length, 3, r.stdout);
    assert.equal(lines.filter((l) => /^10\.77\.0\.1: Reply from 10\.77\.0\.1: bytes=56 time=\d+\.\d{3}ms TTL=64$/.test(l)).length, 3, r.stdout);
    assert.equal(lines.filter((l) => l === "198.51.100.7: Reply from 10.77.0.1: Destination host unreachable.").length, 3, r.stdout);
    assert.match(r.stdout, /^target +sent +received +loss +rtt min\/avg\/max\/mdev ms$/m);
    assert.match(r.stdout, /^10\.77\.1\.2 +3 +3 +0% +\d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3}$/m);
    assert.match(r.stdout, /^10\.77\.0\.1 +3 +3 +0% +[\d./]+$/m);
    assert.match(r.stdout, /^198\.51\.100\.7 +3 +0 +100% +-$/m);
  });

  test("-a lists the targets that answered, -u the others; all answering exits 0", async () => {
    // Both at once: each raw socket sees the other's replies too, and keeps only its own identifier's.
    const [alive, dead] = await Promise.all(
      (["-a", "-u"] as const).map((flag) => topo.wirekit(["ping", ADDR.target4, ADDR.unreachable4, ADDR.silent4, "-n", "2", "-i", "0.1", "-W", "0.3", flag])),
    );
    assert.equal(alive?.code, 1);
    assert.equal(alive?.stdout, `${ADDR.target4}\n`);
    assert.equal(dead?.stdout, `${ADDR.unreachable4}\n${ADDR.silent4}\n`);
    const all = await topo.wirekit(["ping", ADDR.target4, ADDR.router4, ADDR.routerFar4, "-n", "1", "-a"]);
    assert.equal(all.code, 0, all.stdout);
    assert.equal(all.stdout, `${ADDR.target4}\n${ADDR.router4}\n${ADDR.routerFar4}\n`);
  });

  test("targets from -g: every host of a /29 around the router's far side, in order", async () => {
    const r = await topo.wirekit(["ping", "-g", "10.77.1.0/29", "-n", "1", "-W", "0.3", "-a"]);
    assert.equal(r.stdout, "10.77.1.1\n10.77.1.2\n", r.stdout);
    assert.equal(r.code, 1, "10.77.1.3-6 do not answer");
  });

  // Last in this file: the client keeps the learned path MTU for the target.
  test("-M do above the path MTU: Frag needed and DF set with the MTU, from the router, then from the local refusal", async () => {
    await topo.exec(topo.router, "ip", ["link", "set", "eth1", "mtu", "1280"]);
    await topo.exec(topo.target, "ip", ["link", "set", "eth0", "mtu", "1280"]);
    // 50 ms apart is plenty: the kernel learns the path MTU from the router's error on arrival.
    const r = await topo.wirekit(["ping", ADDR.target4, "-M", "do", "-s", "1400", "-n", "3", "-i", "0.05"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stdout.split("\n");
    assert.equal(lines[1], "Reply from 10.77.0.1: Frag needed and DF set (mtu = 1280)", r.stdout);
    assert.equal(lines[2], "Local error: Frag needed and DF set (mtu = 1280)", r.stdout);
    assert.equal(lines[3], "Local error: Frag needed and DF set (mtu = 1280)", r.stdout);
    // -M dont: the kernel fragments, and the target answers.
    const frag = await topo.wirekit(["ping", ADDR.target4, "-M", "dont", "-s", "1400", "-n", "2", "-i", "0.05"]);
    assert.equal(frag.code, 0, frag.stdout);
    assert.match(frag.stdout, /^Reply from 10\.77\.1\.2: bytes=1400 time=\d+\.\d{3}ms TTL=63$/m);
  });
});

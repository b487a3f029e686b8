/**
 * A chain of namespaces for mtr tests, made per test and deleted afterwards:
 *
 *   client 10.78.0.2 ── r1 10.78.0.1 | 10.78.1.1 ── r2 10.78.1.2 | 10.78.2.1 ── target 10.78.2.2
 *
 * so the target is 3 hops away. ICMP rate limits are off everywhere; `lossAtR2` makes the second
 * router drop that percentage of the Time Exceeded messages it sends (nft numgen), which is how a
 * hop that rate-limits ICMP looks in mtr. Names follow netns.ts's pattern (wk-<pid>-<id>-[crt]),
 * so its stale-namespace sweep removes them too when a test process was SIGKILLed.
 */
import { execFile, execFileSync } from "node:child_process";
import { linksUp, type ExecResult } from "./netns.js";
import { namespaceCli } from "./netns-cli.js";

export const CHAIN = { r1: "10.78.0.1", r2: "10.78.1.2", target: "10.78.2.2" } as const;

export interface Chain {
  wirekit(argv: string[], timeoutMs?: number): Promise<ExecResult>;
  destroy(): void;
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, env: { ...process.env, NO_COLOR: "1" } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
  });
}

async function must(cmd: string, args: string[]): Promise<void> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
}

let counter = 0;

export async function createChain(o: { lossAtR2: number }): Promise<Chain> {
  const id = `${process.pid.toString(36)}-m${(counter++).toString(36)}`;
  const ns = { c: `wk-${id}-c`, r1: `wk-${id}a-r`, r2: `wk-${id}b-r`, t: `wk-${id}-t` };
  const made: string[] = [];
  const cli = namespaceCli(ns.c);
  const destroy = (): void => {
    cli.close();
    for (const n of made.splice(0)) {
      try {
        execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
    process.off("exit", destroy);
  };
  process.on("exit", destroy);
  const ipn = (n: string, ...args: string[]): Promise<void> => must("ip", ["-n", n, ...args]);
  const sysctl = (n: string, ...kv: string[]): Promise<void> => must("ip", ["netns", "exec", n, "sysctl", "-q", "-w", ...kv]);
  try {
    for (const n of Object.values(ns)) {
      await must("ip", ["netns", "add", n]);
      made.push(n);
      await ipn(n, "link", "set", "lo", "up");
      await sysctl(n, "net.ipv4.icmp_ratelimit=0");
    }
    await must("ip", ["link", "add", "eth0", "netns", ns.c, "type", "veth", "peer", "name", "eth0", "netns", ns.r1]);
    await must("ip", ["link", "add", "eth1", "netns", ns.r1, "type", "veth", "peer", "name", "eth0", "netns", ns.r2]);
    await must("ip", ["link", "add", "eth1", "netns", ns.r2, "type", "veth", "peer", "name", "eth0", "netns", ns.t]);
    const addrs: Array<[string, string, string]> = [
      [ns.c, "eth0", "10.78.0.2/24"],
      [ns.r1, "eth0", "10.78.0.1/24"],
      [ns.r1, "eth1", "10.78.1.1/24"],
      [ns.r2, "eth0", "10.78.1.2/24"],
      [ns.r2, "eth1", "10.78.2.1/24"],
      [ns.t, "eth0", "10.78.2.2/24"],
    ];
    for (const [n, dev, a] of addrs) {
      await ipn(n, "addr", "add", a, "dev", dev);
      await ipn(n, "link", "set", dev, "up");
    }
    await linksUp(addrs.map(([n, dev]) => [n, dev] as const));
    await ipn(ns.c, "route", "add", "default", "via", "10.78.0.1");
    await ipn(ns.r1, "route", "add", "10.78.2.0/24", "via", "10.78.1.2");
    await ipn(ns.r2, "route", "add", "default", "via", "10.78.1.1");
    await ipn(ns.t, "route", "add", "default", "via", "10.78.2.1");
    for (const r of [ns.r1, ns.r2]) await sysctl(r, "net.ipv4.ip_forward=1");
    if (o.lossAtR2 > 0) {
      await must("ip", [
        "netns", "exec", ns.r2, "nft",
        "add table inet wk; add chain inet wk output { type filter hook output priority 0; policy accept; }; " +
          `add rule inet wk output icmp type time-exceeded numgen random mod 100 < ${o.lossAtR2} drop`,
      ]);
    }
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    wirekit: (argv, timeoutMs) => cli.run(argv, timeoutMs),
    destroy,
  };
}

export const ECMP = { r1: "10.78.0.1", r2a: "10.78.1.2", r2b: "10.78.4.2", target: "10.78.9.9" } as const;

/**
 * Two equal-cost paths, for Paris traceroute:
 *
 *   client ── r1 ─┬─ r2a 10.78.1.2 ─┬─ target 10.78.9.9 (on its loopback)
 *                 └─ r2b 10.78.4.2 ─┘
 *
 * r1 spreads the flows over r2a and r2b with a multipath route hashed on the ports
 * (fib_multipath_hash_policy=1), as a load-balancing router does.
 */
export async function createEcmp(): Promise<Chain> {
  const id = `${process.pid.toString(36)}-e${(counter++).toString(36)}`;
  const ns = { c: `wk-${id}-c`, r1: `wk-${id}a-r`, a: `wk-${id}b-r`, b: `wk-${id}c-r`, t: `wk-${id}-t` };
  const made: string[] = [];
  const cli = namespaceCli(ns.c);
  const destroy = (): void => {
    cli.close();
    for (const n of made.splice(0)) {
      try {
        execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
    process.off("exit", destroy);
  };
  process.on("exit", destroy);
  const ipn = (n: string, ...args: string[]): Promise<void> => must("ip", ["-n", n, ...args]);
  const sysctl = (n: string, ...kv: string[]): Promise<void> => must("ip", ["netns", "exec", n, "sysctl", "-q", "-w", ...kv]);
  try {
    for (const n of Object.values(ns)) {
      await must("ip", ["netns", "add", n]);
      made.push(n);
      await ipn(n, "link", "set", "lo", "up");
      await sysctl(n, "net.ipv4.icmp_ratelimit=0", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0");
    }
    const links: Array<[string, string, string, string, string, string]> = [
      [ns.c, "eth0", "10.78.0.2/24", ns.r1, "eth0", "10.78.0.1/24"],
      [ns.r1, "eth1", "10.78.1.1/24", ns.a, "eth0", "10.78.1.2/24"],
      [ns.r1, "eth2", "10.78.4.1/24", ns.b, "eth0", "10.78.4.2/24"],
      [ns.a, "eth1", "10.78.2.1/24", ns.t, "eth0", "10.78.2.2/24"],
      [ns.b, "eth1", "10.78.5.1/24", ns.t, "eth1", "10.78.5.2/24"],
    ];
    for (const [n1, d1, a1, n2, d2, a2] of links) {
      await must("ip", ["link", "add", d1, "netns", n1, "type", "veth", "peer", "name", d2, "netns", n2]);
      await ipn(n1, "addr", "add", a1, "dev", d1);
      await ipn(n2, "addr", "add", a2, "dev", d2);
      await ipn(n1, "link", "set", d1, "up");
      await ipn(n2, "link", "set", d2, "up");
    }
    await linksUp(links.flatMap(([n1, d1, , n2, d2]) => [[n1, d1], [n2, d2]] as const));
    await ipn(ns.t, "addr", "add", "10.78.9.9/32", "dev", "lo");
    await ipn(ns.c, "route", "add", "default", "via", "10.78.0.1");
    await ipn(ns.r1, "route", "add", "10.78.9.9/32", "nexthop", "via", "10.78.1.2", "nexthop", "via", "10.78.4.2");
    await ipn(ns.a, "route", "add", "10.78.9.9/32", "via", "10.78.2.2");
    await ipn(ns.a, "route", "add", "default", "via", "10.78.1.1");
    await ipn(ns.b, "route", "add", "10.78.9.9/32", "via", "10.78.5.2");
    await ipn(ns.b, "route", "add", "default", "via", "10.78.4.1");
    await ipn(ns.t, "route", "add", "default", "via", "10.78.2.1");
    await sysctl(ns.r1, "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1");
    for (const r of [ns.a, ns.b]) await sysctl(r, "net.ipv4.ip_forward=1");
    for (const [n, devs] of [[ns.t, ["eth0", "eth1"]], [ns.r1, ["eth0", "eth1", "eth2"]]] as const) {
      for (const d of devs) await sysctl(n, `net.ipv4.conf.${d}.rp_filter=0`);
    }
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    wirekit: (argv, timeoutMs) => cli.run(argv, timeoutMs),
    destroy,
  };
}

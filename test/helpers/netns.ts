/**
 * A three-namespace topology for ICMP tests, created per test file and deleted afterwards:
 *
 *   client 10.77.0.2 / fd77::2 ── router 10.77.0.1 | 10.77.1.1 (fd77::1 | fd77:1::1) ── target 10.77.1.2 / fd77:1::2
 *
 * - the router forwards, and its ICMP rate limit is off (as the target's), so every probe is answered;
 * - the router rejects 198.51.100.0/24 with host-unreachable and 2001:db8:dead::/48 with
 *   no-route, through nft in its forward chain (routed towards the target, never beyond: that
 *   traffic cannot leave the namespaces);
 * - the target also owns 10.77.1.3 / fd77:1::3 and drops echo requests to them (a silent host);
 * - the client's resolver is 127.0.0.1, where nothing listens (`ip netns exec` mounts
 *   /etc/netns/<client>/resolv.conf over /etc/resolv.conf): a reverse lookup fails at once
 *   instead of timing out on a server the namespace cannot reach.
 *
 * Names include the pid and a counter, so parallel test files never collide; namespaces are deleted
 * in after(), on exit, on SIGINT / SIGTERM, and (when their process was SIGKILLed) by the next run.
 * Needs root, iproute2 and nftables; `netnsSkipReason()` says why not when they are missing.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { namespaceCli } from "./netns-cli.js";

export const ADDR = {
  client4: "10.77.0.2",
  router4: "10.77.0.1",
  routerFar4: "10.77.1.1",
  target4: "10.77.1.2",
  silent4: "10.77.1.3",
  unreachable4: "198.51.100.7",
  client6: "fd77::2",
  router6: "fd77::1",
  target6: "fd77:1::2",
  silent6: "fd77:1::3",
  unreachable6: "2001:db8:dead::7",
} as const;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Topology {
  client: string;
  router: string;
  target: string;
  /** Run a command inside a namespace. */
  exec(ns: string, cmd: string, args: string[], timeoutMs?: number): Promise<ExecResult>;
  /** Run `wirekit <argv>` inside the client namespace (in netns-cli.ts's resident server). */
  wirekit(argv: string[], timeoutMs?: number): Promise<ExecResult>;
  /** Allow (or forbid) unprivileged ping sockets in the client namespace. */
  setPingSockets(on: boolean): Promise<void>;
  /** Delete the namespaces (idempotent). */
  destroy(): void;
}

function which(cmd: string): boolean {
  return ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"].some((d) => existsSync(`${d}/${cmd}`));
}

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces)";
  if (!which("ip")) return "needs iproute2 (ip)";
  if (!which("nft")) return "needs nftables (nft)";
  return undefined;
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, env: { ...process.env, NO_COLOR: "1" } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function must(cmd: string, args: string[]): Promise<void> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
}

/**
 * Wait until every listed device reports operstate UP. A veth pair's carrier is handled by the
 * kernel's link watch, which can take up to a second after `link set up`; until then the device
 * drops what is sent on it, so a first IPv6 neighbour solicitation was lost and the first probe
 * of a test got !H from the client itself.
 */
export async function linksUp(devices: ReadonlyArray<readonly [string, string]>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (const [ns, dev] of devices) {
    for (;;) {
      const r = await run("ip", ["-n", ns, "-o", "link", "show", "dev", dev]);
      if (r.code === 0 && / state UP /.test(r.stdout)) break;
      if (Date.now() > deadline) throw new Error(`${dev} in ${ns} did not come up: ${r.stdout.trim()}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }
}

let counter = 0;

/** Topologies alive in this process, so a signal or exit deletes them even when after() never runs. */
const live = new Set<() => void>();

function destroyAll(): void {
  for (const d of [...live]) d();
}

function onSignal(signal: NodeJS.Signals): void {
  destroyAll();
  // Then die of the signal as if no handler had been installed.
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.kill(process.pid, signal);
}

/**
 * Delete namespaces left by test processes that are gone (killed with SIGKILL, where no cleanup
 * can run): the name carries the creating pid, so a namespace whose pid no longer exists is stale.
 */
function removeStale(): void {
  let names: string[];
  try {
    names = execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").map((l) => l.split(" ")[0] ?? "");
  } catch {
    return;
  }
  for (const ns of names) {
    const m = /^wk-([0-9a-z]+)-[0-9a-z]+-[crt]$/.exec(ns);
    if (m === null) continue;
    const pid = Number.parseInt(m[1] ?? "", 36);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      // someone else removed it first
    }
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Build the topology. On any failure the namespaces made so far are deleted before rethrowing. */
export async function createTopology(): Promise<Topology> {
  removeStale();
  const id = `${process.pid.toString(36)}-${(counter++).toString(36)}`;
  const client = `wk-${id}-c`;
  const router = `wk-${id}-r`;
  const target = `wk-${id}-t`;
  const made: string[] = [];
  const cli = namespaceCli(client);
  const destroy = (): void => {
    cli.close();
    for (const ns of made.splice(0)) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // already gone
      }
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    live.delete(destroy);
    if (live.size === 0) {
      process.off("exit", destroyAll);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  };
  if (live.size === 0) {
    process.on("exit", destroyAll);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  live.add(destroy);
  const ipn = (ns: string, ...args: string[]): Promise<void> => must("ip", ["-n", ns, ...args]);
  const sysctl = (ns: string, ...kv: string[]): Promise<void> => must("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", ...kv]);
  try {
    for (const ns of [client, router, target]) {
      await must("ip", ["netns", "add", ns]);
      made.push(ns);
      await sysctl(ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
      await ipn(ns, "link", "set", "lo", "up");
    }
    mkdirSync(`/etc/netns/${client}`, { recursive: true });
    writeFileSync(`/etc/netns/${client}/resolv.conf`, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
    await must("ip", ["link", "add", "eth0", "netns", client, "type", "veth", "peer", "name", "eth0", "netns", router]);
    await must("ip", ["link", "add", "eth1", "netns", router, "type", "veth", "peer", "name", "eth0", "netns", target]);
    const addrs: Array<[string, string, string]> = [
      [client, "eth0", "10.77.0.2/24"],
      [client, "eth0", "fd77::2/64"],
      [router, "eth0", "10.77.0.1/24"],
      [router, "eth0", "fd77::1/64"],
      [router, "eth1", "10.77.1.1/24"],
      [router, "eth1", "fd77:1::1/64"],
      [target, "eth0", "10.77.1.2/24"],
      [target, "eth0", "fd77:1::2/64"],
      [target, "eth0", "10.77.1.3/24"],
      [target, "eth0", "fd77:1::3/64"],
    ];
    for (const [ns, dev, a] of addrs) await ipn(ns, "addr", "add", a, "dev", dev, ...(a.includes(":") ? ["nodad"] : []));
    // Neighbour solicitations retried after 100 ms, not 1 s: the first one on a fresh link is
    // often lost, which made every first IPv6 probe of a file take a second.
    await sysctl(client, "net.ipv6.neigh.eth0.retrans_time_ms=100");
    await sysctl(router, "net.ipv6.neigh.eth0.retrans_time_ms=100", "net.ipv6.neigh.eth1.retrans_time_ms=100");
    await sysctl(target, "net.ipv6.neigh.eth0.retrans_time_ms=100");
    const devices = [[client, "eth0"], [router, "eth0"], [router, "eth1"], [target, "eth0"]] as const;
    for (const [ns, dev] of devices) await ipn(ns, "link", "set", dev, "up");
    await ipn(client, "route", "add", "default", "via", "10.77.0.1");
    await ipn(client, "-6", "route", "add", "default", "via", "fd77::1");
    await ipn(target, "route", "add", "default", "via", "10.77.1.1");
    await ipn(target, "-6", "route", "add", "default", "via", "fd77:1::1");
    // Route the "unreachable" prefixes towards the target so the forward chain sees them.
    await ipn(router, "route", "add", "198.51.100.0/24", "via", "10.77.1.2");
    await ipn(router, "-6", "route", "add", "2001:db8:dead::/48", "via", "fd77:1::2");
    await sysctl(router, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0");
    await sysctl(target, "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0");
    await linksUp(devices);
    await must("ip", [
      "netns", "exec", router, "nft",
      "add table inet wk; add chain inet wk forward { type filter hook forward priority 0; policy accept; }; " +
        "add rule inet wk forward ip daddr 198.51.100.0/24 reject with icmp type host-unreachable; " +
        "add rule inet wk forward ip6 daddr 2001:db8:dead::/48 reject with icmpv6 type no-route; " +
        "add rule inet wk forward ip daddr 198.51.100.0/24 drop; add rule inet wk forward ip6 daddr 2001:db8:dead::/48 drop",
    ]);
    await must("ip", [
      "netns", "exec", target, "nft",
      "add table inet wk; add chain inet wk input { type filter hook input priority 0; policy accept; }; " +
        "add rule inet wk input ip daddr 10.77.1.3 icmp type echo-request drop; " +
        "add rule inet wk input ip6 daddr fd77:1::3 icmpv6 type echo-request drop",
    ]);
  } catch (err) {
    destroy();
    throw err;
  }
  const exec = (ns: string, cmd: string, args: string[], timeoutMs?: number): Promise<ExecResult> =>
    run("ip", ["netns", "exec", ns, cmd, ...args], timeoutMs);
  return {
    client,
    router,
    target,
    exec,
    wirekit: (argv, timeoutMs) => cli.run(argv, timeoutMs),
    setPingSockets: (on) => sysctl(client, `net.ipv4.ping_group_range=${on ? "0 2147483647" : "1 0"}`),
    destroy,
  };
}

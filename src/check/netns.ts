/**
 * Network namespaces a check builds for a student's program and removes afterwards (needs root,
 * iproute2 and, for `--netns`, nftables). Two topologies:
 *
 * - `createUnreachableTopology`: the student's namespace, whose only way out is a router
 *   namespace over a veth pair; the router forwards and answers every datagram towards
 *   198.51.100.0/24 (TEST-NET-2, RFC 5737) with ICMP Destination Unreachable, host unreachable
 *   (an `unreachable` route, ip-route(8)). Nothing in the namespaces reaches the host's network.
 * - `createStudentNamespace` (`wirekit check --netns`): the student's namespace joined to the
 *   host by a veth pair of its own /30, with no default route. In the namespace, what the
 *   program sends to 127.0.0.1 is translated to the host's end of the pair (nft DNAT, with
 *   route_localnet so 127.0.0.1 may cross an interface); on the host, only the ports the check
 *   lets through (`allow`) are translated on to the counterpart on 127.0.0.1, and everything
 *   else arriving from the pair is dropped. So the program still talks to `127.0.0.1:{port}`,
 *   sees replies from there, and reaches nothing else: not the host's other services, not the
 *   network. A student's server is reached the other way round (`expose`): on the host, what
 *   the check sends to 127.0.0.1:{port} goes to the namespace's end of the pair; for a server
 *   bound to 127.0.0.1 there (`loopback`) it is translated to 127.0.0.1 again. A UDP server bound
 *   to every address must not get that translation: its replies leave from the pair's address,
 *   which would not match the translated flow, and conntrack would give them another port.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { existsSync } from "node:fs";

/** An address the router answers with Destination Unreachable. */
export const UNREACHABLE_HOST = "198.51.100.7";
const STUDENT_ADDR = "10.78.0.2";
const ROUTER_ADDR = "10.78.0.1";

let counter = 0;

/**
 * What is built and not yet removed, as the commands that remove it: run synchronously on exit,
 * so a check that ends by process.exit (a second Ctrl-C) leaves no namespace or nft table behind.
 */
const live = new Map<string, string[][]>();
let exitHook = false;

function track(id: string, undo: string[][]): void {
  live.set(id, undo);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const cmds of live.values()) {
      for (const [cmd = "", ...args] of cmds) {
        try {
          execFileSync(cmd, args, { stdio: "ignore", timeout: 5000 });
        } catch {
          // already gone
        }
      }
    }
  });
}

/** Why namespaces cannot be built here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (the check builds network namespaces)";
  if (!["/usr/sbin/ip", "/usr/bin/ip", "/sbin/ip", "/bin/ip"].some((p) => existsSync(p))) return "needs iproute2 (ip) to build network namespaces";
  return undefined;
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 5000 }, (err, out, stderr) => {
      if (err === null) resolve(out);
      else reject(new Error(`${cmd} ${args.join(" ")}: ${stderr.trim() || err.message}`));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

const ip = (args: string[]): Promise<string> => run("ip", args);

/** A built topology: run the student with `prefix` before its command; `destroy` removes it all. */
export interface UnreachableTopology {
  /** The student's namespace. */
  student: string;
  router: string;
  /** `ip netns exec <student>`: put it in front of the command. */
  prefix: string[];
  destroy(): Promise<void>;
}

/** Build the student + router namespaces. On any failure what was built is removed again. */
export async function createUnreachableTopology(): Promise<UnreachableTopology> {
  const n = `${process.pid % 100000}-${++counter}`;
  const student = `wkc-${n}-s`;
  const router = `wkc-${n}-r`;
  const link = `wkc${counter % 10000}`;
  const destroy = async (): Promise<void> => {
    // Deleting a namespace deletes the veth end inside it, and with it the pair.
    for (const ns of [student, router]) await ip(["netns", "delete", ns]).catch(() => undefined);
    live.delete(student);
  };
  track(student, [student, router].map((ns) => ["ip", "netns", "delete", ns]));
  try {
    await ip(["netns", "add", student]);
    await ip(["netns", "add", router]);
    await ip(["link", "add", `${link}s`, "netns", student, "type", "veth", "peer", "name", `${link}r`, "netns", router]);
    await ip(["-n", student, "addr", "add", `${STUDENT_ADDR}/24`, "dev", `${link}s`]);
    await ip(["-n", router, "addr", "add", `${ROUTER_ADDR}/24`, "dev", `${link}r`]);
    for (const [ns, dev] of [[student, `${link}s`], [router, `${link}r`], [student, "lo"], [router, "lo"]] as const) await ip(["-n", ns, "link", "set", dev, "up"]);
    await ip(["-n", student, "route", "add", "default", "via", ROUTER_ADDR]);
    await ip(["netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.icmp_ratelimit=0"]);
    await ip(["-n", router, "route", "add", "unreachable", "198.51.100.0/24"]);
  } catch (err) {
    await destroy();
    throw err;
  }
  return { student, router, prefix: ["ip", "netns", "exec", student], destroy };
}

/** The student's namespace of `--netns`; see the module comment. */
export interface StudentNamespace {
  name: string;
  /** `ip netns exec <name>`: put it in front of the command. */
  prefix: string[];
  /** Let the program reach 127.0.0.1:`port` (TCP and UDP) of the host. */
  allow(port: number): Promise<void>;
  /** Let the host reach the program's server on `port`: 127.0.0.1:`port` on the host then means the namespace's end of the pair. */
  expose(port: number): Promise<void>;
  /** In the namespace, translate what arrives for `port` to 127.0.0.1 (a server bound to 127.0.0.1 only, or any TCP server). */
  loopback(port: number): Promise<void>;
  destroy(): Promise<void>;
}

/** Why `--netns` cannot work here, or undefined when it can. */
export function studentNamespaceUnavailable(): string | undefined {
  const why = netnsUnavailable();
  if (why !== undefined) return why;
  if (!["/usr/sbin/nft", "/usr/bin/nft", "/sbin/nft"].some((p) => existsSync(p))) return "needs nftables (nft) to route the namespace to the counterpart";
  return undefined;
}

/** A /30 of 10.79.0.0/16 that no interface of the host uses yet: [host end, student end]. */
async function freeSubnet(): Promise<[string, string]> {
  const used = await ip(["-4", "-o", "addr", "show"]);
  for (;;) {
    const block = randomInt(0, 16384) * 4;
    const base = `10.79.${block >> 8}.`;
    const host = `${base}${(block & 255) + 1}`;
    if (!used.includes(` ${host}/`)) return [host, `${base}${(block & 255) + 2}`];
  }
}

/** Build the student's namespace for `--netns`. On any failure what was built is removed again. */
export async function createStudentNamespace(): Promise<StudentNamespace> {
  const tag = randomBytes(3).toString("hex");
  const name = `wkc-${process.pid % 100000}-${++counter}-n`;
  const hostIf = `wk${tag}h`;
  const nsIf = `wk${tag}s`;
  const table = `wirekit-check-${tag}`;
  let tableMade = false;
  const destroy = async (): Promise<void> => {
    await ip(["netns", "delete", name]).catch(() => undefined);
    if (tableMade) await run("nft", ["delete", "table", "ip", table]).catch(() => undefined);
    live.delete(name);
  };
  track(name, [["ip", "netns", "delete", name], ["nft", "delete", "table", "ip", table]]);
  try {
    const [hostAddr, nsAddr] = await freeSubnet();
    await ip(["netns", "add", name]);
    await ip(["link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", name]);
    await ip(["addr", "add", `${hostAddr}/30`, "dev", hostIf]);
    await ip(["link", "set", hostIf, "up"]);
    await ip(["-n", name, "addr", "add", `${nsAddr}/30`, "dev", nsIf]);
    for (const dev of [nsIf, "lo"]) await ip(["-n", name, "link", "set", dev, "up"]);
    await run("sysctl", ["-qw", `net.ipv4.conf.${hostIf}.route_localnet=1`]);
    await ip(["netns", "exec", name, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1"]);
    await run("ip", ["netns", "exec", name, "nft", "-f", "-"], `table ip wirekit-check {
  set sports { type inet_service; }
  chain out { type nat hook output priority -100; ip daddr 127.0.0.1 dnat to ${hostAddr}; }
  chain pre { type nat hook prerouting priority -100; iifname "${nsIf}" ip daddr ${nsAddr} meta l4proto { tcp, udp } th dport @sports dnat to 127.0.0.1; }
  chain post { type nat hook postrouting priority 100; oifname "${nsIf}" snat to ${nsAddr}; }
}
`);
    await run("nft", ["-f", "-"], `table ip ${table} {
  set ports { type inet_service; }
  set sports { type inet_service; }
  chain pre { type nat hook prerouting priority -100; iifname "${hostIf}" ip daddr ${hostAddr} meta l4proto { tcp, udp } th dport @ports dnat to 127.0.0.1; }
  chain out { type nat hook output priority -100; ip daddr 127.0.0.1 meta l4proto { tcp, udp } th dport @sports dnat to ${nsAddr}; }
  chain post { type nat hook postrouting priority 100; oifname "${hostIf}" snat to ${hostAddr}; }
  chain input_ { type filter hook input priority 0; iifname "${hostIf}" ct status dnat accept; iifname "${hostIf}" drop; }
  chain forward_ { type filter hook forward priority 0; iifname "${hostIf}" drop; }
}
`);
    tableMade = true;
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    name,
    prefix: ["ip", "netns", "exec", name],
    allow: async (port) => void (await run("nft", ["add", "element", "ip", table, "ports", `{ ${port} }`])),
    expose: async (port) => void (await run("nft", ["add", "element", "ip", table, "sports", `{ ${port} }`])),
    loopback: async (port) => void (await run("ip", ["netns", "exec", name, "nft", "add", "element", "ip", "wirekit-check", "sports", `{ ${port} }`])),
    destroy,
  };
}

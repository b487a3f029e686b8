/**
 * Network namespaces a check builds for a student's program and removes afterwards (needs root
 * and iproute2). One topology: the student's namespace, whose only way out is a router
 * namespace over a veth pair; the router forwards and answers every datagram towards
 * 198.51.100.0/24 (TEST-NET-2, RFC 5737) with ICMP Destination Unreachable, host unreachable
 * (an `unreachable` route, ip-route(8)). Nothing in the namespaces reaches the host's network.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

/** An address the router answers with Destination Unreachable. */
export const UNREACHABLE_HOST = "198.51.100.7";
const STUDENT_ADDR = "10.78.0.2";
const ROUTER_ADDR = "10.78.0.1";

let counter = 0;

/** Why namespaces cannot be built here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (the check builds network namespaces)";
  if (!["/usr/sbin/ip", "/usr/bin/ip", "/sbin/ip", "/bin/ip"].some((p) => existsSync(p))) return "needs iproute2 (ip) to build network namespaces";
  return undefined;
}

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { timeout: 5000 }, (err, _out, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`ip ${args.join(" ")}: ${stderr.trim() || err.message}`));
    });
  });
}

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
  };
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

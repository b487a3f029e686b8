/**
 * Who may use the proxy: a list of CIDR blocks (`--allow 10.0.0.0/8 --allow ::1/128`), so a
 * proxy bound beyond loopback is never an open proxy by accident.
 */
import { BlockList, isIP } from "node:net";
import { usageError } from "../../core/errors.js";

/**
 * Build a BlockList from CIDRs or single addresses; throws a usage error on a bad one.
 *
 * @example
 * const list = parseAllowList(["10.0.0.0/8"]); list.check("10.1.2.3", "ipv4") // true
 */
export function parseAllowList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of cidrs) {
    const text = raw.trim();
    const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text);
    const addr = m?.[1] ?? "";
    const family = isIP(addr);
    if (m === null || family === 0) throw usageError(`invalid --allow '${raw}' (expected CIDR like 192.168.0.0/16 or an address)`);
    const max = family === 4 ? 32 : 128;
    const prefix = m[2] === undefined ? max : Number(m[2]);
    if (prefix > max) throw usageError(`invalid --allow '${raw}' (prefix must be 0-${max})`);
    list.addSubnet(addr, prefix, family === 4 ? "ipv4" : "ipv6");
  }
  return list;
}

/**
 * Is `address` (as a socket reports it; IPv4-mapped IPv6 included) in the list?
 *
 * @example
 * isAllowed(parseAllowList(["10.0.0.0/8"]), "::ffff:10.1.2.3") // true
 */
export function isAllowed(list: BlockList, address: string): boolean {
  const a = address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(a);
  if (family === 0) return false;
  return list.check(a, family === 4 ? "ipv4" : "ipv6");
}

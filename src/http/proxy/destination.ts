/**
 * Which destinations a client may reach through the proxy, pure. As Squid's `to_localhost`
 * default: a client that is not itself on this host's loopback must not use the proxy to reach
 * services that listen only on the proxy host (loopback, the unspecified address — which Linux
 * connects to the local host — and the host's own interface addresses), since that would let
 * anyone admitted by `--allow` into services nobody meant to expose. The decision is made on the
 * address the destination resolved to and is actually connected, never on its spelling.
 */
import { isIP } from "node:net";

/** The facts one decision needs. */
export interface DestinationFacts {
  /** The client's address as the socket reports it (IPv4-mapped forms included). */
  client: string;
  /** The resolved address the proxy would connect to. */
  destination: string;
  /** The proxy host's own addresses (os.networkInterfaces()). */
  localAddresses: readonly string[];
  /** `--allow-to-loopback`: permit it anyway. */
  allowToLoopback: boolean;
}

/** Allowed, or denied with the reason for the 403. */
export type DestinationDecision = { allow: true } | { allow: false; reason: string };

/**
 * Decide whether `client` may reach `destination`.
 *
 * @example
 * decideDestination({ client: "10.99.0.2", destination: "127.0.0.1", localAddresses: [], allowToLoopback: false })
 * // { allow: false, reason: "destination 127.0.0.1 is on the proxy's own host ..." }
 */
export function decideDestination(f: DestinationFacts): DestinationDecision {
  if (f.allowToLoopback || isLoopbackAddress(f.client)) return { allow: true };
  const d = canonicalAddress(f.destination);
  // Not an address at all: refuse rather than guess (callers pass resolved addresses).
  if (d === undefined) return { allow: false, reason: `destination ${f.destination} is not an address` };
  const own = f.localAddresses.some((a) => canonicalAddress(a) === d);
  if (own || isLoopbackAddress(d) || isUnspecified(d)) {
    return { allow: false, reason: `destination ${f.destination} is on the proxy's own host (loopback or one of its addresses); only local clients may reach it (--allow-to-loopback)` };
  }
  return { allow: true };
}

/** The last address asked about and the answer: every request of a connection asks the same. */
let lastAddress: string | undefined;
let lastLoopback = false;

/** 127.0.0.0/8 or ::1, IPv4-mapped forms included. */
export function isLoopbackAddress(address: string): boolean {
  if (address === lastAddress) return lastLoopback;
  const a = canonicalAddress(address);
  lastLoopback = a !== undefined && (a === "::1" || a.startsWith("127."));
  lastAddress = address;
  return lastLoopback;
}

function isUnspecified(a: string): boolean {
  return a === "::" || a.startsWith("0.");
}

/**
 * One spelling per address: IPv4 dotted quad (IPv4-mapped IPv6 unwrapped), IPv6 as eight
 * lower-case hex groups without zero compression, and any zone index dropped.
 */
export function canonicalAddress(address: string): string | undefined {
  const plain = address.replace(/%.*$/, "");
  const family = isIP(plain);
  if (family === 4) return plain.split(".").map((p) => String(Number(p))).join(".");
  if (family !== 6) return undefined;
  const groups = ipv6Groups(plain);
  if (groups === undefined) return undefined;
  // ::ffff:a.b.c.d, however written, is the IPv4 address.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  if (groups.every((g) => g === 0)) return "::";
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return "::1";
  return groups.map((g) => g.toString(16)).join(":");
}

function ipv6Groups(a: string): number[] | undefined {
  let text = a.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [b1, b2, b3, b4] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((b1 << 8) | b2).toString(16)}:${((b3 << 8) | b4).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0] ?? "");
  const tail = halves.length === 2 ? parse(halves[1] ?? "") : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const out = [...head, ...new Array<number>(Math.max(0, fill)).fill(0), ...tail];
  return out.length === 8 && out.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? out : undefined;
}

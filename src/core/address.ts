/**
 * Hosts and ports: parsing what users type, resolving names (IPv4 and IPv6), and printing
 * addresses back the way people expect ("[::1]:8080").
 */
import { isIP } from "node:net";
import { WirekitError, usageError } from "./errors.js";

export type IpFamily = 4 | 6;

export interface ResolvedAddress {
  /** What the user typed. */
  host: string;
  /** The numeric address chosen. */
  address: string;
  family: IpFamily;
}

/**
 * Parse a port number; `allowZero` admits 0 ("pick one").
 *
 * @example
 * parsePort("8080") // 8080
 */
export function parsePort(text: string, what = "port", allowZero = true): number {
  if (!/^\d+$/.test(text.trim())) throw usageError(`invalid ${what} '${text}' (must be a number 0-65535)`);
  const n = Number(text);
  if (n > 65535 || (!allowZero && n === 0)) throw usageError(`invalid ${what} '${text}' (must be ${allowZero ? 0 : 1}-65535)`);
  return n;
}

/** The family of a numeric address, or undefined for a name. */
export function addressFamily(host: string): IpFamily | undefined {
  const f = isIP(stripBrackets(host));
  return f === 4 || f === 6 ? f : undefined;
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * Resolve a host name or numeric address to one address. `family` forces IPv4 or IPv6
 * (`-4`/`-6`); otherwise the resolver's first answer wins (the OS's preference order).
 * Throws ERR_RESOLVE (exit 2) when the name does not resolve.
 */
export async function resolveHost(host: string, family?: IpFamily): Promise<ResolvedAddress> {
  const bare = stripBrackets(host.trim());
  if (bare === "") throw usageError("empty host name");
  const numeric = addressFamily(bare);
  if (numeric !== undefined) {
    if (family !== undefined && numeric !== family) {
      throw new WirekitError("ERR_RESOLVE", `${bare} is not an IPv${family} address`);
    }
    return { host: bare, address: bare, family: numeric };
  }
  try {
    // node:dns loads only for a name: a numeric address (most runs of a ping) never needs it.
    const { lookup } = await import("node:dns/promises");
    const r = await lookup(bare, { family: family ?? 0 });
    return { host: bare, address: r.address, family: r.family === 6 ? 6 : 4 };
  } catch (err) {
    // With -4/-6 the name may well exist in the other family: say which one was asked for.
    const what = family === undefined ? "host not found" : `no IPv${family} address`;
    throw new WirekitError("ERR_RESOLVE", `cannot resolve '${bare}': ${what}`, { cause: err });
  }
}

/**
 * Split "host:port", "[v6]:port" or a bare host (then `defaultPort`).
 *
 * @example
 * parseHostPort("[::1]:2525", 25) // { host: "::1", port: 2525 }
 */
export function parseHostPort(text: string, defaultPort?: number): { host: string; port: number } {
  const t = text.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) {
    const port = v6[2] !== undefined ? parsePort(v6[2]) : defaultPort;
    if (port === undefined) throw usageError(`missing port in '${text}'`);
    return { host: v6[1] ?? "", port };
  }
  if (isIP(t) === 6) {
    if (defaultPort === undefined) throw usageError(`missing port in '${text}'`);
    return { host: t, port: defaultPort };
  }
  const i = t.lastIndexOf(":");
  if (i === -1) {
    if (defaultPort === undefined) throw usageError(`missing port in '${text}'`);
    return { host: t, port: defaultPort };
  }
  return { host: t.slice(0, i), port: parsePort(t.slice(i + 1)) };
}

/** "127.0.0.1:80" or "[::1]:80". */
export function formatHostPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** True for addresses in 127.0.0.0/8 or ::1 (and IPv4-mapped loopback). */
export function isLoopback(address: string): boolean {
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  return a === "::1" || a === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(a);
}

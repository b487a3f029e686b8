/**
 * The Host header check that stops DNS rebinding against the lab's HTTP endpoints.
 *
 * A page on attacker.example can make the victim's browser resolve attacker.example to
 * 127.0.0.1 and then read the dashboard as same-origin; the only thing that tells such a
 * request apart is its Host header, which still names attacker.example (RFC 9110 §7.2).
 * So the dashboard answers only Host values that name the address it is bound to (or the
 * local address the connection arrived on, for a wildcard bind), `localhost` when that
 * address is loopback, and names the operator listed explicitly. Everything else gets
 * 421 Misdirected Request (RFC 9110 §15.5.20). Pure: no sockets.
 */

/** What a request must match. */
export interface HostPolicy {
  /** The address the server is bound to ("127.0.0.1", "::1", "0.0.0.0", "::", "192.0.2.7"). */
  boundAddress: string;
  /** The port the server is bound to; a Host with a port must name this one. */
  port: number;
  /** Extra names accepted (`wirekit lab --dashboard-host NAME`), compared case-insensitively. @default [] */
  names?: readonly string[];
}

/** The facts about one request the check needs. */
export interface HostRequest {
  /** The Host header as received; undefined when absent. */
  host: string | undefined;
  /** "1.1", "1.0" */
  httpVersion: string;
  /** The local address the connection arrived on (socket.localAddress). */
  localAddress?: string | undefined;
}

function normalizeAddress(a: string): string {
  const lower = a.toLowerCase();
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
  return lower.startsWith("::ffff:") && lower.includes(".") ? lower.slice(7) : lower;
}

function isWildcard(a: string): boolean {
  return a === "0.0.0.0" || a === "::";
}

function isLoopback(a: string): boolean {
  return a === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/**
 * Split a Host header into its name and optional port; undefined when it is malformed.
 *
 * @example
 * splitHost("[::1]:7070") // { name: "::1", port: 7070 }
 * splitHost("Localhost.") // { name: "localhost", port: undefined }
 */
export function splitHost(value: string): { name: string; port: number | undefined } | undefined {
  const v = value.trim();
  let name: string;
  let portText: string | undefined;
  if (v.startsWith("[")) {
    const close = v.indexOf("]");
    if (close < 0) return undefined;
    name = v.slice(1, close);
    const rest = v.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return undefined;
      portText = rest.slice(1);
    }
    if (!name.includes(":")) return undefined;
  } else {
    const colon = v.indexOf(":");
    if (colon >= 0) {
      if (v.indexOf(":", colon + 1) >= 0) return undefined; // a bare IPv6 literal must be in brackets
      name = v.slice(0, colon);
      portText = v.slice(colon + 1);
    } else {
      name = v;
    }
  }
  if (name === "" || !/^[A-Za-z0-9.\-_:%]+$/.test(name)) return undefined;
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port > 65535) return undefined;
  }
  name = name.toLowerCase();
  if (name.endsWith(".") && !name.includes(":")) name = name.slice(0, -1);
  return { name, port };
}

/**
 * Whether a request's Host header names this server (see the module comment for the rule).
 * A missing Host is accepted only from HTTP/1.0 clients, which may omit it; HTTP/1.1 requires it.
 *
 * @example
 * isAllowedHost({ host: "127.0.0.1:7070", httpVersion: "1.1" }, { boundAddress: "127.0.0.1", port: 7070 }) // true
 * isAllowedHost({ host: "attacker.example:7070", httpVersion: "1.1" }, { boundAddress: "127.0.0.1", port: 7070 }) // false
 */
export function isAllowedHost(req: HostRequest, policy: HostPolicy): boolean {
  if (req.host === undefined || req.host === "") return req.httpVersion === "1.0" && req.host === undefined;
  const parsed = splitHost(req.host);
  if (!parsed) return false;
  if (parsed.port !== undefined && parsed.port !== policy.port) return false;
  const bound = normalizeAddress(policy.boundAddress);
  const local = req.localAddress === undefined ? undefined : normalizeAddress(req.localAddress);
  // With a wildcard bind the address that counts is the one this connection arrived on.
  const here = isWildcard(bound) ? local : bound;
  const name = parsed.name;
  if (here !== undefined && name === here) return true;
  if (here !== undefined && isLoopback(here) && name === "localhost") return true;
  return (policy.names ?? []).some((n) => n.toLowerCase().replace(/\.$/, "") === name);
}

/** The body of the 421 answer: short, and it never echoes the Host that was sent. */
export const MISDIRECTED_BODY = "misdirected request: this Host is not served here (wirekit lab --dashboard-host NAME adds one)\n";

/**
 * Where a proxied request goes, pure. RFC 9112 §3.2.2: a request to a proxy carries the
 * absolute-form (`GET http://host:port/path HTTP/1.1`); the lab's browser form
 * `http://proxy:port/host[:port]/path` arrives in origin-form with the origin as the first
 * path segment. CONNECT's authority-form (§3.2.3) is parsed by `parseAuthority`.
 */
import { isIP } from "node:net";
import { RecentAnswers } from "../../core/recent-answers.js";

/** An origin request target, normalized. */
export interface OriginTarget {
  kind: "origin";
  /** "http:" or "https:". */
  protocol: "http:" | "https:";
  /** Host name or address (IPv6 without brackets). */
  hostname: string;
  port: number;
  /** origin-form: path and query. */
  path: string;
  /** The absolute URI, without fragment: the cache key (RFC 9111 §2). */
  href: string;
  /** The Host field value for the origin (RFC 9110 §7.2). */
  host: string;
  /** Which request form it came in ("gateway": origin-form to a reverse proxy). */
  form: "absolute" | "lab" | "gateway";
}

/** The result of parsing a request target. */
export type ParsedTarget = OriginTarget | { kind: "local"; path: string } | { kind: "invalid"; reason: string };

/** Paths on the proxy itself. */
export const STATS_PATH = "/_wirekit/stats";
export const METRICS_PATH = "/_wirekit/metrics";
export const PURGE_PATH = "/_wirekit/purge";

/** True for a path the proxy answers itself, in either mode (stats, metrics, purge). */
export function isProxyPath(raw: string): boolean {
  // Asked of every gateway request: most are not the proxy's, and say so at once.
  if (!raw.startsWith("/_wirekit/")) return false;
  const q = raw.indexOf("?");
  const path = q === -1 ? raw : raw.slice(0, q);
  return path === STATS_PATH || path === METRICS_PATH || path === PURGE_PATH;
}

/**
 * Parse a request-target as received by the proxy.
 *
 * @example
 * parseTarget("http://example.test:8080/a?b").kind // "origin"
 * parseTarget("/example.test/a").kind              // "origin" (the lab form)
 * parseTarget("/_wirekit/stats").kind              // "local"
 */
export function parseTarget(raw: string): ParsedTarget {
  if (raw.length > 0 && raw[0] === "/") {
    if (raw === "/" || isProxyPath(raw) || raw === "/favicon.ico") return { kind: "local", path: raw };
    let rest = raw.slice(1);
    // Browsers typing http://proxy:port/http://host/path send the scheme too; accept it.
    const scheme = /^(https?):\/\/?/i.exec(rest);
    let protocol: "http:" | "https:" = "http:";
    if (scheme) {
      protocol = scheme[1]?.toLowerCase() === "https" ? "https:" : "http:";
      rest = rest.slice(scheme[0].length);
    }
    return fromUrl(`${protocol}//${rest}`, "lab");
  }
  if (/^https?:\/\//i.test(raw)) return fromUrl(raw, "absolute");
  return { kind: "invalid", reason: "request target is neither absolute-form (http://host/path) nor /host/path" };
}

function fromUrl(text: string, form: "absolute" | "lab"): ParsedTarget {
  // Only the scheme and authority go through the URL parser. The path and query are forwarded
  // exactly as the client sent them, as Squid does: WHATWG URL parsing would resolve `%2e%2e`
  // and `\..\` segments, so the origin would be asked for a different resource than the
  // client named (and the cache would file it under that other name).
  const schemeEnd = text.indexOf("//") + 2;
  const afterScheme = text.slice(schemeEnd);
  const cut = afterScheme.search(/[/?#\\]/);
  const authority = cut === -1 ? afterScheme : afterScheme.slice(0, cut);
  if (cut !== -1 && afterScheme[cut] === "\\") return { kind: "invalid", reason: "a backslash ends the authority of the request target" };
  let rawPath = cut === -1 ? "" : afterScheme.slice(cut);
  const hash = rawPath.indexOf("#");
  if (hash !== -1) rawPath = rawPath.slice(0, hash);
  if (rawPath === "" || rawPath.startsWith("?")) rawPath = `/${rawPath}`;
  if (!/^[\x21-\xff]*$/.test(rawPath)) return { kind: "invalid", reason: "request target has characters that cannot be forwarded" };
  const origin = origins.get(`${text.slice(0, schemeEnd)}${authority}`);
  if (origin.kind === "invalid") return origin;
  const { protocol, hostname, port, host } = origin;
  return { kind: "origin", protocol, hostname, port, path: rawPath, href: `${protocol}//${host}${rawPath}`, host, form };
}

/** What an absolute URI's scheme and authority name: where to connect and the Host to send. */
type ParsedOrigin = Pick<OriginTarget, "protocol" | "hostname" | "port" | "host"> & { kind: "origin" };

/**
 * Parse `scheme://authority` with the WHATWG URL parser (host normalization, IDNA, IPv6). Every
 * miss names a new URI but almost always an origin named before, so the answers are kept
 * (`origins`): the URL parser ran once per miss and was among the largest items of its profile.
 */
function parseOrigin(schemeAndAuthority: string): ParsedOrigin | { kind: "invalid"; reason: string } {
  let u: URL;
  try {
    u = new URL(`${schemeAndAuthority}/`);
  } catch {
    return { kind: "invalid", reason: `not a valid URL: ${schemeAndAuthority.slice(0, 200)}` };
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return { kind: "invalid", reason: `unsupported scheme ${u.protocol}` };
  if (u.hostname === "") return { kind: "invalid", reason: "missing host" };
  if (u.username !== "" || u.password !== "") return { kind: "invalid", reason: "credentials in the URL are not forwarded" };
  const protocol = u.protocol;
  const port = u.port === "" ? (protocol === "https:" ? 443 : 80) : Number(u.port);
  const hostname = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  return { kind: "origin", protocol, hostname, port, host: u.host };
}

const origins = new RecentAnswers(parseOrigin, { maxEntries: 1024, maxKeyLength: 300 });

/** The one origin a gateway (reverse proxy) forwards to. */
export interface GatewayOrigin {
  protocol: "http:" | "https:";
  /** Name or address (IPv6 without brackets). */
  hostname: string;
  port: number;
  /** host[:port] as written in the URL (the Host a client that sends none gets). */
  authority: string;
  /** Host sent to the origin instead of the client's (`--origin-host`). */
  originHost: string | undefined;
}

/**
 * Parse `--reverse http://ORIGIN[:PORT]`: an http(s) URL naming only an origin (no path
 * beyond "/", no query, no credentials). Undefined with the reason when it is not one.
 *
 * @example
 * parseGatewayOrigin("http://127.0.0.1:8080", undefined) // { ok: true, origin: { hostname: "127.0.0.1", port: 8080, ... } }
 */
export function parseGatewayOrigin(url: string, originHost: string | undefined): { ok: true; origin: GatewayOrigin } | { ok: false; reason: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: `--reverse needs a URL like http://127.0.0.1:8080, not '${url.slice(0, 100)}'` };
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return { ok: false, reason: `--reverse: unsupported scheme ${u.protocol} (http or https)` };
  if (u.username !== "" || u.password !== "") return { ok: false, reason: "--reverse: credentials in the URL are not supported" };
  if ((u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.hash !== "") return { ok: false, reason: "--reverse names an origin only (no path or query): requests keep their own paths" };
  if (originHost !== undefined && !/^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?$/.test(originHost)) return { ok: false, reason: `--origin-host '${originHost.slice(0, 100)}' is not a host[:port]` };
  const protocol = u.protocol;
  const port = u.port === "" ? (protocol === "https:" ? 443 : 80) : Number(u.port);
  const hostname = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  return { ok: true, origin: { protocol, hostname, port, authority: u.host, originHost } };
}

/**
 * Where a gateway sends a request (RFC 9110 §7.6, "gateway"): origin-form targets go to the
 * configured origin with their path as sent; the client's Host is kept (the origin may serve
 * several names) unless `originHost` replaces it. An absolute-form target is accepted too
 * (RFC 9112 §3.2.2: its authority stands in for Host). The cache key is the URI the client
 * asked for: `scheme://Host/path`.
 *
 * @example
 * gatewayTarget("/a?b", "www.test", origin).href // "http://www.test/a?b"
 */
export function gatewayTarget(raw: string, hostField: string | undefined, origin: GatewayOrigin): ParsedTarget {
  let path = raw;
  let host = hostField === undefined || hostField === "" ? origin.authority : hostField;
  if (!raw.startsWith("/")) {
    const abs = /^https?:\/\//i.test(raw) ? fromUrl(raw, "absolute") : undefined;
    if (abs === undefined || abs.kind !== "origin") return abs ?? { kind: "invalid", reason: "a gateway takes origin-form targets (/path)" };
    path = abs.path;
    host = abs.host;
  }
  if (!/^[\x21-\xff]*$/.test(path)) return { kind: "invalid", reason: "request target has characters that cannot be forwarded" };
  const hash = path.indexOf("#");
  if (hash !== -1) path = path.slice(0, hash);
  const sent = origin.originHost ?? host;
  return { kind: "origin", protocol: origin.protocol, hostname: origin.hostname, port: origin.port, path, href: `${origin.protocol}//${host.toLowerCase()}${path}`, host: sent, form: "gateway" };
}

/**
 * `gatewayTarget` for one origin, remembered per recent (Host, path) pair as the forward mode
 * remembers its parsed targets: besides the parse, a popular URL's cache key is then one string
 * whose hash is known, not a new one per request for the store's index to hash again.
 *
 * @example
 * const targetOf = gatewayTargets(origin);
 * targetOf("/a?b", "www.test").href // "http://www.test/a?b", parsed once
 */
export function gatewayTargets(origin: GatewayOrigin): (raw: string, hostField: string | undefined) => ParsedTarget {
  // The key is "HOST\nPATH", or PATH alone with no Host: a field value holds no LF (the engine
  // refuses one), so a key splits back into exactly the pair it was made from.
  const memo = new RecentAnswers(
    (key) => {
      const nl = key.indexOf("\n");
      return nl === -1 ? gatewayTarget(key, undefined, origin) : gatewayTarget(key.slice(nl + 1), key.slice(0, nl), origin);
    },
    { maxEntries: 4096, maxKeyLength: 2048 },
  );
  return (raw, hostField) => memo.get(hostField === undefined ? raw : `${hostField}\n${raw}`);
}

/**
 * In the lab form, a page at `http://proxy/host/dir/page.html` that links to `/img.png` makes
 * the browser ask for `http://proxy/img.png`. Pages know nothing of the proxy, so a request
 * whose Referer is a lab-form page on this proxy and whose first segment is not that page's
 * origin is meant for that origin: return the corrected target (undefined when none is needed).
 *
 * @example
 * labTargetFromReferer("/img.png", "http://127.0.0.1:8888/example.test/dir/page.html", "127.0.0.1:8888")
 * // "/example.test/img.png"
 */
export function labTargetFromReferer(raw: string, referer: string | undefined, proxyAuthority: string): string | undefined {
  if (referer === undefined || !raw.startsWith("/") || raw === "/" || raw.startsWith("/_wirekit/")) return undefined;
  const prefix = `http://${proxyAuthority}/`;
  if (!referer.startsWith(prefix)) return undefined;
  let rest = referer.slice(prefix.length);
  const scheme = /^(https?):\/\/?/i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  const authority = rest.split(/[/?#]/, 1)[0] ?? "";
  if (authority === "" || authority.startsWith("_wirekit")) return undefined;
  const origin = `/${scheme ? `${scheme[1]}://` : ""}${authority}`;
  const sameOrigin = raw.toLowerCase().startsWith(`${origin.toLowerCase()}/`) || raw.toLowerCase() === origin.toLowerCase();
  const otherScheme = /^\/https?:\/\//i.test(raw);
  return sameOrigin || otherScheme ? undefined : `${origin}${raw}`;
}

/**
 * Parse a CONNECT authority-form target `host:port` (RFC 9112 §3.2.3).
 *
 * @example
 * parseAuthority("example.test:443") // { host: "example.test", port: 443 }
 */
export function parseAuthority(raw: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/\s@]+)):(\d{1,5})$/.exec(raw);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  const host = m[1] ?? m[2] ?? "";
  if (m[1] !== undefined && isIP(host) !== 6) return undefined;
  return { host, port };
}

/**
 * An HTTP/1.1 request head, validated when it is built and serialized exactly
 * (RFC 9112 §3 request line, §5 field lines; RFC 9110 §5.6.2 tokens). CR, LF and NUL in a
 * header name or value are refused here, so nothing a user types can split the request
 * (header injection / request smuggling).
 */
import { WirekitError } from "../../core/errors.js";
import { isFieldName } from "../header-list.js";

/** A request ready to send. */
export interface HttpRequest {
  method: string;
  /** origin-form (`/path?q`), absolute-form (`http://h/p`, through a proxy) or authority-form (CONNECT). */
  target: string;
  /** Header fields in order, names as given. Host is the first. */
  headers: ReadonlyArray<readonly [string, string]>;
}

export interface BuildRequestOptions {
  /** @default "GET" */
  method?: string;
  target: string;
  /** Host header value (`host[:port]`). */
  host: string;
  /** Extra fields; a field with the same name (case-insensitive) as a default replaces it. */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Fields sent unless overridden. @default User-Agent, Accept: *\/*, Connection: close */
  defaults?: ReadonlyArray<readonly [string, string]>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;
// eslint-disable-next-line no-control-regex
const BAD_TARGET = /[\x00-\x20\x7f]/;

/**
 * Build and validate a request. Throws ERR_USAGE naming the bad field.
 *
 * @example
 * buildRequest({ target: "/index.html", host: "127.0.0.1:8080" })
 */
export function buildRequest(o: BuildRequestOptions): HttpRequest {
  const method = o.method ?? "GET";
  if (!TOKEN.test(method)) throw new WirekitError("ERR_USAGE", `invalid method '${method}'`);
  if (o.target === "" || BAD_TARGET.test(o.target)) throw new WirekitError("ERR_USAGE", "invalid request target (spaces and control characters must be percent-encoded)");
  if (BAD_VALUE.test(o.host) || o.host.includes(" ")) throw new WirekitError("ERR_USAGE", "invalid host");
  const defaults = o.defaults ?? [["User-Agent", "wirekit"], ["Accept", "*/*"], ["Connection", "close"]];
  const extra = o.headers ?? [];
  for (const [name, value] of extra) {
    if (!TOKEN.test(name)) throw new WirekitError("ERR_USAGE", `invalid header name '${escapeForMessage(name)}'`);
    if (BAD_VALUE.test(value)) throw new WirekitError("ERR_USAGE", `header '${name}': CR, LF and NUL are not allowed in a value`);
  }
  const hostField = extra.find(([n]) => isFieldName(n, "host"));
  const headers: Array<readonly [string, string]> = [hostField ?? ["Host", o.host]];
  if (defaults.length > 0) {
    const overridden = new Set(extra.map(([n]) => n.toLowerCase()));
    for (const d of defaults) if (!overridden.has(d[0].toLowerCase())) headers.push(d);
  }
  // A field already trimmed (every field a proxy relays: its parser trimmed them) is kept as given.
  for (const h of extra) {
    if (h === hostField) continue;
    const v = h[1].trim();
    headers.push(v === h[1] ? h : [h[0], v]);
  }
  return { method, target: o.target, headers };
}

/**
 * Serialize the head: request line, field lines, empty line (CRLF everywhere).
 *
 * @example
 * serializeRequestHead(buildRequest({ target: "/", host: "h" })) // "GET / HTTP/1.1\r\nHost: h\r\n..."
 */
export function serializeRequestHead(r: HttpRequest): string {
  let s = `${r.method} ${r.target} HTTP/1.1\r\n`;
  for (const [n, v] of r.headers) s += `${n}: ${v}\r\n`;
  return `${s}\r\n`;
}

/** Parse `-H 'Name: value'` as typed by a user. */
export function parseHeaderArg(text: string): [string, string] {
  const i = text.indexOf(":");
  if (i <= 0) throw new WirekitError("ERR_USAGE", `invalid header '${escapeForMessage(text)}' (expected 'Name: value')`);
  return [text.slice(0, i).trim(), text.slice(i + 1).trim()];
}

function escapeForMessage(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

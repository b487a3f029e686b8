/**
 * What a proxy changes in the fields it relays, pure (RFC 9110 §7.6): connection-specific
 * fields are removed — Connection and every field it names, Keep-Alive, Proxy-Authorization,
 * Proxy-Authenticate, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade (§7.6.1) — and
 * Via is appended (§7.6.3). Host is rewritten for the origin (§7.2).
 */
import { fieldTokens, isFieldName, lowerFieldName, type HeaderList } from "../header-list.js";

/**
 * True when `name` (in any case) is a field always removed when relaying, in either direction:
 * Connection, Keep-Alive, Proxy-Authorization, Proxy-Authenticate, Proxy-Connection, TE,
 * Trailer, Transfer-Encoding, Upgrade. Decided by length first, so most names are answered
 * without looking at a character, and no lower-cased copy is made.
 *
 * @example
 * isHopByHop("Keep-Alive") // true
 */
export function isHopByHop(name: string): boolean {
  switch (name.length) {
    case 2:
      return isFieldName(name, "te");
    case 7:
      return isFieldName(name, "trailer") || isFieldName(name, "upgrade");
    case 10:
      return isFieldName(name, "connection") || isFieldName(name, "keep-alive");
    case 16:
      return isFieldName(name, "proxy-connection");
    case 17:
      return isFieldName(name, "transfer-encoding");
    case 18:
      return isFieldName(name, "proxy-authenticate");
    case 19:
      return isFieldName(name, "proxy-authorization");
    default:
      return false;
  }
}

/**
 * The end-to-end fields of a message: `list` without hop-by-hop fields and without the fields
 * its Connection header names.
 *
 * @example
 * endToEnd([["Connection", "close, X-A"], ["X-A", "1"], ["Accept", "*\/*"]]) // [["Accept", "*\/*"]]
 */
export function endToEnd(list: HeaderList, alsoDrop?: ReadonlySet<string>): Array<[string, string]> {
  // The names Connection lists besides hop-by-hop ones, made only when there are any: the usual
  // "keep-alive" adds none, and then no name needs lower-casing.
  let named: Set<string> | undefined;
  for (let i = 0; i < list.length; i++) {
    const field = list[i] as readonly [string, string];
    if (!isFieldName(field[0], "connection")) continue;
    for (const t of fieldTokens(field[1])) if (!isHopByHop(t)) (named ??= new Set()).add(t);
  }
  const byName = named !== undefined || (alsoDrop !== undefined && alsoDrop.size > 0);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < list.length; i++) {
    const field = list[i] as readonly [string, string];
    const k = field[0];
    if (isHopByHop(k)) continue;
    if (byName) {
      const lower = lowerFieldName(k);
      if (named?.has(lower) === true || alsoDrop?.has(lower) === true) continue;
    }
    out.push([k, field[1]]);
  }
  return out;
}

/** The Via member this proxy adds: `1.1 <received-by> (wirekit)`. */
export function viaEntry(httpVersion: string, receivedBy: string): string {
  const v = httpVersion === "1.0" ? "1.0" : httpVersion === "2.0" ? "2" : "1.1";
  return `${v} ${receivedBy} (wirekit)`;
}

/**
 * Append our Via member to the list (one combined Via field, RFC 9110 §7.6.3).
 *
 * @example
 * withVia([["Via", "1.0 fred"]], "1.1 p:8888 (wirekit)") // [["Via", "1.0 fred, 1.1 p:8888 (wirekit)"]]
 */
export function withVia(list: Array<[string, string]>, entry: string): Array<[string, string]> {
  const prior: string[] = [];
  const out: Array<[string, string]> = [];
  for (const pair of list) {
    if (isFieldName(pair[0], "via")) prior.push(pair[1]);
    else out.push(pair);
  }
  out.push(["Via", prior.length > 0 ? `${prior.join(", ")}, ${entry}` : entry]);
  return out;
}

/**
 * True when a Via field already names this proxy: the request went round a loop (RFC 9110
 * §7.6.3 lets a proxy use Via for this).
 *
 * @example
 * viaHasLoop("1.1 127.0.0.1:8888 (wirekit)", "127.0.0.1:8888") // true
 */
export function viaHasLoop(via: string | undefined, receivedBy: string): boolean {
  if (via === undefined) return false;
  return via.split(",").some((m) => {
    const parts = m.trim().split(/\s+/);
    return parts[1] === receivedBy && parts[2] === "(wirekit)";
  });
}

/**
 * Max-Forwards (RFC 9110 §7.6.2) for TRACE and OPTIONS: "answer" when it is 0 (the proxy is
 * the final recipient), otherwise the decremented value to forward (undefined = absent/other).
 *
 * @example
 * maxForwards("OPTIONS", "0") // "answer"
 * maxForwards("TRACE", "3")   // 2
 */
export function maxForwards(method: string, value: string | undefined): "answer" | number | undefined {
  if ((method !== "TRACE" && method !== "OPTIONS") || value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return n === 0 ? "answer" : n - 1;
}

/**
 * The request fields for the origin: end-to-end fields, Host set to the origin, our Via.
 *
 * @example
 * originRequestHeaders([["Host", "proxy"], ["Proxy-Connection", "keep-alive"]], "o.test", "1.1 p:1 (wirekit)")
 * // [["Host", "o.test"], ["Via", "1.1 p:1 (wirekit)"]]
 */
export function originRequestHeaders(list: HeaderList, host: string, via: string, alsoDrop?: ReadonlySet<string>): Array<[string, string]> {
  const out: Array<[string, string]> = [["Host", host]];
  for (const pair of endToEnd(list, alsoDrop)) if (!isFieldName(pair[0], "host")) out.push(pair);
  return withVia(out, via);
}

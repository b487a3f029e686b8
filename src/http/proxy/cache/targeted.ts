/**
 * Targeted cache-control fields (RFC 9213), pure. A cache with a target list uses the first
 * listed field that is present, non-empty and valid (an sf-dictionary, RFC 8941 §3.2) for its
 * own caching decisions, and ignores Cache-Control and Expires in that response; without one,
 * Cache-Control rules as usual. The gateway's list is Wirekit-Cache-Control (aimed at this
 * cache alone, so it wins), then CDN-Cache-Control (§3); a forward proxy has no list.
 */
import { getField, type HeaderList } from "../../header-list.js";

/** The target list of the gateway (reverse proxy) mode, most specific first. */
export const GATEWAY_TARGETS: readonly string[] = ["wirekit-cache-control", "cdn-cache-control"];

// sf-key ["=" bare-item] *parameters, with bare-item an integer, decimal, string, token or boolean.
const KEY = String.raw`[a-z*][a-z0-9_\-.*]*`;
const BARE = String.raw`(?:\?[01]|-?\d{1,15}(?:\.\d{1,3})?|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"|[A-Za-z*][!#$%&'*+\-.^_\x60|~0-9A-Za-z:/]*|:[A-Za-z0-9+/=]*:)`;
const MEMBER = new RegExp(String.raw`^(${KEY})(?:=(${BARE}))?((?:;\s*${KEY}(?:=${BARE})?)*)$`);

/**
 * The members of a targeted field as Cache-Control directives text, or undefined when the
 * field is empty or not a valid dictionary (RFC 9213 §2.1: then it is ignored). Booleans
 * become bare directives (`?1`) or are dropped (`?0`); parameters are ignored.
 *
 * @example
 * targetedDirectives("max-age=600, stale-if-error=?1") // "max-age=600, stale-if-error"
 * targetedDirectives("max-age=60, MAX-AGE=1")           // undefined (keys are lower case)
 */
export function targetedDirectives(value: string): string | undefined {
  if (value.trim() === "") return undefined;
  const out: string[] = [];
  for (const raw of splitMembers(value)) {
    const m = MEMBER.exec(raw.trim());
    if (m === null) return undefined;
    const key = m[1] as string;
    const v = m[2];
    if (v === undefined || v === "?1") out.push(key);
    else if (v !== "?0") out.push(`${key}=${v}`);
  }
  return out.join(", ");
}

/** Split a dictionary on commas outside quoted strings. */
function splitMembers(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

/**
 * The response fields as this cache's decisions see them: with a usable targeted field, its
 * directives stand in for Cache-Control and Expires is dropped; otherwise `headers` unchanged.
 *
 * @example
 * decisionFields([["Cache-Control", "no-store"], ["CDN-Cache-Control", "max-age=600"]], GATEWAY_TARGETS)
 * // [["Cache-Control", "max-age=600"]]
 */
export function decisionFields(headers: HeaderList, targets: readonly string[] | undefined): HeaderList {
  if (targets === undefined || targets.length === 0) return headers;
  for (const name of targets) {
    const value = getField(headers, name);
    if (value === undefined) continue;
    const directives = targetedDirectives(value);
    if (directives === undefined) continue;
    const out: Array<readonly [string, string]> = [];
    for (const f of headers) {
      const lower = f[0].toLowerCase();
      if (lower !== "cache-control" && lower !== "expires") out.push(f);
    }
    out.push(["Cache-Control", directives]);
    return out;
  }
  return headers;
}

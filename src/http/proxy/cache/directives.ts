/**
 * Cache-Control parsing (RFC 9111 §5.2): a comma-separated list of directives, each a token
 * with an optional `=token` or `="quoted-string"` argument. Pure.
 */

import { RecentAnswers } from "../../../core/recent-answers.js";

/** Directives by lower-cased name; the value is the argument, or `true` when there is none. */
export type Directives = ReadonlyMap<string, string | true>;

const EMPTY: Directives = new Map();

/**
 * The parses of the Cache-Control values seen lately: an origin sends the same few values on
 * most of its responses, and a miss asked for its response's directives three times (whether
 * it may be stored, its freshness facts, the fields it withholds). The maps are shared, so
 * nothing may change one (`Directives` is read-only).
 */
const recent = new RecentAnswers(parseText, { maxEntries: 512, maxKeyLength: 256 });

/**
 * Parse one or more Cache-Control field values. Unknown directives are kept (RFC 9111 §5.2.3
 * says to ignore them, callers just never look them up); a malformed item is skipped.
 *
 * @example
 * parseDirectives("max-age=60, no-cache=\"Set-Cookie\"").get("max-age") // "60"
 */
export function parseDirectives(value: string | readonly string[] | undefined): Directives {
  if (value === undefined) return EMPTY;
  const text = typeof value === "string" ? value : value.join(",");
  return text === "" ? EMPTY : recent.get(text);
}

/** `parseDirectives` of one non-empty text. */
function parseText(text: string): Directives {
  const out = new Map<string, string | true>();
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === " " || text[i] === "\t" || text[i] === ",")) i++;
    const start = i;
    while (i < n && text[i] !== "=" && text[i] !== ",") i++;
    const name = text.slice(start, i).trim().toLowerCase();
    let arg: string | true = true;
    if (i < n && text[i] === "=") {
      i++;
      while (i < n && (text[i] === " " || text[i] === "\t")) i++;
      if (text[i] === '"') {
        i++;
        let s = "";
        while (i < n && text[i] !== '"') {
          if (text[i] === "\\" && i + 1 < n) i++;
          s += text[i];
          i++;
        }
        i++;
        arg = s;
        while (i < n && text[i] !== ",") i++;
      } else {
        const vs = i;
        while (i < n && text[i] !== ",") i++;
        arg = text.slice(vs, i).trim();
      }
    }
    // The first occurrence wins when a directive is repeated (a conservative reading of §4.2.1).
    if (name !== "" && !out.has(name)) out.set(name, arg);
  }
  return out;
}

/**
 * A delta-seconds argument (RFC 9111 §1.2.2): digits only; values too large saturate at 2^31
 * as the RFC asks. Undefined when absent or invalid (an invalid max-age is treated as absent
 * by callers, which then fall back to other sources or consider the response stale).
 *
 * @example
 * deltaSeconds(parseDirectives("max-age=60"), "max-age") // 60
 */
export function deltaSeconds(d: Directives, name: string): number | undefined {
  const v = d.get(name);
  if (v === undefined || v === true) return undefined;
  if (!/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n > 2147483648 ? 2147483648 : n;
}

/** HTTP-dates live in one place for every HTTP module (http-date.ts). */
export { parseHttpDate } from "../../http-date.js";

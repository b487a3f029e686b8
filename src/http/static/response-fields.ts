/**
 * Response header fields a user adds (`-H 'Name: value'`, `--cache-control`), checked once at
 * start against RFC 9110 §5.1 (field-name is a token) and §5.5 (field-value: no CR, LF or NUL),
 * and Accept negotiation (§12.5.1) for the listing's format and the SPA fallback. Pure.
 */

/** tchar, RFC 9110 §5.6.2. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * VCHAR, SP and HTAB. obs-text (bytes 0x80-0xff) is refused too: a JS string above 0x7f has no
 * single byte form, and the engine and node:http would encode it differently.
 */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

/** Fields the server's framing owns: a user copy would desynchronise the message (smuggling). */
const RESERVED = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer", "te"]);

/** True when `name` is a token. */
export function isFieldName(name: string): boolean {
  return TOKEN.test(name);
}

/** True when `value` may be sent as a field value. */
export function isFieldValue(value: string): boolean {
  return FIELD_VALUE.test(value);
}

/**
 * A `Name: value` option parsed into a field, or why it is refused.
 *
 * @example
 * parseHeaderOption("X-Frame-Options: DENY") // { ok: true, field: ["X-Frame-Options", "DENY"] }
 * parseHeaderOption("Bad Name: x")           // { ok: false, reason: "invalid header name 'Bad Name'" }
 */
export function parseHeaderOption(text: string): { ok: true; field: [string, string] } | { ok: false; reason: string } {
  const colon = text.indexOf(":");
  if (colon === -1) return { ok: false, reason: `header '${text}' has no colon (write 'Name: value')` };
  const name = text.slice(0, colon);
  const value = text.slice(colon + 1).trim();
  if (!isFieldName(name)) return { ok: false, reason: `invalid header name '${printable(name)}'` };
  if (RESERVED.has(name.toLowerCase())) return { ok: false, reason: `header '${name}' is set by the server` };
  if (!isFieldValue(value)) return { ok: false, reason: `invalid value for header '${name}' (printable ASCII only: no CR, LF or control characters)` };
  return { ok: true, field: [name, value] };
}

function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(accept: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const part of accept.split(",")) {
    const [range = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec(range);
    if (!m) continue;
    let q = 1;
    for (const p of params) {
      const qm = /^q\s*=\s*([0-9.]+)$/.exec(p);
      if (qm) q = Number(qm[1]);
    }
    out.push({ type: m[1] ?? "", subtype: m[2] ?? "", q: Number.isFinite(q) ? q : 0 });
  }
  return out;
}

/** The q of `type/subtype` from the most specific range that matches it (§12.5.1); 0 when none. */
function qualityOf(ranges: readonly MediaRange[], type: string, subtype: string): number {
  let best = -1;
  let q = 0;
  for (const r of ranges) {
    const spec = r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === "*" ? 1 : r.type === "*" && r.subtype === "*" ? 0 : -1;
    if (spec > best) {
      best = spec;
      q = r.q;
    }
  }
  return q;
}

/**
 * True when the client ranks application/json above text/html (a missing Accept means HTML).
 *
 * @example
 * prefersJson("application/json")            // true
 * prefersJson("text/html, application/json") // false (a tie goes to HTML)
 */
export function prefersJson(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const ranges = parseAccept(accept);
  return qualityOf(ranges, "application", "json") > qualityOf(ranges, "text", "html");
}

/**
 * True when the client names text/html itself with q > 0, as browsers do when they navigate.
 * Wildcards do not count: scripts, images and fetch() send `*` / `*` for assets, and a missing
 * asset must stay 404 rather than become the SPA's page.
 *
 * @example
 * acceptsHtmlExplicitly("text/html,application/xhtml+xml,*\/*;q=0.8") // true
 * acceptsHtmlExplicitly("*\/*")                                        // false
 */
export function acceptsHtmlExplicitly(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return parseAccept(accept).some((r) => r.type === "text" && r.subtype === "html" && r.q > 0);
}

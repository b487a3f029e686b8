/**
 * Header fields as an ordered list of `[name, value]` pairs (the case the peer sent is kept,
 * as proxies should), and a lower-cased map view for lookups (RFC 9110 §5.2, §5.3). Pure.
 */

/** Ordered header fields, names as received. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** Lower-cased name → value(s), the shape of Node's `IncomingHttpHeaders`. */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/**
 * Pairs from Node's flat `rawHeaders` array.
 *
 * @example
 * fromRawHeaders(["Content-Type", "text/plain"]) // [["Content-Type", "text/plain"]]
 */
export function fromRawHeaders(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] ?? "", raw[i + 1] ?? ""]);
  return out;
}

/**
 * True when the field name `name` is `lower` in any case. Field names are tokens, compared
 * case-insensitively in ASCII (RFC 9110 §5.1); `lower` is in lower case. Unlike
 * `name.toLowerCase() === lower` it makes no string (a miss compares many names per field list),
 * and only ASCII letters fold: no other character, and nothing outside ASCII, equals one of
 * `lower`'s.
 *
 * @example
 * isFieldName("Content-Length", "content-length") // true
 * isFieldName("Content-Lengt", "content-length") // false
 */
export function isFieldName(name: string, lower: string): boolean {
  const n = lower.length;
  if (name.length !== n) return false;
  if (name === lower) return true;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    const t = lower.charCodeAt(i);
    // c may be t's upper-case letter: only bit 0x20 differs, and t must be a letter (a-z).
    if (c !== t && (c + 0x20 !== t || t < 0x61 || t > 0x7a)) return false;
  }
  return true;
}

/** The field names a message commonly carries, each spelling mapped to its lower-case name. */
const COMMON_NAMES = new Map<string, string>();
for (const canonical of [
  "Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Accept-Ranges", "Access-Control-Allow-Origin",
  "Age", "Allow", "Authorization", "Cache-Control", "Cache-Status", "Connection", "Content-Disposition",
  "Content-Encoding", "Content-Language", "Content-Length", "Content-Location", "Content-Range", "Content-Type",
  "Cookie", "Date", "DNT", "ETag", "Expect", "Expires", "Forwarded", "Host", "If-Match", "If-Modified-Since",
  "If-None-Match", "If-Range", "If-Unmodified-Since", "Keep-Alive", "Last-Modified", "Link", "Location",
  "Max-Forwards", "Origin", "Pragma", "Priority", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
  "Range", "Referer", "Retry-After", "Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User",
  "Server", "Set-Cookie", "Strict-Transport-Security", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
  "Upgrade-Insecure-Requests", "User-Agent", "Vary", "Via", "Warning", "WWW-Authenticate", "X-Content-Type-Options",
  "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Frame-Options", "X-Requested-With",
]) {
  const lower = canonical.toLowerCase();
  COMMON_NAMES.set(canonical, lower);
  COMMON_NAMES.set(lower, lower);
}

/**
 * The lower-cased field name, as `name.toLowerCase()`, but the common names in their usual
 * spellings come from a table of constants: no new string per call, and the result is already
 * internalized when it becomes an object key (toHeaderMap) or a Set member.
 *
 * @example
 * lowerFieldName("Content-Type") // "content-type" (the table's string)
 */
export function lowerFieldName(name: string): string {
  return COMMON_NAMES.get(name) ?? name.toLowerCase();
}

/**
 * All values of `name` joined with ", " (RFC 9110 §5.3), or undefined when absent.
 *
 * @example
 * getField([["Vary", "A"], ["vary", "B"]], "Vary") // "A, B"
 */
export function getField(list: HeaderList, name: string): string | undefined {
  const lower = lowerFieldName(name);
  let out: string | undefined;
  for (let i = 0; i < list.length; i++) {
    const field = list[i] as readonly [string, string];
    if (isFieldName(field[0], lower)) out = out === undefined ? field[1] : `${out}, ${field[1]}`;
  }
  return out;
}

/**
 * The lower-cased map view of a field list; repeated fields are combined with ", " (RFC 9110
 * §5.3), which every field the proxy reads from a map allows.
 *
 * @example
 * toHeaderMap([["Accept", "a"], ["accept", "b"]]) // { accept: "a, b" }
 */
export function toHeaderMap(list: HeaderList): Record<string, string> {
  const out = new FieldMap();
  for (let i = 0; i < list.length; i++) {
    const field = list[i] as readonly [string, string];
    const lower = lowerFieldName(field[0]);
    const prior = out[lower];
    out[lower] = prior === undefined ? field[1] : `${prior}, ${field[1]}`;
  }
  return out;
}

/**
 * The objects toHeaderMap fills: nothing inherited (no `constructor`, no `__proto__` accessor,
 * so any field name is just a key), like Object.create(null), but they start out as V8
 * fast-mode objects where Object.create(null) makes a dictionary, which cost about 1 µs per
 * proxied request (an in-process profile of cache hits).
 */
const FieldMap = function FieldMap(): void {} as unknown as new () => Record<string, string>;
FieldMap.prototype = Object.create(null) as object;

/** One value from a Node header map (arrays joined with ", "). */
export function mapField(map: HeaderMap, name: string): string | undefined {
  const v = map[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** Comma-separated tokens of a field value, lower-cased and trimmed ("Connection: a, B" → a, b). */
export function fieldTokens(value: string | undefined): string[] {
  if (value === undefined) return [];
  // The usual value is one token ("keep-alive", "close"): no split, no intermediate arrays.
  if (!value.includes(",")) {
    const t = value.trim().toLowerCase();
    return t === "" ? [] : [t];
  }
  return value
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
}

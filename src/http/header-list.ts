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
 * All values of `name` joined with ", " (RFC 9110 §5.3), or undefined when absent.
 *
 * @example
 * getField([["Vary", "A"], ["vary", "B"]], "Vary") // "A, B"
 */
export function getField(list: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  let out: string | undefined;
  for (const [k, v] of list) {
    if (k.length === lower.length && k.toLowerCase() === lower) out = out === undefined ? v : `${out}, ${v}`;
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
  for (const [k, v] of list) {
    const lower = k.toLowerCase();
    const prior = out[lower];
    out[lower] = prior === undefined ? v : `${prior}, ${v}`;
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
  return value
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
}

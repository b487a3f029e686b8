/**
 * The shared-cache rules of RFC 9111, pure: what may be stored (§3, §3.5), how long it stays
 * fresh (§4.2.1, heuristics §4.2.2), its current age (§4.2.3), whether a stored response
 * may answer a request given both sides' Cache-Control (§4.2, §5.2), and Vary secondary keys
 * (§4.1). Every function takes the time (`now`, ms since the epoch) as an argument.
 */
import { deltaSeconds, parseDirectives, parseHttpDate, type Directives } from "./directives.js";
import { getField, mapField, type HeaderList, type HeaderMap } from "../../header-list.js";
import { decisionFields } from "./targeted.js";
import { receivedPart, strongValidator, type StoredParts } from "./partial.js";

/** What the cache keeps about one stored response, besides its body. */
export interface StoredMeta {
  /** Primary cache key: the absolute target URI of the GET (RFC 9111 §2). */
  url: string;
  status: number;
  statusMessage: string;
  /** End-to-end response fields as received (hop-by-hop already removed). */
  headers: Array<[string, string]>;
  /** When the request that produced (or last validated) this response was sent, ms. */
  requestTime: number;
  /** When that response was received, ms. */
  responseTime: number;
  /** Lower-cased names listed in Vary, or [] without Vary. */
  varyNames: string[];
  /** The request's normalized values for `varyNames` (null = absent). */
  varyValues: Array<string | null>;
  bodyLength: number;
  /** A partial entry (a stored 206, RFC 9111 §3.3): which bytes of the representation the body holds. */
  parts?: StoredParts;
}

/**
 * A StoredMeta with its body's length, always built with the same fields in the same order:
 * every entry's meta then has one object shape, which the code reading metas on each request
 * is compiled for (an object spread, `{ ...meta, bodyLength }`, gave metas of several shapes,
 * and each read of one was a slow, megamorphic lookup).
 */
export function storedMeta(m: Omit<StoredMeta, "bodyLength">, bodyLength: number): StoredMeta {
  const meta: StoredMeta = {
    url: m.url,
    status: m.status,
    statusMessage: m.statusMessage,
    headers: m.headers,
    requestTime: m.requestTime,
    responseTime: m.responseTime,
    varyNames: m.varyNames,
    varyValues: m.varyValues,
    bodyLength,
  };
  if (m.parts !== undefined) meta.parts = m.parts;
  return meta;
}

/** Status codes a cache may store without explicit freshness (RFC 9110 §15.1). */
export const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/**
 * Status codes this cache understands (RFC 9111 §3): it knows what they mean and nothing about
 * them stops reuse, as a complete entry. 206 is not among them (a 206 is stored as a partial
 * entry instead: `isStorablePart`), nor 304 (it only validates).
 */
const UNDERSTOOD: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 410, 414, 500, 501, 502, 503, 504]);

export interface PolicyOptions {
  /** Upper bound on heuristic freshness, ms (RFC 9111 §4.2.2 lets caches pick). @default 86_400_000 (24 h) */
  heuristicMaxMs?: number;
  /** Fraction of the Last-Modified age used as heuristic lifetime. @default 0.1 */
  heuristicFraction?: number;
  /**
   * Targeted cache-control fields this cache obeys instead of Cache-Control (RFC 9213),
   * lower-cased, most specific first. @default [] (a forward proxy: none)
   */
  targets?: readonly string[];
}

/** Why a response was or was not stored. */
export type StorableDecision = { storable: true } | { storable: false; reason: string };

/**
 * RFC 9111 §3 for a shared cache: may this response to this request be stored?
 *
 * @example
 * isStorable("GET", {}, 200, [["Cache-Control", "max-age=60"]]).storable // true
 */
export function isStorable(method: string, req: HeaderMap, status: number, received: HeaderList, options: PolicyOptions = {}): StorableDecision {
  const res = decisionFields(received, options.targets);
  if (method !== "GET") return { storable: false, reason: "method" };
  // §3: a final status; 206 and 304, or any status under must-understand, only when understood.
  if (status < 200 || status > 599) return { storable: false, reason: "status" };
  const cc = parseDirectives(getField(res, "cache-control"));
  const mustUnderstand = cc.has("must-understand");
  if ((status === 206 || status === 304 || mustUnderstand) && !UNDERSTOOD.has(status)) return { storable: false, reason: "status" };
  // A 416 says only that the request's ranges miss the representation: kept, it would answer
  // requests without a Range (and replace the parts stored for the URL).
  if (status === 416 && mapField(req, "range") !== undefined) return { storable: false, reason: "range" };
  const reqCc = parseDirectives(mapField(req, "cache-control"));
  if (reqCc.has("no-store")) return { storable: false, reason: "request no-store" };
  // §5.2.2.3: with must-understand, a cache that understands the status ignores no-store.
  if (cc.has("no-store") && !mustUnderstand) return { storable: false, reason: "no-store" };
  // §5.2.2.7: an unqualified private is for one user; private="F" only withholds field F.
  if (cc.get("private") === true) return { storable: false, reason: "private" };
  const explicit = cc.has("public") || cc.has("s-maxage") || cc.has("must-revalidate");
  // §3.5: a shared cache must not reuse a response to an authenticated request unless allowed.
  if (mapField(req, "authorization") !== undefined && !explicit) return { storable: false, reason: "authorization" };
  const vary = getField(res, "vary");
  if (vary !== undefined && vary.split(",").some((v) => v.trim() === "*")) return { storable: false, reason: "vary *" };
  // §3 / §4.2.2: explicit freshness for any final status; a heuristic only where RFC 9110
  // §15.1 allows one, or with public.
  const hasFreshness = explicit || cc.has("max-age") || getField(res, "expires") !== undefined || cc.has("no-cache");
  if (!hasFreshness && !HEURISTICALLY_CACHEABLE.has(status)) return { storable: false, reason: "no freshness" };
  return { storable: true };
}

/**
 * RFC 9111 §3.3: may this 206 be stored as a partial entry? The rules of a complete response
 * (§3; 206 is heuristically cacheable like 200, RFC 9110 §15.1), plus what combining parts
 * needs: a single part with a known complete length and a strong validator (§3.4).
 *
 * @example
 * isStorablePart("GET", {}, [["Content-Range", "bytes 0-9/100"], ["ETag", '"v1"'], ["Cache-Control", "max-age=60"]]).storable // true
 */
export function isStorablePart(method: string, req: HeaderMap, received: HeaderList, options: PolicyOptions = {}): StorableDecision {
  const d = isStorable(method, req, 200, received, options);
  if (!d.storable) return d;
  if (receivedPart(received) === undefined) return { storable: false, reason: "content-range" };
  if (strongValidator(received) === undefined) return { storable: false, reason: "no strong validator" };
  return d;
}

/**
 * Fields a stored response must not carry when it is served without validation: those named
 * by a qualified no-cache or private (RFC 9111 §5.2.2.4, §5.2.2.7), lower-cased. Empty when none.
 *
 * @example
 * withheldFields([["Cache-Control", 'max-age=60, no-cache="Set-Cookie, X-Foo"']]) // Set {"set-cookie", "x-foo"}
 */
export function withheldFields(headers: HeaderList, options: PolicyOptions = {}): ReadonlySet<string> {
  const cc = parseDirectives(getField(decisionFields(headers, options.targets), "cache-control"));
  const out = new Set<string>();
  for (const name of ["no-cache", "private"]) {
    const v = cc.get(name);
    if (typeof v === "string") for (const f of v.split(",")) if (f.trim() !== "") out.add(f.trim().toLowerCase());
  }
  return out;
}

/** The freshness lifetime of a stored response and where it came from. */
export interface Freshness {
  lifetimeMs: number;
  source: "s-maxage" | "max-age" | "expires" | "heuristic" | "none";
}

/**
 * RFC 9111 §4.2.1: s-maxage, then max-age, then Expires − Date, then (only where allowed) a
 * heuristic of 10% of the time since Last-Modified, bounded (§4.2.2).
 *
 * @example
 * freshnessLifetime(200, [["Cache-Control", "max-age=60"]]) // { lifetimeMs: 60000, source: "max-age" }
 */
export function freshnessLifetime(status: number, received: HeaderList, options: PolicyOptions = {}): Freshness {
  const res = decisionFields(received, options.targets);
  return lifetimeOf(status, res, parseDirectives(getField(res, "cache-control")), options);
}

/** `freshnessLifetime` of the decision fields `res` whose Cache-Control parsed to `cc`. */
function lifetimeOf(status: number, res: HeaderList, cc: Directives, options: PolicyOptions): Freshness {
  const sMax = deltaSeconds(cc, "s-maxage");
  if (sMax !== undefined) return { lifetimeMs: sMax * 1000, source: "s-maxage" };
  const max = deltaSeconds(cc, "max-age");
  if (max !== undefined) return { lifetimeMs: max * 1000, source: "max-age" };
  if (cc.has("max-age")) return { lifetimeMs: 0, source: "max-age" }; // invalid max-age: stale (§5.2.2.1)
  const expiresText = getField(res, "expires");
  if (expiresText !== undefined) {
    const expires = parseHttpDate(expiresText);
    const date = parseHttpDate(getField(res, "date"));
    // An invalid Expires (e.g. "0") means already expired (§5.3).
    if (expires === undefined || date === undefined) return { lifetimeMs: 0, source: "expires" };
    return { lifetimeMs: Math.max(0, expires - date), source: "expires" };
  }
  if (!HEURISTICALLY_CACHEABLE.has(status) && !cc.has("public")) return { lifetimeMs: 0, source: "none" };
  const lastModified = parseHttpDate(getField(res, "last-modified"));
  const date = parseHttpDate(getField(res, "date"));
  if (lastModified === undefined || date === undefined || lastModified >= date) return { lifetimeMs: 0, source: "none" };
  const fraction = options.heuristicFraction ?? 0.1;
  const cap = options.heuristicMaxMs ?? 86_400_000;
  return { lifetimeMs: Math.min(cap, Math.floor((date - lastModified) * fraction)), source: "heuristic" };
}

/**
 * RFC 9111 §4.2.3 current age, in ms:
 * apparent_age = max(0, response_time − date); corrected_age = Age + (response_time − request_time);
 * initial = max(apparent_age, corrected_age); current = initial + (now − response_time).
 *
 * @example
 * currentAge(meta, meta.responseTime + 5000) // 5000 when Date == response_time and no Age
 */
export function currentAge(meta: StoredMeta, now: number): number {
  return initialAge(meta) + Math.max(0, now - meta.responseTime);
}

/** corrected_initial_age of §4.2.3 (fixed once the response is stored). */
export function initialAge(meta: Pick<StoredMeta, "headers" | "requestTime" | "responseTime">): number {
  const date = parseHttpDate(getField(meta.headers, "date"), meta.responseTime);
  const apparent = date === undefined ? 0 : Math.max(0, meta.responseTime - date);
  const ageSeconds = ageOf(meta.headers);
  const corrected = ageSeconds * 1000 + Math.max(0, meta.responseTime - meta.requestTime);
  return Math.max(apparent, corrected);
}

/**
 * The Age field in seconds (RFC 9111 §5.1): of a list-valued Age (`Age: 7200, 0`, or two Age
 * lines) the first member counts; a value that is not a non-negative integer is ignored (0).
 *
 * @example
 * ageOf([["Age", "7200, 0"]]) // 7200
 * ageOf([["Age", "-5"]])      // 0
 */
export function ageOf(headers: HeaderList): number {
  const text = getField(headers, "age");
  if (text === undefined) return 0;
  const first = (text.split(",")[0] ?? "").trim();
  if (!/^\d+$/.test(first)) return 0;
  // delta-seconds too large to hold saturate at 2^31 (RFC 9111 §1.2.2).
  return Math.min(Number(first), 2147483648);
}

/** What the cache may do with a stored response for a given request. */
export type Reuse =
  | { kind: "fresh"; ageMs: number; ttlMs: number }
  | { kind: "stale-allowed"; ageMs: number; ttlMs: number }
  /** Stale, but inside stale-while-revalidate (RFC 5861 §3): serve now, revalidate in the background. */
  | { kind: "stale-revalidate"; ageMs: number; ttlMs: number }
  | { kind: "validate"; reason: "stale" | "request no-cache" | "response no-cache" | "request max-age" | "min-fresh"; ageMs: number; ttlMs: number };

/** What never changes about a stored response until it is freshened: computed once per entry. */
export interface EntryFacts {
  responseTime: number;
  /** corrected_initial_age (§4.2.3), ms. */
  initialAgeMs: number;
  lifetimeMs: number;
  /** Response no-cache: always validate (§5.2.2.4). */
  noCache: boolean;
  /** must-revalidate / proxy-revalidate / s-maxage: never serve stale (§5.2.2.2, .8, .10). */
  noStale: boolean;
  /** stale-while-revalidate window after expiry, ms (RFC 5861 §3); 0 without. */
  swrMs: number;
  /** stale-if-error window after expiry, ms (RFC 5861 §4); 0 without. */
  sieMs: number;
}

/**
 * The facts `decideReuse` needs about a stored response.
 *
 * @example
 * const facts = entryFacts(meta); decideReuse(facts, req.headers, clock.now());
 */
export function entryFacts(meta: StoredMeta, options: PolicyOptions = {}): EntryFacts {
  // The decision fields and their Cache-Control are found and parsed once, for every fact.
  const fields = decisionFields(meta.headers, options.targets);
  const res = parseDirectives(getField(fields, "cache-control"));
  return {
    responseTime: meta.responseTime,
    initialAgeMs: initialAge(meta),
    lifetimeMs: lifetimeOf(meta.status, fields, res, options).lifetimeMs,
    // A qualified no-cache="F" only withholds F (withheldFields); the rest may be reused.
    noCache: res.get("no-cache") === true,
    noStale: res.has("must-revalidate") || res.has("proxy-revalidate") || res.has("s-maxage"),
    swrMs: (deltaSeconds(res, "stale-while-revalidate") ?? 0) * 1000,
    sieMs: (deltaSeconds(res, "stale-if-error") ?? 0) * 1000,
  };
}

/**
 * The facts of a soft-purged entry: stale from now on, so its next use validates with the
 * origin (no stale-while-revalidate for it).
 *
 * @example
 * decideReuse(staleFacts(facts), {}, now).kind // "validate"
 */
export function staleFacts(facts: EntryFacts): EntryFacts {
  return { ...facts, lifetimeMs: 0, initialAgeMs: Math.max(facts.initialAgeMs, 1), swrMs: 0 };
}

/**
 * RFC 9111 §4.2 with the request directives of §5.2.1 (no-cache, max-age, max-stale,
 * min-fresh; Pragma: no-cache when there is no Cache-Control, §5.4) and the response
 * directives no-cache, must-revalidate, proxy-revalidate and s-maxage (§5.2.2).
 *
 * @example
 * decideReuse(entryFacts(meta), {}, now).kind // "fresh" | "stale-allowed" | "validate"
 */
export function decideReuse(facts: EntryFacts, req: HeaderMap, now: number): Reuse {
  const reqCc = requestDirectives(req);
  const ageMs = facts.initialAgeMs + Math.max(0, now - facts.responseTime);
  const ttlMs = facts.lifetimeMs - ageMs;
  if (reqCc.size > 0) {
    if (reqCc.has("no-cache")) return { kind: "validate", reason: "request no-cache", ageMs, ttlMs };
    const reqMaxAge = deltaSeconds(reqCc, "max-age");
    if (reqMaxAge !== undefined && ageMs > reqMaxAge * 1000 && !facts.noCache) return { kind: "validate", reason: "request max-age", ageMs, ttlMs };
    const minFresh = deltaSeconds(reqCc, "min-fresh");
    if (minFresh !== undefined && ttlMs < minFresh * 1000 && !facts.noCache) return { kind: "validate", reason: "min-fresh", ageMs, ttlMs };
  }
  if (facts.noCache) return { kind: "validate", reason: "response no-cache", ageMs, ttlMs };
  if (ttlMs > 0) return { kind: "fresh", ageMs, ttlMs };
  const maxStale = reqCc.get("max-stale");
  if (!facts.noStale && maxStale !== undefined) {
    const limit = maxStale === true ? Infinity : (deltaSeconds(reqCc, "max-stale") ?? 0) * 1000;
    if (-ttlMs <= limit) return { kind: "stale-allowed", ageMs, ttlMs };
  }
  if (!facts.noStale && -ttlMs <= facts.swrMs) return { kind: "stale-revalidate", ageMs, ttlMs };
  return { kind: "validate", reason: "stale", ageMs, ttlMs };
}

/**
 * RFC 5861 §4: may a stale entry answer in place of an origin error (a 500, 502, 503 or 504,
 * or no answer at all)? Only within its stale-if-error window.
 *
 * @example
 * staleIfError(entryFacts(meta), now) // true when now is within stale-if-error of expiry
 */
export function staleIfError(facts: EntryFacts, now: number): boolean {
  const ageMs = facts.initialAgeMs + Math.max(0, now - facts.responseTime);
  const staleMs = ageMs - facts.lifetimeMs;
  return facts.sieMs > 0 && staleMs <= facts.sieMs && !facts.noCache;
}

/**
 * The request's Cache-Control, with `Pragma: no-cache` standing in when it is absent (§5.4).
 *
 * @example
 * requestDirectives({ pragma: "no-cache" }).has("no-cache") // true
 */
export function requestDirectives(req: HeaderMap): Directives {
  const cc = mapField(req, "cache-control");
  if (cc !== undefined) return parseDirectives(cc);
  const pragma = mapField(req, "pragma");
  if (pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma)) return PRAGMA_NO_CACHE;
  return parseDirectives(undefined);
}

const PRAGMA_NO_CACHE: Directives = new Map([["no-cache", true]]);

/**
 * Lower-cased field names a response varies on (`Vary`), sorted, empty when none.
 *
 * @example
 * varyNamesOf([["Vary", "Accept-Language, Accept-Encoding"]]) // ["accept-encoding", "accept-language"]
 */
export function varyNamesOf(res: HeaderList): string[] {
  const v = getField(res, "vary");
  if (v === undefined) return [];
  return [...new Set(v.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== ""))].sort();
}

/** Request fields whose values compare case-insensitively (media types, codings, language tags). */
const CASELESS_FIELDS: ReadonlySet<string> = new Set(["accept", "accept-charset", "accept-encoding", "accept-language"]);
/** List fields whose member order carries no meaning once weights are written out (RFC 9110 §12.4.2). */
const UNORDERED_FIELDS: ReadonlySet<string> = new Set(["accept-encoding", "accept-language"]);

/**
 * Normalized request values for the Vary-named fields (RFC 9111 §4.1: whitespace, case where
 * the field is case-insensitive, and member order of Accept-Encoding and Accept-Language;
 * null = absent).
 *
 * @example
 * varyValuesOf(["accept-language"], { "accept-language": "FR, en;q=0.5" }) // ["en;q=0.5,fr"]
 */
export function varyValuesOf(names: readonly string[], req: HeaderMap): Array<string | null> {
  return names.map((n) => {
    const v = mapField(req, n);
    if (v === undefined) return null;
    let members = v
      .split(",")
      .map((m) => m.trim().replace(/\s*;\s*/g, ";"))
      .filter((m) => m !== "");
    if (CASELESS_FIELDS.has(n)) members = members.map((m) => m.toLowerCase());
    if (UNORDERED_FIELDS.has(n)) members.sort();
    return members.join(",");
  });
}

/**
 * §4.1: does the stored response's secondary key match this request?
 *
 * @example
 * varyMatches(meta, req.headers) // false when meta varies on Accept-Language and the values differ
 */
export function varyMatches(meta: StoredMeta, req: HeaderMap): boolean {
  if (meta.varyNames.length === 0) return true;
  const values = varyValuesOf(meta.varyNames, req);
  return values.every((v, i) => v === meta.varyValues[i]);
}

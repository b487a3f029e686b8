/**
 * The plan of one proxied request, pure: from the request (method, cache-control, conditionals,
 * range), what the cache holds for its URI, the time and the policy, decide what happens —
 * serve the stored response, validate it, forward and store, relay without storing, forward
 * and invalidate (an unsafe method), purge, answer here — and why (the Cache-Status `fwd=`
 * reason and detail). handler.ts is the driver that carries a plan out; gate.ts decides which
 * plans share one origin fetch. No I/O, no clock: `now` is an argument.
 */
import type { HeaderMap } from "../header-list.js";
import { mapField } from "../header-list.js";
import type { ForwardReason } from "./cache/cache-status.js";
import { decideReuse, requestDirectives, varyMatches, type Reuse } from "./cache/policy.js";
import type { StoredEntry } from "./cache/store.js";
import { clientNotModified, ifRangeMatches, SAFE_METHODS } from "./cache/validation.js";
import { offsetOf } from "./cache/partial.js";
import { maxForwards } from "./hop-by-hop.js";
import { parseRange, type ByteRange } from "../static/range.js";

/** The request as the plan reads it. */
export interface PlanRequest {
  method: string;
  /** Lower-cased map view of the request fields. */
  headers: HeaderMap;
}

/** What the cache can tell the plan about the request's URI. */
export type CacheView =
  /** No cache (`--no-cache`). */
  | { kind: "off" }
  /** A shared store that cannot be reached now: forward as a proxy without a cache. */
  | { kind: "unavailable" }
  /** The stored variants of the URI (any Vary secondary key), possibly none. */
  | { kind: "on"; variants: readonly StoredEntry[] };

/** Cache-Status detail while a shared store cannot be reached. */
export const STORE_UNAVAILABLE = "store-unavailable";

export type Plan =
  /** Max-Forwards: 0 on TRACE or OPTIONS (RFC 9110 §7.6.2): answer without forwarding. */
  | { kind: "answer-here" }
  /** PURGE: remove what the target names (purge.ts). */
  | { kind: "purge" }
  /** A stored complete response answers (fresh, allowed stale, or stale-while-revalidate: then also refresh it in the background). */
  | { kind: "serve-stored"; entry: StoredEntry; reuse: Exclude<Reuse, { kind: "validate" }>; revalidate: boolean; notModified: boolean }
  /** A stored partial response holds every byte the Range asks for: a 206 from the stored parts. */
  | { kind: "serve-part"; entry: StoredEntry; reuse: Exclude<Reuse, { kind: "validate" }>; ranges: ByteRange[] }
  /** Ask the origin whether the stored response still holds (conditional request, RFC 9111 §4.3). */
  | { kind: "validate"; entry: StoredEntry; fwd: ForwardReason }
  /** Forward and store what may be stored (a partial response it may combine with is looked up when it arrives). */
  | { kind: "forward-and-store"; fwd: ForwardReason }
  /** Forward; nothing is stored. `cacheless`: the store is out of reach (answer as a proxy without one). */
  | { kind: "relay"; fwd: ForwardReason; detail?: string; cacheless: boolean }
  /** An unsafe method: forward, then invalidate the URIs it names when it succeeded (RFC 9111 §4.4). */
  | { kind: "invalidate"; fwd: "method" }
  /** only-if-cached and nothing usable stored (RFC 9111 §5.2.1.7): 504. */
  | { kind: "refuse"; fwd: ForwardReason; detail: "only-if-cached" };

/**
 * Plan a request.
 *
 * @example
 * planRequest({ method: "GET", headers: {} }, { kind: "on", variants: [] }, now) // { kind: "forward-and-store", fwd: "uri-miss" }
 */
export function planRequest(req: PlanRequest, cache: CacheView, now: number): Plan {
  const { method, headers: h } = req;
  if (method === "PURGE") return { kind: "purge" };
  if (maxForwards(method, mapField(h, "max-forwards")) === "answer") return { kind: "answer-here" };
  const readable = method === "GET" || method === "HEAD";
  if (!readable) return cache.kind === "on" && !SAFE_METHODS.has(method) ? { kind: "invalidate", fwd: "method" } : { kind: "relay", fwd: "method", cacheless: cache.kind !== "on" };
  if (cache.kind === "off") return { kind: "relay", fwd: "bypass", cacheless: true };
  if (cache.kind === "unavailable") return { kind: "relay", fwd: "uri-miss", detail: STORE_UNAVAILABLE, cacheless: true };
  const entry = cache.variants.find((v) => varyMatches(v.meta, h));
  const onlyIfCached = requestDirectives(h).has("only-if-cached");
  if (entry === undefined) {
    if (onlyIfCached) return { kind: "refuse", fwd: "uri-miss", detail: "only-if-cached" };
    return { kind: "forward-and-store", fwd: cache.variants.length > 0 ? "vary-miss" : "uri-miss" };
  }
  const reuse = decideReuse(entry.facts, h, now);
  const parts = entry.meta.parts;
  if (parts !== undefined) {
    // A partial entry answers only a Range it holds every byte of; anything else goes to the
    // origin, whose answer may add a part (never validated: the parts are refetched).
    const ranges = reuse.kind === "validate" || method !== "GET" ? undefined : rangesInside(h, entry);
    if (ranges !== undefined && reuse.kind !== "validate") return { kind: "serve-part", entry, reuse, ranges };
    if (onlyIfCached) return { kind: "refuse", fwd: "partial", detail: "only-if-cached" };
    return { kind: "forward-and-store", fwd: "partial" };
  }
  if (reuse.kind !== "validate") {
    const notModified = isConditional(h) && clientNotModified(h, entry.meta);
    return { kind: "serve-stored", entry, reuse, revalidate: reuse.kind === "stale-revalidate", notModified };
  }
  if (onlyIfCached) return { kind: "refuse", fwd: "stale", detail: "only-if-cached" };
  const fwd: ForwardReason = reuse.reason === "request no-cache" || reuse.reason === "request max-age" || reuse.reason === "min-fresh" ? "request" : "stale";
  // A HEAD does not validate (its answer has no body to keep): it is forwarded as a miss would be.
  return method === "GET" ? { kind: "validate", entry, fwd } : { kind: "forward-and-store", fwd };
}

/** A conditional request of the client's own (If-None-Match, If-Modified-Since). */
export function isConditional(h: HeaderMap): boolean {
  return h["if-none-match"] !== undefined || h["if-modified-since"] !== undefined;
}

/** The ranges of the request when a partial entry holds all of them (and If-Range allows). */
function rangesInside(h: HeaderMap, e: StoredEntry): ByteRange[] | undefined {
  const parts = e.meta.parts;
  const range = mapField(h, "range");
  if (parts === undefined || range === undefined || !ifRangeMatches(mapField(h, "if-range"), e.meta)) return undefined;
  const d = parseRange(range, parts.completeLength);
  if (d.kind !== "ranges") return undefined;
  return d.ranges.every((r) => offsetOf(parts, r) !== undefined) ? d.ranges : undefined;
}

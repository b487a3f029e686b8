/**
 * One proxied request, end to end: look the URI up in the cache (RFC 9111 §4), answer a
 * fresh hit from it, validate a stale entry with the origin (§4.3), fetch a miss (collapsing
 * concurrent misses for the same URI into one origin request), store what may be stored
 * (§3) while streaming it to the client, and invalidate after unsafe methods (§4.4).
 */
import type { Clock } from "../../core/clock.js";
import { formatCacheStatus, cacheLabel, type CacheOutcome, type ForwardReason } from "./cache/cache-status.js";
import { getField, mapField, type HeaderMap } from "../header-list.js";
import { decideReuse, isStorable, requestDirectives, staleIfError, varyMatches, varyNamesOf, varyValuesOf } from "./cache/policy.js";
import { ClientReply } from "./client-reply.js";
import type { StoredEntry } from "./cache/store.js";
import type { EntryStore } from "./cache/entry-store.js";
import { clientNotModified, conditionalHeaders, freshenFrom304, invalidatedUris, notModifiedApplies, SAFE_METHODS } from "./cache/validation.js";
import { collectBody, fetchOrigin, isOriginFailure, relayBody, type CollectedBody, type OriginExchange } from "./forward.js";
import type { OriginPool } from "./origin-pool.js";
import { endToEnd, maxForwards, originRequestHeaders, withVia } from "./hop-by-hop.js";
import { sendError, serveFromMemory, serveStored, type Exchange } from "./respond.js";
import type { ProxyCounters } from "./stats.js";
import { observeOriginLatency, type ProxyMetrics } from "./metrics.js";
import type { OriginTarget } from "./target.js";

/** What the handler needs from the server. */
export interface HandlerContext {
  /** undefined with --no-cache. */
  store: EntryStore | undefined;
  /** Keep-alive connections to origins. */
  pool: OriginPool;
  clock: Clock;
  /** Our Via member. */
  via: string;
  timeoutMs: number;
  maxObjectBytes: number;
  counters: ProxyCounters;
  /** In-flight cacheable fetches by URI: later identical misses wait on them. */
  inflight: Map<string, Promise<void>>;
  /** URIs with a background revalidation running (stale-while-revalidate): one each. */
  revalidating: Set<string>;
  /** What /_wirekit/metrics adds to the counters. */
  metrics: ProxyMetrics;
}

/** Cache-Status detail while a shared store cannot be reached. */
const STORE_UNAVAILABLE = "store-unavailable";
const CLIENT_CONDITIONALS = new Set(["if-none-match", "if-modified-since"]);
const CONTENT_LENGTH: ReadonlySet<string> = new Set(["content-length"]);
/** Request fields a background revalidation does not copy from the request that triggered it. */
const BACKGROUND_DROP: ReadonlySet<string> = new Set(["range", "if-range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since"]);
/** Origin answers stale-if-error may hide (RFC 5861 §4). */
const SERVER_ERRORS: ReadonlySet<number> = new Set([500, 502, 503, 504]);

function isConditional(h: HeaderMap): boolean {
  return h["if-none-match"] !== undefined || h["if-modified-since"] !== undefined;
}

/**
 * Handle a request for an origin.
 *
 * @example
 * await handleProxied(ctx, exchange, target);
 */
export async function handleProxied(c: HandlerContext, ex: Exchange, target: OriginTarget): Promise<void> {
  const method = ex.req.method;
  if (maxForwards(method, mapField(ex.req.headers, "max-forwards")) === "answer") return answerHere(c, ex, method);
  if (c.store !== undefined && (method === "GET" || method === "HEAD")) return lookup(c, c.store, ex, target, false);
  return forward(c, ex, target, method === "GET" || method === "HEAD" ? "bypass" : "method", undefined, () => undefined);
}

/** RFC 9110 §7.6.2: with Max-Forwards: 0 the proxy answers TRACE (echo) and OPTIONS itself. */
function answerHere(c: HandlerContext, ex: Exchange, method: string): void {
  ex.label = "LOCAL";
  if (method === "OPTIONS") {
    ex.res.writeHead(200, ["Allow", "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE, CONNECT", "Content-Length", "0", "Via", c.via]);
    ex.res.end();
    return;
  }
  const lines = [`TRACE ${ex.req.url} HTTP/${ex.req.httpVersion}`];
  for (const [name, value] of ex.req.fields) {
    // Credentials are not echoed back (RFC 9110 §9.3.8 warns about exposing them).
    if (!/^(authorization|proxy-authorization|cookie)$/i.test(name)) lines.push(`${name}: ${value}`);
  }
  const body = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  ex.res.writeHead(200, ["Content-Type", "message/http", "Content-Length", String(body.length), "Via", c.via]);
  ex.bytes = body.length;
  ex.res.end(body);
}

/**
 * The hot path, synchronous: answer a GET/HEAD from a fresh stored response that needs no
 * disk read. False when the request needs anything more (the async path takes over).
 *
 * @example
 * if (!tryMemoryHit(ctx, ex, target)) await handleProxied(ctx, ex, target);
 */
export function tryMemoryHit(c: HandlerContext, ex: Exchange, target: OriginTarget): boolean {
  const store = c.store;
  const method = ex.req.method;
  if (store === undefined || !store.available || (method !== "GET" && method !== "HEAD")) return false;
  const h = ex.req.headers;
  const entry = store.find(target.href, (v) => varyMatches(v.meta, h));
  if (entry === undefined || (entry.body === undefined && method === "GET" && entry.meta.bodyLength > 0)) return false;
  const r = decideReuse(entry.facts, h, c.clock.now());
  if (r.kind === "validate") return false;
  const swr = r.kind === "stale-revalidate";
  const cs = formatCacheStatus({ kind: "hit", ttlMs: r.ttlMs, ...(swr ? { fwd: "stale" as const } : {}) });
  const notModified = isConditional(h) && clientNotModified(h, entry.meta);
  if (!serveFromMemory(ex, store, entry, r.ageMs, cs, c.via, notModified)) return false;
  ex.label = "HIT";
  c.counters.bytesFromCache += ex.bytes;
  if (swr) revalidateInBackground(c, ex, target, entry);
  return true;
}

/**
 * RFC 5861 §3: a stale entry inside its stale-while-revalidate window was served; one
 * conditional request per URI refreshes it, its answer read by nobody.
 */
function revalidateInBackground(c: HandlerContext, ex: Exchange, target: OriginTarget, entry: StoredEntry): void {
  const key = target.href;
  if (c.revalidating.has(key)) return;
  c.revalidating.add(key);
  // The client's own conditionals and ranges are not the cache's: the refresh asks for the whole response.
  const drop = (name: string): boolean => BACKGROUND_DROP.has(name.toLowerCase());
  const headers: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(ex.req.headers)) if (!drop(k)) headers[k] = v;
  const req = { ...ex.req, headers, fields: ex.req.fields.filter(([k]) => !drop(k)) };
  const bg: Exchange = { req, res: new ClientReply(undefined, true), client: ex.client, at: c.clock.now(), start: c.clock.monotonic(), url: ex.url, label: "MISS", bytes: 0, background: true };
  if (ex.destination !== undefined) bg.destination = ex.destination;
  void forward(c, bg, target, "stale", entry, () => undefined)
    .catch(() => undefined)
    .finally(() => c.revalidating.delete(key));
}

async function lookup(c: HandlerContext, store: EntryStore, ex: Exchange, target: OriginTarget, collapsed: boolean): Promise<void> {
  // A shared store that cannot be reached: answer as a proxy without a cache (the store logs it once).
  if (store.sync !== undefined && !(await store.sync(target.href))) return forward({ ...c, store: undefined }, ex, target, "uri-miss", undefined, () => undefined, STORE_UNAVAILABLE);
  const h = ex.req.headers;
  const variants = store.variants(target.href);
  const entry = variants.find((v) => varyMatches(v.meta, h));
  const reqCc = requestDirectives(h);
  if (entry !== undefined) {
    const r = decideReuse(entry.facts, h, c.clock.now());
    if (r.kind !== "validate") {
      ex.label = "HIT";
      const swr = r.kind === "stale-revalidate";
      const cs = formatCacheStatus({ kind: "hit", ttlMs: r.ttlMs, collapsed, ...(swr ? { fwd: "stale" as const } : {}) });
      const notModified = isConditional(h) && clientNotModified(h, entry.meta);
      if (swr) revalidateInBackground(c, ex, target, entry);
      if (await serveStored(ex, store, entry, r.ageMs, cs, c.via, notModified)) {
        c.counters.bytesFromCache += ex.bytes;
        return;
      }
      return fetchCollapsed(c, ex, target, "uri-miss", undefined, collapsed);
    }
    if (reqCc.has("only-if-cached")) return onlyIfCached(ex, "stale");
    const fwd: ForwardReason = r.reason === "request no-cache" || r.reason === "request max-age" || r.reason === "min-fresh" ? "request" : "stale";
    return fetchCollapsed(c, ex, target, fwd, ex.req.method === "GET" ? entry : undefined, collapsed);
  }
  if (reqCc.has("only-if-cached")) return onlyIfCached(ex, "uri-miss");
  return fetchCollapsed(c, ex, target, variants.length > 0 ? "vary-miss" : "uri-miss", undefined, collapsed);
}

/** RFC 9111 §5.2.1.7: nothing usable stored and the client forbids going to the origin. */
function onlyIfCached(ex: Exchange, fwd: ForwardReason): void {
  ex.label = "MISS";
  sendError(ex, 504, "not in cache (only-if-cached)", undefined, formatCacheStatus({ kind: "forward", fwd, detail: "only-if-cached" }));
}

/**
 * Fetch through the collapsing gate: the first request for a URI goes to the origin, the others
 * wait for it and then look the cache up again (served from what it stored, or fetching
 * themselves when it stored nothing usable for them).
 */
async function fetchCollapsed(c: HandlerContext, ex: Exchange, target: OriginTarget, fwd: ForwardReason, entry: StoredEntry | undefined, collapsed: boolean): Promise<void> {
  const h = ex.req.headers;
  const eligible = !collapsed && ex.req.method === "GET" && !isConditional(h) && h.range === undefined && !hasBody(h);
  if (!eligible) return forward(c, ex, target, fwd, entry, () => undefined);
  const key = target.href;
  const pending = c.inflight.get(key);
  if (pending !== undefined && c.store !== undefined) {
    await pending;
    return lookup(c, c.store, ex, target, true);
  }
  let resolveGate: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (resolveGate = resolve));
  c.inflight.set(key, gate);
  const store = c.store;
  // Across nodes: a shared store's short lock; the node holding it fetches, the others wait for
  // it to go (released once the entry is written, or expired) and look again.
  if (store?.lock !== undefined && !(await store.lock(key))) {
    try {
      await store.waitUnlocked?.(key);
    } finally {
      if (c.inflight.get(key) === gate) c.inflight.delete(key);
      resolveGate();
    }
    return lookup(c, store, ex, target, true);
  }
  const release = (): void => {
    if (c.inflight.get(key) === gate) c.inflight.delete(key);
    resolveGate();
  };
  try {
    await forward(c, ex, target, fwd, entry, release);
  } finally {
    release();
    store?.unlock?.(key);
  }
}

function hasBody(h: HeaderMap): boolean {
  const cl = h["content-length"];
  return (cl !== undefined && cl !== "0") || h["transfer-encoding"] !== undefined;
}

/**
 * Send the request to the origin (conditionally when `entry` is being validated), relay the
 * response, store it when allowed. `release` lets collapsed waiters go as soon as it is clear
 * whether anything will be stored.
 */
async function forward(c: HandlerContext, ex: Exchange, target: OriginTarget, fwd: ForwardReason, entry: StoredEntry | undefined, release: () => void, detail?: string): Promise<void> {
  const why = detail === undefined ? {} : { detail };
  const req = ex.req;
  const method = req.method;
  const headers = originRequestHeaders(req.fields, target.host, c.via, entry !== undefined ? CLIENT_CONDITIONALS : undefined);
  if (entry !== undefined) headers.push(...conditionalHeaders(entry.meta));
  const mf = maxForwards(method, mapField(req.headers, "max-forwards"));
  if (typeof mf === "number") for (const hdr of headers) if (hdr[0].toLowerCase() === "max-forwards") hdr[1] = String(mf);
  const chunkedBody = req.headers["transfer-encoding"] !== undefined && req.headers["content-length"] === undefined;
  if (chunkedBody) headers.push(["Transfer-Encoding", "chunked"]);
  const requestTime = c.clock.now();
  const sentAt = c.clock.monotonic();
  const f = fetchOrigin({
    target,
    method,
    headers,
    body: hasBody(req.headers) ? req.body : undefined,
    timeoutMs: c.timeoutMs,
    pool: c.pool,
    address: ex.destination,
    // RFC 9110 §15.2: a proxy forwards interim responses (103 Early Hints, 102); never stored.
    onInterim: (h) => {
      if (h.status !== 100) ex.interim?.(h.status, endToEnd(h.headers));
    },
  });
  const onClientGone = (): void => {
    if (!ex.res.writableFinished) f.abort();
  };
  ex.res.once("close", onClientGone);
  let origin: OriginExchange;
  try {
    origin = await f.done;
  } catch (err) {
    release();
    if (!isOriginFailure(err)) throw err;
    // RFC 9111 §4.2.4: a cache cut off from the origin may serve a stale response, unless the
    // response forbids it (must-revalidate, proxy-revalidate, s-maxage, no-cache).
    if (entry !== undefined && c.store !== undefined && fwd === "stale" && !entry.facts.noStale && !entry.facts.noCache && !ex.res.headersSent) {
      const r = decideReuse(entry.facts, {}, c.clock.now());
      ex.label = "STALE";
      const cs = formatCacheStatus({ kind: "hit", ttlMs: r.ttlMs, detail: `origin unreachable: ${err.message}` });
      if (await serveStored(ex, c.store, entry, r.ageMs, cs, c.via, false)) {
        if (!ex.background) c.counters.bytesFromCache += ex.bytes;
        return;
      }
    }
    ex.label = "ERROR";
    sendError(ex, err.context.status, err.message, err.context.errorType, formatCacheStatus({ kind: "forward", fwd, ...why }));
    return;
  }
  const responseTime = c.clock.now();
  observeOriginLatency(c.metrics, c.clock.monotonic() - sentAt);
  const resp = origin.response;
  const status = resp.status;
  // RFC 9112 §6.3: with Transfer-Encoding, a Content-Length beside it is wrong and is not relayed.
  const resHeaders = endToEnd(resp.headers, getField(resp.headers, "transfer-encoding") === undefined ? undefined : CONTENT_LENGTH);
  const store = c.store;

  if (!SAFE_METHODS.has(method) && store !== undefined) {
    for (const uri of invalidatedUris(method, status, target.href, resHeaders)) store.removeUrl(uri);
  }

  // RFC 5861 §4: inside stale-if-error, an origin error answer is replaced by the stale entry.
  if (entry !== undefined && store !== undefined && fwd === "stale" && SERVER_ERRORS.has(status) && !entry.facts.noStale && staleIfError(entry.facts, c.clock.now())) {
    resp.body.destroy();
    release();
    const r = decideReuse(entry.facts, {}, c.clock.now());
    ex.label = "STALE";
    const cs = formatCacheStatus({ kind: "hit", ttlMs: r.ttlMs, detail: `origin answered ${status} (stale-if-error)` });
    if (await serveStored(ex, store, entry, r.ageMs, cs, c.via, false)) {
      if (!ex.background) c.counters.bytesFromCache += ex.bytes;
      return;
    }
    return forward(c, ex, target, "uri-miss", undefined, release);
  }

  if (entry !== undefined && store !== undefined && status === 304) {
    resp.body.resume();
    if (notModifiedApplies(entry.meta, resHeaders)) {
      // RFC 9111 §4.3.4: freshen the stored headers, then answer from the stored body.
      void store.track(store.updateMeta(entry, freshenFrom304(entry.meta, resHeaders, requestTime, responseTime))).catch(() => undefined);
      release();
      const r = decideReuse(entry.facts, {}, c.clock.now());
      ex.label = "REVALIDATED";
      const cs = formatCacheStatus({ kind: "forward", fwd, fwdStatus: 304, ttlMs: r.ttlMs });
      const notModified = isConditional(req.headers) && clientNotModified(req.headers, entry.meta);
      if (await serveStored(ex, store, entry, r.ageMs, cs, c.via, notModified)) {
        if (!ex.background) c.counters.bytesFromCache += ex.bytes;
        return;
      }
    } else store.remove(entry);
    return forward(c, ex, target, "uri-miss", undefined, release);
  }

  const meta = {
    url: target.href,
    status,
    statusMessage: resp.reason,
    headers: resHeaders,
    requestTime,
    responseTime,
    varyNames: varyNamesOf(resHeaders),
    varyValues: [] as Array<string | null>,
  };
  meta.varyValues = varyValuesOf(meta.varyNames, req.headers);
  const declared = Number(getField(resHeaders, "content-length") ?? "NaN");
  const storable =
    store !== undefined && isStorable(method, req.headers, status, resHeaders, store.policy).storable && !(declared > c.maxObjectBytes);
  const writer = storable ? store.beginWrite(meta, c.maxObjectBytes) : null;
  if (writer === null) {
    release();
    // A full response to a validation replaces the stale entry (RFC 9111 §4.3.3).
    if (entry !== undefined && status < 500) store?.remove(entry);
  }
  const countChunk = (n: number): void => {
    ex.bytes += n;
    c.counters.bytesFromOrigin += n;
  };
  // Cache-Status `stored` (RFC 9211 §2.5) says the response was stored, but the head goes out
  // before the body is complete: for a streamed body it could only be a promise, which an origin
  // that cuts the body short (or a full disk) breaks. So a storable body that fits the memory
  // layer (where the writer keeps it anyway, so no extra memory) is read whole and committed
  // first, and its head says `stored` only if the commit succeeded; the cost is that the client
  // sees such a response only once the origin has finished it. A larger body is streamed as it
  // comes, and its head never says `stored`; the commit outcome goes to the access log and the
  // dashboard (`ex.stored`). A trailer was rejected: clients do not read Cache-Status there.
  let early: CollectedBody | undefined;
  let committed: StoredEntry | undefined;
  if (writer !== null && store !== undefined) {
    early = await collectBody(resp.body, store.hotMaxObjectBytes, writer, countChunk);
    if (early.outcome === "end") {
      committed = await store.track(writer.commit());
      ex.stored = committed !== undefined;
    } else if (early.outcome === "broken") {
      writer.abort();
      ex.stored = false;
    }
  }
  const outcome: CacheOutcome = { kind: "forward", fwd, fwdStatus: status, stored: committed !== undefined, ...why };
  ex.label = store === undefined ? "BYPASS" : cacheLabel(outcome);
  const flat: string[] = [];
  for (const [k, v] of withVia(resHeaders, c.via)) flat.push(k, v);
  flat.push("Cache-Status", formatCacheStatus(outcome));
  try {
    ex.res.writeHead(status, resp.reason, flat);
  } catch {
    // The origin sent a field that cannot be relayed as is (it would split the response).
    resp.body.destroy();
    writer?.abort();
    if (committed !== undefined) store?.remove(committed);
    ex.stored = undefined;
    ex.label = "ERROR";
    sendError(ex, 502, `${target.hostname}:${target.port} sent an invalid response header`, "destination_unavailable");
    return;
  }
  if (early !== undefined && early.outcome !== "over") {
    // The whole body (or all the origin sent before breaking off) is in hand.
    release();
    const whole = early.length === 0 ? undefined : Buffer.concat(early.chunks, early.length);
    if (early.outcome === "end") {
      // A response the origin sent chunked (no length) is relayed chunked, as it came.
      if (whole !== undefined && !Number.isSafeInteger(declared)) {
        ex.res.write(whole);
        ex.res.end();
      } else ex.res.end(whole);
    }
    else {
      // Relay what came, as a streamed body would have been, then close: the response is short
      // of its Content-Length and must not be followed by another on this connection.
      if (whole !== undefined) ex.res.write(whole);
      ex.res.destroy();
      f.abort();
    }
    return;
  }
  for (const chunk of early?.chunks ?? []) ex.res.write(chunk);
  const already = early?.length ?? 0;
  // Commit before the last byte goes out, so the client's next request already finds the entry.
  const hold = writer !== null && Number.isSafeInteger(declared) && declared > already ? { length: declared - already, last: undefined as Buffer | undefined } : undefined;
  const relayed = relayBody(resp.body, ex.res, writer ?? undefined, countChunk, hold);
  if (early !== undefined) resp.body.resume();
  const ok = await relayed;
  if (ok) {
    if (writer !== null) ex.stored = (await c.store?.track(writer.commit())) !== undefined;
    ex.res.end(hold?.last);
  } else {
    writer?.abort();
    if (writer !== null) ex.stored = false;
    if (!ex.res.writableFinished) ex.res.destroy();
    f.abort();
  }
  release();
}

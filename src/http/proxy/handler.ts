/**
 * The driver of one proxied request: it asks plan.ts what to do (pure: serve the stored
 * response, validate it, forward and store, relay, invalidate, purge, answer here) and carries
 * the plan out — the I/O: answering from the store, the origin request, storing what may be
 * stored (§3; a 206 as a partial entry, combined with the parts already stored, §3.3) while
 * relaying it, invalidating after unsafe methods (§4.4). Fetches that may be shared go through
 * the collapsing gate (gate.ts), which lets concurrent misses for a URI wait for one origin request.
 */
import type { Clock } from "../../core/clock.js";
import { formatCacheStatus, cacheLabel, type CacheOutcome, type ForwardReason } from "./cache/cache-status.js";
import type { Readable } from "node:stream";
import { getField, isFieldName, mapField, type HeaderMap } from "../header-list.js";
import { decideReuse, isStorable, isStorablePart, staleIfError, varyMatches, varyNamesOf, varyValuesOf, type StoredMeta } from "./cache/policy.js";
import { ClientReply } from "./client-reply.js";
import type { StoredEntry } from "./cache/store.js";
import type { BodyRanges, EntryStore } from "./cache/entry-store.js";
import type { EntryWriter } from "./cache/entry-writer.js";
import { clientNotModified, conditionalHeaders, freshenFrom304, invalidatedUris, notModifiedApplies, SAFE_METHODS } from "./cache/validation.js";
import { combineLayout, isWhole, PART_FIELDS, receivedPart, sameRepresentation, strongValidator, type BodySpan, type ReceivedPart, type StoredParts } from "./cache/partial.js";
import { isConditional, planRequest, type CacheView, type Plan } from "./plan.js";
import { ALONE, collapsible, hasRequestBody, type CollapsingGate, type OriginTurn } from "./gate.js";
import { purgeTarget, type PurgeContext } from "./purge.js";
import { collectBody, fetchOrigin, isOriginFailure, relayBody, takeWhole, type CollectedBody, type OriginExchange, type OriginFailure, type OriginResponse } from "./forward.js";
import type { OriginPool } from "./origin-pool.js";
import { endToEnd, maxForwards, originRequestHeaders, withVia } from "./hop-by-hop.js";
import { sendError, serveFromMemory, servePart, serveStored, type Exchange, type ProxyRequest } from "./respond.js";
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
  /** Which requests share one origin fetch (collapsing). */
  gate: CollapsingGate;
  /** URIs with a background revalidation running (stale-while-revalidate): one each. */
  revalidating: Set<string>;
  /** What /_wirekit/metrics adds to the counters. */
  metrics: ProxyMetrics;
  /** PURGE (the server routes it before a target is parsed; a plan that says purge lands here too). */
  purge?: PurgeContext;
}

const CLIENT_CONDITIONALS = new Set(["if-none-match", "if-modified-since"]);
const CONTENT_LENGTH: ReadonlySet<string> = new Set(["content-length"]);
/** Request fields a background revalidation does not copy from the request that triggered it. */
const BACKGROUND_DROP: ReadonlySet<string> = new Set(["range", "if-range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since"]);
/** Origin answers stale-if-error may hide (RFC 5861 §4). */
const SERVER_ERRORS: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/** Relayed (unstored) bodies up to this size that came with the head are written with it. */
const RELAY_IN_ONE = 16 * 1024;

const NO_VARIANTS: readonly StoredEntry[] = [];
const OFF: CacheView = { kind: "off" };
const UNAVAILABLE: CacheView = { kind: "unavailable" };

/** What the origin request is for: the Cache-Status reason, the entry being validated, a detail. */
interface OriginStep {
  fwd: ForwardReason;
  /** The stored entry a conditional request validates (RFC 9111 §4.3). */
  entry?: StoredEntry | undefined;
  detail?: string | undefined;
}

/**
 * Handle a request for an origin.
 *
 * @example
 * await handleProxied(ctx, exchange, target);
 */
export function handleProxied(c: HandlerContext, ex: Exchange, target: OriginTarget): Promise<void> | void {
  return drive(c, ex, target, false);
}

/**
 * What the cache holds for the request (a shared store is asked first; only then is the answer a
 * promise). The driver's steps up to the origin request are plain functions, not async ones:
 * each async layer that returned the next one's promise cost a promise and microtask turns on
 * every miss.
 */
function viewOf(c: HandlerContext, method: string, href: string): CacheView | Promise<CacheView> {
  const store = c.store;
  if (store === undefined) return OFF;
  if (method !== "GET" && method !== "HEAD") return { kind: "on", variants: NO_VARIANTS };
  // A shared store that cannot be reached: answer as a proxy without a cache (the store logs it once).
  if (store.sync !== undefined) return store.sync(href).then((ok): CacheView => (ok ? { kind: "on", variants: store.variants(href) } : UNAVAILABLE));
  return { kind: "on", variants: store.variants(href) };
}

/** Plan the request and carry the plan out. `collapsed`: it waited at the gate for another's fetch. */
function drive(c: HandlerContext, ex: Exchange, target: OriginTarget, collapsed: boolean): Promise<void> | void {
  const view = viewOf(c, ex.req.method, target.href);
  if (view instanceof Promise) return view.then((v) => carryOut(c, ex, target, planRequest(ex.req, v, c.clock.now()), collapsed));
  return carryOut(c, ex, target, planRequest(ex.req, view, c.clock.now()), collapsed);
}

function carryOut(c: HandlerContext, ex: Exchange, target: OriginTarget, plan: Plan, collapsed: boolean): Promise<void> | void {
  switch (plan.kind) {
    case "answer-here":
      return answerHere(c, ex, ex.req.method);
    case "purge":
      if (c.purge !== undefined) return purgeTarget(c.purge, ex);
      ex.label = "ERROR";
      return sendError(ex, 405, "PURGE is not handled here", undefined);
    case "refuse":
      return onlyIfCached(ex, plan.fwd);
    case "relay":
      return forward(plan.cacheless ? { ...c, store: undefined } : c, ex, target, { fwd: plan.fwd, detail: plan.detail }, ALONE);
    case "invalidate":
      return forward(c, ex, target, { fwd: plan.fwd }, ALONE);
    case "validate":
      return fetchThroughGate(c, ex, target, { fwd: plan.fwd, entry: plan.entry }, collapsed);
    case "forward-and-store":
      return fetchThroughGate(c, ex, target, { fwd: plan.fwd }, collapsed);
    case "serve-stored":
    case "serve-part":
      return serveFromStore(c, ex, target, plan, collapsed);
  }
}

/** Answer from the stored response the plan chose (or fetch, when its body turns out gone). */
async function serveFromStore(c: HandlerContext, ex: Exchange, target: OriginTarget, plan: Extract<Plan, { kind: "serve-stored" | "serve-part" }>, collapsed: boolean): Promise<void> {
  const store = c.store as EntryStore;
  const { entry, reuse } = plan;
  ex.label = "HIT";
  const swr = plan.kind === "serve-stored" && plan.revalidate;
  const cs = formatCacheStatus({ kind: "hit", ttlMs: reuse.ttlMs, collapsed, ...(swr ? { fwd: "stale" as const } : {}) });
  if (swr) revalidateInBackground(c, ex, target, entry);
  const served = plan.kind === "serve-part" ? await servePart(ex, store, entry, plan.ranges, reuse.ageMs, cs, c.via) : await serveStored(ex, store, entry, reuse.ageMs, cs, c.via, plan.notModified);
  if (served) {
    c.counters.bytesFromCache += ex.bytes;
    return;
  }
  // The stored body was gone or damaged (discarded): fetch as a miss.
  return fetchThroughGate(c, ex, target, { fwd: "uri-miss" }, collapsed);
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
  if (entry === undefined || entry.meta.parts !== undefined || (entry.body === undefined && method === "GET" && entry.meta.bodyLength > 0)) return false;
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
  const r = ex.req;
  const req: ProxyRequest = { method: r.method, url: r.url, httpVersion: r.httpVersion, headers, fields: r.fields.filter(([k]) => !drop(k)), body: r.body, remoteAddress: r.remoteAddress, localAddress: r.localAddress };
  const bg: Exchange = { req, res: new ClientReply(undefined, true), client: ex.client, at: c.clock.now(), start: c.clock.monotonic(), url: ex.url, label: "MISS", bytes: 0, background: true };
  if (ex.destination !== undefined) bg.destination = ex.destination;
  void forward(c, bg, target, { fwd: "stale", entry }, ALONE)
    .catch(() => undefined)
    .finally(() => c.revalidating.delete(key));
}

/** RFC 9111 §5.2.1.7: nothing usable stored and the client forbids going to the origin. */
function onlyIfCached(ex: Exchange, fwd: ForwardReason): void {
  ex.label = "MISS";
  sendError(ex, 504, "not in cache (only-if-cached)", undefined, formatCacheStatus({ kind: "forward", fwd, detail: "only-if-cached" }));
}

/**
 * Fetch through the collapsing gate: the first request for a URI goes to the origin, the others
 * wait for it and then plan again (served from what it stored, or fetching themselves when it
 * stored nothing usable for them).
 */
function fetchThroughGate(c: HandlerContext, ex: Exchange, target: OriginTarget, step: OriginStep, collapsed: boolean): Promise<void> | void {
  const key = target.href;
  const store = c.store;
  const turn = c.gate.enter(key, store !== undefined && collapsible(ex.req.method, ex.req.headers, collapsed));
  if (turn.kind === "alone") return forward(c, ex, target, step, turn);
  if (turn.kind === "wait") return turn.done.then(() => drive(c, ex, target, true));
  if (store?.lock === undefined) {
    return forward(c, ex, target, step, turn).finally(() => {
      turn.release();
      store?.unlock?.(key);
    });
  }
  return fetchLocked(c, ex, target, step, turn, store, key);
}

/** The first of a URI's requests on a shared store: the store's lock decides which node fetches. */
async function fetchLocked(c: HandlerContext, ex: Exchange, target: OriginTarget, step: OriginStep, turn: OriginTurn, store: EntryStore, key: string): Promise<void> {
  // Across nodes: a shared store's short lock; the node holding it fetches, the others wait for
  // it to go (released once the entry is written, or expired) and look again.
  if (store.lock !== undefined && !(await store.lock(key))) {
    try {
      const held = store.lockHeld;
      if (held !== undefined) await c.gate.waitShared(() => held.call(store, key), c.clock, store.lockMs ?? 0);
    } finally {
      turn.release();
    }
    return drive(c, ex, target, true);
  }
  try {
    await forward(c, ex, target, step, turn);
  } finally {
    turn.release();
    store.unlock?.(key);
  }
}

/**
 * What the origin answered, as the steps after the request see it. (A class: an object literal
 * with the `body` getter is built in V8's slow dictionary form, microseconds per miss.)
 */
class OriginAnswer {
  status: number;
  reason: string;
  /** End-to-end fields, as relayed and stored. */
  headers: Array<[string, string]>;
  /** The whole body, when it came with the head (forward.ts `OriginResponse.whole`). */
  readonly whole: Buffer | undefined;
  /** When the request went out and the answer came (RFC 9111 §4.2.3), wall-clock ms. */
  requestTime: number;
  responseTime: number;
  readonly #response: OriginResponse;
  readonly #exchange: { abort(): void };

  constructor(response: OriginResponse, headers: Array<[string, string]>, requestTime: number, responseTime: number, exchange: { abort(): void }) {
    this.status = response.status;
    this.reason = response.reason;
    this.headers = headers;
    this.whole = response.whole;
    this.requestTime = requestTime;
    this.responseTime = responseTime;
    this.#response = response;
    this.#exchange = exchange;
  }

  /** The body as a stream (made only when asked for: a whole body that came with the head needs none). */
  get body(): Readable {
    return this.#response.body;
  }

  /** Give up on the origin exchange. */
  abort(): void {
    this.#exchange.abort();
  }
}

/**
 * Send the request to the origin (conditionally when `step.entry` is being validated), then
 * hand its answer to the step that applies: an origin failure or a server error a stale entry
 * may hide (RFC 9111 §4.2.4, RFC 5861 §4), a 304 (§4.3.4), a 206 to add to the stored parts
 * (§3.3), or anything else to store (when it may be) and relay. Releasing `turn` lets the
 * requests waiting at the gate go as soon as it is clear whether anything will be stored.
 */
async function forward(c: HandlerContext, ex: Exchange, target: OriginTarget, step: OriginStep, turn: OriginTurn): Promise<void> {
  const { fwd, entry } = step;
  const req = ex.req;
  const method = req.method;
  const requestTime = c.clock.now();
  const sentAt = c.clock.monotonic();
  const f = sendToOrigin(c, ex, target, entry);
  let origin: OriginExchange;
  try {
    origin = await f.done;
  } catch (err) {
    turn.release();
    if (!isOriginFailure(err)) throw err;
    return answerOriginFailure(c, ex, step, err);
  }
  observeOriginLatency(c.metrics, c.clock.monotonic() - sentAt);
  const resp = origin.response;
  const status = resp.status;
  // RFC 9112 §6.3: with Transfer-Encoding, a Content-Length beside it is wrong and is not relayed.
  const headers = endToEnd(resp.headers, getField(resp.headers, "transfer-encoding") === undefined ? undefined : CONTENT_LENGTH);
  const got = new OriginAnswer(resp, headers, requestTime, c.clock.now(), f);
  const store = c.store;

  if (!SAFE_METHODS.has(method) && store !== undefined) {
    for (const uri of invalidatedUris(method, status, target.href, got.headers)) store.removeUrl(uri);
  }

  // RFC 5861 §4: inside stale-if-error, an origin error answer is replaced by the stale entry.
  if (entry !== undefined && store !== undefined && fwd === "stale" && SERVER_ERRORS.has(status) && !entry.facts.noStale && staleIfError(entry.facts, c.clock.now())) {
    resp.body.destroy();
    turn.release();
    if (await serveStale(c, ex, store, entry, `origin answered ${status} (stale-if-error)`)) return;
    return forward(c, ex, target, { fwd: "uri-miss" }, turn);
  }

  if (entry !== undefined && store !== undefined && status === 304) {
    resp.body.resume();
    if (notModifiedApplies(entry.meta, got.headers)) {
      // RFC 9111 §4.3.4: freshen the stored headers, then answer from the stored body.
      const fresh = store.updateMeta(entry, freshenFrom304(entry.meta, got.headers, got.requestTime, got.responseTime));
      turn.release();
      const r = decideReuse(fresh.facts, {}, c.clock.now());
      ex.label = "REVALIDATED";
      const cs = formatCacheStatus({ kind: "forward", fwd, fwdStatus: 304, ttlMs: r.ttlMs });
      const notModified = isConditional(req.headers) && clientNotModified(req.headers, fresh.meta);
      if (await serveStored(ex, store, fresh, r.ageMs, cs, c.via, notModified)) {
        if (!ex.background) c.counters.bytesFromCache += ex.bytes;
        return;
      }
    } else store.remove(entry);
    return forward(c, ex, target, { fwd: "uri-miss" }, turn);
  }

  // RFC 9111 §3.3: a 206 is stored as a part, combined with the parts already stored.
  if (status === 206 && store !== undefined && isStorablePart(method, req.headers, got.headers, store.policy).storable) {
    const part = receivedPart(got.headers);
    const length = part === undefined ? 0 : part.range.end - part.range.start + 1;
    if (part !== undefined && length <= store.hotMaxObjectBytes && length <= c.maxObjectBytes) return storePart(c, store, ex, target, step, got, part, turn);
    // A larger part is stored as it streams through, when its length is the part's own.
    if (part !== undefined && length <= c.maxObjectBytes && Number(getField(got.headers, "content-length")) === length) return storeBigPart(c, store, ex, target, step, got, part, turn);
  }

  return storeAndRelay(c, ex, target, step, got, turn);
}

/** Start the origin request: the client's fields for the origin, the cache's validators, our Via. */
function sendToOrigin(c: HandlerContext, ex: Exchange, target: OriginTarget, validating: StoredEntry | undefined): { done: Promise<OriginExchange>; abort(): void } {
  const req = ex.req;
  const method = req.method;
  const headers = originRequestHeaders(req.fields, target.host, c.via, validating !== undefined ? CLIENT_CONDITIONALS : undefined);
  if (validating !== undefined) headers.push(...conditionalHeaders(validating.meta));
  const mf = maxForwards(method, mapField(req.headers, "max-forwards"));
  if (typeof mf === "number") for (const hdr of headers) if (isFieldName(hdr[0], "max-forwards")) hdr[1] = String(mf);
  const chunkedBody = req.headers["transfer-encoding"] !== undefined && req.headers["content-length"] === undefined;
  if (chunkedBody) headers.push(["Transfer-Encoding", "chunked"]);
  const f = fetchOrigin({
    target,
    method,
    headers,
    body: hasRequestBody(req.headers) ? req.body : undefined,
    timeoutMs: c.timeoutMs,
    pool: c.pool,
    address: ex.destination,
    // RFC 9110 §15.2: a proxy forwards interim responses (103 Early Hints, 102); never stored.
    onInterim: (h) => {
      if (h.status !== 100) ex.interim?.(h.status, endToEnd(h.headers));
    },
  });
  ex.res.once("close", () => {
    if (!ex.res.writableFinished) f.abort();
  });
  return f;
}

/**
 * The origin could not be reached. RFC 9111 §4.2.4: a cache cut off from the origin may serve a
 * stale response, unless the response forbids it (must-revalidate, proxy-revalidate, s-maxage,
 * no-cache); else the proxy's error (502/504 with Proxy-Status).
 */
async function answerOriginFailure(c: HandlerContext, ex: Exchange, step: OriginStep, err: OriginFailure): Promise<void> {
  const { fwd, entry, detail } = step;
  if (entry !== undefined && c.store !== undefined && fwd === "stale" && !entry.facts.noStale && !entry.facts.noCache && !ex.res.headersSent) {
    if (await serveStale(c, ex, c.store, entry, `origin unreachable: ${err.message}`)) return;
  }
  ex.label = "ERROR";
  sendError(ex, err.context.status, err.message, err.context.errorType, formatCacheStatus({ kind: "forward", fwd, ...(detail === undefined ? {} : { detail }) }));
}

/** Answer from a stale entry in place of the origin (logged STALE); false when its body was gone. */
async function serveStale(c: HandlerContext, ex: Exchange, store: EntryStore, entry: StoredEntry, why: string): Promise<boolean> {
  const r = decideReuse(entry.facts, {}, c.clock.now());
  ex.label = "STALE";
  const cs = formatCacheStatus({ kind: "hit", ttlMs: r.ttlMs, detail: why });
  if (!(await serveStored(ex, store, entry, r.ageMs, cs, c.via, false))) return false;
  if (!ex.background) c.counters.bytesFromCache += ex.bytes;
  return true;
}

/** Relay the origin's answer, storing it on the way when it may be stored (RFC 9111 §3). */
async function storeAndRelay(c: HandlerContext, ex: Exchange, target: OriginTarget, step: OriginStep, got: OriginAnswer, turn: OriginTurn): Promise<void> {
  const { fwd, entry, detail } = step;
  const why = detail === undefined ? {} : { detail };
  const req = ex.req;
  const { status, headers: resHeaders } = got;
  const store = c.store;
  const varyNames = varyNamesOf(resHeaders);
  const meta = {
    url: target.href,
    status,
    statusMessage: got.reason,
    headers: resHeaders,
    requestTime: got.requestTime,
    responseTime: got.responseTime,
    varyNames,
    varyValues: varyValuesOf(varyNames, req.headers),
  };
  const declared = Number(getField(resHeaders, "content-length") ?? "NaN");
  const storable =
    store !== undefined && isStorable(req.method, req.headers, status, resHeaders, store.policy).storable && !(declared > c.maxObjectBytes);
  const writer = storable ? store.beginWrite(meta, c.maxObjectBytes) : null;
  if (writer === null) {
    turn.release();
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
  // first, and its head says `stored` only if the commit succeeded (or, for a whole body in
  // memory, whose commit cannot fail, right after); the cost is that the client sees such a
  // response only once the origin has finished it. A larger body is streamed as it
  // comes, and its head never says `stored`; the commit outcome goes to the access log and the
  // dashboard (`ex.stored`). A trailer was rejected: clients do not read Cache-Status there.
  let early: CollectedBody | undefined;
  let committed: StoredEntry | undefined;
  // A whole small body in memory: its commit cannot fail, so it is made after the response is
  // handed to the engine (below), off the miss's critical path.
  let commitAfter = false;
  if (writer !== null && store !== undefined) {
    // Most small bodies came with the head: taken at once, without waiting on stream events.
    const inHand = declared <= store.hotMaxObjectBytes ? takeWhole(got, declared) : undefined;
    if (inHand !== undefined) {
      countChunk(inHand.length);
      writer.write(inHand);
      early = { outcome: "end", chunks: [inHand], length: inHand.length };
      commitAfter = writer.inMemory;
    } else early = await collectBody(got.body, store.hotMaxObjectBytes, writer, countChunk);
    if (commitAfter) ex.stored = true;
    else if (early.outcome === "end") {
      committed = await writer.commit();
      ex.stored = committed !== undefined;
    } else if (early.outcome === "broken") {
      writer.abort();
      ex.stored = false;
    }
  }
  const outcome: CacheOutcome = { kind: "forward", fwd, fwdStatus: status, stored: commitAfter || committed !== undefined, ...why };
  ex.label = store === undefined ? "BYPASS" : cacheLabel(outcome);
  if (!relayHead(c, ex, target, got, outcome)) {
    got.body.destroy();
    writer?.abort();
    if (committed !== undefined) store?.remove(committed);
    return;
  }
  if (commitAfter && writer !== null && early !== undefined) {
    ex.res.end(early.chunks[0]);
    // One microtask: the engine's reaction to the settled response (which writes it) was queued
    // by end() and runs first. The entry is still published before any next request is read (I/O
    // waits for the microtasks) and before the requests waiting at the gate go.
    await undefined;
    await writer.commit();
    turn.release();
    return;
  }
  if (writer === null) {
    // A small body that came with the head goes out with it, in one write (one wakeup for the client).
    const whole = declared <= RELAY_IN_ONE ? takeWhole(got, declared) : undefined;
    if (whole !== undefined) {
      countChunk(whole.length);
      ex.res.end(whole);
      return;
    }
  }
  if (early !== undefined && early.outcome !== "over") {
    // The whole body (or all the origin sent before breaking off) is in hand.
    turn.release();
    const whole = early.length === 0 ? undefined : early.chunks.length === 1 ? early.chunks[0] : Buffer.concat(early.chunks, early.length);
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
      got.abort();
    }
    return;
  }
  for (const chunk of early?.chunks ?? []) ex.res.write(chunk);
  const already = early?.length ?? 0;
  // Commit before the last byte goes out, so the client's next request already finds the entry.
  const hold = writer !== null && Number.isSafeInteger(declared) && declared > already ? { length: declared - already, last: undefined as Buffer | undefined } : undefined;
  const relayed = relayBody(got.body, ex.res, writer ?? undefined, countChunk, hold);
  if (early !== undefined) got.body.resume();
  const ok = await relayed;
  if (ok) {
    if (writer !== null) ex.stored = (await writer.commit()) !== undefined;
    ex.res.end(hold?.last);
  } else {
    writer?.abort();
    if (writer !== null) ex.stored = false;
    if (!ex.res.writableFinished) ex.res.destroy();
    got.abort();
  }
  turn.release();
}

/**
 * Write the head of the origin's answer to the client, with our Via and the Cache-Status of
 * `outcome`. False when the origin sent a field that cannot be relayed as is (it would split
 * the response): the client got a 502 instead, and the caller lets go of what it held.
 */
function relayHead(c: HandlerContext, ex: Exchange, target: OriginTarget, got: OriginAnswer, outcome: CacheOutcome): boolean {
  const flat: string[] = [];
  for (const [k, v] of withVia(got.headers, c.via)) flat.push(k, v);
  flat.push("Cache-Status", formatCacheStatus(outcome));
  try {
    ex.res.writeHead(got.status, got.reason, flat);
    return true;
  } catch {
    ex.stored = undefined;
    ex.label = "ERROR";
    sendError(ex, 502, `${target.hostname}:${target.port} sent an invalid response header`, "destination_unavailable");
    return false;
  }
}

/**
 * A 206 that may be stored (a single part, a strong validator, small enough to hold): read it
 * whole, combine it with the stored parts of the same representation (RFC 9111 §3.4; a part of
 * another representation replaces them), store the result — a complete entry once the parts
 * cover the whole — and relay the 206 as the origin sent it.
 */
async function storePart(c: HandlerContext, store: EntryStore, ex: Exchange, target: OriginTarget, step: OriginStep, resp: OriginAnswer, part: ReceivedPart, turn: OriginTurn): Promise<void> {
  const why = step.detail === undefined ? {} : { detail: step.detail };
  const href = target.href;
  const length = part.range.end - part.range.start + 1;
  const req = ex.req;
  const got = await collectBody(resp.body, length, undefined, (n) => {
    ex.bytes += n;
    c.counters.bytesFromOrigin += n;
  });
  const whole = got.length === 0 ? Buffer.alloc(0) : Buffer.concat(got.chunks, got.length);
  let committed: StoredEntry | undefined;
  if (got.outcome === "end" && whole.length === length) {
    // A complete entry being validated was replaced by this answer (another representation).
    if (step.entry !== undefined) store.remove(step.entry);
    const current = store.find(href, (v) => varyMatches(v.meta, req.headers));
    const written = await writePart(c, store, href, req.headers, current, resp, part, whole);
    if (written !== null) {
      committed = written;
      ex.stored = written !== undefined;
    }
  } else ex.stored = false;
  turn.release();
  const outcome: CacheOutcome = { kind: "forward", fwd: step.fwd, fwdStatus: resp.status, stored: committed !== undefined, ...why };
  ex.label = cacheLabel(outcome);
  if (!relayHead(c, ex, target, resp, outcome)) {
    if (committed !== undefined) store.remove(committed);
    return;
  }
  if (got.outcome === "end") ex.res.end(whole);
  else {
    // Short of its Content-Length: relay what came, then close.
    if (whole.length > 0) ex.res.write(whole);
    ex.res.destroy();
    resp.abort();
  }
}

/**
 * A 206 too large to read whole before relaying it (over the memory layer's object limit),
 * stored as it streams to the client: one new entry written in the order of its body — the
 * stored parts' bytes before the new part (read from the stored entry, checked), the part as
 * it arrives, then the stored bytes after it — committed before the client gets the last byte,
 * so its next request finds the combined parts. Memory: the pieces in flight, never the body.
 * As for any streamed body, the head cannot say `stored` (the access log has the outcome).
 */
async function storeBigPart(c: HandlerContext, store: EntryStore, ex: Exchange, target: OriginTarget, step: OriginStep, got: OriginAnswer, part: ReceivedPart, turn: OriginTurn): Promise<void> {
  const req = ex.req;
  const current = store.find(target.href, (v) => varyMatches(v.meta, req.headers));
  const base = partBase(current, got.headers, part);
  // A complete entry of the same representation holds every byte already: relay only.
  if (base === null) return storeAndRelay(c, ex, target, step, got, turn);
  const reader = base === undefined ? undefined : await store.openRanges(base.entry);
  const layout = combineLayout(reader === undefined ? undefined : base?.parts, part);
  const writer = store.beginWrite(partMeta(target.href, req.headers, got, layout.parts), c.maxObjectBytes);
  if (writer === null) {
    await reader?.close();
    return storeAndRelay(c, ex, target, step, got, turn);
  }
  const length = part.range.end - part.range.start + 1;
  const oldBytes = async (spans: readonly BodySpan[]): Promise<void> => {
    if (reader === undefined || writer.aborted) return;
    try {
      await copySpans(reader, spans, writer);
    } catch {
      // The stored parts are damaged: they are dropped, and this part is not stored either.
      writer.abort();
      if (base !== undefined) store.discardCorrupt(base.entry);
    }
  };
  try {
    await oldBytes(layout.before);
    const why = step.detail === undefined ? {} : { detail: step.detail };
    const outcome: CacheOutcome = { kind: "forward", fwd: step.fwd, fwdStatus: got.status, stored: false, ...why };
    ex.label = cacheLabel(outcome);
    if (!relayHead(c, ex, target, got, outcome)) {
      got.body.destroy();
      writer.abort();
      return;
    }
    let seen = 0;
    const hold = { length, last: undefined as Buffer | undefined };
    const ok = await relayBody(got.body, ex.res, writer, (n) => {
      seen += n;
      ex.bytes += n;
      c.counters.bytesFromOrigin += n;
    }, hold);
    if (ok && seen === length) {
      await oldBytes(layout.after);
      const committed = await writer.commit();
      ex.stored = committed !== undefined;
      // A complete entry being validated was replaced by this answer (another representation).
      if (committed !== undefined && step.entry !== undefined && step.entry.id !== committed.id) store.remove(step.entry);
      ex.res.end(hold.last);
    } else {
      writer.abort();
      ex.stored = false;
      if (!ex.res.writableFinished) ex.res.destroy();
      got.abort();
    }
  } finally {
    await reader?.close();
    turn.release();
  }
}

/**
 * Combine a received part held in memory with the stored entry (when it is parts of the same
 * representation) and store the result: the new entry, undefined when it could not be stored,
 * null when it was not to be stored (a complete entry of the same representation holds every
 * byte already). The stored parts are read by spans (checked), never whole.
 */
async function writePart(
  c: HandlerContext,
  store: EntryStore,
  href: string,
  reqHeaders: HeaderMap,
  current: StoredEntry | undefined,
  resp: OriginAnswer,
  part: ReceivedPart,
  bytes: Buffer,
): Promise<StoredEntry | undefined | null> {
  const base = partBase(current, resp.headers, part);
  if (base === null) return null;
  const reader = base === undefined ? undefined : await store.openRanges(base.entry);
  const layout = combineLayout(reader === undefined ? undefined : base?.parts, part);
  const writer = store.beginWrite(partMeta(href, reqHeaders, resp, layout.parts), c.maxObjectBytes);
  if (writer === null) {
    await reader?.close();
    return undefined;
  }
  try {
    if (reader !== undefined) await copySpans(reader, layout.before, writer);
    writer.write(bytes);
    if (reader !== undefined) await copySpans(reader, layout.after, writer);
  } catch {
    writer.abort();
    if (base !== undefined) store.discardCorrupt(base.entry);
  } finally {
    await reader?.close();
  }
  return writer.commit();
}

/**
 * What a received part joins: the stored parts of the same representation, nothing
 * (undefined: it starts new parts, replacing what is stored), or null when a complete entry
 * of the same representation holds every byte already.
 */
function partBase(current: StoredEntry | undefined, received: Array<[string, string]>, part: ReceivedPart): { entry: StoredEntry; parts: StoredParts } | undefined | null {
  if (current === undefined) return undefined;
  const parts = current.meta.parts;
  if (parts === undefined) {
    const v = strongValidator(current.meta.headers);
    return v !== undefined && v === strongValidator(received) && current.meta.bodyLength === part.completeLength ? null : undefined;
  }
  return sameRepresentation(current.meta.headers, parts, received, part) ? { entry: current, parts } : undefined;
}

/** The meta of a partial entry holding `parts` (a complete one once they cover the whole). */
function partMeta(href: string, reqHeaders: HeaderMap, resp: OriginAnswer, parts: StoredParts): Omit<StoredMeta, "bodyLength"> {
  const headers = resp.headers.filter(([k]) => !PART_FIELDS.has(k.toLowerCase()));
  const varyNames = varyNamesOf(headers);
  const complete = isWhole(parts);
  return {
    url: href,
    status: complete ? 200 : 206,
    statusMessage: complete ? "OK" : resp.reason,
    headers,
    requestTime: resp.requestTime,
    responseTime: resp.responseTime,
    varyNames,
    varyValues: varyValuesOf(varyNames, reqHeaders),
    ...(complete ? {} : { parts }),
  };
}

/** Copy spans of a stored body into a writer, checked piece by piece, with the writer's backpressure; throws when the body is damaged. */
async function copySpans(reader: BodyRanges, spans: readonly BodySpan[], writer: EntryWriter): Promise<void> {
  for (const span of spans) {
    for await (const piece of reader.read(span.offset, span.length)) {
      if (!writer.write(piece)) await new Promise<void>((resolve) => writer.onDrain(resolve));
    }
  }
}

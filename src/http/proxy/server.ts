/**
 * The caching forward proxy: a handler on wirekit's HTTP/1.1 engine (h1/server.ts) that
 * forwards absolute-form and lab-form requests (target.ts), tunnels CONNECT (tunnel.ts),
 * caches per RFC 9111 (handler.ts, cache/), refuses clients outside `--allow`, detects loops
 * (RFC 9110 §7.6.3 Via), serves `GET /_wirekit/stats`, and reports one access record per
 * request.
 */
import { networkInterfaces, homedir } from "node:os";
import { join } from "node:path";
import type { Duplex, Readable } from "node:stream";
import type { Socket } from "node:net";
import { createH1Server, type H1Capture, type H1Server } from "../h1/server.js";
import type { ExchangeControl, HttpRequest, HttpResponse } from "../h1/types.js";
import type { ExchangeRecord } from "../h1/connection.js";
import { toHeaderMap, type HeaderList, type HeaderMap } from "../header-list.js";
import { ClientReply } from "./client-reply.js";
import { OriginPool } from "./origin-pool.js";
import { systemClock, type Clock } from "../../core/clock.js";
import { RecentAnswers } from "../../core/recent-answers.js";
import { formatHostPort, isLoopback } from "../../core/address.js";
import { fromSystemError, usageError } from "../../core/errors.js";
import { TypedEmitter, publish } from "../../core/events.js";
import { CacheStore } from "./cache/store.js";
import { parseStoreSpec, type EntryStore } from "./cache/entry-store.js";
import { MemoryStore } from "./cache/memory-store.js";
import { handleProxied, tryMemoryHit, type HandlerContext } from "./handler.js";
import { CollapsingGate } from "./gate.js";
import { viaEntry, viaHasLoop } from "./hop-by-hop.js";
import { isAllowed, parseAllowList } from "./allow-list.js";
import { errorTypeOf, sendError, type Exchange, type ProxyRequest } from "./respond.js";
import { countRecord, emptyCounters, proxyStats, type AccessRecord, type ProxyStats } from "./stats.js";
import { gatewayTargets, isProxyPath, labTargetFromReferer, METRICS_PATH, parseGatewayOrigin, parseTarget, PURGE_PATH, STATS_PATH, type GatewayOrigin, type OriginTarget, type ParsedTarget } from "./target.js";
import { GATEWAY_TARGETS } from "./cache/targeted.js";
import { countStatus, emptyMetrics, formatMetrics } from "./metrics.js";
import { purgeByRequest, purgeTarget, type PurgeContext } from "./purge.js";
import { runTunnel } from "./tunnel.js";
import { createDestinationGuard } from "./destination-lookup.js";
import { isLoopbackAddress } from "./destination.js";

export interface ProxyServerOptions {
  /** Address to bind. @default "127.0.0.1" */
  host?: string;
  /** Port; 0 picks one. @default 8888 */
  port?: number;
  /** Cache directory. @default ~/.cache/wirekit/proxy */
  cacheDir?: string;
  /** Bound on the cache's disk use, bytes. @default 1 GiB */
  cacheSize?: number;
  /** Larger responses are streamed through without being stored. @default 100 MiB */
  maxObjectSize?: number;
  /**
   * Where entries live: `disk` (the cache directory), `memory` (a bounded in-process LRU of
   * `cacheSize` bytes, default 256 MiB) or `redis://[USER:PASSWORD@]HOST:PORT[/DB]` (`rediss://`),
   * shared by several proxies. @default "disk"
   */
  store?: string;
  /** The Redis password when the URL has none (WIREKIT_REDIS_PASSWORD). */
  redisPassword?: string;
  /** One line for the operator (a shared store going away or coming back). @default ignored */
  onNotice?: (line: string) => void;
  /** Cache at all. @default true */
  cache?: boolean;
  /** Client CIDRs allowed; required when `host` is not loopback. @default [] (everyone on loopback) */
  allow?: readonly string[];
  /**
   * Let clients that are not on loopback reach the proxy host's own services (loopback, the
   * unspecified address, the host's interface addresses); off, they get 403. @default false
   */
  allowToLoopback?: boolean;
  /** Ports CONNECT may reach. @default [443] */
  connectPorts?: readonly number[];
  /** Origin inactivity timeout, ms. @default 30000 */
  timeoutMs?: number;
  /**
   * Gateway (reverse proxy) mode: origin-form requests go to this origin, `http://HOST[:PORT]`
   * (or https). CDN-Cache-Control and Wirekit-Cache-Control are obeyed (RFC 9213), CONNECT is
   * refused. @default undefined (a forward proxy)
   */
  reverse?: string;
  /** With `reverse`: the Host the origin gets. @default undefined (the client's Host) */
  originHost?: string;
  /** Client CIDRs that may purge besides loopback (PURGE, POST /_wirekit/purge). @default [] */
  purgeAllow?: readonly string[];
  /** Bodies up to this size also live in memory. @default 256 KiB */
  hotMaxObjectBytes?: number;
  /** Memory for hot bodies. @default 64 MiB */
  hotMaxBytes?: number;
  clock?: Clock;
  /** `--pcap`: the capture shown each client connection and each plain-HTTP connection to an origin. @default none */
  capture?: ProxyCapture;
}

/** `--pcap` on the proxy: its clients' connections (an H1Capture), and the connections it opens to origins. */
export interface ProxyCapture extends H1Capture {
  /** A plain-TCP connection to an origin, still connecting, nothing written yet. */
  opened(socket: Socket): void;
}

/** Everything the proxy reports: one kind today, a request answered (its access record). */
export type ProxyServerEvent = { kind: "request"; record: AccessRecord };

export type ProxyServerEvents = { event: [ProxyServerEvent] };

/**
 * A running proxy (from `createProxyServer`): its address, counters, access records as
 * `event`s of kind "request", and `close()`.
 *
 * @example
 * proxy.on("event", (e) => console.log(e.record.status, e.record.cacheStatus, e.record.url));
 */
export class ProxyServer extends TypedEmitter<ProxyServerEvents> {
  readonly address: string;
  readonly port: number;
  readonly cacheDir: string | undefined;
  /** The store: its kind and what to call it (a directory, "memory", a Redis URL without credentials). */
  readonly store: { kind: EntryStore["kind"]; name: string } | undefined;
  /** Gateway mode: the origin every request goes to (`--reverse`); undefined for a forward proxy. */
  readonly gateway: string | undefined;
  readonly #server: H1Server;
  readonly #ctx: HandlerContext;

  /** @internal use createProxyServer */
  constructor(server: H1Server, address: string, port: number, ctx: HandlerContext, cacheDir: string | undefined, endTunnels: () => void, gateway?: string, storeName?: string) {
    super();
    this.store = ctx.store === undefined ? undefined : { kind: ctx.store.kind, name: storeName ?? cacheDir ?? ctx.store.kind };
    this.gateway = gateway;
    this.#server = server;
    this.address = address;
    this.port = port;
    this.#ctx = ctx;
    this.cacheDir = cacheDir;
    this.#endTunnels = endTunnels;
  }

  readonly #endTunnels: () => void;

  /** Counters, hit ratio and the store's size. */
  stats(): ProxyStats {
    const s = this.#ctx.store;
    const h = s?.health?.();
    const shared = h === undefined || s === undefined ? {} : { store: s.kind, storeState: h.state, storeLatencyMs: h.latencyMs };
    return proxyStats(this.#ctx.counters, { entries: s?.entries ?? 0, diskBytes: s?.diskBytes ?? 0, discarded: s?.discarded ?? 0, ...shared });
  }

  /** @internal */
  record(r: AccessRecord): void {
    countRecord(this.#ctx.counters, r);
    countStatus(this.#ctx.metrics, r.cacheStatus);
    if (this.listenerCount("event") > 0) this.emit("event", { kind: "request", record: r });
    publish("proxy", "request", r);
  }

  /**
   * Wait until the cache's file writes and removals in progress (a stored response, an eviction,
   * a purge) have reached the disk. Responses are sent before their entry is written, so a reader
   * of the cache directory calls this first; `close()` does too.
   */
  async flush(): Promise<void> {
    await this.#ctx.store?.flush();
  }

  /** Stop accepting, close idle connections, cut active ones and their origin connections. */
  async close(): Promise<ProxyStats> {
    const closed = this.#server.close();
    this.#endTunnels();
    // Responses still streaming from an origin end (cut) with it, so close() does not wait on them.
    this.#ctx.pool.destroy();
    await closed;
    await this.#ctx.store?.flush();
    const stats = this.stats();
    await this.#ctx.store?.close?.();
    return stats;
  }
}

/** The engine's request as the proxy reads it: the map view made once, the body only when asked for. */
class EngineRequest implements ProxyRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly headers: HeaderMap;
  readonly fields: HeaderList;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly #request: HttpRequest;

  constructor(request: HttpRequest) {
    this.#request = request;
    this.method = request.method;
    this.url = request.target;
    this.httpVersion = request.version;
    this.fields = request.headers;
    this.headers = toHeaderMap(request.headers);
    this.remoteAddress = request.remoteAddress;
    this.localAddress = request.localAddress;
  }

  get body(): Readable {
    return this.#request.body;
  }
}

/** A handler that threw or rejected: 500 with a Proxy-Status, and the exchange logged as ERROR. */
function internalError(ex: Exchange): void {
  ex.label = "ERROR";
  sendError(ex, 500, "internal proxy error", "proxy_internal_error");
}

/** Every address this host answers on (for loop detection when bound to a wildcard). */
function localAddresses(): Set<string> {
  const out = new Set<string>(["localhost"]);
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.add(i.address);
  return out;
}

/**
 * Start a caching forward proxy.
 *
 * @example
 * const proxy = await createProxyServer({ port: 0, cacheDir: "/tmp/wk-cache" });
 * // curl -x http://127.0.0.1:${proxy.port} http://example.test/
 * await proxy.close();
 */
export async function createProxyServer(options: ProxyServerOptions = {}): Promise<ProxyServer> {
  const host = options.host ?? "127.0.0.1";
  const allow = options.allow ?? [];
  if (!isLoopback(host) && allow.length === 0) throw usageError(`binding ${host} would make an open proxy: give --allow CIDR (e.g. --allow 192.168.0.0/16)`);
  const allowList = allow.length > 0 ? parseAllowList(allow) : undefined;
  let gateway: GatewayOrigin | undefined;
  if (options.reverse !== undefined) {
    const g = parseGatewayOrigin(options.reverse, options.originHost);
    if (!g.ok) throw usageError(g.reason);
    gateway = g.origin;
  } else if (options.originHost !== undefined) throw usageError("--origin-host needs --reverse");
  const clock = options.clock ?? systemClock;
  const spec = parseStoreSpec(options.store ?? "disk", options.redisPassword);
  if (!spec.ok) throw usageError(spec.reason);
  if (spec.value.kind !== "disk" && options.cacheDir !== undefined) throw usageError(`--cache-dir is for --store disk, not --store ${spec.value.kind}`);
  if (spec.value.kind !== "disk" && options.cache === false) throw usageError("--no-cache cannot be combined with --store");
  const policy = gateway === undefined ? {} : { targets: GATEWAY_TARGETS };
  const gatewayTargetOf = gateway === undefined ? undefined : gatewayTargets(gateway);
  const cacheDir = options.cache === false || spec.value.kind !== "disk" ? undefined : (options.cacheDir ?? join(homedir(), ".cache", "wirekit", "proxy"));
  let store: EntryStore | undefined;
  let storeName: string | undefined;
  if (spec.value.kind === "memory") store = new MemoryStore({ maxBytes: options.cacheSize, hotMaxObjectBytes: options.hotMaxObjectBytes, policy });
  else if (spec.value.kind === "redis") {
    storeName = spec.value.display;
    // ioredis loads only for a Redis store (about 10 ms of start-up for every other proxy).
    const { RedisStore } = await import("./cache/redis-store.js");
    store = await RedisStore.open({ spec: spec.value, policy, hotMaxObjectBytes: options.hotMaxObjectBytes, hotMaxBytes: options.hotMaxBytes, onNotice: options.onNotice, now: () => clock.monotonic() });
  }
  if (cacheDir !== undefined) {
    try {
      store = await CacheStore.open({ dir: cacheDir, maxBytes: options.cacheSize, hotMaxObjectBytes: options.hotMaxObjectBytes, hotMaxBytes: options.hotMaxBytes, policy });
    } catch (err) {
      throw fromSystemError(err, `cache directory ${cacheDir}`);
    }
  }
  const connectPorts = new Set(options.connectPorts ?? [443]);
  const allowToLoopback = options.allowToLoopback ?? false;
  const guard = createDestinationGuard(allowToLoopback);
  const timeoutMs = options.timeoutMs ?? 30_000;
  // Node's defaults the proxy had before: heads within 60 s, idle keep-alive 10 s, no
  // deadline on a whole request (uploads take what they take).
  const exchanges = new WeakMap<HttpRequest, Exchange>();
  const server = createH1Server({ handler: (req, control) => onRequest(req, control), clock, headersTimeoutMs: 60_000, keepAliveTimeoutMs: 10_000, requestTimeoutMs: 0, capture: options.capture });
  try {
    await server.listen(options.port ?? 8888, host);
  } catch (err) {
    await store?.close?.();
    throw err;
  }
  const port = server.port;
  const address = server.address;
  const receivedBy = formatHostPort(address, port);
  const via = viaEntry("1.1", receivedBy);
  const ctx: HandlerContext = { store, pool: options.capture === undefined ? new OriginPool() : new OriginPool(64, 256, (socket) => options.capture?.opened(socket)), clock, via, timeoutMs, maxObjectBytes: options.maxObjectSize ?? 100 * 1024 * 1024, counters: emptyCounters(), gate: new CollapsingGate(), revalidating: new Set(), metrics: emptyMetrics() };
  const purgeList = options.purgeAllow !== undefined && options.purgeAllow.length > 0 ? parseAllowList(options.purgeAllow) : undefined;
  const purging: PurgeContext = { store, gateway, allowed: (a) => isLoopbackAddress(a) || (purgeList !== undefined && isAllowed(purgeList, a)) };
  ctx.purge = purging;
  const tunnels = new Set<Duplex>();
  const proxy = new ProxyServer(
    server,
    address,
    port,
    ctx,
    cacheDir,
    () => {
      for (const t of tunnels) t.destroy();
    },
    gateway === undefined ? undefined : `${gateway.protocol}//${gateway.authority}`,
    storeName,
  );
  const wildcard = address === "0.0.0.0" || address === "::";
  const selfNames = wildcard ? localAddresses() : new Set([address, "localhost"]);
  const isSelf = (h: string, p: number): boolean => p === port && (selfNames.has(h) || (isLoopback(h) && (wildcard || isLoopback(address))));

  function onRequest(request: HttpRequest, control: ExchangeControl): HttpResponse | Promise<HttpResponse> {
    if (request.method === "CONNECT") return connect(request, control);
    const res = new ClientReply(request);
    const ex: Exchange = { req: new EngineRequest(request), res, client: clientOf(request.remoteAddress), at: clock.now(), start: request.receivedAt, url: request.target, label: "MISS", bytes: 0 };
    ex.interim = (status, headers) => control.sendInterim(status, headers);
    exchanges.set(request, ex);
    try {
      handle(ex)?.catch(() => internalError(ex));
    } catch {
      internalError(ex);
    }
    // A hit answered synchronously goes back without a promise in between.
    return res.settled ?? res.response;
  }

  // One access record per exchange, when the engine is done with its response.
  server.on("event", (e) => {
    if (e.kind !== "exchange") return;
    const r: ExchangeRecord = e.record;
    const ex = r.request === undefined ? undefined : exchanges.get(r.request);
    if (ex === undefined) return;
    exchanges.delete(r.request as HttpRequest);
    // A client that left before any answer is logged as nginx does: 499. Whoever watched for it
    // learnt it then (answeredAtClose); otherwise an abandoned exchange with nothing written is one.
    const early = ex.res.closed;
    ex.res.finish(!r.aborted);
    const answered = early ? ex.res.answeredAtClose : !(r.aborted && r.bytes === 0);
    const record: AccessRecord = { at: ex.at, client: ex.client, method: ex.req.method, url: ex.url, status: answered ? ex.res.statusCode : 499, bytes: ex.bytes, ms: r.durationMs, cacheStatus: answered ? ex.label : "ABORTED" };
    if (ex.stored !== undefined) record.stored = ex.stored;
    proxy.record(record);
  });

  // Requests the engine refused itself (malformed, too large, too slow).
  server.on("event", (e) => {
    if (e.kind !== "error-response") return;
    const r = e.record;
    proxy.record({ at: clock.now(), client: clientOf(r.remoteAddress), method: "-", url: "-", status: r.status, bytes: r.reason.length + 1, ms: 0, cacheStatus: "ERROR" });
  });

  /** Checks, then the synchronous hot path, then the async one. */
  function handle(ex: Exchange): Promise<void> | void {
    const req = ex.req;
    if (allowList !== undefined && !isAllowed(allowList, req.remoteAddress)) {
      ex.label = "DENIED";
      return sendError(ex, 403, `client ${ex.client} is not allowed to use this proxy`, "destination_ip_prohibited");
    }
    if (req.method === "PURGE") return purgeTarget(purging, ex);
    if (gatewayTargetOf !== undefined) return gatewayHandle(ex, gatewayTargetOf);
    const referer = headerValue(req.headers.referer);
    const fixed = req.url.startsWith("/") && referer !== undefined ? (labTargetFromReferer(req.url, referer, receivedBy) ?? labTargetFromReferer(req.url, referer, `localhost:${port}`)) : undefined;
    const t = cachedTarget(fixed ?? req.url);
    if (t.kind === "invalid") {
      ex.label = "ERROR";
      return sendError(ex, 400, t.reason, "http_request_error");
    }
    if (t.kind === "local") return local(ex, t.path);
    ex.url = t.href;
    if (isSelf(t.hostname, t.port)) {
      const path = t.path;
      if (isProxyPath(path) || path === "/") return local(ex, path);
      ex.label = "ERROR";
      return sendError(ex, 508, "request addressed to the proxy itself", "proxy_loop_detected");
    }
    const via = req.headers.via;
    if (viaHasLoop(Array.isArray(via) ? via.join(", ") : via, receivedBy)) {
      ex.label = "ERROR";
      return sendError(ex, 508, "request already passed through this proxy (Via)", "proxy_loop_detected");
    }
    // Clients from elsewhere are checked before the cache too: a hit would leak a loopback page.
    if (!allowToLoopback && !isLoopbackAddress(req.remoteAddress)) return guarded(ex, t);
    if (tryMemoryHit(ctx, ex, t)) return;
    return handleProxied(ctx, ex, t);
  }

  /**
   * Gateway mode: everything but the proxy's own paths goes to the one origin. The origin was
   * named by whoever started the proxy, so the destination rule (no loopback for remote
   * clients) does not apply to it; `--allow` still decides who may use the gateway.
   */
  function gatewayHandle(ex: Exchange, targetOf: (raw: string, hostField: string | undefined) => ParsedTarget): Promise<void> | void {
    const req = ex.req;
    const path = req.url;
    if (isProxyPath(path)) return local(ex, path);
    const t = targetOf(path, headerValue(req.headers.host));
    if (t.kind !== "origin") {
      ex.label = "ERROR";
      return sendError(ex, 400, t.kind === "invalid" ? t.reason : "bad request target", "http_request_error");
    }
    ex.url = t.href;
    const via = req.headers.via;
    if (viaHasLoop(Array.isArray(via) ? via.join(", ") : via, receivedBy)) {
      ex.label = "ERROR";
      return sendError(ex, 508, "request already passed through this proxy (Via)", "proxy_loop_detected");
    }
    if (tryMemoryHit(ctx, ex, t)) return;
    return handleProxied(ctx, ex, t);
  }

  async function guarded(ex: Exchange, t: OriginTarget): Promise<void> {
    const check = await guard(ex.req.remoteAddress, t.hostname, t.port, ex.req.localAddress);
    if (!check.ok) {
      ex.label = check.status === 403 ? "DENIED" : "ERROR";
      return sendError(ex, check.status, check.reason, check.status === 403 ? "destination_ip_prohibited" : errorTypeOf(check.status, check.reason));
    }
    ex.destination = check.address;
    if (tryMemoryHit(ctx, ex, t)) return;
    return handleProxied(ctx, ex, t);
  }

  function local(ex: Exchange, path: string): Promise<void> | void {
    ex.label = "LOCAL";
    ex.url = path;
    const bare = path.split("?", 1)[0];
    if (bare === PURGE_PATH) return purgeByRequest(purging, ex);
    if (bare === METRICS_PATH) {
      const body = Buffer.from(formatMetrics(proxy.stats(), ctx.metrics));
      ex.res.writeHead(200, ["Content-Type", "text/plain; version=0.0.4; charset=utf-8", "Content-Length", String(body.length), "Cache-Control", "no-store"]);
      ex.bytes = body.length;
      ex.res.end(body);
      return;
    }
    if (path === STATS_PATH || path.startsWith(`${STATS_PATH}?`)) {
      const body = Buffer.from(`${JSON.stringify(proxy.stats(), null, 2)}\n`);
      ex.res.writeHead(200, ["Content-Type", "application/json", "Content-Length", String(body.length), "Cache-Control", "no-store"]);
      ex.bytes = body.length;
      ex.res.end(body);
      return;
    }
    if (path === "/") {
      const body = Buffer.from(`wirekit caching proxy on ${receivedBy}\n\nUse it as an HTTP proxy (curl -x http://${receivedBy} http://host/path),\nor browse http://${receivedBy}/host[:port]/path.\nStatistics: http://${receivedBy}${STATS_PATH}\n`);
      ex.res.writeHead(200, ["Content-Type", "text/plain; charset=utf-8", "Content-Length", String(body.length)]);
      ex.bytes = body.length;
      ex.res.end(body);
      return;
    }
    sendError(ex, 404, "not found on the proxy", undefined);
  }

  /** CONNECT (RFC 9110 §9.3.6): the engine hands the socket over and the tunnel owns it. */
  function connect(request: HttpRequest, control: ExchangeControl): HttpResponse {
    const at = clock.now();
    const start = clock.monotonic();
    const client = clientOf(request.remoteAddress);
    const done = (status: number, bytes: number): void =>
      proxy.record({ at, client, method: "CONNECT", url: request.target, status, bytes, ms: clock.monotonic() - start, cacheStatus: status === 200 ? "TUNNEL" : status === 403 ? "DENIED" : "ERROR" });
    if (allowList !== undefined && !isAllowed(allowList, request.remoteAddress)) {
      done(403, 0);
      return { status: 403, headers: [["Content-Length", "0"]], close: true };
    }
    if (gateway !== undefined) {
      // A gateway is the origin's stand-in, not a way to reach other hosts (RFC 9110 §15.5.6).
      done(405, 0);
      return { status: 405, headers: [["Allow", "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE"], ["Content-Length", "0"]], close: true };
    }
    let taken: { socket: Duplex; head: Buffer };
    try {
      taken = control.takeover();
    } catch {
      // Requests pipelined ahead of the CONNECT are still being answered, or the client left.
      done(400, 0);
      return { status: 400, headers: [["Content-Length", "0"]], close: true };
    }
    const socket = taken.socket;
    // Tunnels leave the HTTP server's bookkeeping: track them so close() can end them.
    tunnels.add(socket);
    void runTunnel(request.target, socket, taken.head, { connectPorts, timeoutMs, via, isSelf, checkDestination: (h, p) => guard(request.remoteAddress, h, p, request.localAddress) }).then((r) => {
      tunnels.delete(socket);
      done(r.status, r.bytesDown);
    });
    // Not sent: the socket is the tunnel's now.
    return { status: 200, headers: [] };
  }

  return proxy;
}

/** Parsed targets of recent request lines: a popular URL is parsed once, not per hit. */
const targetCache = new RecentAnswers(parseTarget, { maxEntries: 4096, maxKeyLength: 2048 });

function cachedTarget(raw: string): ParsedTarget {
  return targetCache.get(raw);
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}


function clientOf(address: string | undefined): string {
  if (address === undefined) return "-";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

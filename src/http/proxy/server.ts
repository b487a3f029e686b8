/**
 * The caching forward proxy: an HTTP/1.1 server (node:http parses the messages) that
 * forwards absolute-form and lab-form requests (target.ts), tunnels CONNECT (tunnel.ts),
 * caches per RFC 9111 (handler.ts, cache/), refuses clients outside `--allow`, detects loops
 * (RFC 9110 §7.6.3 Via), serves `GET /_wirekit/stats`, and reports one access record per
 * request.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { networkInterfaces, homedir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { systemClock, type Clock } from "../../core/clock.js";
import { formatHostPort, isLoopback } from "../../core/address.js";
import { fromSystemError, usageError } from "../../core/errors.js";
import { TypedEmitter, publish } from "../../core/events.js";
import { CacheStore } from "./cache/store.js";
import { createOriginAgents, destroyOriginAgents } from "./forward.js";
import { handleProxied, tryMemoryHit, type HandlerContext } from "./handler.js";
import { viaEntry, viaHasLoop } from "./hop-by-hop.js";
import { isAllowed, parseAllowList } from "./allow-list.js";
import { errorTypeOf, sendError, type Exchange } from "./respond.js";
import { countRecord, emptyCounters, proxyStats, type AccessRecord, type ProxyStats } from "./stats.js";
import { labTargetFromReferer, parseTarget, STATS_PATH, type OriginTarget, type ParsedTarget } from "./target.js";
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
  /** Bodies up to this size also live in memory. @default 256 KiB */
  hotMaxObjectBytes?: number;
  /** Memory for hot bodies. @default 64 MiB */
  hotMaxBytes?: number;
  clock?: Clock;
}

export type ProxyServerEvents = {
  request: [AccessRecord];
};

/**
 * A running proxy (from `createProxyServer`): its address, counters, access records as
 * "request" events, and `close()`.
 *
 * @example
 * proxy.on("request", (r) => console.log(formatAccessLine(r)));
 */
export class ProxyServer extends TypedEmitter<ProxyServerEvents> {
  readonly address: string;
  readonly port: number;
  readonly cacheDir: string | undefined;
  readonly #server: Server;
  readonly #ctx: HandlerContext;
  readonly #closers: Array<() => void> = [];

  /** @internal use createProxyServer */
  constructor(server: Server, address: string, port: number, ctx: HandlerContext, cacheDir: string | undefined, endTunnels: () => void) {
    super();
    this.#server = server;
    this.address = address;
    this.port = port;
    this.#ctx = ctx;
    this.cacheDir = cacheDir;
    this.#closers.push(() => destroyOriginAgents(ctx.agents));
    this.#endTunnels = endTunnels;
  }

  readonly #endTunnels: () => void;

  /** Counters, hit ratio and the store's size. */
  stats(): ProxyStats {
    const s = this.#ctx.store;
    return proxyStats(this.#ctx.counters, { entries: s?.entries ?? 0, diskBytes: s?.diskBytes ?? 0, discarded: s?.discarded ?? 0 });
  }

  /** @internal */
  record(r: AccessRecord): void {
    countRecord(this.#ctx.counters, r);
    if (this.listenerCount("request") > 0) this.emit("request", r);
    publish("proxy", "request", r);
  }

  /** Stop accepting, close idle and active connections, release origin pools. */
  async close(): Promise<ProxyStats> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      this.#endTunnels();
    });
    await this.#ctx.store?.flush();
    for (const f of this.#closers) f();
    return this.stats();
  }
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
  const clock = options.clock ?? systemClock;
  const cacheDir = options.cache === false ? undefined : (options.cacheDir ?? join(homedir(), ".cache", "wirekit", "proxy"));
  let store: CacheStore | undefined;
  if (cacheDir !== undefined) {
    try {
      store = await CacheStore.open({ dir: cacheDir, maxBytes: options.cacheSize, hotMaxObjectBytes: options.hotMaxObjectBytes, hotMaxBytes: options.hotMaxBytes });
    } catch (err) {
      throw fromSystemError(err, `cache directory ${cacheDir}`);
    }
  }
  const connectPorts = new Set(options.connectPorts ?? [443]);
  const allowToLoopback = options.allowToLoopback ?? false;
  const guard = createDestinationGuard(allowToLoopback);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 10_000 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(fromSystemError(err, `bind ${formatHostPort(host, options.port ?? 8888)}`)));
    server.listen(options.port ?? 8888, host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : 0;
  const address = typeof bound === "object" && bound !== null ? bound.address : host;
  const receivedBy = formatHostPort(address, port);
  const via = viaEntry("1.1", receivedBy);
  const ctx: HandlerContext = { store, agents: createOriginAgents(), clock, via, timeoutMs, maxObjectBytes: options.maxObjectSize ?? 100 * 1024 * 1024, counters: emptyCounters(), inflight: new Map() };
  const tunnels = new Set<Duplex>();
  const proxy = new ProxyServer(server, address, port, ctx, cacheDir, () => {
    for (const t of tunnels) t.destroy();
  });
  const wildcard = address === "0.0.0.0" || address === "::";
  const selfNames = wildcard ? localAddresses() : new Set([address, "localhost"]);
  const isSelf = (h: string, p: number): boolean => p === port && (selfNames.has(h) || (isLoopback(h) && (wildcard || isLoopback(address))));

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const ex: Exchange = { req, res, client: clientOf(req.socket.remoteAddress), at: clock.now(), start: clock.monotonic(), url: req.url ?? "", label: "MISS", bytes: 0 };
    res.once("close", () => {
      // A client that left before any answer is logged as nginx does: 499.
      const answered = res.headersSent;
      proxy.record({ at: ex.at, client: ex.client, method: req.method ?? "-", url: ex.url, status: answered ? res.statusCode : 499, bytes: ex.bytes, ms: clock.monotonic() - ex.start, cacheStatus: answered ? ex.label : "ABORTED", ...(ex.stored === undefined ? {} : { stored: ex.stored }) });
    });
    const fail = (): void => {
      ex.label = "ERROR";
      sendError(ex, 500, "internal proxy error", "proxy_internal_error");
    };
    try {
      handle(ex)?.catch(fail);
    } catch {
      fail();
    }
  });

  /** Checks, then the synchronous hot path, then the async one. */
  function handle(ex: Exchange): Promise<void> | void {
    const req = ex.req;
    if (allowList !== undefined && !isAllowed(allowList, req.socket.remoteAddress ?? "")) {
      ex.label = "DENIED";
      return sendError(ex, 403, `client ${ex.client} is not allowed to use this proxy`, "destination_ip_prohibited");
    }
    const referer = headerValue(req.headers.referer);
    const fixed = req.url?.startsWith("/") && referer !== undefined ? (labTargetFromReferer(req.url, referer, receivedBy) ?? labTargetFromReferer(req.url, referer, `localhost:${port}`)) : undefined;
    const t = cachedTarget(fixed ?? req.url ?? "");
    if (t.kind === "invalid") {
      ex.label = "ERROR";
      return sendError(ex, 400, t.reason, "http_request_error");
    }
    if (t.kind === "local") return local(ex, t.path);
    ex.url = t.href;
    if (isSelf(t.hostname, t.port)) {
      const path = t.path;
      if (path === STATS_PATH || path === "/") return local(ex, path);
      ex.label = "ERROR";
      return sendError(ex, 508, "request addressed to the proxy itself", "proxy_loop_detected");
    }
    const via = req.headers.via;
    if (viaHasLoop(Array.isArray(via) ? via.join(", ") : via, receivedBy)) {
      ex.label = "ERROR";
      return sendError(ex, 508, "request already passed through this proxy (Via)", "proxy_loop_detected");
    }
    // Clients from elsewhere are checked before the cache too: a hit would leak a loopback page.
    if (!allowToLoopback && !isLoopbackAddress(req.socket.remoteAddress ?? "")) return guarded(ex, t);
    if (tryMemoryHit(ctx, ex, t)) return;
    return handleProxied(ctx, ex, t);
  }

  async function guarded(ex: Exchange, t: OriginTarget): Promise<void> {
    const check = await guard(ex.req.socket.remoteAddress ?? "", t.hostname, t.port, ex.req.socket.localAddress);
    if (!check.ok) {
      ex.label = check.status === 403 ? "DENIED" : "ERROR";
      return sendError(ex, check.status, check.reason, check.status === 403 ? "destination_ip_prohibited" : errorTypeOf(check.status, check.reason));
    }
    ex.destination = check.address;
    if (tryMemoryHit(ctx, ex, t)) return;
    return handleProxied(ctx, ex, t);
  }

  function local(ex: Exchange, path: string): void {
    ex.label = "LOCAL";
    ex.url = path;
    if (path === STATS_PATH || path.startsWith(`${STATS_PATH}?`)) {
      const body = Buffer.from(`${JSON.stringify(proxy.stats(), null, 2)}\n`);
      ex.res.writeHead(200, ["Content-Type", "application/json", "Content-Length", String(body.length), "Cache-Control", "no-store"]);
      ex.bytes = body.length;
      ex.res.end(ex.req.method === "HEAD" ? undefined : body);
      return;
    }
    if (path === "/") {
      const body = Buffer.from(`wirekit caching proxy on ${receivedBy}\n\nUse it as an HTTP proxy (curl -x http://${receivedBy} http://host/path),\nor browse http://${receivedBy}/host[:port]/path.\nStatistics: http://${receivedBy}${STATS_PATH}\n`);
      ex.res.writeHead(200, ["Content-Type", "text/plain; charset=utf-8", "Content-Length", String(body.length)]);
      ex.bytes = body.length;
      ex.res.end(ex.req.method === "HEAD" ? undefined : body);
      return;
    }
    sendError(ex, 404, "not found on the proxy", undefined);
  }

  server.on("connect", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const at = clock.now();
    const start = clock.monotonic();
    const client = clientOf(req.socket.remoteAddress);
    const done = (status: number, bytes: number): void =>
      proxy.record({ at, client, method: "CONNECT", url: req.url ?? "", status, bytes, ms: clock.monotonic() - start, cacheStatus: status === 200 ? "TUNNEL" : status === 403 ? "DENIED" : "ERROR" });
    if (allowList !== undefined && !isAllowed(allowList, req.socket.remoteAddress ?? "")) {
      socket.on("error", () => undefined);
      socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      done(403, 0);
      return;
    }
    // Tunnels leave the HTTP server's bookkeeping: track them so close() can end them.
    tunnels.add(socket);
    void runTunnel(req.url ?? "", socket, head, { connectPorts, timeoutMs, via, isSelf, checkDestination: (h, p) => guard(req.socket.remoteAddress ?? "", h, p, req.socket.localAddress) }).then((r) => {
      tunnels.delete(socket);
      done(r.status, r.bytesDown);
    });
  });

  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    const text = STATUS_CODES[status] ?? "Bad Request";
    const body = `${status} ${text}: ${status === 408 ? "request headers not received in time" : "malformed request"}\n`;
    socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    const remote = (socket as Duplex & { remoteAddress?: string }).remoteAddress;
    proxy.record({ at: clock.now(), client: clientOf(remote), method: "-", url: "-", status, bytes: body.length, ms: 0, cacheStatus: "ERROR" });
  });

  return proxy;
}

/** Parsed targets of recent request lines: a popular URL is parsed once, not per hit. */
const targetCache = new Map<string, ParsedTarget>();

function cachedTarget(raw: string): ParsedTarget {
  let t = targetCache.get(raw);
  if (t === undefined) {
    t = parseTarget(raw);
    if (targetCache.size >= 4096) targetCache.clear();
    if (raw.length <= 2048) targetCache.set(raw, t);
  }
  return t;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function clientOf(address: string | undefined): string {
  if (address === undefined) return "-";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

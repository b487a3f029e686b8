/**
 * The static file handler behind `wirekit http serve`: a `node:http` request listener that
 * maps GET/HEAD to files under ROOT (RFC 9110 §9.3.1-2), with validators and preconditions
 * (§8.8, §13), ranges (§14), content coding (§8.4, §12.5.3), directory index / listing and
 * 301 to the slash form. Parsing of the request itself is node:http's (llhttp).
 */
import { readdirSync, readFileSync, realpathSync, statSync, createReadStream, type Stats } from "node:fs";
import { randomBytes } from "node:crypto";
import { pipeline, type Readable, type Transform } from "node:stream";
import { brotliCompressSync, createBrotliCompress, createGzip, gzipSync, constants as zc } from "node:zlib";
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders } from "node:http";
import { systemClock, type Clock, type TimerHandle } from "../../core/clock.js";
import { TypedEmitter } from "../../core/events.js";
import { decodeRequestPath, joinUnderRoot, RootResolver } from "./resolve.js";
import { evaluatePreconditions, formatHttpDate, ifRangeAllows, makeEtag, type ConditionalHeaders } from "./conditional.js";
import { contentRange, multipartLength, multipartPartHead, multipartTail, parseRange, type ByteRange } from "./range.js";
import { multipartStream } from "./range-stream.js";
import { contentTypeOf } from "./content-type.js";
import { acceptedCodings, isCompressible, MIN_COMPRESS_SIZE, SIBLING_SUFFIX, type Coding } from "./compress.js";
import { FileCache } from "./file-cache.js";
import { exactLength } from "./exact-length.js";
import type { RequestRecord } from "./access-log.js";
import { BASIC_CHALLENGE, BasicAuthenticator, type Credential } from "./basic-auth.js";
import { acceptsHtmlExplicitly, prefersJson } from "./response-fields.js";
import { renderErrorPage, renderListing, renderListingJson, type ListingEntry } from "./listing.js";
import type { HeaderList } from "../header-list.js";

export interface StaticHandlerOptions {
  /** Directory to serve. */
  root: string;
  /** HTML listing for directories without index.html. @default true */
  listing?: boolean;
  /** Serve dotfiles (`.git`, `.env`). @default false */
  dotfiles?: boolean;
  /** Follow symlinks that lead outside ROOT. @default false */
  followSymlinks?: boolean;
  /** Add `Access-Control-Allow-Origin: *` and answer CORS preflights. @default false */
  cors?: boolean;
  /** Files up to this size are kept in memory (revalidated by stat on every request). @default 262144 */
  cacheMaxFileSize?: number;
  /** Total bytes of that memory cache. @default 67108864 */
  cacheMaxBytes?: number;
  /** Longest request-target accepted before 414. @default 8192 */
  maxUrlLength?: number;
  /** A response that makes no write progress for this long has its connection destroyed. @default 60000 */
  sendTimeoutMs?: number;
  /** SPA fallback: a GET/HEAD for no file, from a client that asks for text/html, gets this file (relative to ROOT). @default undefined (off) */
  spa?: string;
  /** Fields added to every response (checked by the caller with `parseHeaderOption`). @default [] */
  headers?: HeaderList;
  /** Cache-Control of every file response. @default undefined (none) */
  cacheControl?: string;
  /** Require HTTP Basic credentials, one of these. @default [] (no authentication) */
  auth?: readonly Credential[];
  /** Clock for timestamps and response times. @default systemClock */
  clock?: Clock;
}

/** Events of the handler: one record per finished (or aborted) response. */
export type StaticHandlerEvents = { request: [RequestRecord] };

const REASONS: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 412: "Precondition Failed", 414: "URI Too Long", 416: "Range Not Satisfiable", 500: "Internal Server Error" };

/** Per-response bookkeeping for the access log. */
interface Exchange {
  bytes: number;
  /** The user it authenticated as (--auth). */
  user?: string;
}

/**
 * Serves files under a root directory.
 *
 * @example
 * const h = new StaticHandler({ root: "./public" });
 * http.createServer(h.listener).listen(8080);
 */
export class StaticHandler extends TypedEmitter<StaticHandlerEvents> {
  readonly root: string;
  readonly #o: Required<Omit<StaticHandlerOptions, "root" | "clock" | "spa" | "headers" | "cacheControl" | "auth">>;
  readonly #spa: string[] | undefined;
  readonly #headers: HeaderList;
  readonly #cacheControl: string | undefined;
  readonly #auth: BasicAuthenticator | undefined;
  readonly #clock: Clock;
  readonly #cache: FileCache;
  readonly #resolver: RootResolver;
  /** Remote address of each connection, taken when it opened: an aborted socket no longer knows it. */
  readonly #clients = new WeakMap<object, string>();
  /** The request listener, bound: `http.createServer(handler.listener)`. */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;

  constructor(options: StaticHandlerOptions) {
    super();
    this.root = realpathSync.native(options.root);
    if (!statSync(this.root).isDirectory()) throw new Error(`${options.root} is not a directory`);
    this.#o = {
      listing: options.listing ?? true,
      dotfiles: options.dotfiles ?? false,
      followSymlinks: options.followSymlinks ?? false,
      cors: options.cors ?? false,
      cacheMaxFileSize: options.cacheMaxFileSize ?? 256 * 1024,
      cacheMaxBytes: options.cacheMaxBytes ?? 64 * 1024 * 1024,
      maxUrlLength: options.maxUrlLength ?? 8192,
      sendTimeoutMs: options.sendTimeoutMs ?? 60_000,
    };
    this.#spa = options.spa === undefined ? undefined : options.spa.split("/").filter((s) => s !== "");
    this.#headers = options.headers ?? [];
    this.#cacheControl = options.cacheControl;
    this.#auth = options.auth === undefined || options.auth.length === 0 ? undefined : new BasicAuthenticator(options.auth);
    this.#clock = options.clock ?? systemClock;
    this.#cache = new FileCache(this.#o.cacheMaxBytes);
    this.#resolver = new RootResolver(this.root, this.#o.followSymlinks);
    this.listener = (req, res) => this.handle(req, res);
  }

  /** Note a connection's remote address when it opens (server "connection"/"secureConnection"). */
  noteConnection(socket: { remoteAddress?: string | undefined }): void {
    if (socket.remoteAddress !== undefined) this.#clients.set(socket, socket.remoteAddress);
  }

  /** The client address of a connection, even after it was aborted. */
  clientOf(socket: { remoteAddress?: string | undefined }): string {
    return this.#clients.get(socket) ?? socket.remoteAddress ?? "-";
  }

  /** Answer one request. Never throws: failures become 500 (or a destroyed stream mid-body). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const at = this.#clock.now();
    const t0 = this.#clock.monotonic();
    const ex: Exchange = { bytes: 0 };
    let logged = false;
    const client = this.clientOf(req.socket);
    const log = (): void => {
      if (logged) return;
      logged = true;
      this.emit("request", {
        at, client, method: req.method ?? "-", path: req.url ?? "", httpVersion: req.httpVersion,
        status: res.statusCode, bytes: ex.bytes, ms: this.#clock.monotonic() - t0, ...(ex.user === undefined ? {} : { user: ex.user }),
      });
    };
    res.once("close", log); // after "finish", or alone when the client went away
    try {
      this.#route(req, res, ex);
    } catch {
      if (!res.headersSent) this.#error(req, res, ex, 500);
      else res.destroy();
    }
  }

  #route(req: IncomingMessage, res: ServerResponse, ex: Exchange): void {
    const method = req.method ?? "";
    const url = req.url ?? "/";
    if (url.length > this.#o.maxUrlLength) return this.#error(req, res, ex, 414);
    if (this.#o.cors) res.setHeader("Access-Control-Allow-Origin", "*");
    for (const [k, v] of this.#headers) res.appendHeader(k, v);
    if (method === "OPTIONS" && this.#o.cors) {
      res.writeHead(204, { "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS", "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "*", "Access-Control-Max-Age": "86400", Allow: "GET, HEAD, OPTIONS" });
      res.end();
      return;
    }
    if (this.#auth !== undefined) {
      const a = this.#auth.check(headerText(req.headers.authorization));
      if (!a.ok) {
        res.setHeader("WWW-Authenticate", BASIC_CHALLENGE);
        return this.#error(req, res, ex, 401);
      }
      ex.user = a.user;
    }
    if (method !== "GET" && method !== "HEAD") {
      res.setHeader("Allow", this.#o.cors ? "GET, HEAD, OPTIONS" : "GET, HEAD");
      return this.#error(req, res, ex, 405);
    }
    const p = decodeRequestPath(url, { dotfiles: this.#o.dotfiles });
    if (!p.ok) return this.#error(req, res, ex, p.status);
    const r = this.#resolver.resolve(p.segments);
    if (!r.ok) return r.status === 404 ? this.#fallback(req, res, ex) : this.#error(req, res, ex, r.status);
    const st = r.st;
    if (st.isDirectory()) {
      if (!p.trailingSlash) {
        // One leading slash only: "//evil.test" would be a protocol-relative open redirect.
        res.writeHead(301, { Location: `/${p.rawPath.replace(/^\/+/, "")}/${p.query}`, "Content-Type": "text/html; charset=utf-8", "Content-Length": "0" });
        res.end();
        return;
      }
      const idx = this.#resolver.resolve([...p.segments, "index.html"]);
      if (idx.ok && idx.st.isFile()) return this.#file(req, res, ex, idx.path, idx.st);
      if (!this.#o.listing) return this.#error(req, res, ex, 403);
      return this.#listing(req, res, ex, r.path, p.segments);
    }
    if (!st.isFile()) return this.#error(req, res, ex, 403);
    if (p.trailingSlash) return this.#fallback(req, res, ex);
    this.#file(req, res, ex, r.path, st);
  }

  /** No such file: the SPA's page for a navigation (--spa), else 404. */
  #fallback(req: IncomingMessage, res: ServerResponse, ex: Exchange): void {
    if (this.#spa !== undefined) res.setHeader("Vary", "Accept"); // the answer depends on Accept
    if (this.#spa !== undefined && acceptsHtmlExplicitly(headerText(req.headers.accept))) {
      const page = this.#resolver.resolve(this.#spa);
      if (page.ok && page.st.isFile()) return this.#file(req, res, ex, page.path, page.st);
    }
    this.#error(req, res, ex, 404);
  }

  #file(req: IncomingMessage, res: ServerResponse, ex: Exchange, path: string, st: Stats): void {
    const type = contentTypeOf(path);
    const compressible = isCompressible(type);
    const codings = acceptedCodings(req.headers["accept-encoding"]);
    const hasRange = req.headers.range !== undefined && req.method === "GET";
    // Pick the representation: a precompressed sibling, on-the-fly coding, or the file as is.
    let file = path;
    let fst = st;
    let coding: Coding | undefined;
    let onTheFly = false;
    for (const c of codings) {
      const sib = this.#sibling(path, c);
      if (sib !== undefined) {
        [file, fst, coding] = [sib.path, sib.st, c];
        break;
      }
    }
    const small = fst.size <= this.#o.cacheMaxFileSize;
    if (coding === undefined && compressible && st.size >= MIN_COMPRESS_SIZE && codings[0] !== undefined && !(hasRange && !small)) {
      coding = codings[0];
      onTheFly = true;
    }
    const etag = makeEtag(fst.size, fst.mtimeMs, coding === undefined ? "" : `-${coding === "gzip" ? "gz" : "br"}`);
    const headers: OutgoingHttpHeaders = { "Content-Type": type, "Last-Modified": formatHttpDate(st.mtimeMs), ETag: etag };
    if (compressible || coding !== undefined) headers.Vary = "Accept-Encoding";
    const prior = res.getHeader("Vary"); // set by the SPA fallback; writeHead would replace it
    if (typeof prior === "string") headers.Vary = headers.Vary === undefined ? prior : `${prior}, ${headers.Vary}`;
    if (coding !== undefined) headers["Content-Encoding"] = coding;
    if (this.#cacheControl !== undefined) headers["Cache-Control"] = this.#cacheControl;
    const validators = { etag, lastModified: st.mtimeMs };
    const pre = evaluatePreconditions(req.method ?? "GET", req.headers as ConditionalHeaders, validators);
    if (pre === 304) {
      // §15.4.5: a 304 carries the validator and Vary, not the representation's metadata.
      const notModified: OutgoingHttpHeaders = { ETag: etag };
      if (headers.Vary !== undefined) notModified.Vary = headers.Vary;
      if (headers["Cache-Control"] !== undefined) notModified["Cache-Control"] = headers["Cache-Control"];
      res.writeHead(304, notModified);
      res.end();
      return;
    }
    if (pre === 412) return this.#error(req, res, ex, 412);

    // Small files (and their on-the-fly encodings) come from memory, so their length is known.
    let body: Buffer | undefined;
    if (small) body = this.#cached(file, fst, onTheFly ? coding : undefined);
    const size = body?.length ?? fst.size;
    if (onTheFly && body === undefined) {
      // Large text: stream through the compressor; length unknown, no ranges.
      res.writeHead(200, headers);
      if (req.method === "HEAD") return void res.end();
      const z: Transform = coding === "br" ? createBrotliCompress({ params: { [zc.BROTLI_PARAM_QUALITY]: 5 } }) : createGzip({ level: 6 });
      return this.#stream(res, ex, createReadStream(file, { end: st.size - 1 }), z);
    }
    headers["Accept-Ranges"] = "bytes";
    let ranges: ByteRange[] | undefined;
    if (hasRange && ifRangeAllows(headerText(req.headers["if-range"]), validators)) {
      const d = parseRange(req.headers.range, size);
      if (d.kind === "unsatisfiable") {
        res.setHeader("Content-Range", `bytes */${size}`);
        return this.#error(req, res, ex, 416);
      }
      if (d.kind === "ranges") ranges = d.ranges;
    }
    const head = req.method === "HEAD";
    if (ranges === undefined) {
      headers["Content-Length"] = String(size);
      res.writeHead(200, headers);
      if (head) return void res.end();
      if (body !== undefined) return this.#send(res, ex, body);
      return this.#stream(res, ex, createReadStream(file, { end: Math.max(0, size - 1) }), undefined, size);
    }
    if (ranges.length === 1 && ranges[0] !== undefined) {
      const r = ranges[0];
      headers["Content-Range"] = contentRange(r, size);
      headers["Content-Length"] = String(r.end - r.start + 1);
      res.writeHead(206, headers);
      if (body !== undefined) return this.#send(res, ex, body.subarray(r.start, r.end + 1));
      return this.#stream(res, ex, createReadStream(file, { start: r.start, end: r.end }), undefined, r.end - r.start + 1);
    }
    // Several ranges: multipart/byteranges (§14.6).
    const boundary = `wirekit-${randomBytes(12).toString("hex")}`;
    const partType = type;
    headers["Content-Type"] = `multipart/byteranges; boundary=${boundary}`;
    const total = multipartLength(boundary, partType, ranges, size);
    headers["Content-Length"] = String(total);
    res.writeHead(206, headers);
    const parts: Buffer[] = [];
    if (body !== undefined) {
      ranges.forEach((r, i) => parts.push(Buffer.from(multipartPartHead(boundary, partType, r, size, i === 0)), body.subarray(r.start, r.end + 1)));
      parts.push(Buffer.from(multipartTail(boundary)));
      return this.#send(res, ex, Buffer.concat(parts));
    }
    this.#stream(res, ex, multipartStream(file, boundary, partType, ranges, size), undefined, total);
  }

  /** A precompressed sibling (`file.br`, `file.gz`) that is a regular file inside ROOT. */
  #sibling(path: string, c: Coding): { path: string; st: Stats } | undefined {
    const r = this.#resolver.resolvePath(path + SIBLING_SUFFIX[c]);
    return r.ok && r.st.isFile() ? { path: r.path, st: r.st } : undefined;
  }

  #cached(file: string, st: Stats, coding: Coding | undefined): Buffer | undefined {
    const key = coding === undefined ? file : `${file}\0${coding}`;
    const hit = this.#cache.get(key, st);
    if (hit !== undefined) return hit;
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch {
      return undefined;
    }
    if (data.length !== st.size) return undefined; // changed while we read: do not cache, stream instead
    if (coding === "gzip") data = gzipSync(data, { level: 9 });
    else if (coding === "br") data = brotliCompressSync(data, { params: { [zc.BROTLI_PARAM_QUALITY]: 9, [zc.BROTLI_PARAM_SIZE_HINT]: data.length } });
    return this.#cache.set(key, st, data);
  }

  #listing(req: IncomingMessage, res: ServerResponse, ex: Exchange, dir: string, segments: string[]): void {
    const entries: ListingEntry[] = [];
    let dirents;
    try {
      dirents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return this.#error(req, res, ex, 403); // unreadable directory
    }
    for (const d of dirents) {
      if (d.name.startsWith(".") && !this.#o.dotfiles) continue;
      let st: Stats | undefined;
      try {
        st = statSync(joinUnderRoot(dir, [d.name]), { throwIfNoEntry: false });
      } catch {
        continue; // unreadable entry: leave it out rather than fail the listing
      }
      if (st === undefined) continue;
      entries.push({ name: d.name, isDirectory: st.isDirectory(), isSymlink: d.isSymbolicLink(), size: st.size, mtimeMs: st.mtimeMs });
    }
    const json = prefersJson(headerText(req.headers.accept));
    const html = Buffer.from(json ? renderListingJson(entries) : renderListing(`/${segments.map((s) => `${s}/`).join("")}`, entries));
    const coding = acceptedCodings(req.headers["accept-encoding"])[0];
    const headers: OutgoingHttpHeaders = { "Content-Type": json ? "application/json" : "text/html; charset=utf-8", Vary: "Accept, Accept-Encoding", "Cache-Control": "no-cache" };
    let body = html;
    if (coding !== undefined && html.length >= MIN_COMPRESS_SIZE) {
      body = coding === "gzip" ? gzipSync(html) : brotliCompressSync(html, { params: { [zc.BROTLI_PARAM_QUALITY]: 5 } });
      headers["Content-Encoding"] = coding;
    }
    headers["Content-Length"] = String(body.length);
    res.writeHead(200, headers);
    if (req.method === "HEAD") return void res.end();
    this.#send(res, ex, body);
  }

  #error(req: IncomingMessage, res: ServerResponse, ex: Exchange, status: number): void {
    const reason = REASONS[status] ?? "Error";
    const detail = status === 404 ? "The requested URL was not found on this server." : "";
    const body = Buffer.from(renderErrorPage(status, reason, detail));
    res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Content-Length": String(body.length) });
    if (req.method === "HEAD") return void res.end();
    this.#send(res, ex, body);
  }

  #send(res: ServerResponse, ex: Exchange, body: Buffer): void {
    ex.bytes += body.length;
    res.end(body);
  }

  /** Stream with backpressure (pipeline pauses the file when the socket is full). */
  #stream(res: ServerResponse, ex: Exchange, src: Readable, via?: Transform, length?: number): void {
    if (length !== undefined) via = exactLength(length);
    const last = via ?? src;
    // A reader that never reads would hold the connection (and the open file) forever: a chunk
    // is only pulled from the file when the socket accepted the previous ones, so no chunk for
    // sendTimeoutMs means no write progress.
    const limit = this.#o.sendTimeoutMs;
    let lastProgress = this.#clock.monotonic();
    let timer: TimerHandle | undefined;
    const check = (): void => {
      timer = undefined;
      if (res.writableFinished || res.destroyed) return;
      const idle = this.#clock.monotonic() - lastProgress;
      if (idle >= limit) return void res.destroy();
      timer = this.#clock.setTimeout(check, limit - idle);
    };
    timer = this.#clock.setTimeout(check, limit);
    res.once("close", () => timer !== undefined && this.#clock.clearTimeout(timer));
    last.on("data", (c: Buffer) => {
      ex.bytes += c.length;
      lastProgress = this.#clock.monotonic();
    });
    const done = (err: Error | null | undefined): void => {
      if (err && !res.writableEnded) res.destroy();
    };
    if (via !== undefined) pipeline(src, via, res, done);
    else pipeline(src, res, done);
  }
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(", ") : v;
}

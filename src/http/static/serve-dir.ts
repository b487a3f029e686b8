/**
 * The static file server as a function from a request to a response (the shape of Deno std's
 * `serveDir`): GET/HEAD map to files under ROOT (RFC 9110 §9.3.1-2), directories get 301 to
 * the slash form, index.html or a listing (HTML, or JSON when Accept prefers it), and the
 * options add CORS, HTTP Basic auth (RFC 7617), an SPA fallback, fixed response fields and
 * Cache-Control. The fs, clock and random source are injected, so it is tested by calling it.
 * File responses themselves are serve-file.ts.
 */
import { systemClock, type Clock } from "../../core/clock.js";
import { secureRandom, type Random } from "../../core/random.js";
import { RecentAnswers } from "../../core/recent-answers.js";
import { getField, type HeaderList } from "../header-list.js";
import type { HttpHandler, HttpRequest, HttpResponse } from "../h1/types.js";
import { BASIC_CHALLENGE, BasicAuthenticator, type Credential } from "./basic-auth.js";
import { acceptedCodings, MIN_COMPRESS_SIZE } from "./compress.js";
import { FsRootResolver } from "./fs-resolver.js";
import { renderListing, renderListingJson, type ListingEntry } from "./listing.js";
import { RepresentationCache, zlibCompressor, type Compressor } from "./representation-cache.js";
import { decodeRequestPath, joinUnderRoot, type PathRefusal, type RequestPath } from "./resolve.js";
import { acceptsHtmlExplicitly, prefersJson } from "./response-fields.js";
import { errorResponse, serveFile, type FileContext, type Fields } from "./serve-file.js";
import { nodeStaticFs, type FileStat, type StaticFs } from "./static-fs.js";

export interface ServeDirOptions {
  /** Directory to serve. */
  root: string;
  /** HTML (or JSON) listing for directories without index.html; 403 without. @default true */
  listing?: boolean;
  /** Serve dotfiles (`.git`, `.env`). @default false */
  dotfiles?: boolean;
  /** Follow symlinks that lead outside ROOT. @default false */
  followSymlinks?: boolean;
  /** Add `Access-Control-Allow-Origin: *` and answer CORS preflights. @default false */
  cors?: boolean;
  /** Files up to this size are kept in memory with their compressed variants. @default 262144 */
  cacheMaxFileSize?: number;
  /** Total bytes of that memory cache. @default 67108864 */
  cacheMaxBytes?: number;
  /** Text files above cacheMaxFileSize up to this size are compressed once per version (only the variant kept); larger ones go as they are. @default 4194304 */
  compressMaxFileSize?: number;
  /**
   * How long a path's stat (found, missing, or its precompressed siblings) is trusted before
   * the next request stats it again. 0 = every request (a change is seen at once); above 0 a
   * hot file is answered with no syscall at all, and a change shows within this time.
   * @default 0
   */
  revalidateMs?: number;
  /** Longest request-target accepted before 414. @default 8192 */
  maxUrlLength?: number;
  /** SPA fallback: a GET/HEAD for no file, from a client that asks for text/html, gets this file (relative to ROOT). @default undefined (off) */
  spa?: string;
  /** Fields added to every response (checked by the caller with `parseHeaderOption`). @default [] */
  headers?: HeaderList;
  /** Cache-Control of every file response. @default undefined (none) */
  cacheControl?: string;
  /** Require HTTP Basic credentials, one of these. @default [] (no authentication) */
  auth?: readonly Credential[];
  /** @default nodeStaticFs */
  fs?: StaticFs;
  /** Wall clock for Last-Modified (never later than now). @default systemClock */
  clock?: Clock;
  /** Multipart boundaries. @default secureRandom */
  random?: Random;
  /** gzip/br for cached variants and listings. @default zlibCompressor */
  compress?: Compressor;
}

/** The handler and what its owner may do with it. */
export interface StaticRequestHandler extends HttpHandler {
  /** Resolves once ROOT is known to be a directory; rejects (ENOENT, ENOTDIR) otherwise. */
  readonly ready: Promise<void>;
  /** The user a request authenticated as (for the access log), if any. Never the password. */
  userOf(request: HttpRequest): string | undefined;
  /** Entries and bytes of the memory cache, and compressions run. */
  cacheStats(): { entries: number; bytes: number; compressions: number };
  /** Drop the cache; later requests still work (and refill it). */
  close(): Promise<void>;
}

const ALLOW = "GET, HEAD";
/** Targets remembered decoded (distinct ones; longer targets are decoded each time). */
const MAX_MEMO_TARGETS = 4096;
const MAX_MEMO_TARGET = 1024;

/** A request-target decoded once: the checked path and, when it is one, its candidate under ROOT. */
interface DecodedTarget {
  readonly path: RequestPath | PathRefusal;
  readonly candidate: string;
}
const ALLOW_CORS = "GET, HEAD, OPTIONS";

interface Resolved {
  options: Required<Pick<ServeDirOptions, "listing" | "dotfiles" | "cors" | "maxUrlLength">>;
  fields: Fields;
  spa: string[] | undefined;
  auth: BasicAuthenticator | undefined;
}

function resolveOptions(o: ServeDirOptions): Resolved {
  const fields: Fields = [];
  if (o.cors === true) fields.push(["Access-Control-Allow-Origin", "*"]);
  for (const [k, v] of o.headers ?? []) fields.push([k, v]);
  return {
    options: { listing: o.listing ?? true, dotfiles: o.dotfiles ?? false, cors: o.cors ?? false, maxUrlLength: o.maxUrlLength ?? 8192 },
    fields,
    spa: o.spa === undefined ? undefined : o.spa.split("/").filter((s) => s !== ""),
    auth: o.auth === undefined || o.auth.length === 0 ? undefined : new BasicAuthenticator(o.auth),
  };
}

/**
 * Create the static handler for ROOT.
 *
 * @example
 * const handler = createStaticHandler({ root: "./public", spa: "index.html" });
 * await handler.ready;
 * const res = await handler(request, control); // { status: 200, headers: [...], body }
 */
export function createStaticHandler(options: ServeDirOptions): StaticRequestHandler {
  const fs = options.fs ?? nodeStaticFs;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? secureRandom;
  const cfg = resolveOptions(options);
  const cache = new RepresentationCache({ maxFileSize: options.cacheMaxFileSize, maxBytes: options.cacheMaxBytes, compressMaxFileSize: options.compressMaxFileSize, compress: options.compress });
  const users = new WeakMap<HttpRequest, string>();
  const rooted = (async (): Promise<FileContext> => {
    const realRoot = await fs.realpath(options.root);
    const st = await fs.stat(realRoot);
    if (st.kind !== "directory") throw Object.assign(new Error(`${options.root} is not a directory`), { code: "ENOTDIR" });
    const resolver = new FsRootResolver(fs, realRoot, { followSymlinks: options.followSymlinks ?? false, revalidateMs: options.revalidateMs ?? 0, clock });
    return { fs, cache, resolver, clock, random, cacheControl: options.cacheControl };
  })();
  rooted.catch(() => undefined); // reported through `ready` and on each request, never unhandled
  let rootedCtx: FileContext | undefined; // once known, requests skip the await
  void rooted.then((c) => (rootedCtx = c), () => undefined);

  /**
   * A target's decoded path and its candidate under ROOT, computed once per distinct target (both
   * are pure functions of the target, the dotfiles option and the real root; only the stat that
   * follows says what is there now). Bounded; the whole memo is dropped when full.
   */
  let targets: RecentAnswers<DecodedTarget> | undefined; // made once the real root is known
  const targetOf = (ctx: FileContext, target: string): DecodedTarget => {
    targets ??= new RecentAnswers(
      (t) => {
        const path = decodeRequestPath(t, { dotfiles: cfg.options.dotfiles });
        return { path, candidate: path.ok ? joinUnderRoot(ctx.resolver.realRoot, path.segments) : "" };
      },
      { maxEntries: MAX_MEMO_TARGETS, maxKeyLength: MAX_MEMO_TARGET },
    );
    return targets.get(target);
  };

  const handle = async (req: HttpRequest): Promise<HttpResponse> => {
    const ctx = rootedCtx ?? (await rooted);
    const { options: o, fields } = cfg;
    const method = req.method;
    if (req.target.length > o.maxUrlLength) return errorResponse(414, method, fields);
    if (method === "OPTIONS" && o.cors) {
      // A preflight carries no credentials (Fetch §4.8), so it is answered before auth.
      const asked = getField(req.headers, "access-control-request-headers") ?? "*";
      return {
        status: 204,
        headers: [...fields, ["Access-Control-Allow-Methods", ALLOW_CORS], ["Access-Control-Allow-Headers", asked], ["Access-Control-Max-Age", "86400"], ["Allow", ALLOW_CORS]],
      };
    }
    if (cfg.auth !== undefined) {
      const a = cfg.auth.check(getField(req.headers, "authorization"));
      if (!a.ok) return errorResponse(401, method, [...fields, ["WWW-Authenticate", BASIC_CHALLENGE]]);
      users.set(req, a.user);
    }
    if (method !== "GET" && method !== "HEAD") return errorResponse(405, method, [...fields, ["Allow", o.cors ? ALLOW_CORS : ALLOW]]);
    const t = targetOf(ctx, req.target);
    const p = t.path;
    if (!p.ok) return errorResponse(p.status, method, fields);
    const r = await ctx.resolver.resolvePath(t.candidate);
    if (!r.ok) return r.status === 404 ? fallback(ctx, req) : errorResponse(r.status, method, fields);
    if (r.st.kind === "directory") {
      if (!p.trailingSlash) {
        // One leading slash only: "//evil.test" would be a protocol-relative open redirect.
        const location = `/${p.rawPath.replace(/^\/+/, "")}/${p.query}`;
        return { status: 301, headers: [...fields, ["Location", location], ["Content-Type", "text/html; charset=utf-8"], ["Content-Length", "0"]], body: "" };
      }
      const idx = await ctx.resolver.resolve([...p.segments, "index.html"]);
      if (idx.ok && idx.st.kind === "file") return serveFile(ctx, req, idx.path, idx.st, fields);
      if (!o.listing) return errorResponse(403, method, fields);
      return listing(ctx, req, r.path, p.segments);
    }
    if (r.st.kind !== "file") return errorResponse(403, method, fields);
    if (p.trailingSlash) return fallback(ctx, req);
    // Awaited here: returning the promise itself would cost the async function two more turns of the microtask queue.
    return await serveFile(ctx, req, r.path, r.st, fields);
  };

  /** No such file: the SPA's page for a navigation, else 404. Both depend on Accept, and say so to caches. */
  const fallback = async (ctx: FileContext, req: HttpRequest): Promise<HttpResponse> => {
    if (cfg.spa === undefined) return errorResponse(404, req.method, cfg.fields);
    const fields: Fields = [...cfg.fields, ["Vary", "Accept"]];
    if (acceptsHtmlExplicitly(getField(req.headers, "accept"))) {
      const page = await ctx.resolver.resolve(cfg.spa);
      if (page.ok && page.st.kind === "file") return serveFile(ctx, req, page.path, page.st, fields);
    }
    return errorResponse(404, req.method, fields);
  };

  const listing = async (ctx: FileContext, req: HttpRequest, dir: string, segments: readonly string[]): Promise<HttpResponse> => {
    let names: string[];
    try {
      names = await ctx.fs.readdir(dir);
    } catch {
      return errorResponse(403, req.method, cfg.fields); // unreadable directory
    }
    const shown = names.filter((n) => cfg.options.dotfiles || !n.startsWith("."));
    const entries = (await Promise.all(shown.map((n) => listingEntry(ctx.fs, joinUnderRoot(dir, [n]), n)))).filter((e): e is ListingEntry => e !== undefined);
    const json = prefersJson(getField(req.headers, "accept"));
    const text = json ? renderListingJson(entries) : renderListing(`/${segments.map((s) => `${s}/`).join("")}`, entries);
    let body: Uint8Array = Buffer.from(text);
    const headers: Fields = [...cfg.fields, ["Content-Type", json ? "application/json" : "text/html; charset=utf-8"], ["Vary", "Accept, Accept-Encoding"], ["Cache-Control", "no-cache"]];
    const coding = acceptedCodings(getField(req.headers, "accept-encoding"))[0];
    if (coding !== undefined && body.length >= MIN_COMPRESS_SIZE) {
      const z = await (options.compress ?? zlibCompressor)(coding, body).catch(() => undefined);
      if (z !== undefined && z.length < body.length) {
        body = z;
        headers.push(["Content-Encoding", coding]);
      }
    }
    headers.push(["Content-Length", String(body.length)]);
    return { status: 200, headers, body: req.method === "HEAD" ? undefined : body };
  };

  // handle() is async, so it never throws synchronously: one rejection handler, no second async frame.
  const handler = (req: HttpRequest): Promise<HttpResponse> => handle(req).catch(() => errorResponse(500, req.method, cfg.fields));
  return Object.assign(handler, {
    ready: rooted.then(() => undefined),
    userOf: (req: HttpRequest) => users.get(req),
    cacheStats: () => cache.stats(),
    close: async () => cache.clear(),
  });
}

/** One listing row; undefined when the entry vanished or cannot be read (left out, not a failure). */
async function listingEntry(fs: StaticFs, path: string, name: string): Promise<ListingEntry | undefined> {
  let l: FileStat;
  try {
    l = await fs.lstat(path);
  } catch {
    return undefined;
  }
  // A symlink shows its target's kind, size and time; a dangling one its own.
  const st = l.kind === "symlink" ? await fs.stat(path).catch(() => l) : l;
  return { name, isDirectory: st.kind === "directory", isSymlink: l.kind === "symlink", size: st.size, mtimeMs: st.mtimeMs };
}

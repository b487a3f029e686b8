/**
 * One file as an `HttpResponse`: the representation chosen (a precompressed sibling, a cached
 * compressed variant, the cached bytes, or an open descriptor for a large file), validators
 * (RFC 9110 §8.8), preconditions (§13.2.2), ranges (§14, multipart/byteranges §14.6, If-Range
 * §13.1.5) and content coding (§8.4). The bytes come from the injected fs; nothing blocks.
 */
import type { Clock } from "../../core/clock.js";
import type { Random } from "../../core/random.js";
import { RecentAnswers } from "../../core/recent-answers.js";
import type { HeaderList } from "../header-list.js";
import type { HttpBody, HttpResponse } from "../h1/types.js";
import { acceptedCodings, isCompressible, MIN_COMPRESS_SIZE, SIBLING_SUFFIX, type Coding } from "./compress.js";
import { evaluatePreconditions, ifRangeAllows, makeEtag, type ConditionalHeaders, type Validators } from "./conditional.js";
import { formatHttpDate } from "../http-date.js";
import { contentTypeOf } from "./content-type.js";
import type { FsRootResolver } from "./fs-resolver.js";
import { renderErrorPage } from "./listing.js";
import { contentRange, multipartLength, multipartPartHead, multipartTail, parseRange, type ByteRange } from "./range.js";
import type { CachedFile, FileVersion, RepresentationCache } from "./representation-cache.js";
import { errorCode, type FileStat, type StaticFs } from "./static-fs.js";

/** What serving a file needs from the handler. */
export interface FileContext {
  readonly fs: StaticFs;
  readonly cache: RepresentationCache;
  readonly resolver: FsRootResolver;
  readonly clock: Clock;
  readonly random: Random;
  /** Cache-Control of every file response. */
  readonly cacheControl: string | undefined;
}

/** The parts of the request a file response depends on. */
export interface FileRequest {
  readonly method: string;
  readonly headers: HeaderList;
  /** Aborted when the client goes away: closes a descriptor nobody will read. */
  readonly signal?: AbortSignal;
}

export type Fields = Array<[string, string]>;

const REASONS: Record<number, string> = {
  400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
  412: "Precondition Failed", 414: "URI Too Long", 416: "Range Not Satisfiable", 500: "Internal Server Error",
};

/** A small HTML error page (no body for HEAD), after `fields`. */
export function errorResponse(status: number, method: string, fields: Fields = []): HttpResponse {
  const reason = REASONS[status] ?? "Error";
  const detail = status === 404 ? "The requested URL was not found on this server." : "";
  const body = Buffer.from(renderErrorPage(status, reason, detail));
  const headers: Fields = [...fields, ["Content-Type", "text/html; charset=utf-8"], ["Content-Length", String(body.length)]];
  return { status, headers, body: method === "HEAD" ? undefined : body };
}

/** Where the selected representation's bytes are. */
type Source =
  | { kind: "memory"; bytes: Uint8Array; file?: CachedFile }
  | { kind: "fd"; fd: number }
  /** HEAD of a large file: only the length is needed. */
  | { kind: "none" };

interface Representation {
  source: Source;
  version: FileVersion;
  coding: Coding | undefined;
  /** Of the original file, also for a sibling (it is the same resource). */
  lastModified: number;
}

/** The request fields a file response reads, found in one pass over the header list (values of a repeated name joined as getField does). */
interface FileRequestFields {
  acceptEncoding: string | undefined;
  range: string | undefined;
  /** undefined when the request has none of them (the usual case: nothing allocated). */
  conditional: ConditionalHeaders | undefined;
}

const joined = (prev: string | undefined, v: string): string => (prev === undefined ? v : `${prev}, ${v}`);

function fileRequestFields(h: HeaderList): FileRequestFields {
  let acceptEncoding: string | undefined;
  let range: string | undefined;
  let c: ConditionalHeaders | undefined;
  for (const [k, v] of h) {
    const n = k.length;
    // Only the lengths of the names below are worth lower-casing.
    if (n !== 5 && n !== 8 && n !== 13 && n !== 15 && n !== 17 && n !== 19) continue;
    const name = k.toLowerCase();
    if (name === "accept-encoding") acceptEncoding = joined(acceptEncoding, v);
    else if (name === "range") range = joined(range, v);
    else if (name === "if-match" || name === "if-none-match" || name === "if-modified-since" || name === "if-unmodified-since" || name === "if-range") {
      c ??= {};
      c[name] = joined(c[name], v);
    }
  }
  return { acceptEncoding, range, conditional: c };
}

const NO_CONDITIONS: ConditionalHeaders = Object.freeze({});
const NO_CODINGS: readonly Coding[] = Object.freeze([]);

/** acceptedCodings per distinct Accept-Encoding value (clients send a handful of spellings). Bounded. */
const codingsByHeader = new RecentAnswers((header): readonly Coding[] => Object.freeze(acceptedCodings(header)), { maxEntries: 256, maxKeyLength: 256 });
function codingsOf(header: string | undefined): readonly Coding[] {
  return header === undefined ? NO_CODINGS : codingsByHeader.get(header);
}

/** Content-Type and compressibility per path (both follow from the name alone). Bounded. */
interface Media {
  readonly type: string;
  readonly compressible: boolean;
}
const mediaByPath = new RecentAnswers((path): Media => {
  const type = contentTypeOf(path);
  return { type, compressible: isCompressible(type) };
}, { maxEntries: 10_000 });
function mediaOf(path: string): Media {
  return mediaByPath.get(path);
}

/**
 * Answer GET or HEAD for the regular file `path` (real, inside ROOT) that `st` describes.
 *
 * @example
 * const res = await serveFile(ctx, request, "/srv/www/a.css", st, []);
 */
export async function serveFile(ctx: FileContext, req: FileRequest, path: string, st: FileStat, base: Fields): Promise<HttpResponse> {
  const method = req.method;
  const { type, compressible } = mediaOf(path);
  const f = fileRequestFields(req.headers);
  const codings = codingsOf(f.acceptEncoding);
  let rep: Representation;
  try {
    // A cached file asked for without a coding is known at once: no await, no promise.
    const selected = select(ctx, method, path, st, codings, compressible);
    rep = selected instanceof Promise ? await selected : selected;
  } catch (err) {
    // Gone or unreadable between the stat and the open.
    const code = errorCode(err);
    return errorResponse(code === "EACCES" || code === "EPERM" || code === "EISDIR" ? 403 : code === "ENOENT" || code === "ENOTDIR" ? 404 : 500, method, base);
  }
  // An open descriptor is handed to the engine or closed here; every early return closes it.
  const source = rep.source;
  const release = source.kind === "fd" ? (): void => void ctx.fs.close(source.fd).catch(() => undefined) : nothingToRelease;
  try {
    return respond(ctx, req, f, rep, type, compressible, base, release);
  } catch (err) {
    release();
    throw err;
  }
}

const nothingToRelease = (): void => undefined;

function select(ctx: FileContext, method: string, path: string, st: FileStat, codings: readonly Coding[], compressible: boolean): Representation | Promise<Representation> {
  // Identity only: no sibling to look for and nothing to compress, so the plain file as it is.
  if (codings.length === 0) return load(ctx, method, path, st, undefined);
  return selectCoded(ctx, method, path, st, codings, compressible);
}

async function selectCoded(ctx: FileContext, method: string, path: string, st: FileStat, codings: readonly Coding[], compressible: boolean): Promise<Representation> {
  // 1. A precompressed sibling the client accepts (nginx gzip_static), best coding first.
  for (const c of codings) {
    const sib = await ctx.resolver.resolvePath(path + SIBLING_SUFFIX[c]);
    if (!sib.ok || sib.st.kind !== "file") continue;
    const rep = await Promise.resolve(load(ctx, method, sib.path, sib.st, c)).catch(() => undefined);
    if (rep !== undefined) return { ...rep, lastModified: st.mtimeMs };
  }
  // 2. Small files from memory, compressed once per version when that pays.
  const plain = await load(ctx, method, path, st, undefined);
  const first = codings[0];
  const file = plain.source.kind === "memory" ? plain.source.file : undefined;
  if (file !== undefined && compressible && first !== undefined && file.bytes.length >= MIN_COMPRESS_SIZE) {
    const v = await ctx.cache.variant(file, first);
    if (v !== undefined) return { ...plain, source: { kind: "memory", bytes: v }, coding: first };
  }
  // 3. Larger text: its variant, also made once per version (the descriptor is then not needed).
  if (file === undefined && compressible && first !== undefined && plain.version.size >= MIN_COMPRESS_SIZE) {
    const v = await ctx.cache.largeVariant(ctx.fs, path, plain.version, first);
    if (v !== undefined) {
      if (plain.source.kind === "fd") await ctx.fs.close(plain.source.fd).catch(() => undefined);
      return { ...plain, source: { kind: "memory", bytes: v }, coding: first };
    }
  }
  // 4. Everything else as it is: an fd the engine sends (sendfile), never compressed per request.
  return plain;
}

function fromMemory(file: CachedFile, coding: Coding | undefined): Representation {
  return { source: { kind: "memory", bytes: file.bytes, file }, version: file.version, coding, lastModified: file.version.mtimeMs };
}

/**
 * The bytes of `path`: from the cache when small (at once when it holds this version), else an
 * open fd (none for HEAD). Rejects when it cannot be opened.
 */
function load(ctx: FileContext, method: string, path: string, st: FileStat, coding: Coding | undefined): Representation | Promise<Representation> {
  if (ctx.cache.fits(st.size)) {
    const held = ctx.cache.peek(path, st);
    if (held !== undefined) return fromMemory(held, coding);
  }
  return loadSlow(ctx, method, path, st, coding);
}

async function loadSlow(ctx: FileContext, method: string, path: string, st: FileStat, coding: Coding | undefined): Promise<Representation> {
  if (ctx.cache.fits(st.size)) {
    const file = await ctx.cache.lookup(ctx.fs, path, st);
    if (file !== undefined) return fromMemory(file, coding);
  }
  if (method === "HEAD") return { source: { kind: "none" }, version: st, coding, lastModified: st.mtimeMs };
  const fd = await ctx.fs.open(path);
  try {
    // The version of what will actually be sent, not of what the path named a moment ago.
    const version = await ctx.fs.fstat(fd);
    if (version.kind !== "file") throw Object.assign(new Error("not a regular file"), { code: "EISDIR" });
    return { source: { kind: "fd", fd }, version, coding, lastModified: version.mtimeMs };
  } catch (err) {
    await ctx.fs.close(fd).catch(() => undefined);
    throw err;
  }
}

/**
 * What every whole-body 200 of one in-memory representation shares: its validators and its
 * whole field list, deeply frozen so the engine also keeps its serialization (h1/head.ts).
 * Keyed by the bytes (one array per file version and coding) and then by the handler's base
 * fields (the same array for every ordinary request; a fallback's own array just misses).
 */
interface PreparedHead {
  readonly etag: string;
  readonly lastModified: number;
  readonly headers: HeaderList;
}
const prepared = new WeakMap<Uint8Array, WeakMap<Fields, PreparedHead>>();

function prepare(ctx: FileContext, rep: Representation, type: string, compressible: boolean, base: Fields): PreparedHead {
  const { version, coding, source } = rep;
  const now = ctx.clock.now();
  const bytes = source.kind === "memory" ? source.bytes : undefined;
  // A file dated in the future gets "now" as its Last-Modified, which moves: never kept.
  const keep = bytes !== undefined && rep.lastModified <= now;
  const hit = keep ? prepared.get(bytes)?.get(base) : undefined;
  if (hit !== undefined) return hit;
  const etag = makeEtag(version.size, version.mtimeMs, coding === undefined ? "" : `-${coding === "gzip" ? "gz" : "br"}`);
  // §8.8.2.1: never a Last-Modified later than the server's own clock.
  const lastModified = Math.min(rep.lastModified, now);
  const headers: Fields = [...base, ["Content-Type", type], ["Last-Modified", formatHttpDate(lastModified)], ["ETag", etag]];
  if (compressible || coding !== undefined) headers.push(["Vary", "Accept-Encoding"]);
  if (ctx.cacheControl !== undefined) headers.push(["Cache-Control", ctx.cacheControl]);
  if (coding !== undefined) headers.push(["Content-Encoding", coding]);
  headers.push(["Accept-Ranges", "bytes"]);
  if (bytes !== undefined) headers.push(["Content-Length", String(bytes.length)]);
  const out: PreparedHead = { etag, lastModified, headers: Object.freeze(headers.map((f) => Object.freeze(f))) };
  if (keep) {
    let byBase = prepared.get(bytes);
    if (byBase === undefined) prepared.set(bytes, (byBase = new WeakMap()));
    byBase.set(base, out);
  }
  return out;
}

function respond(ctx: FileContext, req: FileRequest, f: FileRequestFields, rep: Representation, type: string, compressible: boolean, base: Fields, release: () => void): HttpResponse {
  const method = req.method;
  const { version, coding, source } = rep;
  const p = prepare(ctx, rep, type, compressible, base);
  const head = method === "HEAD";
  // The common answer first: a whole cached body, no precondition, no range (nothing to copy).
  if (source.kind === "memory" && f.conditional === undefined && (f.range === undefined || head)) {
    if (head) release();
    // The cached bytes and the prepared (frozen) fields never change: the engine may keep the whole answer.
    return { status: 200, headers: p.headers, body: head ? undefined : memoryBody(ctx, source), immutable: true };
  }
  const { etag, lastModified } = p;
  const validators: Validators = { etag, lastModified };
  const pre = evaluatePreconditions(method, f.conditional ?? NO_CONDITIONS, validators);
  if (pre === 304) {
    release();
    // §15.4.5: a 304 carries the validator, Vary and Cache-Control, not the representation's metadata.
    const headers: Fields = [...base, ["ETag", etag]];
    if (compressible || coding !== undefined) headers.push(["Vary", "Accept-Encoding"]);
    if (ctx.cacheControl !== undefined) headers.push(["Cache-Control", ctx.cacheControl]);
    return { status: 304, headers };
  }
  if (pre === 412) {
    release();
    return errorResponse(412, method, base);
  }
  // The prepared fields without their Content-Length: each answer below announces its own.
  const headers: Fields = p.headers.filter(([k]) => k !== "Content-Length").map(([k, v]): [string, string] => [k, v]);
  const size = source.kind === "memory" ? source.bytes.length : version.size;
  let ranges: ByteRange[] | undefined;
  const range = f.range;
  if (range !== undefined && method === "GET" && ifRangeAllows(f.conditional?.["if-range"], validators)) {
    const d = parseRange(range, size);
    if (d.kind === "unsatisfiable") {
      release();
      return errorResponse(416, method, [...base, ["Content-Range", `bytes */${size}`]]);
    }
    if (d.kind === "ranges") ranges = d.ranges;
  }
  if (ranges === undefined) {
    if (head) release();
    // The cached bytes and the prepared (frozen) fields never change: the engine may keep the whole answer.
    if (source.kind === "memory") return { status: 200, headers: p.headers, body: head ? undefined : memoryBody(ctx, source), immutable: true };
    headers.push(["Content-Length", String(size)]);
    return { status: 200, headers, body: head ? undefined : whole(source, size) };
  }
  const only = ranges.length === 1 ? ranges[0] : undefined;
  if (only !== undefined) {
    headers.push(["Content-Range", contentRange(only, size)], ["Content-Length", String(only.end - only.start + 1)]);
    return { status: 206, headers, body: slice(source, only) };
  }
  // Several ranges: multipart/byteranges (§14.6), each part with the representation's type.
  const boundary = `wirekit-${ctx.random.bytes(12).toString("hex")}`;
  const typed = headers.map(([k, v]): [string, string] => (k === "Content-Type" ? [k, `multipart/byteranges; boundary=${boundary}`] : [k, v]));
  typed.push(["Content-Length", String(multipartLength(boundary, type, ranges, size))]);
  return { status: 206, headers: typed, body: multipart(ctx.fs, source, boundary, type, ranges, size, req.signal) };
}

/**
 * A cached file's whole body: its bytes, and when the cache kept the descriptor they were read
 * from, that too (leased until the engine is done), so plain TCP sends it by sendfile(2).
 */
function memoryBody(ctx: FileContext, source: Extract<Source, { kind: "memory" }>): HttpBody {
  const file = source.file;
  const lease = file !== undefined && source.bytes === file.bytes ? ctx.cache.lease(file) : undefined;
  if (lease === undefined) return source.bytes;
  return { kind: "file", fd: lease.fd, start: 0, length: source.bytes.length, close: false, bytes: source.bytes, onDone: lease.done };
}

function whole(source: Source, size: number): HttpBody {
  if (source.kind === "memory") return source.bytes;
  if (source.kind === "fd") return { kind: "file", fd: source.fd, start: 0, length: size };
  return undefined;
}

function slice(source: Source, r: ByteRange): HttpBody {
  if (source.kind === "memory") return source.bytes.subarray(r.start, r.end + 1);
  if (source.kind === "fd") return { kind: "file", fd: source.fd, start: r.start, length: r.end - r.start + 1 };
  return undefined;
}

function multipart(fs: StaticFs, source: Source, boundary: string, type: string, ranges: readonly ByteRange[], size: number, signal: AbortSignal | undefined): HttpBody {
  if (source.kind === "memory") {
    const parts: Uint8Array[] = [];
    ranges.forEach((r, i) => parts.push(Buffer.from(multipartPartHead(boundary, type, r, size, i === 0)), source.bytes.subarray(r.start, r.end + 1)));
    parts.push(Buffer.from(multipartTail(boundary)));
    return Buffer.concat(parts);
  }
  if (source.kind === "fd") return closeUnlessRead(fs, source.fd, signal, () => multipartFromFd(fs, source.fd, boundary, type, ranges, size));
  return undefined;
}

/**
 * A generator's `finally` runs only once it has started, so a body the engine never begins to
 * read (the client left first) would keep its descriptor: close it on abort until then.
 */
function closeUnlessRead(fs: StaticFs, fd: number, signal: AbortSignal | undefined, parts: () => AsyncGenerator<Uint8Array>): AsyncIterable<Uint8Array> {
  let started = false;
  let closed = false;
  const onAbort = (): void => {
    if (started) return;
    closed = true;
    void fs.close(fd).catch(() => undefined);
  };
  if (signal?.aborted === true) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  return {
    [Symbol.asyncIterator]() {
      started = true;
      signal?.removeEventListener("abort", onAbort);
      // Never read a closed descriptor: its number may already name another file.
      if (closed) return failed(new Error("client went away before the body was read"));
      return parts();
    },
  };
}

/** The parts of a large file, read 64 KiB at a time as the engine pulls; the fd is closed at the end or on return(). */
async function* multipartFromFd(fs: StaticFs, fd: number, boundary: string, type: string, ranges: readonly ByteRange[], size: number): AsyncGenerator<Uint8Array> {
  try {
    for (const [i, r] of ranges.entries()) {
      yield Buffer.from(multipartPartHead(boundary, type, r, size, i === 0));
      for (let pos = r.start; pos <= r.end; ) {
        const want = Math.min(65536, r.end - pos + 1);
        const buf = new Uint8Array(want);
        const n = await fs.read(fd, buf, 0, want, pos);
        // Shrunk since fstat: stop; the engine closes a connection that got fewer bytes than announced.
        if (n === 0) return;
        yield n === want ? buf : buf.subarray(0, n);
        pos += n;
      }
    }
    yield Buffer.from(multipartTail(boundary));
  } finally {
    await fs.close(fd).catch(() => undefined);
  }
}

// eslint-disable-next-line require-yield
async function* failed(err: Error): AsyncGenerator<Uint8Array> {
  throw err;
}

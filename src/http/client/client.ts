/**
 * The HTTP/1.1 client behind `wirekit http get`: its own TCP (or TLS) connection, one request,
 * the response head kept exactly as received, the body de-chunked and decoded (gzip, br,
 * deflate; RFC 9110 §8.4) unless raw. Through an HTTP proxy it sends absolute-form requests
 * (RFC 9112 §3.2.2) or opens a CONNECT tunnel for https (RFC 9110 §9.3.6).
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { isIP } from "node:net";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { Transform } from "node:stream";
import { resolveHost, formatHostPort } from "../../core/address.js";
import { WirekitError, fromSystemError } from "../../core/errors.js";
import { systemClock, type Clock } from "../../core/clock.js";
import { buildRequest, serializeRequestHead, type HttpRequest } from "./request.js";
import { bodyChunks, bodyLength, type RequestBody } from "./body.js";
import { ResponseParser, headerValue, type ResponseHead } from "./response.js";
import type { StreamTap } from "../../core/stream-tap.js";

export interface HttpGetOptions {
  /** http: or https: URL. */
  url: URL;
  /** @default "GET" */
  method?: string;
  /** Extra request header fields, in order. */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** HTTP proxy (`http://host:port`). @default undefined */
  proxy?: URL;
  /** Accept any TLS certificate. @default false */
  insecure?: boolean;
  /** PEM CA certificates to trust instead of the system store (curl's --cacert). @default undefined */
  ca?: string | Buffer;
  /** Request body, sent with Content-Length after the head. @default undefined (none) */
  body?: RequestBody;
  /** Whole-exchange deadline (curl's --max-time). @default undefined (none: big downloads take what they take) */
  timeoutMs?: number;
  /** Give up when the connection is silent this long, connecting included. @default 30000 */
  idleTimeoutMs?: number;
  /** Deliver body bytes exactly as received (framing, coding). @default false */
  raw?: boolean;
  /** Called with the request head as sent and the peer connected to. */
  onRequest?: (requestHead: string, remote: { address: string; port: number }) => void;
  /** Called with each response head (interim 1xx ones too), before its body. */
  onHead?: (head: ResponseHead, interim: boolean) => void;
  /** Called with body bytes (decoded unless `raw`). */
  onBody?: (chunk: Buffer) => void;
  /**
   * Shown the connection's bytes as written and read (`--pcap`). Plain http only: over TLS the
   * bytes on the wire are ciphertext the client never handles, so an https exchange is not shown.
   */
  tap?: StreamTap;
  /** @default systemClock */
  clock?: Clock;
  signal?: AbortSignal;
}

/** Milliseconds from the start of the exchange, as curl's -w times. */
export interface HttpTiming {
  dnsMs: number;
  connectMs: number;
  /** undefined for plain http. */
  tlsMs: number | undefined;
  firstByteMs: number;
  totalMs: number;
}

export interface HttpExchange {
  request: HttpRequest;
  /** The request head exactly as sent. */
  requestHead: string;
  head: ResponseHead;
  /** Body bytes delivered to onBody (decoded unless raw). */
  bodyBytes: number;
  /** Body bytes on the wire. */
  wireBodyBytes: number;
  timing: HttpTiming;
  remote: { address: string; port: number };
}

const defaultPort = (u: URL): number => (u.port !== "" ? Number(u.port) : u.protocol === "https:" ? 443 : 80);

/**
 * Perform one request and resolve once the whole response has been delivered.
 *
 * @example
 * const ex = await httpGet({ url: new URL("http://127.0.0.1:8080/"), onBody: (b) => process.stdout.write(b) });
 * console.log(ex.head.status);
 */
export async function httpGet(o: HttpGetOptions): Promise<HttpExchange> {
  const clock = o.clock ?? systemClock;
  const t0 = clock.monotonic();
  const since = (): number => clock.monotonic() - t0;
  const url = o.url;
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new WirekitError("ERR_USAGE", `unsupported scheme '${url.protocol}' (http or https)`);
  // Files are measured first, so a missing one is a local error before any connection.
  const length = o.body === undefined ? 0 : await bodyLength(o.body.segments);
  const hop = o.proxy ?? url;
  const hopPort = defaultPort(hop);
  const resolved = await resolveHost(hop.hostname);
  const dnsMs = since();
  const what = `${o.proxy ? "proxy " : ""}${formatHostPort(resolved.address, hopPort)}`;

  const timeoutMs = o.timeoutMs;
  const idleMs = o.idleTimeoutMs ?? 30_000;
  let sock: Socket = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ host: resolved.address, port: hopPort });
    s.setTimeout(idleMs, () => s.destroy(new WirekitError("ERR_TIMEOUT", `no answer from ${what} for ${idleMs} ms`)));
    s.once("connect", () => resolve(s));
    s.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED") reject(new WirekitError("ERR_CONNECT", `connection refused by ${what}`, { cause: err }));
      else reject(fromSystemError(err, `connect to ${what}`));
    });
  });
  const connectMs = since();
  const tap = url.protocol === "http:" ? o.tap : undefined;
  tap?.connected({ address: sock.localAddress ?? "0.0.0.0", port: sock.localPort ?? 0 }, { address: resolved.address, port: hopPort });
  const timer =
    timeoutMs === undefined ? undefined : clock.setTimeout(() => sock.destroy(new WirekitError("ERR_TIMEOUT", `no complete response from ${what} within ${timeoutMs} ms`)), timeoutMs);
  const onAbort = (): void => void sock.destroy(new WirekitError("ERR_TARGET", "interrupted"));
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const authority = formatHostPort(url.hostname.replace(/^\[|\]$/g, ""), defaultPort(url));
    let tlsMs: number | undefined;
    if (url.protocol === "https:") {
      if (o.proxy) await connectTunnel(sock, authority);
      sock = await startTls(sock, url.hostname, o.insecure === true, o.ca);
      tlsMs = since();
    }
    const hostHeader = url.port === "" ? url.hostname : url.host;
    const target = o.proxy && url.protocol === "http:" ? `${url.protocol}//${url.host}${url.pathname}${url.search}` : `${url.pathname}${url.search}`;
    const headers = [...(o.headers ?? [])];
    const has = (n: string): boolean => headers.some(([k]) => k.toLowerCase() === n);
    if (o.body !== undefined) {
      if (!has("content-length")) headers.push(["Content-Length", String(length)]);
      if (o.body.contentType !== undefined && !has("content-type")) headers.push(["Content-Type", o.body.contentType]);
    }
    const request = buildRequest({ method: o.method ?? "GET", target, host: hostHeader, headers });
    const requestHead = serializeRequestHead(request);
    // A small body goes out in the same segment as the head, so a server that answers at once
    // (405, 401) and closes has it all before it closes, and the answer is not lost to a reset.
    const small = o.body !== undefined && length <= SMALL_BODY ? await collect(o.body) : undefined;
    const first = small === undefined ? requestHead : Buffer.concat([Buffer.from(requestHead, "latin1"), small]);
    // A string goes out as UTF-8 (socket.write's default); the tap is shown the same bytes.
    tap?.sent(typeof first === "string" ? Buffer.from(first, "utf8") : first);
    sock.write(first);
    o.onRequest?.(requestHead, { address: resolved.address, port: hopPort });
    const reading = readResponse(sock, request.method, o, since, tap);
    reading.catch(() => undefined); // awaited below; this only keeps a failed upload from leaving it unhandled
    // Read while sending: a server may answer (413, 401) before the upload is done.
    if (o.body !== undefined && small === undefined) await Promise.race([sendBody(sock, o.body, tap), reading]);
    const r = await reading;
    return { request, requestHead, ...r, timing: { dnsMs, connectMs, tlsMs, firstByteMs: r.firstByteMs, totalMs: since() }, remote: { address: resolved.address, port: hopPort } };
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
    sock.destroy();
    tap?.closed();
  }
}

async function connectTunnel(sock: Socket, authority: string): Promise<void> {
  sock.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const parser = new ResponseParser("CONNECT");
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      for (const e of parser.push(d)) {
        if (e.kind === "error") return fail(new WirekitError("ERR_PROTOCOL", `proxy: ${e.reason}`));
        if (e.kind === "head" && !e.interim) {
          if (e.head.status < 200 || e.head.status >= 300) return fail(new WirekitError("ERR_REJECTED", `proxy refused CONNECT ${authority}: ${e.head.status} ${e.head.reason}`));
          cleanup();
          return resolve();
        }
      }
    };
    const onClose = (): void => fail(new WirekitError("ERR_PROTOCOL", "proxy closed the connection during CONNECT"));
    const onError = (err: Error): void => fail(fromSystemError(err, "proxy"));
    const cleanup = (): void => {
      sock.off("data", onData).off("close", onClose).off("error", onError);
    };
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    sock.on("data", onData).on("close", onClose).on("error", onError);
  });
}

const SMALL_BODY = 64 * 1024;

async function collect(body: RequestBody): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of bodyChunks(body.segments)) parts.push(c);
  return Buffer.concat(parts);
}

async function sendBody(sock: Socket, body: RequestBody, tap: StreamTap | undefined): Promise<void> {
  for await (const chunk of bodyChunks(body.segments)) {
    if (sock.destroyed) return;
    tap?.sent(chunk);
    // Respect backpressure: a big file goes out at the pace the peer reads it.
    if (!sock.write(chunk)) await new Promise<void>((resolve) => sock.once("drain", resolve).once("close", resolve));
  }
}

async function startTls(sock: Socket, hostname: string, insecure: boolean, ca: string | Buffer | undefined): Promise<TLSSocket> {
  const bare = hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve, reject) => {
    // Without host, Node checks the certificate against "localhost" whatever the URL named.
    const t = tlsConnect({ socket: sock, host: bare, servername: isIP(bare) === 0 ? bare : undefined, rejectUnauthorized: !insecure, ca, ALPNProtocols: ["http/1.1"] });
    t.once("secureConnect", () => resolve(t));
    t.once("error", (err: NodeJS.ErrnoException) => reject(new WirekitError("ERR_TLS", `TLS with ${bare}: ${describeTlsError(err)}`, { cause: err, context: { tlsCode: err.code } })));
  });
}

/**
 * One line for a failed handshake, with the way out. OpenSSL's own text spans lines
 * ("error:0A00010B:SSL routines:...:wrong version number\n"); only its reason is kept.
 */
export function describeTlsError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
      return "self-signed certificate (use -k to accept it anyway)";
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
      return "certificate signed by an unknown CA (use --ca FILE to trust that CA, or -k to skip the check)";
    case "CERT_HAS_EXPIRED":
      return "certificate has expired (use -k to accept it anyway)";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return "certificate is not for this host name (use -k to accept it anyway)";
    case "ERR_SSL_WRONG_VERSION_NUMBER":
    case "ERR_SSL_PACKET_LENGTH_TOO_LONG":
    case "ERR_SSL_HTTP_REQUEST":
      return "the server does not speak TLS on this port (try http://)";
    case "ECONNRESET":
      return "connection reset during the handshake (does the server speak TLS on this port?)";
    default: {
      const text = err.message.split("\n")[0] ?? "handshake failed";
      const reason = /:([^:]+)$/.exec(text)?.[1] ?? text;
      return reason.trim();
    }
  }
}

function decoderFor(head: ResponseHead): Transform | undefined {
  const ce = headerValue(head, "content-encoding")?.trim().toLowerCase();
  if (ce === "gzip" || ce === "x-gzip") return createGunzip();
  if (ce === "br") return createBrotliDecompress();
  if (ce === "deflate") return createInflate();
  return undefined;
}

async function readResponse(
  sock: Socket,
  method: string,
  o: HttpGetOptions,
  since: () => number,
  tap: StreamTap | undefined,
): Promise<{ head: ResponseHead; bodyBytes: number; wireBodyBytes: number; firstByteMs: number }> {
  const parser = new ResponseParser(method);
  let head: ResponseHead | undefined;
  let firstByteMs = -1;
  let bodyBytes = 0;
  let wireBodyBytes = 0;
  let decoder: Transform | undefined;
  let headBytes = 0;
  let received = 0;
  const deliver = (b: Buffer): void => {
    bodyBytes += b.length;
    o.onBody?.(b);
  };
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      sock.off("data", onData);
      if (err) return reject(err);
      // A HEAD or 304 answer names its coding but has no body to decode.
      if (decoder === undefined || wireBodyBytes === 0) return resolve();
      decoder.once("end", () => resolve());
      decoder.once("error", (e: Error) => reject(new WirekitError("ERR_PROTOCOL", `cannot decode body: ${e.message}`)));
      decoder.end();
    };
    const handle = (events: ReturnType<ResponseParser["push"]>, chunk?: Buffer): void => {
      for (const e of events) {
        if (e.kind === "error") return finish(new WirekitError("ERR_PROTOCOL", e.reason));
        if (e.kind === "head") {
          headBytes += e.head.raw.length;
          if (!e.interim) {
            head = e.head;
            if (o.raw !== true) {
              decoder = decoderFor(e.head);
              decoder?.on("data", deliver);
            }
          }
          o.onHead?.(e.head, e.interim);
          // In raw mode the body is everything after the head, exactly as it came.
          if (!e.interim && o.raw === true && chunk !== undefined) {
            const rest = chunk.subarray(Math.max(0, chunk.length - (received - headBytes)));
            if (rest.length > 0) deliver(Buffer.from(rest));
          }
        }
        if (e.kind === "body") {
          wireBodyBytes += e.data.length;
          if (o.raw !== true) {
            if (decoder) decoder.write(e.data);
            else deliver(e.data);
          }
        }
        if (e.kind === "end") return finish();
      }
    };
    const onData = (d: Buffer): void => {
      tap?.received(d);
      if (firstByteMs < 0) firstByteMs = since();
      const headSeen = head !== undefined;
      received += d.length;
      if (o.raw === true && headSeen) deliver(d);
      handle(parser.push(d), headSeen ? undefined : d);
    };
    sock.on("data", onData);
    sock.once("end", () => handle(parser.end()));
    sock.once("close", () => handle(parser.end()));
    sock.once("error", (err: NodeJS.ErrnoException) => {
      // A server may answer (405, 413) and close before reading the whole upload; the write then
      // fails with EPIPE, but the answer is already here or arrives before "close" parses the end.
      if (err.code === "EPIPE") return;
      finish(err instanceof WirekitError ? err : fromSystemError(err, "read"));
    });
  });
  if (head === undefined) throw new WirekitError("ERR_PROTOCOL", "no response");
  return { head, bodyBytes, wireBodyBytes, firstByteMs };
}

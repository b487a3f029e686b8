/**
 * `wirekit http get` as a ladder: each request (redirects too) and its response, with the body's
 * size. Through a proxy, the proxy is a third lifeline: its Cache-Status (RFC 9211) says whether
 * it answered from its cache ("cache HIT ttl=31") or forwarded the request to the origin, which
 * is then drawn as inferred arrows (the client never sees that leg itself). And the texts that
 * close an exchange: --json, --timing and curl's -w.
 */
import { escapeText } from "../core/escape.js";
import { formatHostPort } from "../core/address.js";
import { formatSize } from "../core/size.js";
import { headerValue, type ResponseHead } from "../http/client/response.js";
import type { HttpExchange } from "../http/client/client.js";
import type { Ladder, LadderRow } from "./ladder.js";
import type { Timed } from "./record.js";

/** What `http get` saw, in order: fed from the client's onRequest / onHead / onBody callbacks. */
export type HttpGetWireEvent =
  | { kind: "request"; head: string; remote: { address: string; port: number }; url: URL; proxy: boolean }
  | { kind: "head"; head: ResponseHead; interim: boolean }
  | { kind: "body"; bytes: number };

export interface CacheDecision {
  hit: boolean;
  ttl?: number;
  fwd?: string;
  fwdStatus?: number;
  stored: boolean;
}

/**
 * The decision of the cache nearest the client: the last member of Cache-Status.
 *
 * @example
 * cacheDecision("wirekit; hit; ttl=31") // { hit: true, ttl: 31, stored: false }
 */
export function cacheDecision(value: string | undefined): CacheDecision | undefined {
  if (value === undefined) return undefined;
  const member = value.split(",").pop()?.trim() ?? "";
  const params = member.split(";").slice(1).map((p) => p.trim());
  const get = (k: string): string | undefined => params.find((p) => p.startsWith(`${k}=`))?.slice(k.length + 1);
  if (params.length === 0) return undefined;
  const ttl = Number(get("ttl"));
  const fwdStatus = Number(get("fwd-status"));
  return {
    hit: params.includes("hit"),
    ...(Number.isFinite(ttl) && get("ttl") !== undefined ? { ttl } : {}),
    ...(get("fwd") === undefined ? {} : { fwd: get("fwd") as string }),
    ...(Number.isFinite(fwdStatus) && get("fwd-status") !== undefined ? { fwdStatus } : {}),
    stored: params.includes("stored"),
  };
}

/** "cache HIT ttl=31", "cache MISS (fwd=uri-miss), stored". */
export function describeCacheDecision(c: CacheDecision): string {
  if (c.hit) return `cache HIT${c.ttl === undefined ? "" : ` ttl=${c.ttl}`}`;
  return `cache ${c.fwd === undefined ? "forward" : c.fwd.endsWith("miss") ? "MISS" : c.fwd.toUpperCase()}${c.fwd === undefined ? "" : ` (fwd=${c.fwd})`}${c.stored ? ", stored" : ""}`;
}

/** A cache decision as a packet comment: "HIT ttl=31", "MISS (fwd=uri-miss), stored". */
export function cacheComment(c: CacheDecision): string {
  return c.hit ? `HIT${c.ttl === undefined ? "" : ` ttl=${c.ttl}`}` : describeCacheDecision(c).replace(/^cache /, "");
}

/**
 * What the client concluded from a response head, for its pcap comment: the proxy's cache
 * decision ("HIT ttl=31"), a redirect followed; undefined for a plain answer.
 */
export function responseDecision(head: ResponseHead, following: boolean): string | undefined {
  const parts: string[] = [];
  const c = cacheDecision(headerValue(head, "cache-status"));
  if (c !== undefined) parts.push(cacheComment(c));
  const location = headerValue(head, "location");
  if (location !== undefined && [301, 302, 303, 307, 308].includes(head.status)) parts.push(`redirect to ${escapeText(location, 200)}${following ? ", followed (-L)" : ", not followed"}`);
  return parts.length === 0 ? undefined : parts.join("; ");
}

export function httpGetLadder(log: ReadonlyArray<Timed<HttpGetWireEvent>>): Ladder {
  const viaProxy = log.some((t) => t.event.kind === "request" && t.event.proxy);
  const first = log.find((t) => t.event.kind === "request")?.event;
  const origin = viaProxy ? 2 : 1;
  const rows: LadderRow[] = [];
  let body: { bytes: number; at: number; row: Extract<LadderRow, { kind: "message" }> } | undefined;
  let pendingRequest: { line: string; at: number } | undefined;
  for (const { at, event: e } of log) {
    switch (e.kind) {
      case "request": {
        const line = escapeText(e.head.split("\r\n")[0] ?? "", 200);
        const host = e.head.split("\r\n").find((l) => /^host:/i.test(l));
        rows.push({ kind: "message", from: 0, to: 1, lines: host === undefined ? [line] : [line, escapeText(host, 200)], at });
        pendingRequest = { line, at };
        body = undefined;
        break;
      }
      case "head": {
        const status = escapeText(e.head.statusLine, 200);
        const length = headerValue(e.head, "content-length");
        const lines = [status, ...(length === undefined ? [] : [`Content-Length: ${escapeText(length, 40)}`])];
        if (viaProxy && !e.interim) {
          const c = cacheDecision(headerValue(e.head, "cache-status"));
          if (c !== undefined && !c.hit && pendingRequest !== undefined) {
            // The proxy's own fetch: not seen by the client, deduced from its Cache-Status.
            rows.push({ kind: "message", from: 1, to: origin, lines: [pendingRequest.line], at, fate: "inferred", decision: "(inferred from Cache-Status)" });
            rows.push({ kind: "message", from: origin, to: 1, lines: [c.fwdStatus === undefined ? "response" : `status ${c.fwdStatus}`], at, fate: "inferred" });
          }
          const cache = escapeText(headerValue(e.head, "cache-status") ?? "", 200);
          rows.push({ kind: "message", from: 1, to: 0, lines: cache === "" ? lines : [...lines, `Cache-Status: ${cache}`], at, ...(c === undefined ? {} : { decision: describeCacheDecision(c) }) });
        } else rows.push({ kind: "message", from: 1, to: 0, lines, at, ...(e.interim ? { decision: "interim response" } : {}) });
        if (!e.interim) pendingRequest = undefined;
        break;
      }
      case "body":
        if (body === undefined) {
          const row: Extract<LadderRow, { kind: "message" }> = { kind: "message", from: 1, to: 0, lines: [`body: ${e.bytes} bytes`], at };
          body = { bytes: e.bytes, at, row };
          rows.push(row);
        } else {
          body.bytes += e.bytes;
          body.row.lines = [`body: ${body.bytes} bytes (+${(at - body.at).toFixed(1)} ms)`];
        }
        break;
    }
  }
  const remote = first?.kind === "request" ? formatHostPort(first.remote.address, first.remote.port) : "server";
  return {
    title: first?.kind === "request" ? `http get ${escapeText(first.url.href, 200)}` : "http get",
    lifelines: viaProxy
      ? [{ id: "C", label: "client (wirekit)" }, { id: "P", label: `proxy ${remote}` }, { id: "O", label: first?.kind === "request" ? `origin ${escapeText(first.url.host, 100)}` : "origin" }]
      : [{ id: "C", label: "client (wirekit)" }, { id: "S", label: `server ${remote}` }],
    rows,
  };
}

/** The `--json` document of an exchange. */
export function httpGetJson(ex: HttpExchange, url: URL, body: Buffer): unknown {
  const text = body.toString("utf8");
  const isText = !text.includes("\uFFFD");
  return {
    url: url.href,
    status: ex.head.status,
    reason: ex.head.reason,
    http_version: ex.head.version,
    headers: ex.head.headers,
    body: isText ? text : null,
    body_base64: isText ? undefined : body.toString("base64"),
    size_download: ex.bodyBytes,
    timing_ms: ex.timing,
  };
}

const sec = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(6);

/** curl's `-w` variables, printed once the transfer is over. */
export function renderWriteOut(fmt: string, ex: HttpExchange, url: URL, redirects: number): string {
  const code = String(ex.head.status).padStart(3, "0");
  const vars: Record<string, string> = {
    http_code: code,
    response_code: code,
    http_version: ex.head.version.replace(/^HTTP\//, ""),
    method: ex.request.method,
    content_type: headerValue(ex.head, "content-type") ?? "",
    url_effective: url.href,
    num_redirects: String(redirects),
    size_header: String(ex.head.raw.length),
    size_request: String(Buffer.byteLength(ex.requestHead)),
    time_namelookup: sec(ex.timing.dnsMs),
    time_connect: sec(ex.timing.connectMs),
    time_appconnect: sec(ex.timing.tlsMs),
    time_starttransfer: sec(ex.timing.firstByteMs),
    time_total: sec(ex.timing.totalMs),
    // curl counts the body as it came over the wire (after de-chunking, before decoding).
    size_download: String(ex.wireBodyBytes),
    remote_ip: ex.remote.address,
    remote_port: String(ex.remote.port),
  };
  return fmt.replace(/%%|%\{([a-z_]+)\}|\\[nrt\\]/g, (m, k: string | undefined) => {
    if (m === "%%") return "%";
    if (k !== undefined) return vars[k] ?? "";
    return m === "\\n" ? "\n" : m === "\\r" ? "\r" : m === "\\t" ? "\t" : "\\";
  });
}

/** The `--timing` block: each phase of the exchange in ms. */
export function renderHttpTiming(ex: HttpExchange): string {
  const t = ex.timing;
  const f = (v: number | undefined): string => (v === undefined ? "     -" : `${v.toFixed(3).padStart(9)} ms`);
  return `dns        ${f(t.dnsMs)}\nconnect    ${f(t.connectMs)}\ntls        ${f(t.tlsMs)}\nfirst byte ${f(t.firstByteMs)}\ntotal      ${f(t.totalMs)}\n`;
}

/** A request header line as shown by -v, credentials replaced: `Authorization: Basic <redacted>`. */
export function redactHeaderLine(line: string): string {
  const m = /^((?:proxy-)?authorization):[ \t]*(.*)$/i.exec(line);
  if (m === null) return line;
  const words = (m[2] ?? "").trim().split(/\s+/);
  return `${m[1]}: ${words.length > 1 ? `${words[0]} ` : ""}<redacted>`;
}

/**
 * What `http get -v` shows on stderr for a wire event, as curl does: "* connected to" and the
 * request head as "> " lines (credentials redacted), each response head (interim ones too) as
 * "< " lines; nothing for body bytes.
 */
export function renderHttpGetVerbose(e: HttpGetWireEvent): string {
  switch (e.kind) {
    case "request":
      return `* connected to ${formatHostPort(e.remote.address, e.remote.port)}\n` + e.head.split("\r\n").slice(0, -2).map((l) => `> ${redactHeaderLine(l)}\n`).join("") + ">\n";
    case "head":
      return [e.head.statusLine, ...e.head.headers.map(([n, v]) => `${n}: ${v}`)].map((l) => `< ${l}\n`).join("") + "<\n";
    case "body":
      return "";
  }
}

/** An exchange in one line (the lab's --demo): "GET /index.html: HTTP/1.1 200 OK, 1155 bytes in 2.1 ms". */
export function renderHttpGetSummaryLine(url: URL, ex: HttpExchange): string {
  return `${ex.request.method} ${url.pathname}: ${escapeText(ex.head.statusLine)}, ${ex.bodyBytes} bytes in ${ex.timing.totalMs.toFixed(1)} ms`;
}

/**
 * The `-o FILE` progress bar's text, drawn over itself on a terminal: bytes so far, the total
 * and percentage when known (`total` NaN or 0: unknown), the rate and the ETA.
 *
 * @example
 * renderDownloadProgress(524288, 1048576, 2) // "512.0 KiB / 1.0 MiB 50%  256.0 KiB/s  ETA 2s   "
 */
export function renderDownloadProgress(bytes: number, total: number, secs: number): string {
  const rate = bytes / secs;
  const known = Number.isFinite(total) && total > 0;
  const pct = known ? ` ${Math.floor((bytes / total) * 100)}%` : "";
  const eta = known && rate > 0 ? `  ETA ${Math.ceil((total - bytes) / rate)}s` : "";
  return `${formatSize(bytes)}${known ? ` / ${formatSize(total)}` : ""}${pct}  ${formatSize(Math.round(rate))}/s${eta}   `;
}

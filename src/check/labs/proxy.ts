/**
 * The caching web proxy lab (assignment 2-4): a GET through the proxy in the lab's URL form
 * `http://proxy:port/host[:port]/path` (or absolute-form, as a browser configured to use a proxy
 * sends), the second request answered from the cache without the origin sending the object again,
 * a 404 passed through, and the optional tasks: POST, validation with If-Modified-Since / 304,
 * an object larger than 4 KiB intact, HTTPS through a CONNECT tunnel (RFC 9110 §9.3.6). The
 * check is the browser and the origin: wirekit's static server, behind a relay that records what
 * the proxy asked it, and for HTTPS the same server with a self-signed certificate made for the
 * run, which the check verifies through the tunnel.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStaticServer } from "../../http/static/server.js";
import type { RequestRecord } from "../../http/static/access-log.js";
import { clip, fail, pass, skip, type Requirement, type Verdict } from "../requirement.js";
import { defineLab, type LabEnv } from "../lab.js";
import { firstDifference, parseHttpMessage, statusOf, type HttpMessage } from "../http-message.js";
import { collect, exchange, type Exchange } from "../tcp-fetch.js";
import { makeSelfSigned } from "../self-signed.js";
import { connect as tlsConnect } from "node:tls";
import { connect, type Socket } from "node:net";
import { remaining, startServer, takeConnection } from "../server-program.js";
import { TcpTap } from "../tap.js";
import type { StudentResult } from "../runner.js";

const SECURE = Buffer.from('<!DOCTYPE html>\n<html><head><title>wirekit proxy check, HTTPS</title></head><body><p id="marker">An object fetched over TLS through your CONNECT tunnel.</p></body></html>\n');
const SMALL = Buffer.from('<!DOCTYPE html>\n<html><head><title>wirekit proxy check</title></head><body><p id="marker">An object fetched through your proxy.</p></body></html>\n');
/** 12,000 bytes of text: three times the skeleton's 4 KiB buffer. */
export function bigObject(): Buffer {
  const lines: string[] = [];
  for (let i = 0; lines.join("\n").length < 12_000; i++) lines.push(`line ${String(i).padStart(4, "0")}: more than 4 KiB must come through the proxy intact.`);
  return Buffer.from(lines.join("\n").slice(0, 12_000));
}

export interface ProxyFetch {
  label: string;
  exchange: Exchange;
  /** Origin requests during this fetch. */
  origin: RequestRecord[];
}

export interface ProxyRecord {
  listening: boolean;
  /** "lab" (`/host:port/path`), "absolute" (`http://host:port/path`), or undefined when neither worked. */
  form?: "lab" | "absolute";
  small: Buffer;
  big: Buffer;
  first?: ProxyFetch;
  second?: ProxyFetch;
  missing?: ProxyFetch;
  bigFirst?: ProxyFetch;
  bigSecond?: ProxyFetch;
  post?: ProxyFetch & { body: string; originRaw: string };
  /** 3.4: CONNECT to the HTTPS origin and a GET inside the tunnel; a string when not tried (why). */
  https?: TunnelResult | string;
  secure: Buffer;
  /** Every request the origin got, raw (latin1), in order. */
  originRequests: string[];
  run?: StudentResult;
}

/** What a CONNECT through the proxy gave. */
export interface TunnelResult {
  /** The CONNECT request's authority. */
  authority: string;
  /** The proxy's reply head (up to the blank line), raw; undefined when none came. */
  reply?: string;
  /** Why reading the reply stopped when there was none. */
  ended?: string;
  /** The TLS version negotiated with the origin through the tunnel. */
  tls?: string;
  tlsError?: string;
  /** The GET inside the tunnel. */
  inner?: Exchange;
  /** Requests the HTTPS origin got. */
  originRequests: number;
}

/** Read a response head from `sock` (up to CRLF CRLF) and leave the socket paused at the byte after it. */
function readHead(sock: Socket, timeoutMs: number): Promise<{ head?: string; ended: string }> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const finish = (r: { head?: string; ended: string }): void => {
      clearTimeout(timer);
      sock.off("data", onData).off("end", onEnd).off("close", onEnd).off("error", onError);
      resolve(r);
    };
    const onData = (b: Buffer): void => {
      buf = Buffer.concat([buf, b]);
      const end = buf.indexOf("\r\n\r\n");
      if (end === -1) {
        if (buf.length > 16_384) finish({ ended: "a head of more than 16 KiB" });
        return;
      }
      sock.pause();
      if (end + 4 < buf.length) sock.unshift(buf.subarray(end + 4));
      finish({ head: buf.subarray(0, end).toString("latin1"), ended: "complete" });
    };
    const onEnd = (): void => finish({ ...(buf.length > 0 ? { head: buf.toString("latin1") } : {}), ended: "closed" });
    const onError = (e: NodeJS.ErrnoException): void => finish({ ended: e.code ?? e.message });
    const timer = setTimeout(() => finish({ ...(buf.length > 0 ? { head: buf.toString("latin1") } : {}), ended: "timeout" }), timeoutMs);
    sock.on("data", onData).on("end", onEnd).on("close", onEnd).on("error", onError);
  });
}

/** CONNECT `authority` through the proxy on `sock`, then TLS (verifying `ca`) and GET `path` inside. */
async function tunnel(sock: Socket | number, authority: string, ca: Buffer, path: string, timeoutMs: number): Promise<Omit<TunnelResult, "originRequests">> {
  const deadline = performance.now() + timeoutMs;
  const left = (): number => Math.max(200, deadline - performance.now());
  const s = typeof sock === "number" ? connect({ host: "127.0.0.1", port: sock }) : sock;
  s.on("error", () => {});
  s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const { head, ended } = await readHead(s, left());
  if (head === undefined || !/^HTTP\/1\.[01] 2\d\d/.test(head) || ended !== "complete") {
    s.destroy();
    return { authority, ...(head === undefined ? {} : { reply: head }), ended };
  }
  const [host] = authority.split(":");
  const secure = tlsConnect({ socket: s, ca, host: host ?? "127.0.0.1" });
  const handshake = await new Promise<string | undefined>((resolve) => {
    const t = setTimeout(() => resolve("no handshake before the time limit"), left());
    secure.once("secureConnect", () => {
      clearTimeout(t);
      resolve(undefined);
    });
    secure.once("error", (e: Error & { reason?: string }) => {
      clearTimeout(t);
      resolve(e.reason ?? e.message);
    });
    secure.once("close", () => resolve("the tunnel closed during the handshake"));
  });
  if (handshake !== undefined) {
    secure.destroy();
    return { authority, reply: head, ended, tlsError: handshake };
  }
  const tls = secure.getProtocol() ?? "TLS";
  secure.write(`GET ${path} HTTP/1.1\r\nHost: ${authority}\r\nConnection: close\r\n\r\n`);
  const inner = await collect(secure, left());
  return { authority, reply: head, ended, tls, inner };
}

const answer = (f: ProxyFetch | undefined): HttpMessage | undefined => (f === undefined ? undefined : parseHttpMessage(f.exchange.raw));

function describe(f: ProxyFetch | undefined): string {
  if (f === undefined) return "not requested";
  const m = answer(f);
  if (m === undefined) return f.exchange.ended === "timeout" ? "no answer before the time limit" : `no answer (${f.exchange.error ?? f.exchange.ended})`;
  return `'${clip(m.startLine, 40)}', ${m.body.length} body bytes`;
}

function notListening(r: ProxyRecord): Verdict | undefined {
  if (!r.listening) return fail(`nothing listened on {port}${r.run?.stderr ? `; stderr: ${clip(r.run.stderr.trim().split("\n").at(-1) ?? "", 80)}` : ""}`, "bind the port given on the command line and listen()");
  return undefined;
}

/** The origin sent the object's body again for this fetch (a 200, not a 304 to a conditional request). */
const originServed = (f: ProxyFetch | undefined, path: string): RequestRecord[] => (f?.origin ?? []).filter((o) => o.path.endsWith(path) && o.status === 200);

const requirements: Requirement<ProxyRecord>[] = [
  {
    id: "fetch",
    text: "GET through the proxy (http://proxy:port/host:port/path or absolute-form) returns the object",
    level: "required",
    judge(r) {
      const early = notListening(r);
      if (early) return early;
      const m = answer(r.first);
      if (r.form === undefined || m === undefined) return fail(describe(r.first), "take host and port from the path ('/127.0.0.1:8080/file'), connect there and forward 'GET /file'");
      const diff = firstDifference(m.body, r.small);
      if (statusOf(m) !== 200 || diff !== undefined) return fail(`${describe(r.first)}${diff === undefined ? "" : `: ${diff}`}`, "send the client everything the origin answered");
      return pass(`${r.form === "lab" ? "lab form /host:port/path" : "absolute-form"}: ${describe(r.first)}, ${r.first?.origin.length ?? 0} request to the origin`);
    },
  },
  {
    id: "cache",
    text: "the second request is answered from the cache, without the origin sending the object again",
    level: "required",
    judge(r) {
      const early = notListening(r);
      if (early) return early;
      if (r.form === undefined) return fail("the first fetch did not work", "get the first fetch right");
      const m = answer(r.second);
      if (statusOf(m) !== 200 || m === undefined || !m.body.equals(r.small)) return fail(`the second request got ${describe(r.second)}`, "a cache hit sends the stored response, status line and headers included");
      const again = originServed(r.second, "small.html");
      if (again.length > 0) return fail(`the origin served the object again (${again.length} request${again.length === 1 ? "" : "s"} with 200)`, "before forwarding, look the URL up in the cache (os.path.exists(filename)) and answer from the file");
      const revalidated = (r.second?.origin.length ?? 0) > 0;
      return pass(`${describe(r.second)}; origin ${revalidated ? "asked only to revalidate (304)" : "not contacted"}`);
    },
  },
  {
    id: "not-found",
    text: "a 404 from the origin reaches the client",
    level: "required",
    judge(r) {
      const early = notListening(r);
      if (early) return early;
      if (r.form === undefined) return fail("the first fetch did not work", "get the first fetch right");
      return statusOf(answer(r.missing)) === 404 ? pass(describe(r.missing)) : fail(describe(r.missing), "pass the origin's response through whatever its status (and do not cache it as if it were the object)");
    },
  },
  {
    id: "big",
    text: "(optional 3.3) an object larger than 4 KiB comes through intact, fetched and from the cache",
    level: "optional",
    judge(r) {
      if (r.form === undefined) return skip("not tried: the first fetch did not work");
      for (const [f, when] of [[r.bigFirst, "fetched"], [r.bigSecond, "from the cache"]] as const) {
        const m = answer(f);
        const diff = m === undefined ? "no answer" : firstDifference(m.body, r.big);
        if (statusOf(m) !== 200 || diff !== undefined) return fail(`${when}: ${describe(f)}${diff === undefined ? "" : `; ${diff}`}`, "read from the origin until recv returns b'' (or Content-Length bytes), not one recv(4096)");
      }
      return pass(`${r.big.length} bytes intact, fetched and from the cache`);
    },
  },
  {
    id: "post",
    text: "(optional 3.1) POST is forwarded to the origin with its body",
    level: "optional",
    judge(r) {
      if (r.form === undefined || r.post === undefined) return skip("not tried: the first fetch did not work");
      const req = parseHttpMessage(Buffer.from(r.post.originRaw, "latin1"));
      if (req === undefined) return fail(`the origin got nothing; the client got ${describe(r.post)}`, "forward methods other than GET too");
      if (!req.startLine.startsWith("POST ")) return fail(`the origin got '${clip(req.startLine, 40)}'`, "keep the method of the client's request");
      if (!req.body.toString("latin1").includes(r.post.body)) return fail(`'${clip(req.startLine, 40)}' with body '${clip(req.body.toString("latin1"), 40)}'`, "forward the request body (Content-Length bytes after the blank line)");
      return pass(`the origin got '${clip(req.startLine, 40)}' with the ${r.post.body.length}-byte body`);
    },
  },
  {
    id: "validate",
    text: "(optional 3.2) a cached object is validated with If-Modified-Since (304 from the origin)",
    level: "optional",
    judge(r) {
      if (r.form === undefined) return skip("not tried: the first fetch did not work");
      const raw = r.originRequests.find((q) => /^GET \S*small\.html/.test(q) && /\r\n(if-modified-since|if-none-match):/i.test(q));
      if (raw === undefined) return fail("no conditional request reached the origin", "when serving from the cache, ask the origin with If-Modified-Since: <the stored Last-Modified>; on 304 send the cached copy");
      const line = raw.split("\r\n").find((l) => /^(if-modified-since|if-none-match):/i.test(l)) ?? "";
      const answered = (r.second?.origin ?? []).some((o) => o.status === 304);
      return answered ? pass(`'${clip(line, 60)}' → 304`) : fail(`'${clip(line, 60)}' sent, but the origin did not answer 304`, "send the stored Last-Modified value unchanged");
    },
  },
  {
    id: "https",
    text: "(optional 3.4) HTTPS: CONNECT host:port opens a tunnel, TLS with the origin goes through it",
    level: "optional",
    judge(r) {
      if (r.form === undefined) return skip("not tried: the first fetch did not work");
      if (r.https === undefined) return skip("not tried");
      if (typeof r.https === "string") return skip(r.https);
      const t = r.https;
      const relay = "parse 'CONNECT host:port', connect there, answer 'HTTP/1.1 200 Connection established\\r\\n\\r\\n', then copy bytes both ways (two threads, or select) until one side closes";
      const status = t.reply?.split("\r\n")[0];
      if (status === undefined) return fail(`CONNECT ${t.authority} → no reply (${t.ended ?? "closed"})`, relay);
      if (!/^HTTP\/1\.[01] 2\d\d/.test(status)) return fail(`CONNECT ${t.authority} → '${clip(status, 50)}'`, relay);
      if (t.ended !== "complete") return fail(`CONNECT ${t.authority} → '${clip(status, 50)}' without the blank line that ends the head (${t.ended ?? ""})`, "end the 200 reply with an empty line: '...established\\r\\n\\r\\n'");
      if (t.tlsError !== undefined) return fail(`CONNECT → '${clip(status, 40)}', then the TLS handshake through the tunnel failed: ${clip(t.tlsError, 60)}`, "after the 200, relay the raw bytes unchanged both ways: do not parse, cache or rewrite them");
      const m = t.inner === undefined ? undefined : parseHttpMessage(t.inner.raw);
      const diff = m === undefined ? "no answer inside the tunnel" : firstDifference(m.body, r.secure);
      if (statusOf(m) !== 200 || diff !== undefined) return fail(`CONNECT → '${clip(status, 40)}', ${t.tls ?? "TLS"}, then GET /secure.html → ${m === undefined ? `nothing, the tunnel ${t.inner?.ended ?? "closed"}` : `'${clip(m.startLine, 30)}'`}${diff === undefined || m === undefined ? "" : `; ${diff}`}`, "keep relaying until the origin closes, in both directions");
      return pass(`CONNECT ${t.authority} → '${clip(status, 40)}', ${t.tls ?? "TLS"} to the origin through the tunnel, GET /secure.html → 200, ${m?.body.length ?? 0} bytes intact`);
    },
  },
];

const labTarget = (originPort: number, path: string): string => `/127.0.0.1:${originPort}/${path}`;
const absoluteTarget = (originPort: number, path: string): string => `http://127.0.0.1:${originPort}/${path}`;

export const proxyLab = defineLab<ProxyRecord>({
  name: "proxy",
  summary: "caching proxy lab: fetch, second request from the cache, 404 passed on; POST, If-Modified-Since, > 4 KiB, CONNECT for HTTPS",
  role: "server",
  example: "wirekit check proxy -- python3 ProxyServer.py {port}",
  defaultTimeoutMs: 20_000,
  netns: true,
  requirements,
  async collect(env: LabEnv) {
    const site = await mkdtemp(join(tmpdir(), "wirekit-check-origin-"));
    const big = bigObject();
    await writeFile(join(site, "small.html"), SMALL);
    await writeFile(join(site, "big.txt"), big);
    const origin = await createStaticServer({ root: site, host: "127.0.0.1", port: 0, keepAliveTimeoutMs: 500 });
    const records: RequestRecord[] = [];
    origin.on("event", (e) => e.kind === "request" && void records.push(e.record));
    const tap = await new TcpTap({ targetPort: origin.port }).listen();
    // Under --netns the proxy reaches the origin (through the tap) and nothing else.
    await env.netns?.allow(tap.port);
    // 3.4: the HTTPS origin, with a certificate made for the run that the check trusts.
    const secureOrigin = await makeSelfSigned(site, "origin").then(
      async (tls) => {
        await writeFile(join(site, "secure.html"), SECURE);
        const server = await createStaticServer({ root: site, host: "127.0.0.1", port: 0, keepAliveTimeoutMs: 500, tls: { key: tls.key, cert: tls.cert }, http2: false });
        let requests = 0;
        server.on("event", (e) => e.kind === "request" && requests++);
        await env.netns?.allow(server.port);
        return { server, cert: tls.cert, requests: () => requests };
      },
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    const record: ProxyRecord = { listening: false, small: SMALL, big, secure: SECURE, originRequests: [] };
    const srv = await startServer(env, "tcp");
    record.listening = srv.listening;
    try {
      if (srv.listening) {
        const fetch = async (label: string, target: string, method = "GET", body = ""): Promise<ProxyFetch> => {
          const before = records.length;
          const head = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\n${body === "" ? "" : `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n`}\r\n`;
          const x = await exchange(takeConnection(srv), head + body, Math.min(4000, remaining(srv.deadline)));
          // The proxy may still be talking to the origin (writing its cache) after answering.
          await new Promise((r) => setTimeout(r, 30));
          return { label, exchange: x, origin: records.slice(before) };
        };
        const ok = (f: ProxyFetch): boolean => statusOf(answer(f)) === 200 && answer(f)?.body.equals(SMALL) === true;
        record.first = await fetch("first", labTarget(tap.port, "small.html"));
        if (ok(record.first)) record.form = "lab";
        else {
          const abs = await fetch("first", absoluteTarget(tap.port, "small.html"));
          if (ok(abs)) {
            record.first = abs;
            record.form = "absolute";
          }
        }
        if (record.form !== undefined) {
          const target = record.form === "lab" ? labTarget : absoluteTarget;
          record.second = await fetch("second", target(tap.port, "small.html"));
          record.missing = await fetch("missing", target(tap.port, "missing.html"));
          record.bigFirst = await fetch("big", target(tap.port, "big.txt"));
          record.bigSecond = await fetch("big again", target(tap.port, "big.txt"));
          const body = "name=wirekit&lab=proxy";
          const tapBefore = tap.connections.length;
          const post = await fetch("post", target(tap.port, "form"), "POST", body);
          const originRaw = tap.connections.slice(tapBefore).map((c) => TcpTap.bytes(c, "c2s").toString("latin1")).join("");
          record.post = { ...post, body, originRaw };
          if (typeof secureOrigin === "string") record.https = `HTTPS origin not started: ${secureOrigin}`;
          else {
            const authority = `127.0.0.1:${secureOrigin.server.port}`;
            const t = await tunnel(takeConnection(srv), authority, secureOrigin.cert, "/secure.html", Math.min(4000, remaining(srv.deadline)));
            record.https = { ...t, originRequests: secureOrigin.requests() };
          }
        }
      }
      record.originRequests = tap.connections.map((c) => TcpTap.bytes(c, "c2s").toString("latin1"));
    } finally {
      record.run = await srv.proc.stop();
      await tap.close();
      await origin.close();
      if (typeof secureOrigin !== "string") await secureOrigin.server.close();
      await rm(site, { recursive: true, force: true });
    }
    return { record, runs: [record.run] };
  },
});

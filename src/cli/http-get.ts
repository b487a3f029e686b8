/**
 * `wirekit http get <server_address> <server_port> <filename>` and `wirekit http get <url>`:
 * parse the command line, run the client (following redirects with -L), print the exchange.
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { parsePort, formatHostPort } from "../core/address.js";
import { WirekitError, usageError } from "../core/errors.js";
import { httpGet, type HttpExchange } from "../http/client/client.js";
import { secureRandom } from "../core/random.js";
import { planRequest, remoteFileName, rewriteJsonData } from "./http-get-request.js";
import { headerValue } from "../http/client/response.js";
import { parseForm } from "./spec.js";
import { getForm } from "./specs/http.js";
import { httpGetJson, httpGetLadder, renderDownloadProgress, renderHttpGetVerbose, renderHttpTiming, renderWriteOut, responseDecision, type HttpGetWireEvent } from "../render/http-get.js";
import type { CliContext, OutStream } from "./context.js";

/** The client half of `wirekit http --help`. */

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Write bytes to a stream whose type only promises strings (process streams take both). */
function writeBytes(s: OutStream, b: Buffer): void {
  (s.write as (c: string | Uint8Array) => unknown).call(s, b);
}

/** The URL for the lab form: `host port filename` → http://host:port/filename. */
export function labUrl(host: string, port: number, filename: string): URL {
  const path = filename.startsWith("/") ? filename : `/${filename}`;
  // Spaces and non-ASCII become %XX; an existing %XX is left alone.
  const enc = Array.from(path, (c) => (/^[\x21-\x7e]$/.test(c) ? c : encodeURIComponent(c))).join("");
  return new URL(`http://${formatHostPort(host, port)}${enc}`);
}

function parseUrl(text: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  try {
    return new URL(withScheme);
  } catch {
    throw usageError(`invalid URL '${text}'`);
  }
}

export async function runGet(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseForm(getForm, rewriteJsonData(argv));
  let url: URL;
  if (positionals.length === 3) url = labUrl(positionals[0] ?? "", parsePort(positionals[1] ?? "", "server_port", false), positionals[2] ?? "");
  else if (positionals.length === 1) url = parseUrl(positionals[0] ?? "");
  else throw usageError(positionals.length === 0 ? "missing URL or <server_address> <server_port> <filename> (see --help)" : "expected a URL or <server_address> <server_port> <filename>");
  const plan = planRequest(values, ctx.random ?? secureRandom);
  let headers = plan.headers;
  let method = plan.method;
  let body = plan.body;
  const proxy = values.proxy === undefined ? undefined : parseUrl(values.proxy);
  if (proxy !== undefined && proxy.protocol !== "http:") throw usageError("only http:// proxies are supported");
  const maxRedirs = values["max-redirs"];
  const timeoutMs = values["max-time"];
  const json = values.json === true;
  const verbose = values.verbose === true;
  const silent = values.silent === true;
  const caPath = values.ca ?? values.cacert;
  const ca = caPath === undefined ? undefined : readCa(caPath);
  const outPath = values.output ?? (values["remote-name"] === true ? remoteFileName(url) : undefined);
  // Where the head goes besides -v's stderr copy: with the body when asked for (-i, -I), and by
  // default when the body goes to stdout (the lab's client shows the response as received).
  // --diagram and --pcap load their modules only when asked for: a plain get starts faster.
  const diagram = values.diagram === undefined ? undefined : await import("./diagram.js");
  if (values.diagram !== undefined) diagram?.diagramFormat(values.diagram);
  if (values.pcap !== undefined && (url.protocol === "https:" || proxy?.protocol === "https:")) throw usageError("--pcap: an https exchange is encrypted on the wire; only http:// can be captured");
  const wire = values.diagram === undefined ? undefined : new (await import("../render/record.js")).EventLog<HttpGetWireEvent>(ctx.clock);
  const headWithBody = values.include === true || values.head === true || (outPath === undefined && !silent && !verbose);

  const pcap = values.pcap === undefined ? undefined : (await import("./pcap.js")).openTcpCapture(values.pcap, ctx, "http get");
  const annotate = pcap === undefined ? undefined : (await import("../core/pcap-file.js")).PcapFile.annotate;
  try {
    return await transfer();
  } catch (err) {
    // -s: no error message (the exit status still says what happened); -S brings it back.
    if (silent && values["show-error"] !== true && err instanceof WirekitError && err.code !== "ERR_USAGE") return err.exitCode;
    throw err;
  } finally {
    pcap?.close();
  }

  async function transfer(): Promise<number> {
    const file = outPath === undefined ? undefined : openOutput(outPath);
    const jsonBody: Buffer[] = [];
    const progress = file !== undefined && ctx.stderr.isTTY === true && !json && !silent ? new Progress(ctx) : undefined;
    const sink = (b: Buffer): void => {
      if (file !== undefined) writeSync(file, b);
      else writeBytes(ctx.stdout, b);
    };
    let ex: HttpExchange | undefined;
    let suppressBody = false;
    let redirects = 0;
    try {
      for (let hop = 0; ; hop++) {
        const following = values.location === true;
        let isRedirect = false;
        suppressBody = false;
        ex = await httpGet({
          url,
          method,
          headers,
          body,
          proxy,
          insecure: values.insecure === true,
          ca,
          timeoutMs,
          raw: values.raw === true,
          clock: ctx.clock,
          signal: ctx.signal,
          ...(pcap === undefined ? {} : { tap: pcap.capture }),
          onRequest: (requestHead, remote) => {
            const e: HttpGetWireEvent = { kind: "request", head: requestHead, remote, url, proxy: proxy !== undefined };
            wire?.push(e);
            if (verbose) ctx.stderr.write(renderHttpGetVerbose(e));
          },
          onHead: (head, interim) => {
            const e: HttpGetWireEvent = { kind: "head", head, interim };
            wire?.push(e);
            if (pcap !== undefined && annotate !== undefined && !interim) annotate(pcap.capture.lastReceived, responseDecision(head, following));
            isRedirect = !interim && following && REDIRECTS.has(head.status) && headerValue(head, "location") !== undefined;
            if (!interim && values.fail === true && head.status >= 400) suppressBody = true;
            if (json || (suppressBody && !verbose)) return;
            if (verbose) ctx.stderr.write(renderHttpGetVerbose(e));
            if (headWithBody && !suppressBody) sink(head.raw);
            progress?.start(Number(headerValue(head, "content-length") ?? NaN));
          },
          onBody: (chunk) => {
            wire?.push({ kind: "body", bytes: chunk.length });
            if (isRedirect || suppressBody) return;
            if (json) jsonBody.push(chunk);
            else {
              sink(chunk);
              progress?.add(chunk.length);
            }
          },
        });
        if (!isRedirect) break;
        if (hop >= maxRedirs) throw new WirekitError("ERR_TARGET", `too many redirects (more than ${maxRedirs}); last Location: ${headerValue(ex.head, "location") ?? ""}`);
        redirects++;
        const next = new URL(headerValue(ex.head, "location") ?? "/", url);
        // Credentials typed for one host are not handed to another (as curl does).
        if (next.host !== url.host) headers = headers.filter(([n]) => !["authorization", "cookie", "proxy-authorization"].includes(n.toLowerCase()));
        // RFC 9110 §15.4: 303 means "GET the answer"; after 301/302 a POST becomes a GET as every
        // client does; 307/308 repeat the request with its body. -X keeps its method, as in curl.
        const st = ex.head.status;
        if (!plan.explicitMethod && (st === 303 ? method !== "HEAD" : (st === 301 || st === 302) && method === "POST")) {
          method = "GET";
          body = undefined;
        }
        url = next;
      }
    } finally {
      progress?.done();
      if (file !== undefined) closeSync(file);
      // Drawn on failure too: a refused or timed-out exchange is worth seeing.
      if (values.diagram !== undefined && wire !== undefined && diagram !== undefined) await diagram.writeDiagram(values.diagram, httpGetLadder(wire.entries), ctx);
    }
    if (json) ctx.stdout.write(`${JSON.stringify(httpGetJson(ex, url, Buffer.concat(jsonBody)), null, 2)}\n`);
    if (values.timing) ctx.stderr.write(renderHttpTiming(ex));
    if (values["write-out"] !== undefined) ctx.stdout.write(renderWriteOut(values["write-out"], ex, url, redirects));
    if (suppressBody) throw new WirekitError("ERR_REJECTED", `server returned ${ex.head.status} ${ex.head.reason}`.trimEnd(), { exitCode: 22 });
    return 0;
  }
}

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new WirekitError("ERR_LOCAL", `cannot read CA file '${path}': ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

function openOutput(path: string): number {
  try {
    return openSync(path, "w");
  } catch (err) {
    throw new WirekitError("ERR_LOCAL", `cannot write '${path}': ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

/** `-o FILE` progress bar on a terminal: bytes, total, rate, ETA. */
class Progress {
  #bytes = 0;
  #total = NaN;
  #t0 = 0;
  #last = -Infinity;
  constructor(private readonly ctx: CliContext) {}
  start(total: number): void {
    this.#total = total;
    this.#t0 = this.ctx.clock.monotonic();
  }
  add(n: number): void {
    this.#bytes += n;
    const now = this.ctx.clock.monotonic();
    if (now - this.#last >= 100) {
      this.#last = now;
      this.#draw(now);
    }
  }
  done(): void {
    if (this.#t0 === 0) return;
    this.#draw(this.ctx.clock.monotonic());
    this.ctx.stderr.write("\n");
  }
  #draw(now: number): void {
    this.ctx.stderr.write(`\r${renderDownloadProgress(this.#bytes, this.#total, Math.max(0.001, (now - this.#t0) / 1000))}`);
  }
}

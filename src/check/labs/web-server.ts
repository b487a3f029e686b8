/**
 * The web server lab (socket programming assignment 2-1, tasks 1, 2 and 5): the student's server
 * must answer a GET of a file in its directory with 200, its headers and exactly the file's
 * bytes, a missing file with 404, load in a real browser, and (optional) serve several clients at
 * once. The check is the client.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "node:net";
import { clip, fail, pass, skip, type Requirement, type Verdict } from "../requirement.js";
import { defineLab, type LabEnv } from "../lab.js";
import { firstDifference, headerValue, parseHttpMessage, responseProblems, statusOf } from "../http-message.js";
import { collect, exchange, type Exchange } from "../tcp-fetch.js";
import { remaining, startServer, takeConnection } from "../server-program.js";
import type { StudentResult } from "../runner.js";

/** The page the check puts beside the program and asks for. */
export const PAGE_NAME = "wirekit-check.html";
export const MISSING_NAME = "no-such-page.html";

/** About 24 KB of ASCII HTML: bigger than one recv/send buffer, so a server that sends only its first chunk shows. */
export function testPage(): Buffer {
  const rows: string[] = [];
  for (let i = 1; i <= 400; i++) rows.push(`<p id="row${i}">Row ${i} of the wirekit check page: every byte must arrive.</p>`);
  return Buffer.from(`<!DOCTYPE html>\n<html><head><title>wirekit check</title></head>\n<body>\n<h1 id="marker">wirekit check page</h1>\n${rows.join("\n")}\n</body></html>\n`);
}

export interface WebServerRecord {
  listening: boolean;
  startMs: number;
  page: Buffer;
  existing?: Exchange;
  missing?: Exchange;
  /** The second client's exchange while the first one held its connection open; undefined when not tried. */
  concurrent?: Exchange;
  /** Chromium's rendering of the page; a string when skipped. */
  browser?: { dom: string; error?: string } | string;
  run?: StudentResult;
}

const request = (path: string, port: number): string => `GET /${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;

function notReached(r: WebServerRecord): Verdict | undefined {
  if (!r.listening) return fail(`nothing listened on {port}${r.run?.stderr ? `; stderr: ${clip(r.run.stderr.trim(), 120)}` : ""}`, "bind to the port given on the command line (serverSocket.bind(('', port))) and listen()");
  return undefined;
}

function exchangeEvidence(x: Exchange | undefined): string {
  if (x === undefined) return "no request was made";
  const m = parseHttpMessage(x.raw);
  if (m === undefined) return x.ended === "timeout" ? "no answer before the time limit" : `the connection ended with no answer (${x.error ?? x.ended})`;
  return `'${clip(m.startLine, 60)}'${m.headers.length > 0 ? ` + ${m.headers.map(([k]) => k).join(", ")}` : ", no headers"}; ${m.body.length} body bytes`;
}

const requirements: Requirement<WebServerRecord>[] = [
  {
    id: "listen",
    text: "listens on the given port and accepts a TCP connection",
    level: "required",
    judge: (r) => notReached(r) ?? pass(`accepted a connection ${Math.round(r.startMs)} ms after the start`),
  },
  {
    id: "get-200",
    text: "GET of an existing file: a well-formed HTTP response with status 200",
    level: "required",
    judge(r) {
      const early = notReached(r);
      if (early) return early;
      const m = r.existing === undefined ? undefined : parseHttpMessage(r.existing.raw);
      if (m === undefined) return fail(exchangeEvidence(r.existing), "send a status line 'HTTP/1.1 200 OK', header lines and a blank line, then the file");
      // The head only: a body shorter than its Content-Length is the next requirement's business.
      const problems = responseProblems(m).filter((p) => !p.startsWith("Content-Length says"));
      if (statusOf(m) !== 200) return fail(exchangeEvidence(r.existing), "the file exists beside the program: open(filename[1:]) and answer 200");
      if (problems.length > 0) return fail(`${exchangeEvidence(r.existing)}: ${problems[0] ?? ""}`, "end every header line with \\r\\n and the head with an empty line \\r\\n");
      return pass(exchangeEvidence(r.existing));
    },
  },
  {
    id: "get-body",
    text: "the response carries exactly the file's bytes",
    level: "required",
    judge(r) {
      const early = notReached(r);
      if (early) return early;
      const m = r.existing === undefined ? undefined : parseHttpMessage(r.existing.raw);
      if (m === undefined || !m.headComplete) return fail(exchangeEvidence(r.existing), "send the head, an empty line, then the whole file");
      const diff = firstDifference(m.body, r.page);
      if (diff === undefined) return pass(`${m.body.length} bytes, identical to ${PAGE_NAME}`);
      const cl = headerValue(m, "content-length");
      return fail(`${diff}${cl === undefined ? "" : ` (Content-Length: ${cl})`}`, "send the whole file (sendall, or loop until every byte is sent) before closing the connection");
    },
  },
  {
    id: "missing-404",
    text: "a missing file gets a 404 Not Found response",
    level: "required",
    judge(r) {
      const early = notReached(r);
      if (early) return early;
      const m = r.missing === undefined ? undefined : parseHttpMessage(r.missing.raw);
      if (statusOf(m) === 404) return pass(exchangeEvidence(r.missing));
      return fail(exchangeEvidence(r.missing), "catch IOError when the file cannot be opened and send 'HTTP/1.1 404 Not Found'");
    },
  },
  {
    id: "browser",
    text: "the page loads in a real browser (Chromium)",
    level: "optional",
    judge(r) {
      if (typeof r.browser === "string") return skip(r.browser);
      if (r.browser === undefined) return skip("not tried: the server did not answer");
      // The heading as an element: a page sent as text/plain shows its source, where it is "&lt;h1 id=...".
      if (r.browser.dom.includes('<h1 id="marker">')) return pass("Chromium rendered the page's heading");
      if (r.browser.dom.includes('&lt;h1 id="marker"&gt;')) {
        const m = r.existing === undefined ? undefined : parseHttpMessage(r.existing.raw);
        const type = m === undefined ? undefined : headerValue(m, "content-type");
        return fail(`Chromium showed the page's source as text, not the page (Content-Type: ${type ?? "none"})`, "send 'Content-Type: text/html' with an .html file");
      }
      return fail(r.browser.error ?? `Chromium showed: ${clip(r.browser.dom, 80)}`, "a browser needs the status line and the blank line before the body");
    },
  },
  {
    id: "concurrent",
    text: "(optional task 5) serves a second client while the first one is still connected",
    level: "optional",
    judge(r) {
      if (r.concurrent === undefined) return skip("not tried: the server did not answer one client");
      const m = parseHttpMessage(r.concurrent.raw);
      if (statusOf(m) === 200) return pass(`the second client got ${exchangeEvidence(r.concurrent)} in ${Math.round(r.concurrent.ms)} ms`);
      return fail(`the second client waited ${Math.round(r.concurrent.ms)} ms: ${exchangeEvidence(r.concurrent)}`, "serve each accepted connection in its own thread (threading.Thread(target=..., args=(conn,)).start())");
    },
  },
];

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

async function browse(url: string, profile: string, timeoutMs: number): Promise<{ dom: string; error?: string } | string> {
  const { existsSync } = await import("node:fs");
  const bin = CHROMIUM.find((c) => existsSync(c));
  if (bin === undefined) return "Chromium is not installed";
  return new Promise((resolve) => {
    const child = spawn(bin, ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", `--user-data-dir=${profile}`, "--dump-dom", url], { stdio: ["ignore", "pipe", "ignore"], detached: true });
    let dom = "";
    child.stdout.on("data", (b: Buffer) => (dom += b.toString("utf8")));
    const t = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on("error", (e) => resolve({ dom: "", error: e.message }));
    child.on("close", () => {
      clearTimeout(t);
      resolve({ dom });
    });
  });
}

/** The options this lab reads from the command line. */
export interface WebServerOptions {
  /** Try the page in Chromium. @default true */
  browser?: boolean;
}

export function createWebServerLab(options: WebServerOptions = {}) {
  return defineLab<WebServerRecord>({
    name: "web-server",
    summary: "web server lab: 200 with the file's exact bytes, 404, a real browser, several clients at once",
    role: "server",
    example: "wirekit check web-server -- python3 WebServer.py {port}",
    defaultTimeoutMs: 20_000,
    netns: true,
    requirements,
    async collect(env: LabEnv) {
      const page = testPage();
      await writeFile(join(env.workdir, PAGE_NAME), page);
      const srv = await startServer(env, "tcp", { file: PAGE_NAME });
      const record: WebServerRecord = { listening: srv.listening, startMs: srv.startMs, page };
      if (srv.listening) {
        const per = (): number => Math.min(3000, remaining(srv.deadline));
        record.existing = await exchange(takeConnection(srv), request(PAGE_NAME, srv.port), per());
        record.missing = await exchange(srv.port, request(MISSING_NAME, srv.port), per());
        if (statusOf(parseHttpMessage(record.existing.raw)) === 200) {
          record.browser = options.browser === false ? "not asked (--no-browser)" : await browse(`http://127.0.0.1:${srv.port}/${PAGE_NAME}`, join(env.workdir, ".wirekit-chromium"), Math.min(15_000, remaining(srv.deadline)));
          // A first client that connected and has not sent its request yet: a one-at-a-time server is stuck in recv on it.
          const first = connect({ host: "127.0.0.1", port: srv.port });
          const firstDone = collect(first, per() + 2000);
          await new Promise((r) => setTimeout(r, 100));
          record.concurrent = await exchange(srv.port, request(PAGE_NAME, srv.port), Math.min(1000, remaining(srv.deadline)));
          if (!first.destroyed) first.write(request(PAGE_NAME, srv.port));
          await firstDone;
        }
      }
      record.run = await srv.proc.stop();
      return { record, runs: [record.run] };
    },
  });
}

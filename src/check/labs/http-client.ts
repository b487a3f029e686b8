/**
 * The HTTP client lab (assignment 2-1, tasks 3 and 4): `client.py server_address server_port
 * filename` sends a GET and prints the server's response, for an existing file and for a missing
 * one. The check is the server (wirekit's static server behind a recording relay), so it also
 * judges the request the client sent.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStaticServer } from "../../http/static/server.js";
import { clip, fail, pass, type Requirement, type Verdict } from "../requirement.js";
import { defineLab, studentPrefix, type LabEnv } from "../lab.js";
import { headerValue, parseHttpMessage } from "../http-message.js";
import { StudentProcess, type StudentResult } from "../runner.js";
import { TcpTap } from "../tap.js";

export const FILE_NAME = "hello.html";
export const MISSING_NAME = "missing.html";
const PAGE = '<!DOCTYPE html>\n<html><head><title>wirekit</title></head><body><p id="marker">Hello from the wirekit check server</p></body></html>\n';

export interface HttpClientRecord {
  /** The requests of the run for the existing file (raw bytes per connection). */
  requests: Buffer[];
  existing?: StudentResult;
  missing?: StudentResult;
}

function notRun(r: StudentResult | undefined): Verdict | undefined {
  if (r === undefined) return fail("the program was not run", "");
  if (r.spawnError !== undefined) return fail(`could not start: ${r.spawnError}`, "check the command line");
  return undefined;
}

function stdoutLine(out: string, re: RegExp): string | undefined {
  return out.split(/\r?\n/).find((l) => re.test(l));
}

const requirements: Requirement<HttpClientRecord>[] = [
  {
    id: "get-request",
    text: "sends a valid HTTP GET request for the file given on the command line",
    level: "required",
    judge(r) {
      const raw = r.requests[0];
      if (raw === undefined || raw.length === 0) return notRun(r.existing) ?? fail("no request reached the server", "connect to server_address:server_port from the command line and send the request");
      const m = parseHttpMessage(raw);
      const line = m?.startLine ?? "";
      const rl = /^([A-Z]+) (\S+) HTTP\/(1\.[01])$/.exec(line);
      if (m === undefined || rl === null) return fail(`request line '${clip(line, 60)}'`, "the request line is 'GET /filename HTTP/1.1' followed by \\r\\n");
      if (rl[1] !== "GET") return fail(`method ${rl[1] ?? ""}`, "the lab asks for GET");
      if (rl[2] !== `/${FILE_NAME}`) return fail(`request target '${clip(rl[2] ?? "", 60)}', wanted '/${FILE_NAME}'`, rl[2] === FILE_NAME ? "the request target starts with '/': 'GET /' + filename" : "ask for the filename given as the third argument");
      if (m.problems.length > 0) return fail(`'${clip(line, 60)}': ${m.problems[0] ?? ""}`, "end each line with \\r\\n and the request with an empty line");
      if (rl[3] === "1.1" && headerValue(m, "host") === undefined) return fail(`'${line}' without a Host header`, "HTTP/1.1 requires a Host header (RFC 9112 §3.2)");
      return pass(`'${line}'${m.headers.length > 0 ? ` + ${m.headers.map(([k]) => k).join(", ")}` : ""}`);
    },
  },
  {
    id: "show-200",
    text: "prints the server's response for an existing file (status line and page)",
    level: "required",
    judge(r) {
      const early = notRun(r.existing);
      if (early) return early;
      const out = r.existing?.stdout ?? "";
      const status = stdoutLine(out, /HTTP\/1\.[01] 200/);
      const other = stdoutLine(out, /HTTP\/1\.[01] \d{3}/);
      if (status === undefined && other !== undefined) return fail(`the server answered '${clip(other.trim(), 40)}'`, "the server refused the request: see the request requirement");
      if (status === undefined) return fail(`stdout: ${clip(out.trim() || "(nothing)", 80)}`, "print everything the server sent, the status line too");
      if (!out.includes("Hello from the wirekit check server")) return fail(`printed '${clip(status, 40)}' but not the page`, "keep reading (recv in a loop until it returns b'') and print the body too");
      return pass(`'${clip(status.trim(), 40)}' and the page`);
    },
  },
  {
    id: "show-404",
    text: "prints the 404 response for a missing file",
    level: "required",
    judge(r) {
      const early = notRun(r.missing);
      if (early) return early;
      const out = r.missing?.stdout ?? "";
      const status = stdoutLine(out, /HTTP\/1\.[01] 404/);
      const other = stdoutLine(out, /HTTP\/1\.[01] \d{3}/);
      if (status === undefined && other !== undefined) return fail(`the server answered '${clip(other.trim(), 40)}'`, "the server refused the request: see the request requirement");
      return status === undefined ? fail(`stdout: ${clip(out.trim() || "(nothing)", 80)}`, "print the response whatever its status") : pass(`'${clip(status.trim(), 60)}'`);
    },
  },
];

export const httpClientLab = defineLab<HttpClientRecord>({
  name: "http-client",
  summary: "HTTP client lab: a valid GET for the file, the response printed for 200 and 404",
  role: "client",
  example: "wirekit check http-client -- python3 client.py {host} {port} {file}",
  defaultTimeoutMs: 10_000,
  netns: true,
  requirements,
  async collect(env: LabEnv) {
    const site = await mkdtemp(join(tmpdir(), "wirekit-check-site-"));
    await writeFile(join(site, FILE_NAME), PAGE);
    // A short keep-alive: a client that reads until the server closes must not wait 5 s per run.
    const server = await createStaticServer({ root: site, host: "127.0.0.1", port: 0, keepAliveTimeoutMs: 300 });
    const tap = await new TcpTap({ targetPort: server.port }).listen();
    const prefix = await studentPrefix(env, tap.port);
    const runOnce = (file: string): Promise<StudentResult> =>
      new StudentProcess({ command: env.command, prefix, vars: { host: "127.0.0.1", port: String(tap.port), file, dir: env.dir }, cwd: env.workdir, timeoutMs: env.timeoutMs }).done;
    try {
      const existing = await runOnce(FILE_NAME);
      const requests = tap.connections.map((c) => TcpTap.bytes(c, "c2s"));
      const missing = await runOnce(MISSING_NAME);
      return { record: { requests, existing, missing }, runs: [existing, missing] };
    } finally {
      await tap.close();
      await server.close();
      await rm(site, { recursive: true, force: true });
    }
  },
});

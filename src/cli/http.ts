/** `wirekit http serve [ROOT] ...` and `wirekit http get ...`: parse, call the library, print. */
import { readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { WirekitError, usageError } from "../core/errors.js";
import { renderStaticListening, renderStaticServerEvent, renderStaticTotals } from "../render/http-server.js";
import { parseAuthFile, parseCredential, type Credential } from "../http/static/basic-auth.js";
import { isFieldValue, parseHeaderOption } from "../http/static/response-fields.js";
import { optionNumber, parseForm, portHint } from "./spec.js";
import { httpSpec, serveForm } from "./specs/http.js";
import { tcpImpairmentFromValues } from "./specs/impair.js";
import type { CliContext } from "./context.js";
import type { H1Capture } from "../http/h1/server.js";

export const spec = httpSpec;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === "serve") return serve(argv.slice(1), ctx);
  // Each subcommand loads only its own side: `http get` never loads the server, nor `serve` the client.
  if (argv[0] === "get") return (await import("./http-get.js")).runGet(argv.slice(1), ctx);
  throw usageError(argv[0] === undefined ? "missing subcommand: serve or get (see --help)" : `unknown subcommand '${argv[0]}' (serve or get)`);
}

async function serve(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseForm(serveForm, argv);
  const [root = "."] = positionals;
  // "http serve 8000": a port written where the directory goes.
  if (portHint(serveForm, root) !== "" && !isDirectory(root)) throw usageError(`'${root}' is not a directory${portHint(serveForm, root)}`);
  const workers = values.workers === "auto" ? availableParallelism() : optionNumber("workers", { type: "integer", min: 1, max: 256, help: "" }, values.workers);
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) throw usageError("--tls-cert and --tls-key go together");
  const tls = values["tls-cert"] !== undefined && values["tls-key"] !== undefined ? { cert: readPem(values["tls-cert"]), key: readPem(values["tls-key"]) } : undefined;
  const headers = values.header.map((h) => {
    const r = parseHeaderOption(h);
    if (!r.ok) throw usageError(r.reason);
    return r.field;
  });
  const cacheControl = values["cache-control"];
  if (cacheControl !== undefined && (cacheControl.trim() === "" || !isFieldValue(cacheControl))) throw usageError("invalid --cache-control value (printable ASCII only)");
  const auth = credentials(values.auth, values["auth-file"]);
  const spa = values.spa;
  if (spa !== undefined && (spa === "" || spa.split("/").some((s) => s === ".." || s.startsWith(".")))) throw usageError(`invalid --spa file '${spa}' (a path under ROOT)`);
  const impair = tcpImpairmentFromValues(values);
  if (values.pcap !== undefined && tls !== undefined) throw usageError("--pcap: with --tls every exchange is encrypted on the wire; capture a plain http server");
  if (values.pcap !== undefined && workers > 1) throw usageError("--pcap captures one process: use it with --workers 1");
  // --pcap loads its modules only when asked for; the file is opened before the port (a bad path is one line, exit 2).
  const pcap = values.pcap === undefined ? undefined : (await import("./pcap.js")).openTcpServerCapture(values.pcap, ctx, "http serve", (await import("../render/pcap.js")).staticResponseDecision, values["pcap-max-bytes"]);
  try {
    return await serveWith(values, { root, workers, tls, headers, cacheControl, auth, spa, impair }, ctx, pcap?.capture);
  } finally {
    pcap?.close();
  }
}

type ServeValues = ReturnType<typeof parseForm<typeof serveForm.options>>["values"];

async function serveWith(
  values: ServeValues,
  o: { root: string; workers: number; tls: { cert: Buffer; key: Buffer } | undefined; headers: Array<[string, string]>; cacheControl: string | undefined; auth: Credential[]; spa: string | undefined; impair: ReturnType<typeof tcpImpairmentFromValues> },
  ctx: CliContext,
  capture: H1Capture | undefined,
): Promise<number> {
  const { root, workers, tls, headers, cacheControl, auth, spa, impair } = o;
  const { createStaticServer } = await import("../http/static/server.js");
  let server;
  try {
    server = await createStaticServer({
      root,
      host: values.host,
      port: values.port,
      workers,
      cors: values.cors,
      listing: !values["no-listing"],
      dotfiles: values.dotfiles,
      followSymlinks: values["follow-symlinks"],
      tls,
      headersTimeoutMs: values["header-timeout"],
      keepAliveTimeoutMs: values["keepalive-timeout"],
      sendTimeoutMs: values["send-timeout"],
      http2: !values["no-http2"],
      spa,
      headers,
      cacheControl,
      auth,
      forwardRecords: !values.quiet,
      clock: ctx.clock,
      impair,
      ...(capture === undefined ? {} : { capture }),
    });
  } catch (err) {
    if (err instanceof WirekitError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new WirekitError("ERR_LOCAL", `cannot serve '${root}': no such directory`);
    throw new WirekitError("ERR_LOCAL", `cannot serve '${root}': ${err instanceof Error ? err.message : String(err)}`);
  }
  ctx.stdout.write(`${renderStaticListening(server, { tls: tls !== undefined, root, users: auth.length, impair })}\n`);
  server.on("event", (e) => {
    if (e.kind === "handler-error") ctx.stderr.write(`wirekit: ${renderStaticServerEvent(e)}\n`);
    else if (!values.quiet) ctx.stdout.write(`${renderStaticServerEvent(e)}\n`);
  });
  const totalsLine = (): string => renderStaticTotals(server.totals());
  const unregister = ctx.onStatusRequest(() => ctx.stderr.write(`${totalsLine()}\n`));
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  unregister();
  await server.close();
  ctx.stdout.write(`\n${totalsLine()}\n`);
  return 0;
}

/**
 * --auth and --auth-file together. Errors name the option or the line number, never the text:
 * it holds a password.
 */
function credentials(given: readonly string[], file: string | undefined): Credential[] {
  const out: Credential[] = [];
  given.forEach((text, i) => {
    const c = parseCredential(text);
    if (c === undefined) throw usageError(`invalid --auth #${i + 1} (write USER:PASSWORD; the user cannot be empty or contain ':')`);
    out.push(c);
  });
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      throw usageError(`cannot read --auth-file '${file}'`);
    }
    const r = parseAuthFile(text);
    if (!r.ok) throw usageError(`--auth-file '${file}' line ${r.line}: expected user:password`);
    if (r.credentials.length === 0) throw usageError(`--auth-file '${file}' holds no user:password line`);
    out.push(...r.credentials);
  }
  return out;
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new WirekitError("ERR_LOCAL", `cannot read '${path}'`);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `wirekit http serve [ROOT] ...` and `wirekit http get ...`: parse, call the library, print. */
import { readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { formatHostPort } from "../core/address.js";
import { WirekitError, usageError } from "../core/errors.js";
import { createStaticServer } from "../http/static/server.js";
import { formatAccessLog } from "../http/static/access-log.js";
import { optionNumber, parseForm, portHint } from "./spec.js";
import { renderHelp } from "./spec-doc.js";
import { httpSpec, serveForm } from "./specs/http.js";
import type { CliContext } from "./context.js";
import { runGet } from "./http-get.js";
import { countWords } from "./render/text.js";

export const help = renderHelp(httpSpec);

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === "serve") return serve(argv.slice(1), ctx);
  if (argv[0] === "get") return runGet(argv.slice(1), ctx);
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
      forwardRecords: !values.quiet,
      clock: ctx.clock,
    });
  } catch (err) {
    if (err instanceof WirekitError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new WirekitError("ERR_LOCAL", `cannot serve '${root}': no such directory`);
    throw new WirekitError("ERR_LOCAL", `cannot serve '${root}': ${err instanceof Error ? err.message : String(err)}`);
  }
  const proto = tls ? "https" : "http";
  ctx.stdout.write(`listening on ${formatHostPort(server.address, server.port)} (${proto}, root ${root}, ${workers} worker${workers === 1 ? "" : "s"})\n`);
  if (!values.quiet) server.on("request", (r) => ctx.stdout.write(`${formatAccessLog(r)}\n`));
  const totalsLine = (): string => {
    const t = server.totals();
    return `${countWords(t.requests, "requests")}, ${countWords(t.bytes, "bytesSent")}, ${countWords(t.clientErrors, "clientErrors")}, ${countWords(t.errors, "serverErrors")}`;
  };
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

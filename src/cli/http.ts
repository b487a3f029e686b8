/** `wirekit http serve [ROOT] ...` and `wirekit http get ...`: parse, call the library, print. */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parsePort, formatHostPort } from "../core/address.js";
import { WirekitError, usageError } from "../core/errors.js";
import { createStaticServer } from "../http/static/server.js";
import { formatAccessLog } from "../http/static/access-log.js";
import { durationOption, intOption, parseCommandArgs, positionalArgs } from "./args.js";
import type { CliContext } from "./context.js";
import { runGet } from "./http-get.js";

export const help = `wirekit http — the web server lab (a static file server) and an HTTP client that shows the exchange

Usage:
  wirekit http serve [ROOT=.] [--host 127.0.0.1] [--port 8080] [--workers 1|N|auto] [--cors] [--no-listing] [--quiet]
                     [--dotfiles] [--follow-symlinks] [--tls-cert FILE --tls-key FILE] [--header-timeout 10s] [--keepalive-timeout 5s]
                     [--send-timeout 60s]
  wirekit http get <server_address> <server_port> <filename> [options]
  wirekit http get <url> [options]

Server options:
  --host ADDR            address to bind (default 127.0.0.1; 0.0.0.0 or :: for every interface)
  --port N               port (default 8080; 0 picks one)
  --workers N|auto       worker processes sharing the port (node:cluster); auto = one per core (default 1)
  --cors                 Access-Control-Allow-Origin: * and answer preflights
  --no-listing           no HTML listing for directories without index.html (403)
  --dotfiles             serve hidden files (.git, .env ...), refused (404) by default
  --follow-symlinks      follow symlinks that lead outside ROOT (refused, 403, by default)
  --tls-cert/--tls-key   PEM files: serve HTTPS
  --header-timeout T     a client must send its request head within T (default 10s), else 408
  --keepalive-timeout T  idle keep-alive connections are closed after T (default 5s)
  --send-timeout T       a response that makes no write progress for T is dropped (default 60s)
  -q, --quiet            no access log

Client options:
  -I, --head             HEAD instead of GET: print the status line and headers only
  -H, --header 'N: v'    add a request header (repeatable)
  -v, --verbose          show the request (> ) and response head (< ) on stderr, the body on stdout
  -o, --output FILE      write the body to FILE (progress bar on stderr when it is a terminal)
  -x, --proxy URL        send through an HTTP proxy (absolute-form; CONNECT for https)
  -L, --location         follow redirects (at most --max-redirs, default 10)
  --fail                 exit 22 on a status >= 400, as curl does, without printing the body
  --compressed           ask for gzip/br (Accept-Encoding); bodies are decoded for display anyway
  --raw                  print the body bytes as they came (chunked framing, compression)
  --timing               print DNS, connect, TLS, first byte and total times on stderr
  -w, --write-out FMT    print FMT after the transfer: %{http_code} %{time_namelookup} %{time_connect}
                         %{time_appconnect} %{time_starttransfer} %{time_total} %{size_download} \\n
  -k, --insecure         accept any TLS certificate
  -m, --max-time T       give up after T in all (default: no limit; a silent connection is dropped after 30s)
  --json                 one JSON document: status, headers, body (text), timing

Examples:
  wirekit http serve ./public --port 8080
  wirekit http get 127.0.0.1 8080 index.html
  wirekit http get http://127.0.0.1:8080/ -v
  wirekit http get http://example.test/ -x http://127.0.0.1:8888
`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === "serve") return serve(argv.slice(1), ctx);
  if (argv[0] === "get") return runGet(argv.slice(1), ctx);
  throw usageError(argv[0] === undefined ? "missing subcommand: serve or get (see --help)" : `unknown subcommand '${argv[0]}' (serve or get)`);
}

async function serve(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    host: { type: "string" },
    port: { type: "string" },
    workers: { type: "string" },
    cors: { type: "boolean" },
    "no-listing": { type: "boolean" },
    dotfiles: { type: "boolean" },
    "follow-symlinks": { type: "boolean" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "header-timeout": { type: "string" },
    "keepalive-timeout": { type: "string" },
    "send-timeout": { type: "string" },
    quiet: { type: "boolean", short: "q" },
  });
  const [root = "."] = positionalArgs(positionals, ["ROOT"], 0);
  const workers = values.workers === "auto" ? availableParallelism() : intOption(values.workers, "workers", 1, 1, 256);
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) throw usageError("--tls-cert and --tls-key go together");
  const tls = values["tls-cert"] !== undefined && values["tls-key"] !== undefined ? { cert: readPem(values["tls-cert"]), key: readPem(values["tls-key"]) } : undefined;
  let server;
  try {
    server = await createStaticServer({
      root,
      host: values.host ?? "127.0.0.1",
      port: values.port === undefined ? 8080 : parsePort(values.port),
      workers,
      cors: values.cors === true,
      listing: values["no-listing"] !== true,
      dotfiles: values.dotfiles === true,
      followSymlinks: values["follow-symlinks"] === true,
      tls,
      headersTimeoutMs: durationOption(values["header-timeout"], "header-timeout", 10_000, 1),
      keepAliveTimeoutMs: durationOption(values["keepalive-timeout"], "keepalive-timeout", 5_000, 1),
      sendTimeoutMs: durationOption(values["send-timeout"], "send-timeout", 60_000, 1),
      forwardRecords: values.quiet !== true,
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
  if (values.quiet !== true) server.on("request", (r) => ctx.stdout.write(`${formatAccessLog(r)}\n`));
  const totalsLine = (): string => {
    const t = server.totals();
    return `${t.requests} requests, ${t.bytes} bytes sent, ${t.errors} errors`;
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

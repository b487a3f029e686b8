/** `wirekit proxy ...`: parse, start the caching proxy, print the access log and the totals. */
import { parsePort, formatHostPort } from "../core/address.js";
import { usageError } from "../core/errors.js";
import { formatSize, parseSize } from "../core/size.js";
import { createProxyServer } from "../http/proxy/server.js";
import { formatAccessLine, type ProxyStats } from "../http/proxy/stats.js";
import { durationOption, parseCommandArgs, positionalArgs } from "./args.js";
import type { CliContext } from "./context.js";

export const help = `wirekit proxy — the caching web proxy lab: a forward proxy with a persistent RFC 9111 cache

Usage:
  wirekit proxy [--host 127.0.0.1] [--port 8888] [--cache-dir DIR] [--cache-size 1GiB]
                [--max-object-size 100MiB] [--allow CIDR ...] [--allow-to-loopback] [--connect-ports 443]
                [--timeout 30s] [--no-cache] [--quiet]

Clients use it as an HTTP proxy (absolute-form requests, curl -x / browser proxy settings),
or the lab's way: http://PROXY:PORT/host[:port]/path. HTTPS goes through CONNECT tunnels.

Options:
  --host ADDR            address to bind (default 127.0.0.1; any other needs --allow)
  --port N               port (default 8888; 0 picks one)
  --cache-dir DIR        where cached responses live (default ~/.cache/wirekit/proxy)
  --cache-size SIZE      bound on the cache's disk use, LRU eviction (default 1GiB)
  --max-object-size SIZE larger responses are relayed but not stored (default 100MiB)
  --allow CIDR           clients allowed (repeatable); everyone else gets 403
  --allow-to-loopback    let clients not on loopback reach this host's own services (loopback,
                         0.0.0.0, ::, its interface addresses); without it they get 403
  --connect-ports LIST   ports CONNECT may reach, comma-separated (default 443)
  --timeout T            origin inactivity timeout, 504 after it (default 30s)
  --no-cache             forward only, store nothing
  --quiet                no access-log line per request

Every response carries Cache-Status (RFC 9211); statistics are at http://PROXY:PORT/_wirekit/stats.

Examples:
  wirekit proxy --port 8888 --cache-dir /tmp/wk-cache
  curl -x http://127.0.0.1:8888 http://127.0.0.1:8080/index.html
  wirekit proxy --host 0.0.0.0 --allow 192.168.1.0/24 --connect-ports 443,8443
`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    host: { type: "string" },
    port: { type: "string", short: "p" },
    "cache-dir": { type: "string" },
    "cache-size": { type: "string" },
    "max-object-size": { type: "string" },
    allow: { type: "string", multiple: true },
    "allow-to-loopback": { type: "boolean" },
    "connect-ports": { type: "string" },
    timeout: { type: "string" },
    "no-cache": { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
  });
  positionalArgs(positionals, []);
  const connectPorts = (values["connect-ports"] ?? "443").split(",").map((p) => parsePort(p.trim(), "connect port", false));
  const cacheSize = values["cache-size"] === undefined ? undefined : parseSize(values["cache-size"], "cache size");
  const maxObjectSize = values["max-object-size"] === undefined ? undefined : parseSize(values["max-object-size"], "max object size");
  if (values["no-cache"] && (values["cache-dir"] !== undefined || cacheSize !== undefined)) throw usageError("--no-cache cannot be combined with --cache-dir or --cache-size");
  const proxy = await createProxyServer({
    host: values.host ?? "127.0.0.1",
    port: values.port === undefined ? 8888 : parsePort(values.port),
    cacheDir: values["cache-dir"],
    cacheSize,
    maxObjectSize,
    cache: values["no-cache"] !== true,
    allow: values.allow ?? [],
    allowToLoopback: values["allow-to-loopback"] === true,
    connectPorts,
    timeoutMs: durationOption(values.timeout, "timeout", 30_000, 1),
    clock: ctx.clock,
  });
  const where = formatHostPort(proxy.address, proxy.port);
  const s0 = proxy.stats();
  const cacheText = proxy.cacheDir === undefined ? "no cache" : `cache ${proxy.cacheDir}, ${s0.entries} entries, ${formatSize(s0.diskBytes)}`;
  ctx.stdout.write(`listening on ${where} (${cacheText})\n`);
  if (!values.quiet) proxy.on("request", (r) => ctx.stdout.write(`${formatAccessLine(r)}\n`));
  const unregister = ctx.onStatusRequest(() => ctx.stderr.write(`${totalsLine(proxy.stats())}\n`));
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  unregister();
  const t = await proxy.close();
  ctx.stdout.write(`\n${totalsLine(t)}\n`);
  return 0;
}

function totalsLine(t: ProxyStats): string {
  return (
    `${t.requests} requests, ${t.hits} hits, ${t.misses} misses, ${t.revalidations} revalidations, ` +
    `hit ratio ${(t.hitRatio * 100).toFixed(1)}%, ${formatSize(t.bytesFromCache)} from cache, ${formatSize(t.bytesFromOrigin)} from origins, ` +
    `${t.entries} entries (${formatSize(t.diskBytes)})`
  );
}

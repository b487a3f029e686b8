/** `wirekit proxy ...`: parse, start the caching proxy, print the access log and the totals. */
import { parsePort } from "../core/address.js";
import { usageError } from "../core/errors.js";
import { createProxyServer } from "../http/proxy/server.js";
import { parseStoreSpec } from "../http/proxy/cache/entry-store.js";
import { renderProxyListening, renderProxyServerEvent, renderProxyTotals } from "../render/proxy.js";
import { parseForm } from "./spec.js";
import { proxyForm, proxySpec } from "./specs/http.js";
import type { CliContext } from "./context.js";
import type { ProxyCapture } from "../http/proxy/server.js";

export const spec = proxySpec;

type ProxyValues = ReturnType<typeof parseForm<typeof proxyForm.options>>["values"];

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseForm(proxyForm, argv[0] === "serve" ? argv.slice(1) : argv);
  const connectPorts = values["connect-ports"].split(",").map((p) => parsePort(p.trim(), "connect port", false));
  const cacheSize = values["cache-size"];
  if (values["no-cache"] && (values["cache-dir"] !== undefined || cacheSize !== undefined || values.store !== undefined)) throw usageError("--no-cache cannot be combined with --store, --cache-dir or --cache-size");
  // Checked before anything starts: a bad --store is one line and exit 2 (the password never shown).
  const storeSpec = parseStoreSpec(values.store ?? "disk");
  if (!storeSpec.ok) throw usageError(storeSpec.reason);
  if (storeSpec.value.kind === "redis" && cacheSize !== undefined) throw usageError("--cache-size does not apply to --store redis: bound Redis itself (maxmemory, an LRU policy)");
  // --pcap loads its modules only when asked for; the file is opened before the port (a bad path is one line, exit 2).
  const pcap = values.pcap === undefined ? undefined : (await import("./pcap.js")).openTcpServerCapture(values.pcap, ctx, "proxy", (await import("../render/pcap.js")).proxyResponseDecision, values["pcap-max-bytes"]);
  try {
    return await serve(values, connectPorts, ctx, pcap?.capture);
  } finally {
    pcap?.close();
  }
}

async function serve(values: ProxyValues, connectPorts: number[], ctx: CliContext, capture: ProxyCapture | undefined): Promise<number> {
  const proxy = await createProxyServer({
    host: values.host,
    port: values.port,
    cacheDir: values["cache-dir"],
    store: values.store,
    redisPassword: ctx.env.WIREKIT_REDIS_PASSWORD,
    onNotice: (line) => ctx.stderr.write(`${line}\n`),
    cacheSize: values["cache-size"],
    maxObjectSize: values["max-object-size"],
    hotMaxBytes: values["hot-size"],
    cache: !values["no-cache"],
    allow: values.allow,
    allowToLoopback: values["allow-to-loopback"],
    connectPorts,
    timeoutMs: values.timeout,
    reverse: values.reverse,
    originHost: values["origin-host"],
    purgeAllow: values["purge-allow"],
    clock: ctx.clock,
    ...(capture === undefined ? {} : { capture }),
  });
  ctx.stdout.write(`${renderProxyListening(proxy)}\n`);
  if (!values.quiet) proxy.on("event", (e) => ctx.stdout.write(`${renderProxyServerEvent(e)}\n`));
  const unregister = ctx.onStatusRequest(() => ctx.stderr.write(`${renderProxyTotals(proxy.stats())}\n`));
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  unregister();
  const t = await proxy.close();
  ctx.stdout.write(`\n${renderProxyTotals(t)}\n`);
  return 0;
}

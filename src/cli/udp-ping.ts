/** `wirekit udp-ping serve ...` and `wirekit udp-ping HOST PORT ...`: parse, call the library, print. */
import { parsePort, formatHostPort } from "../core/address.js";
import { usageError } from "../core/errors.js";
import { createUdpPingServer } from "../udp/ping/server.js";
import { UdpPinger, type UdpPingEvent, type UdpPingResult } from "../udp/ping/client.js";
import { durationOption, floatOption, intOption, parseCommandArgs, positionalArgs } from "./args.js";
import type { CliContext } from "./context.js";
import { escapeBytes, ms3, renderPingStatistics } from "./render/text.js";
import { formatG, lossPercent } from "../core/stats.js";

export const help = `wirekit udp-ping — the UDP pinger lab: a client, and a server that drops a share of pings

Usage:
  wirekit udp-ping <server_address> <server_port> [-c 10] [-i 1s] [-W 1s] [-s SIZE] [-q] [-v] [-4|-6] [--json]
  wirekit udp-ping serve [--host 0.0.0.0] [--port 12000] [--loss 0.3] [--seed N] [--quiet]

Client options:
  -c, --count N      pings to send (default 10; 0 = until Ctrl-C)
  -i, --interval T   time between pings (default 1s; 0.2, 200ms ...)
  -W, --timeout T    how long to wait for each reply (default 1s)
  -s, --size N       pad each ping to N bytes
  -q, --quiet        only the statistics
  -v, --verbose      also show datagrams that are not replies from the server
  -4, -6             use IPv4 / IPv6
  --json             one JSON document with every ping and the summary

Server options:
  --host ADDR        address to bind (default 0.0.0.0; "::" for IPv6 and IPv4)
  --port N           port (default 12000; 0 picks one)
  --loss P           drop probability 0..1 (default 0.3, the lab's 30%)
  --seed N           seed for the drops (same seed, same drops)
  --quiet            no line per datagram

Examples:
  wirekit udp-ping serve --port 12000 --loss 0.3 --seed 7
  wirekit udp-ping 127.0.0.1 12000 -c 10 -i 0.2
`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === "serve") return serve(argv.slice(1), ctx);
  return client(argv, ctx);
}

async function serve(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    host: { type: "string" },
    port: { type: "string" },
    loss: { type: "string" },
    seed: { type: "string" },
    quiet: { type: "boolean", short: "q" },
  });
  positionalArgs(positionals, []);
  const loss = floatOption(values.loss, "loss", 0.3, 0, 1);
  const seed = values.seed === undefined ? undefined : intOption(values.seed, "seed", 0, 0, 2 ** 32 - 1);
  const port = values.port === undefined ? 12000 : parsePort(values.port);
  const server = await createUdpPingServer({ host: values.host ?? "0.0.0.0", port, loss, seed });
  ctx.stdout.write(`listening on ${formatHostPort(server.address, server.port)} (loss ${formatG(loss * 100)}%, seed ${server.seed})\n`);
  if (!values.quiet) {
    server.on("datagram", (d) => {
      ctx.stdout.write(`${formatHostPort(d.from.address, d.from.port)} ${escapeBytes(d.message)}${d.dropped ? "  dropped" : ""}\n`);
    });
  }
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  const t = await server.close();
  ctx.stdout.write(`\n${t.received} received, ${t.replied} replied, ${t.dropped} dropped\n`);
  return 0;
}

async function client(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    count: { type: "string", short: "c" },
    interval: { type: "string", short: "i" },
    timeout: { type: "string", short: "W" },
    size: { type: "string", short: "s" },
    quiet: { type: "boolean", short: "q" },
    verbose: { type: "boolean", short: "v" },
    json: { type: "boolean" },
    ipv4: { type: "boolean", short: "4" },
    ipv6: { type: "boolean", short: "6" },
  });
  const [host, portText] = positionalArgs(positionals, ["server_address", "server_port"]);
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  const pinger = new UdpPinger({
    host: host ?? "",
    port: parsePort(portText ?? "", "server_port", false),
    count: intOption(values.count, "count", 10, 0),
    intervalMs: durationOption(values.interval, "interval", 1000),
    timeoutMs: durationOption(values.timeout, "timeout", 1000, 1),
    size: intOption(values.size, "size", 0, 0, 65527),
    family: values.ipv4 ? 4 : values.ipv6 ? 6 : undefined,
    clock: ctx.clock,
    signal: ctx.signal,
  });
  let stats = { sent: 0, received: 0 };
  const unregister = ctx.onStatusRequest(() => {
    ctx.stderr.write(`${stats.received}/${stats.sent} packets\n`);
  });
  if (!values.json) {
    pinger.on("event", (e) => {
      if (e.kind === "sent") stats = { ...stats, sent: stats.sent + 1 };
      if (e.kind === "reply") stats = { ...stats, received: stats.received + 1 };
      const line = renderEvent(e, values.quiet === true, values.verbose === true);
      if (line !== undefined) ctx.stdout.write(line);
    });
  }
  let result: UdpPingResult;
  try {
    result = await pinger.run();
  } finally {
    unregister();
  }
  if (values.json) ctx.stdout.write(`${JSON.stringify(toJson(result), null, 2)}\n`);
  else ctx.stdout.write(renderPingStatistics(host ?? "", "udp-ping", result.totals, result.rtt));
  return result.totals.received > 0 ? 0 : 1;
}

function renderEvent(e: UdpPingEvent, quiet: boolean, verbose: boolean): string | undefined {
  switch (e.kind) {
    case "start":
      return quiet ? undefined : `UDP-PING ${e.host} (${formatHostPort(e.server.address, e.server.port)}) from local ${formatHostPort(e.local.address, e.local.port)}\n`;
    case "reply":
      return quiet ? undefined : `Reply from ${e.from.address}: ${e.message}, RTT=${ms3(e.rttMs)} ms\n`;
    case "duplicate":
      return quiet ? undefined : `Reply from ${e.from.address}: seq ${e.seq}, RTT=${ms3(e.rttMs)} ms (DUP!)\n`;
    case "late":
      return quiet ? undefined : `Late reply for seq ${e.seq} (RTT=${ms3(e.rttMs)} ms)\n`;
    case "timeout":
      return quiet ? undefined : `Request timed out (seq ${e.seq})\n`;
    case "foreign":
      return verbose ? `ignored ${e.bytes} bytes from ${formatHostPort(e.from.address, e.from.port)}: not the server\n` : undefined;
    case "garbage":
      return verbose ? `ignored ${e.bytes} bytes from the server: ${e.reason}\n` : undefined;
    case "send-error":
      return `send failed for seq ${e.seq}: ${e.message}\n`;
    case "sent":
      return undefined;
  }
}

function toJson(r: UdpPingResult): unknown {
  return {
    host: r.host,
    server: r.server,
    pings: r.pings.map((p) => ({ seq: p.seq, status: p.status, rtt_ms: p.rttMs ?? null, duplicates: p.duplicates })),
    summary: {
      transmitted: r.totals.transmitted,
      received: r.totals.received,
      duplicates: r.totals.duplicates,
      late: r.totals.late,
      loss_percent: lossPercent(r.totals.transmitted, r.totals.received),
      time_ms: Math.round(r.totals.elapsedMs),
      rtt_ms: r.rtt.count === 0 ? null : { min: r.rtt.min, avg: r.rtt.avg, max: r.rtt.max, mdev: r.rtt.mdev },
      foreign_datagrams: r.foreign,
    },
  };
}

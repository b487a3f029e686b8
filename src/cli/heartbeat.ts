/** `wirekit heartbeat serve ...` (the monitor) and `wirekit heartbeat HOST PORT ...` (the sender). */
import { formatHostPort, parsePort } from "../core/address.js";
import { usageError } from "../core/errors.js";
import { formatG } from "../core/stats.js";
import { createHeartbeatMonitor, type HeartbeatMonitor } from "../udp/heartbeat/monitor.js";
import { formatDuration } from "../core/duration.js";
import { describeHeartbeatEvent, HEARTBEAT_EVENT_KINDS, millis, seconds1, type ClientSnapshot, type HeartbeatEvent } from "../udp/heartbeat/events.js";
import { HeartbeatSender, type HeartbeatSenderEvent, type HeartbeatSenderResult } from "../udp/heartbeat/sender.js";
import { durationOption, floatOption, intOption, parseCommandArgs, positionalArgs } from "./args.js";
import type { CliContext } from "./context.js";
import { ms3, renderPingStatistics, renderTable, snakeKeys } from "./render/text.js";

export const help = `wirekit heartbeat — the UDP heartbeat lab: a sender, and a monitor that finds lost heartbeats and stopped clients

Usage:
  wirekit heartbeat serve [--host 0.0.0.0] [--port 12001] [--dead-after 3s] [--phi 8] [--loss P --seed N]
                          [--summary-every T] [--forget-after 1h] [--max-clients 100000] [-v] [--json]
  wirekit heartbeat <server_address> <server_port> [-i 1s] [-c COUNT] [--misses 3] [--id NAME] [--keep-going]

Wire format: heartbeat "<seq> <unix_time> id=<id> run=<run>", reply "<seq> <time_diff>" (compatible
with the lab's Python client and server; extra key=value fields are ignored by old peers).

Monitor options:
  --host ADDR          address to bind (default 0.0.0.0; "::" for IPv6 and IPv4)
  --port N             port (default 12001; 0 picks one)
  --dead-after T       a client silent this long is reported stopped (default 3s)
  --phi X              suspect a client when the phi accrual level exceeds X (default 8)
  --loss P             drop a fraction 0..1 of incoming heartbeats, to demonstrate loss detection
  --seed N             seed for --loss (same seed, same drops)
  --summary-every T    print the client table every T (default: only at exit)
  --forget-after T     forget clients silent this long (default 1h)
  --max-clients N      most clients tracked; the longest silent is dropped first (default 100000)
  -v, --verbose        also print a line for every heartbeat
  --json               events and summaries as JSON lines

Sender options:
  -i, --interval T     time between heartbeats (default 1s)
  -c, --count N        heartbeats to send (default: until Ctrl-C)
  -W, --timeout T      how long to wait for each reply (default: the interval)
  --misses N           declare the monitor down after N consecutive heartbeats without reply (default 3)
  --keep-going         do not exit when the monitor is down; report when it answers again
  --id NAME            client id sent to the monitor (default: this host's name)
  -q, --quiet          only the statistics
  -4, -6               use IPv4 / IPv6
  --json               one JSON document with the statistics

Delay is the monitor's receive time minus the sender's timestamp: it includes the offset
between the two hosts' clocks (only on one host is it the true one-way delay).

Examples:
  wirekit heartbeat serve --port 12001 --dead-after 3s --summary-every 30s
  wirekit heartbeat 127.0.0.1 12001 -i 1s --id web-1
  wirekit heartbeat serve --port 12001 --loss 0.2 --seed 7   # watch it report the lost seqs
`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === "serve") return serve(argv.slice(1), ctx);
  return sender(argv, ctx);
}

function jsonEvent(e: HeartbeatEvent, at: number): string {
  return `${JSON.stringify(snakeKeys({ ...e, at: new Date(at).toISOString() }))}\n`;
}

function clientRow(c: ClientSnapshot, nowWall: number): string[] {
  const d = c.delayMs;
  return [
    c.id,
    c.status,
    String(c.received),
    String(c.lost),
    c.lossPercent.toFixed(1),
    String(c.reordered),
    String(c.duplicates),
    d === null ? "-" : `${ms3(d.min)}/${ms3(d.avg)}/${ms3(d.max)}`,
    `${seconds1(Math.max(0, nowWall - c.lastSeen))} ago`,
  ];
}

/** The client table printed at exit and every --summary-every. */
export function renderClientTable(clients: ClientSnapshot[], nowWall: number): string {
  if (clients.length === 0) return "no clients\n";
  const header = ["client", "status", "received", "lost", "loss %", "reordered", "dups", "delay min/avg/max ms", "last seen"];
  return renderTable(header, clients.map((c) => clientRow(c, nowWall)));
}

function renderSummary(monitor: HeartbeatMonitor): string {
  const t = monitor.totals();
  return (
    renderClientTable(monitor.clients(), monitor.wallNow()) +
    `${t.heartbeats} heartbeat${t.heartbeats === 1 ? "" : "s"} from ${t.clients} client${t.clients === 1 ? "" : "s"}, ${t.lost} lost, ${t.reordered} reordered, ` +
    `${t.duplicates} duplicates, ${t.restarts} restarts, ${t.malformed} malformed${t.dropped > 0 ? `, ${t.dropped} dropped (--loss)` : ""}\n` +
    "delay = monitor receive time - sender timestamp; it includes the offset between the hosts' clocks\n"
  );
}

function renderJsonSummary(monitor: HeartbeatMonitor): string {
  return `${JSON.stringify(snakeKeys({ kind: "summary", at: new Date(monitor.wallNow()).toISOString(), totals: monitor.totals(), clients: monitor.clients() }))}\n`;
}

async function serve(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    host: { type: "string" },
    port: { type: "string" },
    "dead-after": { type: "string" },
    phi: { type: "string" },
    loss: { type: "string" },
    seed: { type: "string" },
    "summary-every": { type: "string" },
    "forget-after": { type: "string" },
    "max-clients": { type: "string" },
    verbose: { type: "boolean", short: "v" },
    json: { type: "boolean" },
  });
  positionalArgs(positionals, []);
  const deadAfterMs = durationOption(values["dead-after"], "dead-after", 3000, 1);
  const forgetAfterMs = durationOption(values["forget-after"], "forget-after", 3_600_000, 1);
  if (forgetAfterMs < deadAfterMs) throw usageError("--forget-after must be at least --dead-after");
  const summaryEveryMs = values["summary-every"] === undefined ? 0 : durationOption(values["summary-every"], "summary-every", 0, 100);
  const loss = floatOption(values.loss, "loss", 0, 0, 1);
  if (values.seed !== undefined && values.loss === undefined) throw usageError("--seed only makes sense with --loss");
  const monitor = await createHeartbeatMonitor({
    host: values.host ?? "0.0.0.0",
    port: values.port === undefined ? 12001 : parsePort(values.port),
    deadAfterMs,
    phiThreshold: floatOption(values.phi, "phi", 8, 0.1, 300),
    loss,
    seed: values.seed === undefined ? undefined : intOption(values.seed, "seed", 0, 0, 2 ** 32 - 1),
    forgetAfterMs,
    maxClients: intOption(values["max-clients"], "max-clients", 100_000, 1),
    clock: ctx.clock,
  });
  const json = values.json === true;
  const where = formatHostPort(monitor.address, monitor.port);
  const lossNote = loss > 0 ? `, dropping ${formatG(loss * 100)}% of heartbeats, seed ${monitor.seed}` : "";
  const listening = `listening on ${where} (dead after ${seconds1(deadAfterMs)}, suspect at phi > ${formatG(monitor.options.phiThreshold)}${lossNote})\n`;
  if (json) {
    ctx.stderr.write(listening);
    ctx.stdout.write(`${JSON.stringify({ kind: "listening", address: monitor.address, port: monitor.port, dead_after_ms: deadAfterMs, phi: monitor.options.phiThreshold, loss, seed: loss > 0 ? monitor.seed : null })}\n`);
  } else {
    ctx.stdout.write(listening);
  }
  for (const kind of HEARTBEAT_EVENT_KINDS) {
    if (kind === "heartbeat" && values.verbose !== true) continue;
    monitor.on(kind, (e: HeartbeatEvent) => {
      ctx.stdout.write(json ? jsonEvent(e, monitor.wallNow()) : `${describeHeartbeatEvent(e)}\n`);
    });
  }
  const summary = (): string => (json ? renderJsonSummary(monitor) : renderSummary(monitor));
  const unregister = ctx.onStatusRequest(() => ctx.stderr.write(summary()));
  let timer: ReturnType<CliContext["clock"]["setTimeout"]> | undefined;
  const every = (): void => {
    timer = ctx.clock.setTimeout(() => {
      ctx.stdout.write(json ? summary() : `\n${summary()}\n`);
      every();
    }, summaryEveryMs);
  };
  if (summaryEveryMs > 0) every();
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  if (timer !== undefined) ctx.clock.clearTimeout(timer);
  unregister();
  await monitor.close();
  ctx.stdout.write(json ? summary() : `\n${summary()}`);
  return 0;
}

function renderSenderEvent(e: HeartbeatSenderEvent, quiet: boolean): string | undefined {
  switch (e.kind) {
    case "start":
      return quiet ? undefined : `HEARTBEAT ${e.host} (${formatHostPort(e.server.address, e.server.port)}) as ${e.id} (run ${e.run}), every ${formatDuration(e.intervalMs)}\n`;
    case "reply":
      return quiet ? undefined : `reply seq=${e.seq} rtt=${ms3(e.rttMs)} ms delay=${millis(e.delayMs)}\n`;
    case "late":
      return quiet ? undefined : `late reply seq=${e.seq} rtt=${ms3(e.rttMs)} ms delay=${millis(e.delayMs)}\n`;
    case "duplicate":
      return quiet ? undefined : `reply seq=${e.seq} rtt=${ms3(e.rttMs)} ms (DUP!)\n`;
    case "miss":
      return quiet ? undefined : `no reply for seq ${e.seq}\n`;
    case "down":
      return `server is assumed to be down after ${e.misses} consecutive misses\n`;
    case "up":
      return `server is answering again (seq ${e.seq}, down for ${seconds1(e.downForMs)})\n`;
    case "send-error":
      return `send failed for seq ${e.seq}: ${e.message}\n`;
    case "ignored":
    case "sent":
    case "skipped":
      return undefined;
  }
}

function senderJson(r: HeartbeatSenderResult): unknown {
  const t = r.totals;
  return {
    host: r.host,
    server: r.server,
    id: r.id,
    run: r.run,
    sent: t.transmitted,
    replies: t.received,
    late: t.late,
    duplicates: t.duplicates,
    loss_percent: t.transmitted === 0 ? 0 : ((t.transmitted - t.received) * 100) / t.transmitted,
    time_ms: Math.round(t.elapsedMs),
    rtt_ms: r.rtt.count === 0 ? null : { min: r.rtt.min, avg: r.rtt.avg, max: r.rtt.max, mdev: r.rtt.mdev },
    server_down: r.down,
    down_events: r.downEvents,
  };
}

async function sender(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    interval: { type: "string", short: "i" },
    count: { type: "string", short: "c" },
    timeout: { type: "string", short: "W" },
    misses: { type: "string" },
    "keep-going": { type: "boolean" },
    id: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    json: { type: "boolean" },
    ipv4: { type: "boolean", short: "4" },
    ipv6: { type: "boolean", short: "6" },
  });
  const [host, portText] = positionalArgs(positionals, ["server_address", "server_port"]);
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  const intervalMs = durationOption(values.interval, "interval", 1000, 1);
  const s = new HeartbeatSender({
    host: host ?? "",
    port: parsePort(portText ?? "", "server_port", false),
    intervalMs,
    count: intOption(values.count, "count", 0, 0),
    timeoutMs: durationOption(values.timeout, "timeout", intervalMs, 1),
    misses: intOption(values.misses, "misses", 3, 1, 1_000_000),
    keepGoing: values["keep-going"] === true,
    id: values.id,
    family: values.ipv4 ? 4 : values.ipv6 ? 6 : undefined,
    clock: ctx.clock,
    signal: ctx.signal,
  });
  let sent = 0;
  let replies = 0;
  const unregister = ctx.onStatusRequest(() => ctx.stderr.write(`${replies}/${sent} heartbeats answered\n`));
  s.on("event", (e) => {
    if (e.kind === "sent") sent++;
    if (e.kind === "reply") replies++;
    if (values.json === true) return;
    const line = renderSenderEvent(e, values.quiet === true);
    if (line !== undefined) ctx.stdout.write(line);
  });
  let r: HeartbeatSenderResult;
  try {
    r = await s.run();
  } finally {
    unregister();
  }
  if (values.json === true) ctx.stdout.write(`${JSON.stringify(senderJson(r), null, 2)}\n`);
  else ctx.stdout.write(renderPingStatistics(host ?? "", "heartbeat", r.totals, r.rtt));
  return r.down || (r.totals.transmitted > 0 && r.totals.received === 0) ? 1 : 0;
}

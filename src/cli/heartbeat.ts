/** `wirekit heartbeat serve ...` (the monitor) and `wirekit heartbeat HOST PORT ...` (the sender). */
import { formatHostPort, parseHostPort, parsePort } from "../core/address.js";
import { usageError } from "../core/errors.js";
import { describeImpairment, isImpaired } from "../core/impair.js";
import { formatG } from "../core/stats.js";
import { createHeartbeatMonitor, type HeartbeatMonitor } from "../udp/heartbeat/monitor.js";
import { formatDuration } from "../core/duration.js";
import { describeHeartbeatEvent, HEARTBEAT_EVENT_KINDS, millis, seconds1, type ClientSnapshot, type HeartbeatEvent } from "../udp/heartbeat/events.js";
import { HeartbeatSender, type HeartbeatSenderEvent, type HeartbeatSenderResult } from "../udp/heartbeat/sender.js";
import { AlertHooks, alertFor, redactUrl } from "../udp/heartbeat/alerts.js";
import { startHeartbeatMetrics, type MetricsEndpoint } from "../udp/heartbeat/metrics.js";
import { parseForm } from "./spec.js";
import { renderHelp } from "./spec-doc.js";
import { heartbeatSpec, senderForm, serveForm } from "./specs/heartbeat.js";
import { impairmentFromValues } from "./specs/impair.js";
import type { CliContext } from "./context.js";
import { ms3, renderImpairmentTotals, renderPingStatistics, renderTable, renderTotals, snakeKeys } from "./render/text.js";

export const help = renderHelp(heartbeatSpec);

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
    `${t.duplicates} duplicates, ${t.restarts} restarts, ${t.malformed} malformed${t.dropped > 0 ? `, ${t.dropped} dropped (impairment)` : ""}\n` +
    renderImpairmentTotals(monitor.impairmentTotals()) +
    "delay = monitor receive time - sender timestamp; it includes the offset between the hosts' clocks\n"
  );
}

function renderJsonSummary(monitor: HeartbeatMonitor): string {
  return `${JSON.stringify(snakeKeys({ kind: "summary", at: new Date(monitor.wallNow()).toISOString(), totals: monitor.totals(), clients: monitor.clients() }))}\n`;
}

async function serve(argv: string[], ctx: CliContext): Promise<number> {
  const { values, given } = parseForm(serveForm, argv);
  const deadAfterMs = values["dead-after"];
  const forgetAfterMs = values["forget-after"];
  if (forgetAfterMs < deadAfterMs) throw usageError("--forget-after must be at least --dead-after");
  const summaryEveryMs = values["summary-every"] ?? 0;
  const impair = impairmentFromValues(values);
  if (given.has("seed") && !isImpaired(impair)) throw usageError("--seed only makes sense with an impairment (--loss, --delay, --reorder ...)");
  const monitor = await createHeartbeatMonitor({
    host: values.host,
    port: values.port,
    deadAfterMs,
    phiThreshold: values.phi,
    impair,
    seed: values.seed,
    forgetAfterMs,
    maxClients: values["max-clients"],
    clock: ctx.clock,
  });
  const json = values.json === true;
  let metrics: MetricsEndpoint | undefined;
  if (values.metrics !== undefined) {
    const at = /^\d+$/.test(values.metrics) ? { host: "127.0.0.1", port: parsePort(values.metrics, "--metrics port") } : parseHostPort(values.metrics);
    try {
      metrics = await startHeartbeatMetrics(monitor, at);
    } catch (err) {
      await monitor.close();
      throw err;
    }
  }
  let hooks: AlertHooks | undefined;
  if (values["on-event"] !== undefined || values.webhook !== undefined) {
    if (values.webhook !== undefined && !/^https?:\/\/./i.test(values.webhook)) {
      await metrics?.close();
      await monitor.close();
      throw usageError(`invalid --webhook '${redactUrl(values.webhook)}' (must be an http:// or https:// URL)`);
    }
    hooks = new AlertHooks({
      command: values["on-event"],
      webhook: values.webhook,
      timeoutMs: values["hook-timeout"],
      concurrency: values["hook-concurrency"],
      clock: ctx.clock,
      onError: (line) => ctx.stderr.write(`wirekit: ${line}\n`),
    });
  }
  const where = formatHostPort(monitor.address, monitor.port);
  const impairText = describeImpairment(impair, monitor.seed);
  const lossNote = impairText === "" ? "" : `, ${impairText}`;
  const listening = `listening on ${where} (dead after ${seconds1(deadAfterMs)}, suspect at phi > ${formatG(monitor.options.phiThreshold)}${lossNote})\n`;
  const metricsLine = metrics === undefined ? "" : `metrics on http://${formatHostPort(metrics.address, metrics.port)}/metrics\n`;
  if (json) {
    ctx.stderr.write(listening + metricsLine);
    ctx.stdout.write(`${JSON.stringify({ kind: "listening", address: monitor.address, port: monitor.port, dead_after_ms: deadAfterMs, phi: monitor.options.phiThreshold, loss: impair.loss ?? 0, impairment: impairText === "" ? null : impairText, seed: impairText !== "" ? monitor.seed : null })}\n`);
  } else {
    ctx.stdout.write(listening + metricsLine);
  }
  for (const kind of HEARTBEAT_EVENT_KINDS) {
    const print = kind !== "heartbeat" || values.verbose === true;
    if (!print && hooks === undefined) continue;
    monitor.on(kind, (e: HeartbeatEvent) => {
      if (print) ctx.stdout.write(json ? jsonEvent(e, monitor.wallNow()) : `${describeHeartbeatEvent(e)}\n`);
      if (hooks !== undefined && "client" in e) {
        const alert = alertFor(e, monitor.client(e.client), describeHeartbeatEvent(e));
        if (alert !== undefined) hooks.notify(alert);
      }
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
  await metrics?.close();
  await monitor.close();
  ctx.stdout.write(json ? summary() : `\n${summary()}`);
  if (hooks !== undefined) {
    const h = await hooks.close();
    const line = `hooks: ${renderTotals({ alerts: h.alerts, delivered: h.delivered, failed: h.failed, retried: h.retried, timedOut: h.timedOut, dropped: h.dropped })}`;
    ctx.stdout.write(json ? `${JSON.stringify({ kind: "hooks", ...snakeKeys(h) as object })}\n` : `${line}\n`);
  }
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
  const { values, positionals } = parseForm(senderForm, argv);
  const [host = "", portText = ""] = positionals;
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  const intervalMs = values.interval;
  const s = new HeartbeatSender({
    host,
    port: parsePort(portText, "server_port", false),
    intervalMs,
    count: values.count,
    timeoutMs: values.timeout ?? intervalMs,
    misses: values.misses,
    keepGoing: values["keep-going"],
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
  else ctx.stdout.write(renderPingStatistics(host, "heartbeat", r.totals, r.rtt));
  return r.down || (r.totals.transmitted > 0 && r.totals.received === 0) ? 1 : 0;
}

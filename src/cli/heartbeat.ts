/** `wirekit heartbeat serve ...` (the monitor) and `wirekit heartbeat HOST PORT ...` (the sender). */
import { formatHostPort, parseHostPort, parsePort } from "../core/address.js";
import { usageError } from "../core/errors.js";
import { describeImpairment, isImpaired } from "../core/impair.js";
import { createHeartbeatMonitor, type HeartbeatMonitor } from "../udp/heartbeat/monitor.js";
import type { HeartbeatEvent } from "../udp/heartbeat/events.js";
import {
  describeHeartbeatEvent, renderFleetLines, renderHookTotals, renderHookTotalsJson, renderMetricsLine, renderMonitorJsonSummary, renderMonitorListening,
  renderMonitorListeningJson, renderMonitorSummary, type FleetSummary,
} from "../render/heartbeat-events.js";
import { HeartbeatSender, type HeartbeatSenderEvent, type HeartbeatSenderResult } from "../udp/heartbeat/sender.js";
import { AlertHooks, alertFor, redactUrl } from "../udp/heartbeat/alerts.js";
import { startHeartbeatMetrics, type MetricsEndpoint } from "../udp/heartbeat/metrics-endpoint.js";
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { constants } from "node:os";
import type { HeartbeatMonitorOptions } from "../udp/heartbeat/monitor-options.js";
import type { MonitorState } from "../udp/heartbeat/monitor.js";
import { parseExpectFile, parseKeyFile } from "../udp/heartbeat/lists.js";
import { loadMonitorState, MonitorStateSaver } from "../udp/heartbeat/state-file.js";
import { parseForm, splitHostPort } from "./spec.js";
import { heartbeatSpec, senderForm, serveForm } from "./specs/heartbeat.js";
import { impairmentFromValues } from "./specs/impair.js";
import { diagramFormat, writeDiagram } from "./diagram.js";
import { EventLog } from "../render/record.js";
import {
  heartbeatLadder, heartbeatSenderDocument, renderHeartbeatJobLine, renderHeartbeatSenderEvent, renderHeartbeatSenderJsonLinesSummary,
  renderHeartbeatSenderProgress, renderHeartbeatSenderStatistics, type SenderJobOutcome,
} from "../render/heartbeat.js";
import { openUdpCapture, type OpenCapture } from "./pcap.js";
import { PcapFile } from "../core/pcap-file.js";
import { openUdpLink, tapLink } from "../core/udp-socket.js";
import { heartbeatAnnotator } from "../render/pcap.js";
import type { CliContext } from "./context.js";
import { renderJsonLine } from "../render/text.js";

export const spec = heartbeatSpec;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === "serve") return serve(argv.slice(1), ctx);
  return sender(argv, ctx);
}

type ServeValues = ReturnType<typeof parseForm<typeof serveForm.options>>["values"];
type SenderValues = ReturnType<typeof parseForm<typeof manyMonitors.options>>["values"];

interface Fleet {
  options: HeartbeatMonitorOptions;
  state: MonitorState | undefined;
  keys: number;
  expected: number;
}

async function readList(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw usageError(`${flag} ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : err instanceof Error ? err.message : String(err)}`);
  }
}

/** The fleet options (--keys, --expect, deadlines, --state), files read and checked before binding. */
async function fleetOptions(values: ServeValues, given: ReadonlySet<string>): Promise<Fleet> {
  if (given.has("keys-required") && values.keys === undefined) throw usageError("--keys-required needs --keys");
  if (given.has("max-skew") && values.keys === undefined) throw usageError("--max-skew only makes sense with --keys");
  if (given.has("state-every") && values.state === undefined) throw usageError("--state-every only makes sense with --state");
  const options: HeartbeatMonitorOptions = { deadAfterBeats: values["dead-after-beats"], keysRequired: values["keys-required"], maxSkewMs: values["max-skew"] };
  if (values["max-dead-after"] !== undefined) {
    if (values["max-dead-after"] > values["forget-after"]) throw usageError("--max-dead-after must be at most --forget-after");
    options.maxDeadAfterMs = values["max-dead-after"];
  }
  if (values.keys !== undefined) options.keys = parseKeyFile(await readList(values.keys, "--keys"), `--keys ${values.keys}`);
  if (values.expect !== undefined) options.expect = parseExpectFile(await readList(values.expect, "--expect"), `--expect ${values.expect}`);
  const state = values.state === undefined ? undefined : await loadMonitorState(values.state);
  return { options, state, keys: options.keys?.size ?? 0, expected: options.expect?.length ?? 0 };
}

/** What the fleet options amount to, for render/'s fleet lines. */
function fleetSummary(values: ServeValues, fleet: Fleet, monitor: HeartbeatMonitor): FleetSummary {
  return {
    ...(values.keys === undefined ? {} : { keys: { clients: fleet.keys, required: values["keys-required"], maxSkewMs: values["max-skew"] } }),
    ...(values.expect === undefined ? {} : { expected: fleet.expected }),
    ...(values.state === undefined ? {} : {
      state: { path: values.state, ...(fleet.state === undefined ? {} : { loaded: { clients: monitor.size, expectedNotSeen: monitor.expected().length } }) },
    }),
  };
}

async function serve(argv: string[], ctx: CliContext): Promise<number> {
  const { values, given } = parseForm(serveForm, argv);
  // Opened first and closed on every way out: a bad --webhook or --metrics must not leave it open.
  const pcap = values.pcap === undefined ? undefined : openUdpCapture(values.pcap, ctx, "heartbeat serve", { live: true });
  try {
    return await serveWith(values, given, ctx, pcap);
  } finally {
    pcap?.close();
  }
}

async function serveWith(values: ServeValues, given: ReadonlySet<string>, ctx: CliContext, pcap: OpenCapture | undefined): Promise<number> {
  const deadAfterMs = values["dead-after"];
  const forgetAfterMs = values["forget-after"];
  if (forgetAfterMs < deadAfterMs) throw usageError("--forget-after must be at least --dead-after");
  const summaryEveryMs = values["summary-every"] ?? 0;
  const impair = impairmentFromValues(values);
  if (given.has("seed") && !isImpaired(impair)) throw usageError("--seed only makes sense with an impairment (--loss, --delay, --reorder ...)");
  const fleet = await fleetOptions(values, given);
  const monitor = await createHeartbeatMonitor({
    ...fleet.options,
    host: values.host,
    port: values.port,
    deadAfterMs,
    phiThreshold: values.phi,
    impair,
    seed: values.seed,
    forgetAfterMs,
    maxClients: values["max-clients"],
    clock: ctx.clock,
    ...(pcap === undefined ? {} : { tap: pcap.capture }),
  });
  if (fleet.state !== undefined) monitor.importState(fleet.state);
  const json = values.json === true;
  let metrics: MetricsEndpoint | undefined;
  if (values.metrics !== undefined) {
    const at = /^\d+$/.test(values.metrics) ? { host: "127.0.0.1", port: parsePort(values.metrics, "--metrics port") } : parseHostPort(values.metrics);
    try {
      metrics = await startHeartbeatMetrics(monitor, { ...at, onError: (line) => ctx.stderr.write(`wirekit: ${line}\n`) });
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
  const impairText = describeImpairment(impair, monitor.seed);
  const listening = `${renderMonitorListening(monitor, deadAfterMs, impairText)}\n`;
  const metricsLine = (metrics === undefined ? "" : `${renderMetricsLine(metrics)}\n`) + renderFleetLines(fleetSummary(values, fleet, monitor));
  if (json) {
    ctx.stderr.write(listening + metricsLine);
    ctx.stdout.write(renderMonitorListeningJson(monitor, deadAfterMs, impair.loss ?? 0, impairText));
  } else {
    ctx.stdout.write(listening + metricsLine);
  }
  // What the monitor concluded from a heartbeat is that heartbeat's comment, when it is judged as
  // it arrives (with --delay, --jitter, --reorder or --rate it is judged later, against another).
  const judgedOnArrival = !(impair.delayMs || impair.jitterMs || impair.reorder || impair.rateBytesPerSec);
  const annotated: ReadonlySet<HeartbeatEvent["kind"]> = new Set(["client-joined", "lost", "reordered", "duplicate", "restarted", "refused", "malformed"]);
  // One event per heartbeat only when it is printed (-v) or a hook may want it.
  monitor.heartbeatEvents = values.verbose === true || hooks !== undefined;
  monitor.on("event", (e) => {
    if (pcap !== undefined && judgedOnArrival && annotated.has(e.kind)) PcapFile.annotate(pcap.capture.lastReceived, describeHeartbeatEvent(e));
    if (e.kind !== "heartbeat" || values.verbose === true) ctx.stdout.write(json ? renderJsonLine(e, monitor.wallNow()) : `${describeHeartbeatEvent(e)}\n`);
    if (hooks !== undefined && "client" in e && e.client !== null) {
      const alert = alertFor(e, monitor.client(e.client), describeHeartbeatEvent(e));
      if (alert !== undefined) hooks.notify(alert);
    }
  });
  const summary = (): string => (json ? renderMonitorJsonSummary(monitor) : renderMonitorSummary(monitor));
  const unregister = ctx.onStatusRequest(() => ctx.stderr.write(summary()));
  let timer: ReturnType<CliContext["clock"]["setTimeout"]> | undefined;
  const every = (): void => {
    timer = ctx.clock.setTimeout(() => {
      ctx.stdout.write(json ? summary() : `\n${summary()}\n`);
      every();
    }, summaryEveryMs);
  };
  if (summaryEveryMs > 0) every();
  const saver = values.state === undefined ? undefined : new MonitorStateSaver(monitor, values.state, values["state-every"], ctx.clock, (line) => ctx.stderr.write(`wirekit: ${line}\n`));
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  if (timer !== undefined) ctx.clock.clearTimeout(timer);
  unregister();
  await metrics?.close();
  await monitor.close();
  await saver?.close();
  ctx.stdout.write(json ? summary() : `\n${summary()}`);
  if (hooks !== undefined) {
    const h = await hooks.close();
    ctx.stdout.write(json ? renderHookTotalsJson(h) : renderHookTotals(h));
  }
  return 0;
}

/** The sender form, taking any number of monitors: `HOST PORT`, or `HOST:PORT [HOST:PORT ...]`. */
const manyMonitors = { ...senderForm, positionals: Array.from({ length: 16 }, (_, i) => ({ name: i === 0 ? "server_address" : "server", kind: "text" as const, optional: true })) };

function monitorList(p: string[]): Array<{ host: string; port: number }> {
  if (p.length === 0) throw usageError("missing server_address and server_port (see --help)");
  const first = p[0] ?? "";
  if (p.length <= 2 && splitHostPort(first) === undefined) {
    if (p.length === 1) throw usageError("missing server_port (see --help)");
    return [{ host: first, port: parsePort(p[1] ?? "", "server_port", false) }];
  }
  return p.map((a) => {
    const pair = splitHostPort(a);
    if (pair === undefined) throw usageError(`'${a}' is not HOST:PORT (several monitors are written HOST1:PORT HOST2:PORT)`);
    return { host: pair[0], port: parsePort(pair[1], "server_port", false) };
  });
}

async function sender(argvAll: string[], ctx: CliContext): Promise<number> {
  const dash = argvAll.indexOf("--");
  const argv = dash === -1 ? argvAll : argvAll.slice(0, dash);
  const command = dash === -1 ? [] : argvAll.slice(dash + 1);
  if (dash !== -1 && command.length === 0) throw usageError("missing COMMAND after --");
  const { values, positionals, given } = parseForm(manyMonitors, argv);
  const monitors = monitorList(positionals);
  if (command.length > 0 && (given.has("count") || given.has("status"))) throw usageError("-- COMMAND reports its own status: --count and --status do not go with it");
  const key = values.key ?? ctx.env.WIREKIT_HEARTBEAT_KEY;
  const [{ host, port }, ...more] = monitors as [{ host: string; port: number }, ...Array<{ host: string; port: number }>];
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  if (values.json && values["json-lines"]) throw usageError("--json and --json-lines cannot be used together");
  const intervalMs = values.interval;
  if (values.diagram !== undefined) diagramFormat(values.diagram);
  const timeoutMs = values.timeout ?? intervalMs;
  const pcap = values.pcap === undefined ? undefined : openUdpCapture(values.pcap, ctx, "heartbeat", { holdMs: timeoutMs + 1000, keepSent: true });
  try {
    return await sendWith({ values, given, ctx, pcap, monitors, command, host, port, more, key, intervalMs, timeoutMs });
  } finally {
    pcap?.close();
  }
}

async function sendWith(a: {
  values: SenderValues;
  given: ReadonlySet<string>;
  ctx: CliContext;
  pcap: OpenCapture | undefined;
  monitors: Array<{ host: string; port: number }>;
  command: string[];
  host: string;
  port: number;
  more: Array<{ host: string; port: number }>;
  key: string | undefined;
  intervalMs: number;
  timeoutMs: number;
}): Promise<number> {
  const { values, ctx, pcap, monitors, command, host, port, more, key, intervalMs, timeoutMs } = a;
  const jsonLines = values["json-lines"];
  const s = new HeartbeatSender({
    host,
    port,
    more,
    intervalMs,
    count: values.count,
    timeoutMs,
    misses: values.misses,
    ...(pcap === undefined ? {} : { link: tapLink(openUdpLink, pcap.capture) }),
    keepGoing: values["keep-going"],
    id: values.id,
    family: values.ipv4 ? 4 : values.ipv6 ? 6 : undefined,
    clock: ctx.clock,
    signal: ctx.signal,
    status: values.status,
    message: values.msg,
    key: key === "" ? undefined : key,
  });
  let sent = 0;
  let replies = 0;
  const unregister = ctx.onStatusRequest(() => ctx.stderr.write(renderHeartbeatSenderProgress(replies, sent)));
  const names = monitors.map((m) => formatHostPort(m.host, m.port));
  s.on("event", (e) => {
    if (e.kind === "sent") sent++;
    if (e.kind === "reply") replies++;
    const monitor = "monitor" in e && e.monitor !== undefined ? names[e.monitor] : undefined;
    if (jsonLines) {
      ctx.stdout.write(renderJsonLine({ ...e, ...(monitor === undefined ? {} : { monitor }) }, ctx.clock.now()));
      return;
    }
    if (values.json === true) return;
    const line = renderHeartbeatSenderEvent(e, values.quiet === true, monitor);
    if (line !== undefined) ctx.stdout.write(line);
  });
  if (pcap !== undefined) s.on("event", heartbeatAnnotator(pcap.capture, timeoutMs));
  const log = new EventLog<HeartbeatSenderEvent>(ctx.clock);
  if (values.diagram !== undefined) s.on("event", (e) => log.push(e));
  let r: HeartbeatSenderResult;
  let job: Promise<JobResult> | undefined;
  try {
    const running = s.run();
    if (command.length > 0) job = runJob(command, ctx, (j) => s.finish(String(j.code), j.ms, values.msg ?? (j.signal === undefined ? undefined : j.message)));
    r = await running;
  } finally {
    unregister();
  }
  const j = job === undefined ? undefined : await job;
  if (values.diagram !== undefined) await writeDiagram(values.diagram, heartbeatLadder(log.entries, { timeoutMs }), ctx);
  const each = r.monitors ?? [r];
  if (values.json === true) ctx.stdout.write(`${JSON.stringify(heartbeatSenderDocument(r), null, 2)}\n`);
  else if (jsonLines) ctx.stdout.write(renderHeartbeatSenderJsonLinesSummary(r, j));
  else ctx.stdout.write(renderHeartbeatSenderStatistics(r));
  if (j !== undefined) {
    if (values.json !== true && !jsonLines) ctx.stdout.write(renderHeartbeatJobLine(j));
    return j.code;
  }
  return r.down || each.every((m) => m.totals.transmitted > 0 && m.totals.received === 0) ? 1 : 0;
}

interface JobResult extends SenderJobOutcome {
  /** The signal that ended it, if one did. */
  signal?: string;
}

/** Run COMMAND (stdin/stdout/stderr inherited), and hand its end to `onEnd`. */
function runJob(command: string[], ctx: CliContext, onEnd: (j: JobResult) => void): Promise<JobResult> {
  const [file = "", ...args] = command;
  const started = ctx.clock.monotonic();
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "inherit", "inherit"] });
    const end = (j: JobResult): void => {
      onEnd(j);
      resolve(j);
    };
    child.on("error", (err) => end({ code: 127, ms: ctx.clock.monotonic() - started, message: `cannot run ${file}: ${err.message}` }));
    child.on("exit", (code, signal) => {
      const ms = ctx.clock.monotonic() - started;
      if (signal !== null) end({ code: 128 + (constants.signals[signal] ?? 0), ms, message: `killed by ${signal}`, signal });
      else end({ code: code ?? 1, ms, message: `exit code ${code ?? 1}` });
    });
  });
}

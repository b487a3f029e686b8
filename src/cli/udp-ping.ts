/** `wirekit udp-ping serve ...` and `wirekit udp-ping HOST PORT ...`: parse, call the library, print. */
import { parsePort } from "../core/address.js";
import { usageError } from "../core/errors.js";
import { UdpPinger, type UdpPingEvent, type UdpPingResult } from "../udp/ping/client.js";
import { parseForm } from "./spec.js";
import { clientForm, serveForm, udpPingSpec } from "./specs/udp-ping.js";
import type { CliContext } from "./context.js";
import type { OpenCapture } from "./pcap.js";
import { openUdpLink } from "../core/udp-socket.js";
import type { ImpairmentConfig } from "../core/impair.js";

type ClientValues = ReturnType<typeof parseForm<typeof clientForm.options>>["values"];
type ServeValues = ReturnType<typeof parseForm<typeof serveForm.options>>["values"];
import type { EventLog } from "../render/record.js";
import { renderUdpPingEvent, renderUdpPingListening, renderUdpPingProgress, renderUdpPingServerEvent, renderUdpPingServerTotals, udpPingJson, udpPingLadder, udpPingServerDecision } from "../render/udp-ping.js";
import { renderImpairmentTotals, renderJsonLine, renderPingStatistics } from "../render/text.js";

export const spec = udpPingSpec;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === "serve") return serve(argv.slice(1), ctx);
  return client(argv, ctx);
}

async function serve(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseForm(serveForm, argv);
  const impair = (await import("./specs/impair.js")).impairmentFromValues(values);
  const pcap = values.pcap === undefined ? undefined : (await import("./pcap.js")).openUdpCapture(values.pcap, ctx, "udp-ping serve", { live: true });
  try {
    return await serveWith(values, ctx, pcap, impair);
  } finally {
    pcap?.close();
  }
}

async function serveWith(values: ServeValues, ctx: CliContext, pcap: OpenCapture | undefined, impair: ImpairmentConfig): Promise<number> {
  const { seed, port } = values;
  // The server side loads only for `serve`: the client never needs it.
  const [{ createUdpPingServer }, { PcapFile }] = await Promise.all([import("../udp/ping/server.js"), import("../core/pcap-file.js")]);
  const server = await createUdpPingServer({ host: values.host, port, impair, clock: ctx.clock, ...(seed !== undefined ? { seed } : {}), ...(pcap === undefined ? {} : { tap: pcap.capture }) });
  ctx.stdout.write(`${renderUdpPingListening(server)}\n`);
  // The impairment's decision on a ping ("dropped", "delayed 23 ms") is the comment of that ping.
  if (pcap !== undefined) server.on("event", (e) => PcapFile.annotate(pcap.capture.lastReceived, udpPingServerDecision(e, server.seed)));
  if (!values.quiet) {
    server.on("event", (e) => ctx.stdout.write(`${renderUdpPingServerEvent(e)}\n`));
  }
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  const t = await server.close();
  ctx.stdout.write(`\n${renderUdpPingServerTotals(t)}\n${renderImpairmentTotals(server.impairmentTotals())}`);
  return 0;
}

async function client(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals, given } = parseForm(clientForm, argv);
  const [host = "", portText = ""] = positionals;
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  if (values.json && values["json-lines"]) throw usageError("--json and --json-lines cannot be used together");
  // --diagram and --pcap load their modules only when asked for: a plain ping starts faster.
  if (values.diagram !== undefined) (await import("./diagram.js")).diagramFormat(values.diagram);
  const port = parsePort(portText, "server_port", false);
  const pcap = values.pcap === undefined ? undefined : (await import("./pcap.js")).openUdpCapture(values.pcap, ctx, "udp-ping", { holdMs: values.timeout + 1000 });
  try {
    return await clientWith(values, given, host, port, ctx, pcap);
  } finally {
    pcap?.close();
  }
}

async function clientWith(values: ClientValues, given: ReadonlySet<string>, host: string, port: number, ctx: CliContext, pcap: OpenCapture | undefined): Promise<number> {
  const tapLink = pcap === undefined ? undefined : (await import("../core/udp-socket.js")).tapLink;
  const pinger = new UdpPinger({
    host,
    port,
    ...(pcap === undefined || tapLink === undefined ? {} : { link: tapLink(openUdpLink, pcap.capture) }),
    // As ping -w: with a deadline and no count, ping until the deadline.
    count: values.deadline !== undefined && !given.has("count") ? 0 : values.count,
    intervalMs: values.interval,
    timeoutMs: values.timeout,
    ...(values.deadline === undefined ? {} : { deadlineMs: values.deadline }),
    size: values.size,
    family: values.ipv4 ? 4 : values.ipv6 ? 6 : undefined,
    clock: ctx.clock,
    signal: ctx.signal,
  });
  let stats = { sent: 0, received: 0 };
  const unregister = ctx.onStatusRequest(() => {
    ctx.stderr.write(renderUdpPingProgress(stats.sent, stats.received));
  });
  if (values["json-lines"]) pinger.on("event", (e) => ctx.stdout.write(renderJsonLine(e, ctx.clock.now())));
  else if (!values.json) {
    pinger.on("event", (e) => {
      if (e.kind === "sent") stats = { ...stats, sent: stats.sent + 1 };
      if (e.kind === "reply") stats = { ...stats, received: stats.received + 1 };
      const line = renderUdpPingEvent(e, values.quiet, values.verbose);
      if (line !== undefined) ctx.stdout.write(line);
    });
  }
  if (pcap !== undefined) pinger.on("event", (await import("../render/pcap.js")).udpPingAnnotator(pcap.capture, values.timeout));
  let log: EventLog<UdpPingEvent> | undefined;
  if (values.diagram !== undefined) {
    const record = (log = new (await import("../render/record.js")).EventLog<UdpPingEvent>(ctx.clock));
    pinger.on("event", (e) => record.push(e));
  }
  let result: UdpPingResult;
  try {
    result = await pinger.run();
  } finally {
    unregister();
  }
  if (values.diagram !== undefined && log !== undefined) {
    const { writeDiagram } = await import("./diagram.js");
    await writeDiagram(values.diagram, udpPingLadder(log.entries, { timeoutMs: values.timeout }), ctx);
  }
  if (values.json) ctx.stdout.write(`${JSON.stringify(udpPingJson(result), null, 2)}\n`);
  else if (values["json-lines"]) ctx.stdout.write(`${JSON.stringify({ kind: "summary", ...(udpPingJson(result) as object) })}\n`);
  else ctx.stdout.write(renderPingStatistics(host, "udp-ping", result.totals, result.rtt));
  return result.totals.received > 0 ? 0 : 1;
}

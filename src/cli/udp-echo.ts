/** `wirekit udp-echo serve|send-big|<server_ip> <server_port>`: parse, call the library, print. */
import { parsePort } from "../core/address.js";
import { usageError } from "../core/errors.js";
import { sendBig, type SendBigEvent } from "../udp/echo/bigsend.js";
import { UdpEchoClient, type UdpEchoClientEvent } from "../udp/echo/client.js";
import { createUdpEchoServer } from "../udp/echo/server.js";
import { describeServerEvent, renderUdpEchoListening, renderUdpEchoServerTotals } from "../render/udp-echo-server.js";
import { parseForm } from "./spec.js";
import { bigForm, clientForm, serveForm, udpEchoSpec } from "./specs/udp-echo.js";
import { impairmentFromValues } from "./specs/impair.js";

type ClientValues = ReturnType<typeof parseForm<typeof clientForm.options>>["values"];
type ServeValues = ReturnType<typeof parseForm<typeof serveForm.options>>["values"];
type BigValues = ReturnType<typeof parseForm<typeof bigForm.options>>["values"];
import { diagramFormat, writeDiagram } from "./diagram.js";
import { EventLog } from "../render/record.js";
import { renderSendBigEvent, renderSendBigOutcome, renderUdpEchoClientEvent, renderUdpEchoOutcome, sendBigJson, sendBigLadder, udpEchoJson, udpEchoLadder } from "../render/udp-echo.js";
import { openUdpCapture, type OpenCapture } from "./pcap.js";
import { PcapFile } from "../core/pcap-file.js";
import { echoServerDecision, sendBigAnnotator, udpEchoAnnotator } from "../render/pcap.js";
import type { ImpairmentConfig } from "../core/impair.js";
import type { CliContext } from "./context.js";

export const spec = udpEchoSpec;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === "serve") return serve(argv.slice(1), ctx);
  if (argv[0] === "send-big") return bigSend(argv.slice(1), ctx);
  return client(argv, ctx);
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

async function serve(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals, given } = parseForm(serveForm, argv);
  const [iface, portText] = positionals;
  if (iface !== undefined && portText === undefined) throw usageError("missing port (see --help)");
  if (iface !== undefined && (given.has("host") || given.has("port"))) throw usageError("give <interface> <port> or --host/--port, not both");
  const impair = impairmentFromValues(values);
  const pcap = values.pcap === undefined ? undefined : openUdpCapture(values.pcap, ctx, "udp-echo serve", { live: true });
  try {
    return await serveWith(values, iface, portText, impair, ctx, pcap);
  } finally {
    pcap?.close();
  }
}

async function serveWith(values: ServeValues, iface: string | undefined, portText: string | undefined, impair: ImpairmentConfig, ctx: CliContext, pcap: OpenCapture | undefined): Promise<number> {
  const { seed } = values;
  const timeoutMs = values["reassembly-timeout"];
  const server = await createUdpEchoServer({
    ...(pcap === undefined ? {} : { tap: pcap.capture }),
    host: iface ?? values.host, port: portText === undefined ? values.port : parsePort(portText), impair, clock: ctx.clock,
    reassembly: { timeoutMs },
    ...(seed !== undefined ? { seed } : {}),
  });
  ctx.stdout.write(`${renderUdpEchoListening(server)}\n`);
  // The server's decision on a datagram is its comment, when it is judged as it arrives.
  if (pcap !== undefined && !(impair.delayMs || impair.jitterMs || impair.reorder || impair.rateBytesPerSec)) {
    server.on("event", (e) => PcapFile.annotate(pcap.capture.lastReceived, echoServerDecision(e, server.seed)));
  }
  if (!values.quiet) {
    server.on("event", (e) => {
      const line = describeServerEvent(e, values.verbose === true);
      if (line !== undefined) ctx.stdout.write(`${line}\n`);
    });
  }
  await waitForAbort(ctx.signal);
  const t = await server.close();
  ctx.stdout.write(`\n${renderUdpEchoServerTotals(t, server.impairmentTotals())}`);
  return 0;
}

async function client(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseForm(clientForm, argv);
  const [host = "", portText = ""] = positionals;
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  const timeoutMs = values.timeout;
  const maxTimeoutMs = values["max-timeout"];
  if (maxTimeoutMs < timeoutMs) throw usageError(`--max-timeout (${maxTimeoutMs} ms) must not be below --timeout (${timeoutMs} ms)`);
  if (values.diagram !== undefined) diagramFormat(values.diagram);
  const pcap = values.pcap === undefined ? undefined : openUdpCapture(values.pcap, ctx, "udp-echo", { keepSent: true });
  try {
    return await clientWith(values, host, portText, timeoutMs, maxTimeoutMs, ctx, pcap);
  } finally {
    pcap?.close();
  }
}

async function clientWith(values: ClientValues, host: string, portText: string, timeoutMs: number, maxTimeoutMs: number, ctx: CliContext, pcap: OpenCapture | undefined): Promise<number> {
  const seed = values.seed;
  const c = new UdpEchoClient({
    ...(pcap === undefined ? {} : { tap: pcap.capture }),
    host, port: parsePort(portText, "server_port", false),
    timeoutMs, maxTimeoutMs, jitter: values.jitter, verify: !values["no-verify"],
    clock: ctx.clock, signal: ctx.signal,
    ...(values.message !== undefined ? { message: values.message } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(values.ipv4 ? { family: 4 as const } : values.ipv6 ? { family: 6 as const } : {}),
  });
  const json = values.json === true;
  const events: UdpEchoClientEvent[] = [];
  c.on("event", (e) => {
    if (json) events.push(e);
    else {
      const line = renderUdpEchoClientEvent(e);
      if (line !== undefined) ctx.stdout.write(line);
    }
  });
  if (pcap !== undefined) c.on("event", udpEchoAnnotator(pcap.capture));
  const log = new EventLog<UdpEchoClientEvent>(ctx.clock);
  if (values.diagram !== undefined) c.on("event", (e) => log.push(e));
  const r = await c.run();
  if (values.diagram !== undefined) await writeDiagram(values.diagram, udpEchoLadder(log.entries, r, log.elapsed()), ctx);
  if (json) ctx.stdout.write(`${JSON.stringify(udpEchoJson(r, events), null, 2)}\n`);
  else ctx.stdout.write(renderUdpEchoOutcome(r));
  return r.status === "reply" ? 0 : 1;
}

async function bigSend(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseForm(bigForm, argv);
  const [host = "", portText = ""] = positionals;
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  const waitMs = values.wait;
  if (values.diagram !== undefined) diagramFormat(values.diagram);
  // Packets stay annotatable until the verdict, which names the parts that went missing.
  const pcap = values.pcap === undefined ? undefined : openUdpCapture(values.pcap, ctx, "udp-echo send-big", { holdMs: waitMs + 1000 });
  try {
    return await bigSendWith(values, host, portText, ctx, pcap);
  } finally {
    pcap?.close();
  }
}

async function bigSendWith(values: BigValues, host: string, portText: string, ctx: CliContext, pcap: OpenCapture | undefined): Promise<number> {
  const json = values.json;
  const waitMs = values.wait;
  const onEvent: Array<(e: SendBigEvent) => void> = [];
  if (pcap !== undefined) onEvent.push(sendBigAnnotator(pcap.capture));
  const log = new EventLog<SendBigEvent>(ctx.clock);
  if (values.diagram !== undefined) onEvent.push((e) => log.push(e));
  const r = await sendBig({
    host, port: parsePort(portText, "port", false),
    size: values.size,
    parts: values.parts,
    fill: values.char,
    waitMs,
    intervalMs: values.interval,
    clock: ctx.clock, signal: ctx.signal,
    ...(values.ipv4 ? { family: 4 as const } : values.ipv6 ? { family: 6 as const } : {}),
    ...(pcap === undefined ? {} : { tap: pcap.capture }),
  }, (e) => {
    const line = json ? undefined : renderSendBigEvent(e);
    if (line !== undefined) ctx.stdout.write(line);
    for (const fn of onEvent) fn(e);
  });
  if (values.diagram !== undefined) await writeDiagram(values.diagram, sendBigLadder(log.entries, r, { waitMs, doneAt: log.elapsed() }), ctx);
  if (json) {
    ctx.stdout.write(`${JSON.stringify(sendBigJson(r), null, 2)}\n`);
    return waitMs === 0 || r.confirmation === "complete" ? 0 : 1;
  }
  if (waitMs === 0) return 0;
  const outcome = renderSendBigOutcome(r, waitMs, ctx.signal.aborted);
  if (outcome !== "") ctx.stdout.write(outcome);
  return r.confirmation === "complete" ? 0 : 1;
}

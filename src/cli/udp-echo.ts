/** `wirekit udp-echo serve|send-big|<server_ip> <server_port>`: parse, call the library, print. */
import { formatHostPort, parsePort } from "../core/address.js";
import { parseDuration } from "../core/duration.js";
import { usageError } from "../core/errors.js";
import { formatG } from "../core/stats.js";
import { sendBig, MAX_BIG_MESSAGE, type SendBigEvent } from "../udp/echo/bigsend.js";
import { UdpEchoClient, type UdpEchoClientEvent, type UdpEchoResult } from "../udp/echo/client.js";
import { createUdpEchoServer } from "../udp/echo/server.js";
import { describeServerEvent, printableMessage } from "../udp/echo/server-log.js";
import { durationOption, floatOption, intOption, parseCommandArgs, positionalArgs } from "./args.js";
import type { CliContext } from "./context.js";

export const help = `wirekit udp-echo — the UDP client/server lab: trusted replies, retransmission with
exponential backoff, and datagrams too big to send

Usage:
  wirekit udp-echo serve <interface> <port> [--loss P] [--seed N] [--delay MS] [--reassembly-timeout T] [-q] [-v]
  wirekit udp-echo <server_ip> <server_port> [-m MESSAGE] [--timeout 0.1s] [--max-timeout 2s] [--jitter] [--no-verify] [--json]
  wirekit udp-echo send-big <host> <port> [--size 80000] [--parts 16] [--char a] [--wait 4s] [--json]

Server (replies "I received from you a message of N bytes"):
  <interface>              address to bind exactly: 127.0.0.1, 0.0.0.0, ::, an external address, or a
                           name such as lo
  <port>                   UDP port (0 picks one)
  --loss P                 drop this share 0..1 of arriving datagrams (a bad network)
  --seed N                 seed for the drops (same seed, same drops)
  --delay MS               delay every reply (300, or 300ms, 0.3s)
  --reassembly-timeout T   report a split message incomplete after T without parts (default 2s)
  -q, --quiet              no line per datagram
  -v, --verbose            also a line per part and per rejected datagram

Client (sends "<request id> <current time>"):
  -m, --message TEXT       send TEXT instead of the current time
  --timeout T              first timeout (default 0.1s); doubles after every timeout
  --max-timeout T          give up when the next timeout would exceed T (default 2s)
  --jitter                 randomize each timeout by ±50% (--seed N for a repeatable run)
  --no-verify              accept any datagram as the reply (shows why a client must check)
  -4, -6                   use IPv4 / IPv6
  --json                   one JSON document instead of text

Big datagrams (one datagram of SIZE bytes, then the same bytes in PARTS datagrams):
  --size N                 message size (default 80000)
  --parts N                datagrams for the split send (default 16)
  --char C                 the ASCII character repeated (default a)
  --wait T                 wait this long for the server's verdict (default 4s; 0 = do not wait)
  --interval T             pause between parts (default 0)
  --json                   one JSON document instead of text

Examples:
  wirekit udp-echo serve 127.0.0.1 12002
  wirekit udp-echo 127.0.0.1 12002
  wirekit udp-echo serve 127.0.0.1 12002 --loss 1          # a dead server: watch the backoff
  wirekit udp-echo 127.0.0.2 12002                         # bound to 127.0.0.1 only: no reply
  wirekit udp-echo send-big 127.0.0.1 12002 --size 80000 --parts 16
`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === "serve") return serve(argv.slice(1), ctx);
  if (argv[0] === "send-big") return bigSend(argv.slice(1), ctx);
  return client(argv, ctx);
}

/** `--delay` is in milliseconds when bare (as the lab writes it), or a duration with a unit. */
function delayOption(value: string | undefined): number {
  if (value === undefined) return 0;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return parseDuration(value, "delay");
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

async function serve(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    loss: { type: "string" },
    seed: { type: "string" },
    delay: { type: "string" },
    "reassembly-timeout": { type: "string" },
    quiet: { type: "boolean", short: "q" },
    verbose: { type: "boolean", short: "v" },
  });
  const [iface, portText] = positionalArgs(positionals, ["interface", "port"]);
  const loss = floatOption(values.loss, "loss", 0, 0, 1);
  const seed = values.seed === undefined ? undefined : intOption(values.seed, "seed", 0, 0, 2 ** 32 - 1);
  const delayMs = delayOption(values.delay);
  const timeoutMs = durationOption(values["reassembly-timeout"], "reassembly timeout", 2000, 1);
  const server = await createUdpEchoServer({
    host: iface ?? "", port: parsePort(portText ?? ""), loss, delayMs, clock: ctx.clock,
    reassembly: { timeoutMs },
    ...(seed !== undefined ? { seed } : {}),
  });
  const extras: string[] = [];
  if (loss > 0) extras.push(`loss ${formatG(loss * 100)}%, seed ${server.seed}`);
  if (delayMs > 0) extras.push(`delay ${formatG(delayMs)} ms`);
  ctx.stdout.write(`listening on ${formatHostPort(server.address, server.port)}${extras.length ? ` (${extras.join(", ")})` : ""}\n`);
  if (!values.quiet) {
    server.on("event", (e) => {
      const line = describeServerEvent(e, values.verbose === true);
      if (line !== undefined) ctx.stdout.write(`${line}\n`);
    });
  }
  await waitForAbort(ctx.signal);
  const t = await server.close();
  ctx.stdout.write(`\n${t.received} received, ${t.replied} replied, ${t.bytes} bytes, ${t.reassembled} reassembled` +
    `${t.incomplete ? `, ${t.incomplete} incomplete` : ""}${t.dropped ? `, ${t.dropped} dropped` : ""}\n`);
  return 0;
}

function ms(x: number): string {
  return `${Math.round(x)} ms`;
}

function renderClientEvent(e: UdpEchoClientEvent): string | undefined {
  switch (e.kind) {
    case "start":
      return `local ${formatHostPort(e.local.address, e.local.port)}\n`;
    case "attempt":
      return undefined;
    case "timeout":
      return e.nextTimeoutMs === undefined
        ? `attempt ${e.attempt}: no reply in ${ms(e.waitedMs)}\n`
        : `attempt ${e.attempt}: no reply in ${ms(e.waitedMs)}, retrying with ${ms(e.nextTimeoutMs)}\n`;
    case "ignored":
      return `ignored ${e.bytes} bytes from ${formatHostPort(e.from.address, e.from.port)}: ${e.reason}\n`;
    case "send-error":
      return `attempt ${e.attempt}: ${e.error.message}\n`;
  }
}

async function client(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    message: { type: "string", short: "m" },
    timeout: { type: "string" },
    "max-timeout": { type: "string" },
    jitter: { type: "boolean" },
    seed: { type: "string" },
    "no-verify": { type: "boolean" },
    json: { type: "boolean" },
    ipv4: { type: "boolean", short: "4" },
    ipv6: { type: "boolean", short: "6" },
  });
  const [host, portText] = positionalArgs(positionals, ["server_ip", "server_port"]);
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  const timeoutMs = durationOption(values.timeout, "timeout", 100, 1);
  const maxTimeoutMs = durationOption(values["max-timeout"], "max-timeout", 2000, 1);
  if (maxTimeoutMs < timeoutMs) throw usageError(`--max-timeout (${maxTimeoutMs} ms) must not be below --timeout (${timeoutMs} ms)`);
  const seed = values.seed === undefined ? undefined : intOption(values.seed, "seed", 0, 0, 2 ** 32 - 1);
  const c = new UdpEchoClient({
    host: host ?? "", port: parsePort(portText ?? "", "server_port", false),
    timeoutMs, maxTimeoutMs, jitter: values.jitter === true, verify: values["no-verify"] !== true,
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
      const line = renderClientEvent(e);
      if (line !== undefined) ctx.stdout.write(line);
    }
  });
  const r = await c.run();
  if (json) ctx.stdout.write(`${JSON.stringify(toJson(r, events), null, 2)}\n`);
  else ctx.stdout.write(renderOutcome(r));
  return r.status === "reply" ? 0 : 1;
}

function renderOutcome(r: UdpEchoResult): string {
  const secs = `${(r.elapsedMs / 1000).toFixed(1)} s`;
  switch (r.status) {
    case "reply": {
      const p = r.reply;
      if (p === undefined) return "";
      const from = formatHostPort(p.from.address, p.from.port);
      const warn = p.fromServer && p.idMatches ? "" : ` (UNVERIFIED: ${p.fromServer ? "wrong request id" : "not the server"}, accepted because of --no-verify)`;
      const tries = p.attempts > 1 ? `, ${p.attempts} attempts, ${ms(p.elapsedMs)} since the first` : "";
      return `reply from ${from} in ${p.rttMs.toFixed(3)} ms${tries}${warn}: ${printableMessage(Buffer.from(p.text, "utf8"), 200)}\n`;
    }
    case "gave-up":
      return `gave up after ${r.attempts} attempts (${secs}): server down or network dropping everything\n`;
    case "aborted":
      return `interrupted after ${r.attempts} attempt${r.attempts === 1 ? "" : "s"} (${secs}), no reply\n`;
    case "send-failed":
      return `cannot send: ${r.error ?? "send failed"}\n`;
  }
}

function toJson(r: UdpEchoResult, events: UdpEchoClientEvent[]): unknown {
  return {
    status: r.status,
    server: r.server,
    local: r.local,
    request_id: r.requestId,
    message_bytes: r.messageBytes,
    attempts: r.attempts,
    elapsed_ms: r.elapsedMs,
    timeouts_ms: events.flatMap((e) => (e.kind === "attempt" ? [e.timeoutMs] : [])),
    ignored: events.flatMap((e) => (e.kind === "ignored" ? [{ from: e.from, bytes: e.bytes, reason: e.reason }] : [])),
    reply: r.reply === undefined ? null : {
      text: r.reply.text, id: r.reply.id ?? null, from: r.reply.from, from_server: r.reply.fromServer,
      id_matches: r.reply.idMatches, bytes: r.reply.bytes ?? null, rtt_ms: r.reply.rttMs, elapsed_ms: r.reply.elapsedMs,
    },
    ...(r.error !== undefined ? { error: r.error } : {}),
  };
}

function renderBigEvent(e: SendBigEvent): string | undefined {
  switch (e.kind) {
    case "start":
      return undefined;
    case "single":
      if (e.status === "sent") return "packet sent\n";
      if (e.status === "too-big") return `packet too big, cannot send: ${e.bytes} bytes > ${e.limit}, the largest UDP payload over IPv${e.family}\n`;
      return `packet not sent: ${e.error}\n`;
    case "parts-sent": {
      const last = e.lastPartBytes === e.partBytes ? "" : ` (the last ${e.lastPartBytes})`;
      const failed = e.failed > 0 ? `, ${e.failed} failed to send` : "";
      return `sent ${e.count} datagram${e.count === 1 ? "" : "s"} of ${e.partBytes} bytes${last}${failed}\n`;
    }
    case "reply":
      return `server: ${printableMessage(Buffer.from(e.text, "utf8"), 200)}\n`;
    case "ignored":
      return `ignored ${e.bytes} bytes from ${formatHostPort(e.from.address, e.from.port)}: ${e.reason}\n`;
  }
}

async function bigSend(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    size: { type: "string" },
    parts: { type: "string" },
    char: { type: "string" },
    wait: { type: "string" },
    interval: { type: "string" },
    json: { type: "boolean" },
    ipv4: { type: "boolean", short: "4" },
    ipv6: { type: "boolean", short: "6" },
  });
  const [host, portText] = positionalArgs(positionals, ["host", "port"]);
  const json = values.json === true;
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  const waitMs = durationOption(values.wait, "wait", 4000);
  const r = await sendBig({
    host: host ?? "", port: parsePort(portText ?? "", "port", false),
    size: intOption(values.size, "size", 80000, 0, MAX_BIG_MESSAGE),
    parts: intOption(values.parts, "parts", 16, 1, 65535),
    fill: values.char ?? "a",
    waitMs,
    intervalMs: durationOption(values.interval, "interval", 0),
    clock: ctx.clock, signal: ctx.signal,
    ...(values.ipv4 ? { family: 4 as const } : values.ipv6 ? { family: 6 as const } : {}),
  }, (e) => {
    const line = json ? undefined : renderBigEvent(e);
    if (line !== undefined) ctx.stdout.write(line);
  });
  if (json) {
    ctx.stdout.write(`${JSON.stringify({
      single: r.single, size: r.size, limit: r.limit, parts: r.parts, part_bytes: r.partBytes, message_id: r.messageId,
      confirmation: r.confirmation, confirmation_text: r.confirmationText ?? null,
    }, null, 2)}\n`);
    return waitMs === 0 || r.confirmation === "complete" ? 0 : 1;
  }
  if (waitMs === 0) return 0;
  if (r.confirmation === "none" && ctx.signal.aborted) {
    ctx.stdout.write("interrupted before the server's verdict\n");
    return 1;
  }
  if (r.confirmation === "none") {
    ctx.stdout.write(`no verdict from the server in ${formatG(waitMs / 1000)} s (is it a wirekit udp-echo server?)\n`);
    return 1;
  }
  return r.confirmation === "complete" ? 0 : 1;
}

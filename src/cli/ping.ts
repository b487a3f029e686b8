/** `wirekit ping HOST ...`: the ICMP pinger lab with its Windows-style output. Parse, call the library, print. */
import { usageError } from "../core/errors.js";
import { readFile } from "node:fs/promises";
import { systemClock } from "../core/clock.js";
import { isIP } from "node:net";
import { IcmpPinger, type IcmpPingEvent, type IcmpPingResult } from "../icmp/ping.js";
import { parseForm } from "./spec.js";
import { pingForm, pingSpec } from "./specs/ping.js";
import type { IcmpCapture } from "../render/pcap.js";
import { IcmpSocket, type OpenIcmpSocketOptions, type PmtuMode } from "../icmp/socket.js";
import { resolveHost } from "../core/address.js";
import type { EventLog } from "../render/record.js";
import {
  pingJson, pingJsonLine, pingLadder, renderIcmpPingStatistics, renderPingEvent, renderPingManyHeader, renderPingPattern, renderPingProgress, renderTargetTable,
  type LineStyle,
} from "../render/ping.js";
import type { CliContext } from "./context.js";

type PingValues = ReturnType<typeof parseForm<typeof pingForm.options>>["values"];

export const spec = pingSpec;

/** Largest -g range: a /16. */
const MAX_GENERATED = 65_534;

/** Host addresses of an IPv4 CIDR range, without network and broadcast (as fping -g) below /31. */
export function hostsOfCidr(cidr: string): string[] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  const parts = m?.slice(1, 5).map(Number) ?? [];
  const bits = Number(m?.[5]);
  if (m === null || parts.some((x) => x > 255) || !(bits >= 0 && bits <= 32)) throw usageError(`invalid range '${cidr}' (an IPv4 CIDR such as 127.0.0.0/28)`);
  const base = parts.reduce((acc, x) => acc * 256 + x, 0);
  const size = 2 ** (32 - bits);
  const start = base - (base % size);
  const first = bits >= 31 ? start : start + 1;
  const last = bits >= 31 ? start + size - 1 : start + size - 2;
  if (last - first + 1 > MAX_GENERATED) throw usageError(`range '${cidr}' is too large (at most a /16)`);
  const out: string[] = [];
  for (let x = first; x <= last; x++) out.push([x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255].join("."));
  return out;
}

/** Targets from a --file text: one per line, blank lines and # comments skipped. */
export function targetsOfFile(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.replace(/#.*$/, "").trim()).filter((l) => l !== "");
}

/** ping -p: hex digits, up to 16 bytes (an odd digit count is padded as iputils reads it). */
export function parsePattern(text: string): Buffer {
  if (!/^[0-9a-fA-F]{1,32}$/.test(text)) throw usageError(`invalid pattern '${text}' (hex digits, up to 16 bytes: -p ff00)`);
  return Buffer.from(text.length % 2 === 1 ? `${text}0` : text, "hex");
}

/** ping -Q: 0-255, decimal or 0x hex. */
export function parseTos(text: string): number {
  const n = /^0x[0-9a-f]{1,2}$/i.test(text) ? Number.parseInt(text.slice(2), 16) : /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 255)) throw usageError(`invalid TOS '${text}' (0-255, decimal or 0x..)`);
  return n;
}

async function readTargets(path: string, ctx: CliContext): Promise<string[]> {
  if (path === "-") {
    const input = ctx.stdin ?? process.stdin;
    let text = "";
    for await (const chunk of input) text += typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
    return targetsOfFile(text);
  }
  try {
    return targetsOfFile(await readFile(path, "utf8"));
  } catch (err) {
    throw usageError(`--file ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : err instanceof Error ? err.message : String(err)}`);
  }
}

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals, given } = parseForm(pingForm, argv);
  const hosts = [...positionals];
  if (values.file !== undefined) hosts.push(...(await readTargets(values.file, ctx)));
  if (values.generate !== undefined) hosts.push(...hostsOfCidr(values.generate));
  const unique = [...new Set(hosts)];
  if (unique.length === 0) throw usageError("missing destination_host (see --help)");
  const [host = "", ...more] = unique;
  const many = unique.length > 1;
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  if (values.json && values["json-lines"]) throw usageError("--json and --json-lines cannot be used together");
  if ((values.alive || values.unreachable) && !many) throw usageError("-a and -u list targets: give several (HOST HOST ..., --file, -g)");
  if (values.alive && values.unreachable) throw usageError("-a and -u cannot be used together");
  if (values.flood) {
    if (many) throw usageError("-f (flood) takes one target; for a file of targets use --file");
    if (process.getuid?.() !== 0) throw usageError("-f (flood) is for root only");
  }
  const pmtu = values.pmtu;
  if (pmtu !== undefined && pmtu !== "do" && pmtu !== "want" && pmtu !== "dont") throw usageError(`invalid -M '${pmtu}' (do, want or dont)`);
  if (values.source !== undefined && isIP(values.source) === 0) throw usageError(`invalid source '${values.source}' (an address of this host; interface names are not supported)`);
  // --diagram and --pcap load their modules only when asked for: a plain ping starts faster.
  if (values.diagram !== undefined) (await import("./diagram.js")).diagramFormat(values.diagram);
  if (values.pcap !== undefined && many) throw usageError("--pcap takes one target");
  const family = values.ipv4 ? 4 : values.ipv6 ? 6 : undefined;
  let capture: { capture: IcmpCapture; close(): void } | undefined;
  let local = "";
  if (values.pcap !== undefined) {
    // The synthesised headers name this host by the address routing picks toward the target.
    const target = await resolveHost(host, family);
    local = values.source ?? (await (await import("../core/udp-socket.js")).routeSourceAddress({ address: target.address, port: 9 }, target.family));
    capture = (await import("./pcap.js")).openIcmpCapture(values.pcap, ctx, "ping");
  }
  try {
    return await pingWith(values, given, host, more, unique, many, family, ctx, capture, local);
  } finally {
    capture?.close();
  }
}

async function pingWith(
  values: PingValues,
  given: ReadonlySet<string>,
  host: string,
  more: string[],
  unique: string[],
  many: boolean,
  family: 4 | 6 | undefined,
  ctx: CliContext,
  capture: { capture: IcmpCapture; close(): void } | undefined,
  local: string,
): Promise<number> {
  const pmtu = values.pmtu as PmtuMode | undefined; // checked by run()
  const deadline = values.deadline;
  const pinger = new IcmpPinger({
    host,
    more,
    // ping(8): with -w and no -c, ping goes on until the deadline.
    count: deadline !== undefined && !given.has("count") ? 0 : values.count,
    ...(values.flood && !given.has("interval") ? { intervalMs: 10 } : { intervalMs: values.interval }),
    timeoutMs: values.timeout,
    ...(deadline === undefined ? {} : { deadlineMs: deadline }),
    reportOutstanding: values.outstanding,
    flood: values.flood,
    size: values.size,
    ttl: values.ttl,
    identifier: values.identifier,
    ...(values.pattern === undefined ? {} : { pattern: parsePattern(values.pattern) }),
    ...(values.tos === undefined ? {} : { tos: parseTos(values.tos) }),
    ...(pmtu === undefined ? {} : { pmtu }),
    ...(values.source === undefined ? {} : { source: values.source }),
    family,
    clock: ctx.clock,
    signal: ctx.signal,
    ...(capture === undefined ? {} : { openSocket: (x: OpenIcmpSocketOptions) => capture.capture.wrap(IcmpSocket.open(x), local) }),
  });
  if (capture !== undefined) pinger.on("event", (await import("../render/pcap.js")).pingAnnotator(capture.capture, values.timeout));
  const names = unique;
  const listOnly = values.alive || values.unreachable;
  // -D prints microseconds, as iputils; the system clock's Date.now() has only milliseconds.
  const wallNow = ctx.clock === systemClock ? () => performance.timeOrigin + performance.now() : () => ctx.clock.now();
  const style: LineStyle = { timestamps: values.timestamps, pmtu: pmtu !== undefined, now: wallNow };
  let sent = 0;
  let received = 0;
  let headerDone = false;
  const unregister = ctx.onStatusRequest(() => {
    ctx.stderr.write(renderPingProgress(sent, received));
  });
  pinger.on("event", (e) => {
    if (e.kind === "sent" || e.kind === "send-error") sent++;
    if (e.kind === "reply") received++;
    if (values["json-lines"]) {
      ctx.stdout.write(pingJsonLine(e, ctx.clock.now(), e.target === undefined ? undefined : names[e.target]));
      return;
    }
    if (values.json || listOnly) return;
    if (values.flood) {
      const mark = e.kind === "sent" ? "." : e.kind === "reply" ? "\b \b" : e.kind === "error" || e.kind === "send-error" ? "E" : e.kind === "start" ? renderPingEvent(e, style) : undefined;
      if (mark !== undefined && !values.quiet) ctx.stdout.write(mark);
      return;
    }
    if (values.quiet && e.kind !== "send-error") return;
    if (many && e.kind === "start") {
      if (!headerDone) ctx.stdout.write(renderPingManyHeader(names.length, e.size));
      headerDone = true;
      return;
    }
    const line = renderPingEvent(e, style);
    if (e.kind === "start" && values.pattern !== undefined && line !== undefined) {
      // iputils names the pattern it fills the data with.
      ctx.stdout.write(`${line}${renderPingPattern(parsePattern(values.pattern))}`);
      return;
    }
    if (line !== undefined) ctx.stdout.write(many && e.target !== undefined ? `${names[e.target] ?? ""}: ${line}` : line);
  });
  let log: EventLog<IcmpPingEvent> | undefined;
  if (values.diagram !== undefined) {
    const record = (log = new (await import("../render/record.js")).EventLog<IcmpPingEvent>(ctx.clock));
    pinger.on("event", (e) => record.push(e));
  }
  let results: IcmpPingResult[];
  try {
    results = await pinger.runAll();
  } finally {
    unregister();
  }
  if (values.diagram !== undefined && log !== undefined) {
    const { writeDiagram } = await import("./diagram.js");
    await writeDiagram(values.diagram, pingLadder(log.entries, { timeoutMs: values.timeout }), ctx);
  }
  if (values.flood && !values.quiet && !values.json && !values["json-lines"]) ctx.stdout.write("\n");
  const answered = (r: IcmpPingResult): boolean => r.totals.received > 0 && (deadline === undefined || !given.has("count") || r.totals.received >= values.count);
  if (values.json) ctx.stdout.write(`${JSON.stringify(many ? { targets: results.map(pingJson) } : pingJson(results[0] as IcmpPingResult), null, 2)}\n`);
  else if (values["json-lines"]) ctx.stdout.write(`${JSON.stringify({ kind: "summary", ...(many ? { targets: results.map(pingJson) } : (pingJson(results[0] as IcmpPingResult) as object)) })}\n`);
  else if (listOnly) {
    for (const [i, r] of results.entries()) if (answered(r) === values.alive) ctx.stdout.write(`${names[i] ?? r.host}\n`);
  } else if (many) ctx.stdout.write(renderTargetTable(results, names));
  else ctx.stdout.write(renderIcmpPingStatistics(results[0] as IcmpPingResult));
  return results.every(answered) ? 0 : 1;
}

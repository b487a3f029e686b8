/** `wirekit ping HOST ...`: the ICMP pinger lab with its Windows-style output. Parse, call the library, print. */
import { usageError } from "../core/errors.js";
import { formatG, lossPercent } from "../core/stats.js";
import { IcmpPinger, type IcmpPingEvent, type IcmpPingResult } from "../icmp/ping.js";
import { durationOption, intOption, parseCommandArgs, positionalArgs } from "./args.js";
import type { CliContext } from "./context.js";
import { ms3 } from "./render/text.js";

export const help = `wirekit ping — ICMP echo (ping) over our own raw / ping socket, kernel-timestamped RTTs

Usage:
  wirekit ping <destination_host> [-n 4] [-i 1s] [-W 1s] [-s 56] [-t TTL] [-e ID] [-4|-6] [--json]

Options:
  -n, --count N      echo requests to send (default 4; 0 = until Ctrl-C)
  -i, --interval T   time between requests (default 1s; 0.2, 200ms ...; at least 2ms)
  -W, --timeout T    how long to wait for each reply (default 1s)
  -s, --size N       echo data bytes (default 56)
  -t, --ttl N        time to live / hop limit of the requests (1-255)
  -e, --identifier N echo identifier, 0-65535 (default: random; the kernel's on ping sockets)
  -4, -6             use IPv4 / IPv6 (default: what the name resolves to first)
  --json             one JSON document with every probe and the summary

Needs root, CAP_NET_RAW, or Linux ping sockets enabled for your group:
  sysctl -w net.ipv4.ping_group_range="0 2147483647"
Exit status: 0 if any reply came back, 1 if none, 2 on usage errors or an unknown host.

Examples:
  wirekit ping 127.0.0.1 -n 3
  wirekit ping ::1 -n 5 -i 0.2
  wirekit ping 10.77.1.2 -t 1
`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    count: { type: "string", short: "n" },
    interval: { type: "string", short: "i" },
    timeout: { type: "string", short: "W" },
    size: { type: "string", short: "s" },
    ttl: { type: "string", short: "t" },
    identifier: { type: "string", short: "e" },
    json: { type: "boolean" },
    ipv4: { type: "boolean", short: "4" },
    ipv6: { type: "boolean", short: "6" },
  });
  const [host] = positionalArgs(positionals, ["destination_host"]);
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  const pinger = new IcmpPinger({
    host: host ?? "",
    count: intOption(values.count, "count", 4, 0),
    intervalMs: durationOption(values.interval, "interval", 1000, 2),
    timeoutMs: durationOption(values.timeout, "timeout", 1000, 1),
    size: intOption(values.size, "size", 56, 0, 65527),
    ttl: values.ttl === undefined ? undefined : intOption(values.ttl, "ttl", 64, 1, 255),
    identifier: values.identifier === undefined ? undefined : intOption(values.identifier, "identifier", 0, 0, 65535),
    family: values.ipv4 ? 4 : values.ipv6 ? 6 : undefined,
    clock: ctx.clock,
    signal: ctx.signal,
  });
  let sent = 0;
  let received = 0;
  const unregister = ctx.onStatusRequest(() => {
    ctx.stderr.write(`${received}/${sent} packets, ${formatG(lossPercent(sent, received))}% loss\n`);
  });
  pinger.on("event", (e) => {
    if (e.kind === "sent" || e.kind === "send-error") sent++;
    if (e.kind === "reply") received++;
    if (!values.json) {
      const line = renderEvent(e);
      if (line !== undefined) ctx.stdout.write(line);
    }
  });
  let result: IcmpPingResult;
  try {
    result = await pinger.run();
  } finally {
    unregister();
  }
  if (values.json) ctx.stdout.write(`${JSON.stringify(toJson(result), null, 2)}\n`);
  else ctx.stdout.write(renderStatistics(result));
  return result.totals.received > 0 ? 0 : 1;
}

/** One line per event, in the lab's Windows-style format. */
export function renderEvent(e: IcmpPingEvent): string | undefined {
  switch (e.kind) {
    case "start": {
      const who = e.host === e.address ? e.address : `${e.host} [${e.address}]`;
      return `Pinging ${who} with ${e.size} bytes of data:\n`;
    }
    case "reply":
      return `Reply from ${e.from}: bytes=${e.bytes} time=${ms3(e.rttMs)}ms${e.ttl === undefined ? "" : ` TTL=${e.ttl}`}${e.differentAddress ? " (DIFFERENT ADDRESS!)" : ""}\n`;
    case "duplicate":
      return `Reply from ${e.from}: bytes=${e.bytes} time=${ms3(e.rttMs)}ms${e.ttl === undefined ? "" : ` TTL=${e.ttl}`} (DUP!)\n`;
    case "late":
      return `Late reply from ${e.from}: icmp_seq=${e.seq} time=${ms3(e.rttMs)}ms (counted as lost)\n`;
    case "timeout":
      return "Request timed out.\n";
    case "error":
    case "advisory":
      return `Reply from ${e.from}: ${e.text}\n`;
    case "send-error":
      return `Transmit failed: ${e.message}.\n`;
    case "sent":
    case "ignored":
      return undefined;
  }
}

/** The Windows-style statistics block. */
export function renderStatistics(r: IcmpPingResult): string {
  const t = r.totals;
  const lost = t.transmitted - t.received;
  let out = `\nPing statistics for ${r.address}:\n`;
  out += `    Packets: Sent = ${t.transmitted}, Received = ${t.received}, Lost = ${lost} (${lossText(lossPercent(t.transmitted, t.received))}% loss),\n`;
  if (t.duplicates > 0 || t.late > 0) out += `    Duplicates = ${t.duplicates}, Late = ${t.late}\n`;
  if (r.rtt.count > 0) {
    out += "Approximate round trip times in milli-seconds:\n";
    out += `    Minimum = ${ms3(r.rtt.min)}ms, Maximum = ${ms3(r.rtt.max)}ms, Average = ${ms3(r.rtt.avg)}ms, Std dev = ${ms3(r.rtt.mdev)}ms\n`;
  }
  return out;
}

/** Loss as Windows shows it (a whole number) when exact, else one decimal, never rounded to 0 or 100. */
export function lossText(pct: number): string {
  if (Number.isInteger(pct)) return String(pct);
  const s = (Math.floor(pct * 10) / 10).toFixed(1);
  return s === "0.0" ? formatG(Number(pct.toPrecision(1))) : s;
}

function toJson(r: IcmpPingResult): unknown {
  return {
    host: r.host,
    address: r.address,
    family: r.family,
    socket: r.socket,
    pings: r.pings.map((p) => ({
      seq: p.seq,
      status: p.status,
      rtt_ms: p.rttMs ?? null,
      ttl: p.ttl ?? null,
      from: p.from ?? null,
      error: p.error ?? null,
      duplicates: p.duplicates,
    })),
    summary: {
      transmitted: r.totals.transmitted,
      received: r.totals.received,
      lost: r.totals.transmitted - r.totals.received,
      errors: r.totals.errors,
      duplicates: r.totals.duplicates,
      late: r.totals.late,
      loss_percent: lossPercent(r.totals.transmitted, r.totals.received),
      time_ms: Math.round(r.totals.elapsedMs),
      rtt_ms: r.rtt.count === 0 ? null : { min: r.rtt.min, avg: r.rtt.avg, max: r.rtt.max, mdev: r.rtt.mdev },
    },
  };
}

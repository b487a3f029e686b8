/** `wirekit ping HOST ...`: the ICMP pinger lab with its Windows-style output. Parse, call the library, print. */
import { usageError } from "../core/errors.js";
import { formatG, lossPercent } from "../core/stats.js";
import { IcmpPinger, type IcmpPingEvent, type IcmpPingResult } from "../icmp/ping.js";
import { parseForm } from "./spec.js";
import { renderHelp } from "./spec-doc.js";
import { pingForm, pingSpec } from "./specs/ping.js";
import type { CliContext } from "./context.js";
import { ms3 } from "./render/text.js";

export const help = renderHelp(pingSpec);

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseForm(pingForm, argv);
  const [host = ""] = positionals;
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  const pinger = new IcmpPinger({
    host,
    count: values.count,
    intervalMs: values.interval,
    timeoutMs: values.timeout,
    size: values.size,
    ttl: values.ttl,
    identifier: values.identifier,
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
    if (!values.json && (!values.quiet || e.kind === "send-error")) {
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
    case "wrong-data":
      // iputils' wording (ping_common.c), on its own line after the reply it concerns.
      return `wrong data byte #${e.mismatch.index} should be 0x${e.mismatch.expected.toString(16)} but was 0x${e.mismatch.actual.toString(16)}\n`;
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
  if (t.corrupted > 0) out += `    Corrupted = ${t.corrupted} (wrong data, included in Received and Duplicates)\n`;
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
      wrong_data: p.wrongData === undefined ? null : { index: p.wrongData.index, expected: p.wrongData.expected, actual: p.wrongData.actual },
    })),
    summary: {
      transmitted: r.totals.transmitted,
      received: r.totals.received,
      lost: r.totals.transmitted - r.totals.received,
      errors: r.totals.errors,
      duplicates: r.totals.duplicates,
      late: r.totals.late,
      corrupted: r.totals.corrupted,
      loss_percent: lossPercent(r.totals.transmitted, r.totals.received),
      time_ms: Math.round(r.totals.elapsedMs),
      rtt_ms: r.rtt.count === 0 ? null : { min: r.rtt.min, avg: r.rtt.avg, max: r.rtt.max, mdev: r.rtt.mdev },
    },
  };
}

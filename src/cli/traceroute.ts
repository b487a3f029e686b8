/** `wirekit traceroute HOST ...`: parse, call the library, print in traceroute(8)'s format. */
import { usageError } from "../core/errors.js";
import { Traceroute, type TraceHop, type TracerouteEvent, type TracerouteResult } from "../icmp/traceroute.js";
import { durationOption, intOption, parseCommandArgs, positionalArgs } from "./args.js";
import type { CliContext } from "./context.js";

export const help = `wirekit traceroute — the route to a host, with ICMP echo probes and a growing TTL

Usage:
  wirekit traceroute <host> [-m 30] [-q 3] [-w 1s] [-f 1] [-N 16] [-n] [-4|-6] [--json]

Options:
  -m, --max-hops N   largest TTL / hop limit (default 30)
  -q, --queries N    probes per hop (default 3)
  -w, --wait T       how long to wait for each probe (default 1s)
  -f, --first N      first TTL (default 1)
  -N, --sim N        probes in flight at once, across hops (default 16)
  -n                 print addresses only, no reverse DNS
  -4, -6             use IPv4 / IPv6
  --json             one JSON document with every hop

Each hop: its number, the responding address (and name), one RTT per probe or * for none, and an
annotation when a router reports the destination unreachable: !N network, !H host, !P protocol,
!F-<mtu> fragmentation needed, !S source route failed, !X administratively prohibited,
!V host precedence violation, !C precedence cutoff. The trace stops at the destination or at the
first unreachable. Exit status: 0 when the destination answered, 1 when not, 2 on usage errors.
Needs root, CAP_NET_RAW, or ping sockets (sysctl -w net.ipv4.ping_group_range="0 2147483647").

Examples:
  wirekit traceroute -n 10.77.1.2
  wirekit traceroute ::1 -q 1
`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    "max-hops": { type: "string", short: "m" },
    queries: { type: "string", short: "q" },
    wait: { type: "string", short: "w" },
    first: { type: "string", short: "f" },
    sim: { type: "string", short: "N" },
    numeric: { type: "boolean", short: "n" },
    json: { type: "boolean" },
    ipv4: { type: "boolean", short: "4" },
    ipv6: { type: "boolean", short: "6" },
  });
  const [host] = positionalArgs(positionals, ["host"]);
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  const maxHops = intOption(values["max-hops"], "max hops", 30, 1, 255);
  const trace = new Traceroute({
    host: host ?? "",
    maxHops,
    queries: intOption(values.queries, "probes per hop", 3, 1, 10),
    waitMs: durationOption(values.wait, "wait", 1000, 1),
    firstTtl: intOption(values.first, "first TTL", 1, 1, maxHops),
    simultaneous: intOption(values.sim, "simultaneous probes", 16, 1, 1000),
    resolveNames: values.numeric !== true,
    family: values.ipv4 ? 4 : values.ipv6 ? 6 : undefined,
    clock: ctx.clock,
    signal: ctx.signal,
  });
  if (!values.json) {
    const numeric = values.numeric === true;
    trace.on("event", (e) => ctx.stdout.write(renderEvent(e, numeric)));
  }
  const result = await trace.run();
  if (values.json) ctx.stdout.write(`${JSON.stringify(toJson(result), null, 2)}\n`);
  return result.reached ? 0 : 1;
}

/**
 * traceroute(8)'s lines: the header, then "%2d " and per probe the responder when it changes
 * (" addr" with -n, else " name (addr)", the address standing in for a name reverse DNS does not
 * know, as traceroute prints it), then "  0.049 ms" or " *".
 */
export function renderEvent(e: TracerouteEvent, numeric = true): string {
  if (e.kind === "start") {
    return `traceroute to ${e.host} (${e.address}), ${e.maxHops} hops max, ${e.packetBytes} byte packets\n`;
  }
  return renderHop(e.hop, numeric);
}

export function renderHop(h: TraceHop, numeric = true): string {
  let line = `${String(h.hop).padStart(2)} `;
  let last: string | null = null;
  for (const p of h.probes) {
    if (p.from === null) {
      line += " *";
      continue;
    }
    if (p.from !== last) {
      line += numeric ? ` ${p.from}` : ` ${p.name ?? p.from} (${p.from})`;
      last = p.from;
    }
    line += `  ${p.rttMs.toFixed(3)} ms${p.annotation === "" ? "" : ` ${p.annotation}`}`;
  }
  return `${line}\n`;
}

function toJson(r: TracerouteResult): unknown {
  return {
    host: r.host,
    address: r.address,
    family: r.family,
    reached: r.reached,
    hops: r.hops.map((h) => ({
      hop: h.hop,
      probes: h.probes.map((p) =>
        p.from === null ? { from: null, rtt_ms: null } : { from: p.from, name: p.name ?? null, rtt_ms: p.rttMs, annotation: p.annotation || null },
      ),
    })),
  };
}

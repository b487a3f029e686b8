/**
 * `wirekit traceroute HOST ...`: parse, call the library, print in traceroute(8)'s format; with
 * --watch or --report, the mtr view (./mtr-view.ts).
 */
import { usageError } from "../core/errors.js";
import { Traceroute, type TraceHop, type TracerouteEvent, type TracerouteResult } from "../icmp/traceroute.js";
import { snakeKeys } from "../render/text.js";
import { parseForm } from "./spec.js";
import { probeMethod, runMtrView } from "./mtr-view.js";
import { tracerouteForm, tracerouteSpec } from "./specs/traceroute.js";
import type { IcmpCapture } from "../render/pcap.js";
import { openProber, type ProberOptions, type TraceMethod } from "../icmp/trace-probes.js";
import type { EventLog } from "../render/record.js";
import type { CliContext } from "./context.js";

type TraceValues = ReturnType<typeof parseForm<typeof tracerouteForm.options>>["values"];

export const spec = tracerouteSpec;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals, given } = parseForm(tracerouteForm, argv);
  const [host = ""] = positionals;
  if (values.watch || values.report) {
    for (const o of ["queries", "sim", "json-lines"] as const) if (given.has(o)) throw usageError(`--${o} does not apply to --watch / --report`);
    return runMtrView(
      {
        host,
        report: values.report,
        cycles: values.cycles,
        intervalMs: values.interval,
        waitMs: values.wait,
        maxHops: values["max-hops"],
        firstTtl: values.first,
        udp: values.udp,
        tcp: values.tcp,
        port: values.port,
        paris: values.paris,
        numeric: values.numeric,
        ipv4: values.ipv4,
        ipv6: values.ipv6,
        json: values.json,
        diagram: values.diagram,
        pcap: values.pcap,
      },
      ctx,
    );
  }
  for (const o of ["cycles", "interval"] as const) if (given.has(o)) throw usageError(`--${o} only applies with --watch or --report`);
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  if (values.json && values["json-lines"]) throw usageError("--json and --json-lines cannot be used together");
  const maxHops = values["max-hops"];
  if (values.first > maxHops) throw usageError(`invalid first TTL '${values.first}' (must be 1-${maxHops})`);
  const method = probeMethod(values.udp, values.tcp);
  // --diagram and --pcap load their modules only when asked for.
  if (values.diagram !== undefined) (await import("./diagram.js")).diagramFormat(values.diagram);
  const pcap = values.pcap === undefined ? undefined : (await import("./pcap.js")).openIcmpCapture(values.pcap, ctx, "traceroute");
  try {
    return await traceWith(values, host, method, maxHops, ctx, pcap);
  } finally {
    pcap?.close();
  }
}

async function traceWith(values: TraceValues, host: string, method: TraceMethod, maxHops: number, ctx: CliContext, pcap: { capture: IcmpCapture } | undefined): Promise<number> {
  const trace = new Traceroute({
    host,
    maxHops,
    queries: values.queries,
    waitMs: values.wait,
    firstTtl: values.first,
    simultaneous: values.sim,
    resolveNames: values.numeric !== true,
    method,
    paris: values.paris,
    ...(values.port === undefined ? {} : { port: values.port }),
    family: values.ipv4 ? 4 : values.ipv6 ? 6 : undefined,
    clock: ctx.clock,
    signal: ctx.signal,
    ...(pcap === undefined
      ? {}
      : {
          openProber: async (o: ProberOptions) => {
            // The probes' IP headers name this host by the address routing picks toward the target.
            pcap.capture.local = await (await import("../core/udp-socket.js")).routeSourceAddress({ address: o.target, port: 9 }, o.family);
            pcap.capture.target = o.target;
            return openProber({ ...o, tap: pcap.capture });
          },
        }),
  });
  const jsonLines = values["json-lines"];
  if (jsonLines) trace.on("event", (e) => ctx.stdout.write(`${JSON.stringify(snakeKeys({ ...e, at: new Date(ctx.clock.now()).toISOString() }))}\n`));
  else if (!values.json) {
    const numeric = values.numeric;
    trace.on("event", (e) => ctx.stdout.write(renderEvent(e, numeric)));
  }
  let log: EventLog<TracerouteEvent> | undefined;
  if (values.diagram !== undefined) {
    const record = (log = new (await import("../render/record.js")).EventLog<TracerouteEvent>(ctx.clock));
    trace.on("event", (e) => record.push(e));
  }
  const result = await trace.run();
  if (values.diagram !== undefined && log !== undefined) {
    const [{ writeDiagram }, { tracerouteLadder }] = await Promise.all([import("./diagram.js"), import("../render/traceroute.js")]);
    await writeDiagram(values.diagram, tracerouteLadder(log.entries), ctx);
  }
  if (values.json) ctx.stdout.write(`${JSON.stringify(toJson(result), null, 2)}\n`);
  else if (jsonLines) ctx.stdout.write(`${JSON.stringify({ kind: "summary", ...(toJson(result) as object) })}\n`);
  return result.reached ? 0 : 1;
}

/**
 * traceroute(8)'s lines: the header, then "%2d " and per probe the responder when it changes
 * (" addr" with -n, else " name (addr)", the address standing in for a name reverse DNS does not
 * know, as traceroute prints it), then "  0.049 ms" or " *".
 */
export function renderEvent(e: TracerouteEvent, numeric = true): string {
  if (e.kind === "start") {
    const how = e.method === "icmp" && !e.paris ? "" : `, ${e.method}${e.flow.dstPort === undefined ? "" : ` port ${e.flow.dstPort}`}${e.paris ? ", paris" : ""}`;
    return `traceroute to ${e.host} (${e.address}), ${e.maxHops} hops max, ${e.packetBytes} byte packets${how}\n`;
  }
  return e.kind === "hop" ? renderHop(e.hop, numeric) : "";
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
    method: r.method,
    paris: r.paris,
    flow: { src_port: r.flow.srcPort ?? null, dst_port: r.flow.dstPort ?? null, icmp_id: r.flow.icmpId ?? null, icmp_checksum: r.flow.icmpChecksum ?? null },
    hops: r.hops.map((h) => ({
      hop: h.hop,
      probes: h.probes.map((p) =>
        p.from === null ? { from: null, rtt_ms: null } : { from: p.from, name: p.name ?? null, rtt_ms: p.rttMs, annotation: p.annotation || null },
      ),
    })),
  };
}

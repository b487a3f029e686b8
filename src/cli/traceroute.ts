/**
 * `wirekit traceroute HOST ...`: parse, call the library, print in traceroute(8)'s format; with
 * --watch or --report, the mtr view (./mtr-view.ts).
 */
import { usageError } from "../core/errors.js";
import { Traceroute, type TracerouteEvent } from "../icmp/traceroute.js";
import { renderJsonLine } from "../render/text.js";
import { parseForm } from "./spec.js";
import { probeMethod, runMtrView } from "./mtr-view.js";
import { tracerouteForm, tracerouteSpec } from "./specs/traceroute.js";
import type { IcmpCapture } from "../render/pcap.js";
import { openProber, type ProberOptions, type TraceMethod } from "../icmp/trace-probes.js";
import type { EventLog } from "../render/record.js";
import { renderTracerouteEvent, tracerouteJson, tracerouteLadder } from "../render/traceroute.js";
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
  if (jsonLines) trace.on("event", (e) => ctx.stdout.write(renderJsonLine(e, ctx.clock.now())));
  else if (!values.json) {
    const numeric = values.numeric;
    trace.on("event", (e) => ctx.stdout.write(renderTracerouteEvent(e, numeric)));
  }
  let log: EventLog<TracerouteEvent> | undefined;
  if (values.diagram !== undefined) {
    const record = (log = new (await import("../render/record.js")).EventLog<TracerouteEvent>(ctx.clock));
    trace.on("event", (e) => record.push(e));
  }
  const result = await trace.run();
  if (values.diagram !== undefined && log !== undefined) {
    const { writeDiagram } = await import("./diagram.js");
    await writeDiagram(values.diagram, tracerouteLadder(log.entries), ctx);
  }
  if (values.json) ctx.stdout.write(`${JSON.stringify(tracerouteJson(result), null, 2)}\n`);
  else if (jsonLines) ctx.stdout.write(`${JSON.stringify({ kind: "summary", ...(tracerouteJson(result) as object) })}\n`);
  return result.reached ? 0 : 1;
}

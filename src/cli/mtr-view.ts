/**
 * The mtr view shared by `wirekit mtr` and `wirekit traceroute --watch/--report`: run the
 * library's Mtr and draw its table. On a terminal (and without --report) the table is redrawn at
 * each cycle and printed once more when the run ends (Ctrl-C); otherwise it is printed once, at
 * the end.
 */
import { usageError } from "../core/errors.js";
import { Mtr, type MtrEvent } from "../icmp/mtr.js";
import { openProber, type ProberOptions, type TraceMethod } from "../icmp/trace-probes.js";
import { mtrJson, mtrTitle, renderMtrTable } from "../render/mtr-table.js";
import type { CliContext } from "./context.js";
import type { IcmpCapture } from "../render/pcap.js";
import type { EventLog } from "../render/record.js";

export interface MtrCliOptions {
  host: string;
  report: boolean;
  cycles: number | undefined;
  intervalMs: number;
  waitMs: number;
  maxHops: number;
  firstTtl: number;
  udp: boolean;
  tcp: boolean;
  port: number | undefined;
  paris: boolean;
  numeric: boolean;
  ipv4: boolean;
  ipv6: boolean;
  json: boolean;
  /** --diagram FILE: the first cycles as a ladder. */
  diagram?: string | undefined;
  /** --pcap FILE: every probe and answer, written as the run goes. */
  pcap?: string | undefined;
}

/** -U / -T / neither, as a method; both is a usage error. */
export function probeMethod(udp: boolean, tcp: boolean): TraceMethod {
  if (udp && tcp) throw usageError("-U and -T cannot be used together");
  return udp ? "udp" : tcp ? "tcp" : "icmp";
}

const CLEAR = "\x1b[H\x1b[2J";

export async function runMtrView(v: MtrCliOptions, ctx: CliContext): Promise<number> {
  if (v.ipv4 && v.ipv6) throw usageError("-4 and -6 cannot be used together");
  if (v.firstTtl > v.maxHops) throw usageError(`invalid first TTL '${v.firstTtl}' (must be 1-${v.maxHops})`);
  const method = probeMethod(v.udp, v.tcp);
  const cycles = v.cycles ?? (v.report ? 10 : 0);
  const live = ctx.stdout.isTTY === true && !v.report && !v.json;
  // --diagram and --pcap load their modules only when asked for.
  if (v.diagram !== undefined) (await import("./diagram.js")).diagramFormat(v.diagram);
  // Packets are written once older than the wait: the last decision about a probe (its timeout) is in by then.
  const pcap = v.pcap === undefined ? undefined : (await import("./pcap.js")).openIcmpCapture(v.pcap, ctx, "mtr", { holdMs: v.waitMs + 1000 });
  try {
    return await mtrWith(v, method, cycles, live, ctx, pcap?.capture);
  } finally {
    pcap?.close();
  }
}

async function mtrWith(v: MtrCliOptions, method: TraceMethod, cycles: number, live: boolean, ctx: CliContext, capture: IcmpCapture | undefined): Promise<number> {
  const tapped = capture === undefined ? undefined : (await import("../render/pcap.js")).mtrCapture(capture, v.waitMs);
  const mtr = new Mtr({
    host: v.host,
    cycles,
    intervalMs: v.intervalMs,
    waitMs: v.waitMs,
    maxHops: v.maxHops,
    firstTtl: v.firstTtl,
    method,
    paris: v.paris,
    ...(v.port === undefined ? {} : { port: v.port }),
    resolveNames: !v.numeric,
    family: v.ipv4 ? 4 : v.ipv6 ? 6 : undefined,
    clock: ctx.clock,
    signal: ctx.signal,
    ...(capture === undefined || tapped === undefined
      ? {}
      : {
          openProber: async (o: ProberOptions) => {
            // The probes' IP headers name this host by the address routing picks toward the target.
            capture.local = await (await import("../core/udp-socket.js")).routeSourceAddress({ address: o.target, port: 9 }, o.family);
            capture.target = o.target;
            return openProber({ ...o, tap: tapped.tap });
          },
        }),
  });
  if (tapped !== undefined) mtr.on("event", (e) => tapped.annotate(e));
  let log: EventLog<MtrEvent> | undefined;
  if (v.diagram !== undefined) {
    const [{ EventLog: Log }, { keptForDiagram }] = await Promise.all([import("../render/record.js"), import("../render/mtr.js")]);
    const record = (log = new Log<MtrEvent>(ctx.clock));
    // Bounded: only the first cycles' probes and answers are kept.
    mtr.on("event", (e) => {
      if (keptForDiagram(e)) record.push(e);
    });
  }
  let title = "";
  mtr.on("event", (e: MtrEvent) => {
    if (e.kind === "start") title = mtrTitle(e.host, e.address, e.method, e.paris);
    else if (e.kind === "cycle" && live) ctx.stdout.write(`${CLEAR}${title}${renderMtrTable(e.rows, v.numeric)}`);
  });
  const result = await mtr.run();
  if (v.diagram !== undefined && log !== undefined) {
    const [{ writeDiagram }, { mtrLadder }] = await Promise.all([import("./diagram.js"), import("../render/mtr.js")]);
    await writeDiagram(v.diagram, mtrLadder(log.entries, result, { waitMs: v.waitMs }), ctx);
  }
  if (v.json) ctx.stdout.write(`${JSON.stringify(mtrJson(result), null, 2)}\n`);
  else ctx.stdout.write(`${title}${renderMtrTable(result.rows, v.numeric)}`);
  return result.reached ? 0 : 1;
}

/**
 * The mtr view shared by `wirekit mtr` and `wirekit traceroute --watch/--report`: run the
 * library's Mtr and draw its table. On a terminal (and without --report) the table is redrawn at
 * each cycle and printed once more when the run ends (Ctrl-C); otherwise it is printed once, at
 * the end.
 */
import { usageError } from "../core/errors.js";
import { Mtr, type MtrEvent } from "../icmp/mtr.js";
import type { TraceMethod } from "../icmp/trace-probes.js";
import { mtrJson, mtrTitle, renderMtrTable } from "../render/mtr-table.js";
import type { CliContext } from "./context.js";

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
  });
  let title = "";
  mtr.on("event", (e: MtrEvent) => {
    if (e.kind === "start") title = mtrTitle(e.host, e.address, e.method, e.paris);
    else if (live) ctx.stdout.write(`${CLEAR}${title}${renderMtrTable(e.rows, v.numeric)}`);
  });
  const result = await mtr.run();
  if (v.json) ctx.stdout.write(`${JSON.stringify(mtrJson(result), null, 2)}\n`);
  else ctx.stdout.write(`${title}${renderMtrTable(result.rows, v.numeric)}`);
  return result.reached ? 0 : 1;
}

/**
 * The mtr view's text, for `wirekit mtr` and `traceroute --watch/--report`: the title, the
 * per-hop table (redrawn at each cycle on a terminal) and the --json document. Pure.
 */
import type { MtrResult } from "../icmp/mtr.js";
import type { HopRow } from "../icmp/mtr-stats.js";
import type { TraceMethod } from "../icmp/trace-probes.js";
import { escapeText } from "../core/escape.js";

/** The line above the table: target, address, probe method. */
export function mtrTitle(host: string, address: string, method: TraceMethod, paris: boolean): string {
  return `mtr to ${escapeText(host)} (${address}), ${method}${paris ? ", paris" : ""}\n`;
}

const COLUMNS = ["Loss%", "Snt", "Last", "Avg", "Best", "Wrst", "StDev"] as const;

function ms(x: number | undefined): string {
  return x === undefined ? "-" : x.toFixed(2);
}

/**
 * mtr's report table: a hop per line with its first host and the statistics; any further host
 * that answered at the same TTL on a line of its own below; "???" for a hop nobody answered.
 *
 * @example
 * renderMtrTable([{ hop: 1, hosts: [{ address: "10.0.0.1", replies: 1 }], sent: 1, received: 1, lossPercent: 0, lastMs: 0.1, avgMs: 0.1, bestMs: 0.1, worstMs: 0.1, stdevMs: 0, annotation: "" }])
 */
export function renderMtrTable(rows: readonly HopRow[], numeric = true): string {
  const label = (h: HopRow["hosts"][number]): string => (numeric || h.name === undefined ? h.address : `${escapeText(h.name)} (${h.address})`);
  const hostText = rows.map((r) => {
    const first = r.hosts[0];
    return first === undefined ? "???" : `${label(first)}${r.annotation === "" ? "" : ` ${r.annotation}`}`;
  });
  const width = Math.max(24, ...hostText.map((h) => h.length), ...rows.flatMap((r) => r.hosts.slice(1).map((h) => label(h).length)));
  const cols = (cells: readonly string[]): string => cells.map((c, i) => c.padStart(i === 0 ? 6 : 7)).join("");
  let out = `${"Hop".padStart(4)}  ${"Host".padEnd(width)}${cols(COLUMNS)}\n`;
  rows.forEach((r, i) => {
    const cells = [`${r.lossPercent.toFixed(1)}%`, String(r.sent), ms(r.lastMs), ms(r.avgMs), ms(r.bestMs), ms(r.worstMs), ms(r.stdevMs)];
    out += `${String(r.hop).padStart(4)}  ${(hostText[i] ?? "").padEnd(width)}${cols(cells)}\n`;
    for (const h of r.hosts.slice(1)) out += `${"".padStart(4)}  ${label(h)}\n`;
  });
  return out;
}

/** The `--json` document of a run. */
export function mtrJson(r: MtrResult): unknown {
  return {
    host: r.host,
    address: r.address,
    family: r.family,
    method: r.method,
    paris: r.paris,
    cycles: r.cycles,
    reached: r.reached,
    hops: r.rows.map((h) => ({
      hop: h.hop,
      hosts: h.hosts.map((x) => ({ address: x.address, name: x.name ?? null, replies: x.replies })),
      sent: h.sent,
      received: h.received,
      loss_percent: h.lossPercent,
      last_ms: h.lastMs ?? null,
      avg_ms: h.avgMs ?? null,
      best_ms: h.bestMs ?? null,
      worst_ms: h.worstMs ?? null,
      stdev_ms: h.stdevMs ?? null,
      annotation: h.annotation || null,
    })),
  };
}

/**
 * `wirekit traceroute` as a ladder: one lifeline per hop, and per TTL each probe with the ICMP
 * reply it drew (Time Exceeded from a router, the destination's answer, an unreachable); a probe
 * nothing answered ends in a cross.
 */
import type { TracerouteEvent } from "../icmp/traceroute.js";
import type { Ladder, LadderRow } from "./ladder.js";
import type { Timed } from "./record.js";

export function tracerouteLadder(log: ReadonlyArray<Timed<TracerouteEvent>>): Ladder {
  const start = log.find((t) => t.event.kind === "start")?.event;
  const hops = log.flatMap((t) => (t.event.kind === "hop" ? [{ at: t.at, hop: t.event.hop }] : [])).sort((a, b) => a.hop.hop - b.hop.hop);
  const rows: LadderRow[] = [];
  const probe = start?.kind === "start" ? (start.method === "icmp" ? "ICMP echo" : start.method === "udp" ? "UDP" : "TCP SYN") : "probe";
  hops.forEach(({ at, hop }, i) => {
    const lane = i + 1;
    hop.probes.forEach((p, k) => {
      if (p.from === null) {
        rows.push({ kind: "message", from: 0, to: lane, lines: [`${probe} TTL=${hop.hop} (probe ${k + 1})`], at, fate: "lost", decision: "no reply: *" });
        return;
      }
      rows.push({ kind: "message", from: 0, to: lane, lines: [`${probe} TTL=${hop.hop} (probe ${k + 1})`], at });
      const what = p.reached ? "reply from the destination" : "Time Exceeded";
      rows.push({
        kind: "message",
        from: lane,
        to: 0,
        lines: [`${what} from ${p.from}, ${p.rttMs.toFixed(3)} ms${p.annotation === "" ? "" : ` ${p.annotation}`}`],
        at,
      });
    });
  });
  const label = (i: number): string => {
    const h = hops[i]?.hop;
    const from = h?.probes.find((p) => p.from !== null);
    const addr = from !== undefined && from.from !== null ? (from.name !== undefined && from.name !== from.from ? `${from.name} (${from.from})` : from.from) : "*";
    return `hop ${h?.hop ?? i + 1}: ${addr}`;
  };
  return {
    title: start?.kind === "start" ? `traceroute to ${start.host} (${start.address})` : "traceroute",
    lifelines: [{ id: "C", label: "this host" }, ...hops.map((_, i) => ({ id: `H${i + 1}`, label: label(i) }))],
    rows,
  };
}

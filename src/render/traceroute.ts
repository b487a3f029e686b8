/**
 * `wirekit traceroute` as a ladder: one lifeline per hop, and per TTL each probe with the ICMP
 * reply it drew (Time Exceeded from a router, the destination's answer, an unreachable); a probe
 * nothing answered ends in a cross. And traceroute(8)'s lines for its events.
 */
import type { TraceHop, TracerouteEvent, TracerouteResult } from "../icmp/traceroute.js";
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

/**
 * traceroute(8)'s lines: the header, then "%2d " and per probe the responder when it changes
 * (" addr" with -n, else " name (addr)", the address standing in for a name reverse DNS does not
 * know, as traceroute prints it), then "  0.049 ms" or " *".
 */
export function renderTracerouteEvent(e: TracerouteEvent, numeric = true): string {
  if (e.kind === "start") {
    const how = e.method === "icmp" && !e.paris ? "" : `, ${e.method}${e.flow.dstPort === undefined ? "" : ` port ${e.flow.dstPort}`}${e.paris ? ", paris" : ""}`;
    return `traceroute to ${e.host} (${e.address}), ${e.maxHops} hops max, ${e.packetBytes} byte packets${how}\n`;
  }
  return e.kind === "hop" ? renderHop(e.hop, numeric) : "";
}

/** One hop's line (with its newline). */
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

/** The `--json` document of a trace (and the summary of `--json-lines`). */
export function tracerouteJson(r: TracerouteResult): unknown {
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

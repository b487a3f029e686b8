/**
 * `wirekit mtr` (and `traceroute --watch/--report`) as a ladder: one lifeline per hop, and per
 * cycle each probe with the answer it drew, as traceroute's ladder draws one round. A run may
 * last for days, so the diagram is bounded: it draws the first DIAGRAM_CYCLES cycles (their
 * events are all the CLI keeps, see `keptForDiagram`) and says how many more ran.
 */
import type { MtrEvent, MtrResult } from "../icmp/mtr.js";
import type { Ladder, LadderRow, MessageRow } from "./ladder.js";
import { msText, type Timed } from "./record.js";

/** Cycles an mtr diagram draws: the first ones. */
export const DIAGRAM_CYCLES = 10;

/** Whether the diagram needs `e`: the start, and the probes and answers of the first cycles (never the tables). */
export function keptForDiagram(e: MtrEvent): boolean {
  return e.kind === "start" || (e.kind !== "cycle" && e.cycle <= DIAGRAM_CYCLES);
}

/** mtr's decision on a probe or an answer (a pcap comment / ladder note); undefined for none. */
export function mtrDecision(e: MtrEvent, waitMs: number): string | undefined {
  switch (e.kind) {
    case "timeout":
      return `no answer within ${msText(waitMs)}: cycle ${e.cycle}, TTL ${e.ttl} counted lost`;
    case "late":
      return `late answer for cycle ${e.cycle}, TTL ${e.ttl}, already counted lost`;
    case "reply":
      return `answers cycle ${e.cycle}, TTL ${e.ttl}`;
    case "send-error":
      return `cycle ${e.cycle}, TTL ${e.ttl}: send failed: ${e.message}`;
    default:
      return undefined;
  }
}

export function mtrLadder(log: ReadonlyArray<Timed<MtrEvent>>, result: MtrResult | undefined, options: { waitMs: number }): Ladder {
  const start = log.find((t) => t.event.kind === "start")?.event;
  const probe = start?.kind === "start" ? (start.method === "icmp" ? "ICMP echo" : start.method === "udp" ? "UDP" : "TCP SYN") : "probe";
  // The first cycle probes every TTL before the end of the path is known: only the hops of the
  // table get a lifeline; the probes past the end are counted in a note.
  const hops = result === undefined ? undefined : new Set(result.rows.map((r) => r.hop));
  const drawn = (ttl: number): boolean => hops === undefined || hops.has(ttl);
  const past = log.flatMap((t) => (t.event.kind === "probe" && !drawn(t.event.ttl) ? [t.event.ttl] : []));
  const ttls = [...new Set(log.flatMap((t) => (t.event.kind === "start" || t.event.kind === "cycle" || !drawn(t.event.ttl) ? [] : [t.event.ttl])))].sort((a, b) => a - b);
  const lane = new Map(ttls.map((ttl, i) => [ttl, i + 1]));
  const rows: LadderRow[] = [];
  const probes = new Map<string, MessageRow>();
  for (const { at, event: e } of log) {
    if (e.kind === "start" || e.kind === "cycle" || !drawn(e.ttl)) continue;
    const to = lane.get(e.ttl) ?? 1;
    const key = `${e.cycle}/${e.ttl}`;
    const decision = mtrDecision(e, options.waitMs);
    switch (e.kind) {
      case "probe": {
        const row: MessageRow = { kind: "message", from: 0, to, lines: [`cycle ${e.cycle}: ${probe} TTL=${e.ttl}`], at };
        probes.set(key, row);
        rows.push(row);
        break;
      }
      case "reply": {
        const what = e.reached ? "reply from the destination" : e.final ? "unreachable" : "Time Exceeded";
        rows.push({ kind: "message", from: to, to: 0, lines: [`${what} from ${e.from}, ${e.rttMs.toFixed(3)} ms${e.annotation === "" ? "" : ` ${e.annotation}`}`], at });
        break;
      }
      case "timeout": {
        const row = probes.get(key);
        if (row !== undefined) Object.assign(row, { fate: "lost", decision: decision ?? "" });
        break;
      }
      case "late":
        rows.push({ kind: "message", from: to, to: 0, lines: [`late answer from ${e.from}, ${e.rttMs.toFixed(3)} ms`], at, fate: "late", ...(decision === undefined ? {} : { decision }) });
        break;
      case "send-error":
        rows.push({ kind: "note", tone: "warn", text: decision ?? "send failed", at });
        break;
    }
  }
  if (past.length > 0) rows.push({ kind: "note", text: `${past.length} probe${past.length === 1 ? "" : "s"} past the end of the path (TTL ${Math.min(...past) === Math.max(...past) ? Math.min(...past) : `${Math.min(...past)}-${Math.max(...past)}`}) not drawn` });
  const more = (result?.cycles ?? 0) - DIAGRAM_CYCLES;
  if (more > 0) rows.push({ kind: "note", text: `${more} more cycle${more === 1 ? "" : "s"} ran; the diagram draws the first ${DIAGRAM_CYCLES} (the table has them all)` });
  const label = (ttl: number): string => {
    const hosts = result?.rows.find((r) => r.hop === ttl)?.hosts ?? [];
    const first = hosts[0];
    const who = first === undefined ? "???" : first.name !== undefined && first.name !== first.address ? `${first.name} (${first.address})` : first.address;
    return `hop ${ttl}: ${who}${hosts.length > 1 ? ` +${hosts.length - 1}` : ""}`;
  };
  return {
    title: start?.kind === "start" ? `mtr to ${start.host} (${start.address})` : "mtr",
    lifelines: [{ id: "C", label: "this host" }, ...ttls.map((ttl, i) => ({ id: `H${i + 1}`, label: label(ttl) }))],
    rows,
  };
}

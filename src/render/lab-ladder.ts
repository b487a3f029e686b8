/**
 * The dashboard's live ladder of one lab service: its last exchanges, drawn by the same
 * renderer as every tool's `--diagram` (ladder.ts), seen from the server's side. Each LabEvent
 * the service emits becomes a request arrow into the server and, where the server answered,
 * the answer back; the server's decision (dropped by simulated loss, a delay, a cache HIT, a
 * heartbeat counted lost) is written under it. Pure: events in, a Ladder out.
 */
import type { LabEvent } from "../lab/service.js";
import { escapeText } from "../core/escape.js";
import type { Ladder, LadderRow } from "./ladder.js";

/** Exchanges shown at most. */
export const LAB_LADDER_EVENTS = 12;

const str = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
/** A peer's text on one short line: control characters escaped, long text cut. */
const short = (s: string, max = 48): string => {
  const t = escapeText(s);
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

function rowsFor(service: string, e: LabEvent, at: number): LadderRow[] {
  const d = e.data ?? {};
  const from = short(str(d.from) || str(d.client) || "client", 28);
  switch (service) {
    case "udp-ping":
    case "udp-echo": {
      if (e.kind !== "datagram") return [{ kind: "note", text: short(e.text, 80), at }];
      const bytes = num(d.bytes);
      const id = str(d.id);
      const ask: LadderRow = { kind: "message", from: 0, to: 1, lines: [`${from}: ${bytes ?? "?"} bytes${id !== "" ? `, id ${short(id, 16)}` : ""}`], at };
      if (d.dropped === true) return [{ ...ask, fate: "lost", decision: "dropped by simulated loss" }];
      const impairment = str(d.impairment);
      return [ask, { kind: "message", from: 1, to: 0, lines: [service === "udp-ping" ? "echo, upper-cased" : "reply"], at, ...(impairment !== "" ? { decision: short(impairment, 60) } : {}) }];
    }
    case "heartbeat": {
      if (e.kind === "heartbeat") {
        const delay = num(d.delayMs);
        return [{ kind: "message", from: 0, to: 1, lines: [`${short(str(d.client), 20)} seq ${str(d.seq)}`], at, ...(delay !== undefined ? { decision: `one-way delay ${delay.toFixed(1)} ms` } : {}) }];
      }
      return [{ kind: "note", text: short(e.text, 80), tone: e.kind === "lost" || e.kind === "stopped" || e.kind === "suspect" ? "warn" : "note", at }];
    }
    case "http": {
      const status = num(d.status);
      return [
        { kind: "message", from: 0, to: 1, lines: [`${short(str(d.method), 8)} ${short(str(d.path))}`], at },
        { kind: "message", from: 1, to: 0, lines: [`${status ?? "?"}${num(d.bytes) !== undefined ? `, ${num(d.bytes)} bytes` : ""}`], at, ...(status !== undefined && status >= 400 ? { decision: status >= 500 ? "server error" : "client error" } : {}) },
      ];
    }
    case "proxy": {
      const status = num(d.status);
      const cacheStatus = str(d.cacheStatus);
      // Answered without the origin: from the cache, by the proxy itself, or refused.
      const noFetch = /^(HIT|STALE|LOCAL|DENIED|TUNNEL)$/i.test(cacheStatus);
      const target = short(str(d.url));
      const rows: LadderRow[] = [{ kind: "message", from: 0, to: 1, lines: [`${short(str(d.method), 8)} ${target}`], at }];
      if (!noFetch && str(d.method) !== "CONNECT") {
        rows.push({ kind: "message", from: 1, to: 2, lines: [`fetch ${target}`], at, fate: "inferred" });
        rows.push({ kind: "message", from: 2, to: 1, lines: ["response"], at, fate: "inferred" });
      }
      rows.push({ kind: "message", from: 1, to: 0, lines: [`${status ?? "?"}`], at, ...(cacheStatus !== "" ? { decision: short(cacheStatus, 60) } : {}) });
      return rows;
    }
    case "mail": {
      if (e.kind === "rejected") return [{ kind: "message", from: 0, to: 1, lines: ["message"], at, fate: "ignored", decision: short(e.text, 60) }];
      return [
        { kind: "message", from: 0, to: 1, lines: [`${short(str(d.from), 24)} → ${short(str(d.to), 24)}`, short(str(d.subject) || "(no subject)")], at },
        { kind: "message", from: 1, to: 0, lines: ["250 queued"], at },
      ];
    }
    default:
      return [{ kind: "note", text: short(e.text, 80), at }];
  }
}

/**
 * The ladder of a service's last `LAB_LADDER_EVENTS` events (oldest first), times relative to
 * the first shown.
 *
 * @example
 * renderLadderSvg(labLadder("udp-ping", events))
 */
export function labLadder(service: string, events: readonly LabEvent[]): Ladder {
  const shown = events.slice(-LAB_LADDER_EVENTS);
  const t0 = shown[0]?.at ?? 0;
  const server = service === "heartbeat" ? "monitor" : service === "mail" ? "mail sink" : service === "proxy" ? "proxy" : "server";
  const lifelines = [{ id: "C", label: service === "heartbeat" ? "senders" : "clients" }, { id: "S", label: `${server} (${service})` }];
  if (service === "proxy") lifelines.push({ id: "O", label: "origin" });
  const rows = shown.flatMap((e) => rowsFor(service, e, Math.max(0, e.at - t0)));
  if (rows.length === 0) rows.push({ kind: "note", text: "nothing yet: run the client command" });
  return { title: `${service}: the last ${shown.length} exchanges`, lifelines, rows };
}

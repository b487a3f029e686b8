/** The heartbeat monitor (issue 3) as a lab service. */
import { describeImpairment } from "../../core/impair.js";
import { createHeartbeatMonitor } from "../../udp/heartbeat/monitor.js";
import type { HeartbeatEventKind } from "../../udp/heartbeat/events.js";
import { describeHeartbeatEvent } from "../../render/heartbeat-events.js";
import { sendHeartbeats } from "../../udp/heartbeat/sender.js";
import { renderHeartbeatSenderSummaryLine } from "../../render/heartbeat.js";
import { impairedTotals, serviceFromServer, type LabService } from "../service.js";

/** Monitor events the dashboard gets, under the names it knows them by. */
const HEARTBEAT_LAB_KINDS: Partial<Record<HeartbeatEventKind, string>> = {
  "client-joined": "joined",
  lost: "lost",
  reordered: "reordered",
  duplicate: "duplicate",
  suspect: "suspect",
  stopped: "stopped",
  resumed: "resumed",
  restarted: "restarted",
  heartbeat: "heartbeat",
};

/**
 * The heartbeat monitor. totals(): {heartbeats, clients, lost, malformed}. snapshot():
 * `{ clients: Array<{ id, address, status: "alive"|"suspect"|"dead", phi, received, lost,
 * lossPercent, reordered, duplicates, restarts, lastSeen (wall ms), delayMs: {min, avg, max} | null }> }`.
 * subscribe(): one LabEvent per monitor event, kind "joined" | "lost" | "reordered" | "duplicate" |
 * "suspect" | "stopped" | "resumed" | "restarted" | "heartbeat" (data {client, seq, delayMs});
 * text is the line `wirekit heartbeat serve` prints, data the event's fields.
 */
export const heartbeatService: LabService = {
  name: "heartbeat",
  description: "heartbeat monitor",
  defaultPort: 12001,
  impairable: true,
  async start({ host, port, impair }) {
    const monitor = await createHeartbeatMonitor({
      host, port,
      ...(impair !== undefined ? { impair: impair.config } : {}),
      ...(impair?.seed !== undefined ? { seed: impair.seed } : {}),
    });
    return serviceFromServer({
      name: "heartbeat",
      server: monitor,
      transport: "udp",
      clientCommand: `wirekit heartbeat ${monitor.address} ${monitor.port}`,
      impairment: describeImpairment(monitor.options.impairment, monitor.seed),
      clock: monitor.clock,
      totals: () => {
        const t = monitor.totals();
        return {
          heartbeats: t.heartbeats, clients: t.clients, lost: t.lost, malformed: t.malformed,
          ...(impair !== undefined ? { reordered: t.reordered, duplicates: t.duplicates, ...impairedTotals(monitor.impairmentTotals()) } : {}),
        };
      },
      snapshot: () => ({
        clients: monitor.clients().map((c) => ({
          id: c.id,
          address: c.address,
          status: c.status,
          phi: c.phi,
          received: c.received,
          lost: c.lost,
          lossPercent: c.lossPercent,
          reordered: c.reordered,
          duplicates: c.duplicates,
          restarts: c.restarts,
          lastSeen: c.lastSeen,
          delayMs: c.delayMs === null ? null : { min: c.delayMs.min, avg: c.delayMs.avg, max: c.delayMs.max },
        })),
      }),
      feed: {
        render: describeHeartbeatEvent,
        kinds: HEARTBEAT_LAB_KINDS,
        at: () => monitor.clock.now(),
        data: (e) => {
          if (e.kind === "heartbeat") return { client: e.client, seq: e.seq, delayMs: e.delayMs };
          const { kind: _kind, ...fields } = e;
          return fields;
        },
      },
      close: async () => {
        await monitor.close();
      },
    });
  },
  async demo({ address, port, signal }) {
    // A reply may take longer than the 200 ms between heartbeats on a busy machine; the demo
    // waits for it (as the other demos do) rather than report it lost.
    const r = await sendHeartbeats({ host: address, port, count: 5, intervalMs: 200, timeoutMs: 2000, id: "lab-demo", signal });
    return renderHeartbeatSenderSummaryLine(r);
  },
};

/** The heartbeat monitor (issue 3) as a lab service. */
import { describeImpairment } from "../../core/impair.js";
import { createHeartbeatMonitor } from "../../udp/heartbeat/monitor.js";
import type { HeartbeatEvent, HeartbeatEventKind } from "../../udp/heartbeat/events.js";
import { describeHeartbeatEvent } from "../../render/heartbeat-events.js";
import { sendHeartbeats } from "../../udp/heartbeat/sender.js";
import { impairedTotals, type LabEvent, type LabService } from "../service.js";

/** Monitor events the dashboard gets, under the names it knows them by. */
const HEARTBEAT_LAB_KINDS: ReadonlyArray<[HeartbeatEventKind, string]> = [
  ["client-joined", "joined"],
  ["lost", "lost"],
  ["reordered", "reordered"],
  ["duplicate", "duplicate"],
  ["suspect", "suspect"],
  ["stopped", "stopped"],
  ["resumed", "resumed"],
  ["restarted", "restarted"],
  ["heartbeat", "heartbeat"],
];

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
    return {
      address: monitor.address,
      port: monitor.port,
      transport: "udp",
      clientCommand: `wirekit heartbeat ${monitor.address} ${monitor.port}`,
      ...(describeImpairment(monitor.options.impairment, monitor.seed) !== "" ? { impairment: describeImpairment(monitor.options.impairment, monitor.seed) } : {}),
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
      subscribe(listener: (e: LabEvent) => void) {
        const offs = HEARTBEAT_LAB_KINDS.map(([kind, labKind]) => {
          const fn = (e: HeartbeatEvent): void => {
            const { kind: _kind, ...fields } = e;
            const data: Record<string, unknown> = e.kind === "heartbeat" ? { client: e.client, seq: e.seq, delayMs: e.delayMs } : fields;
            listener({ service: "heartbeat", kind: labKind, at: monitor.clock.now(), text: describeHeartbeatEvent(e), data });
          };
          monitor.on(kind, fn);
          return () => monitor.off(kind, fn);
        });
        return () => offs.forEach((off) => off());
      },
      close: async () => {
        await monitor.close();
      },
    };
  },
  async demo({ address, port, signal }) {
    const r = await sendHeartbeats({ host: address, port, count: 5, intervalMs: 200, id: "lab-demo", signal });
    const t = r.totals;
    const rtt = r.rtt.count > 0 ? `, rtt avg ${r.rtt.avg.toFixed(3)} ms` : "";
    return `${t.transmitted} heartbeats as client "lab-demo", ${t.received} answered${rtt}${r.down ? " (monitor declared down)" : ""}`;
  },
};

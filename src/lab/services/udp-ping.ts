/**
 * The UDP ping server as a lab service: totals, the latest datagrams for the dashboard, a
 * "datagram" event per datagram, and `--demo` running the library's `udpPing` once.
 */
import { systemClock } from "../../core/clock.js";
import { describeImpairment } from "../../core/impair.js";
import { formatG, lossPercent } from "../../core/stats.js";
import { createUdpPingServer } from "../../udp/ping/server.js";
import { udpPing } from "../../udp/ping/client.js";
import { impairedTotals, type LabEvent, type LabService } from "../service.js";

/** How many datagrams the dashboard's "latest" list keeps. */
const RECENT = 20;

export interface UdpPingSnapshot {
  loss: number;
  /** The listening line's impairment text ("impair: loss 30%, seed 7"). */
  impairment: string;
  recent: Array<{ at: number; from: string; bytes: number; dropped: boolean; message: string; impairment?: string }>;
}

function preview(buf: Buffer): string {
  const s = buf.subarray(0, 60).toString("latin1");
  return s.replace(/[^\x20-\x7e]/g, ".") + (buf.length > 60 ? "…" : "");
}

export const udpPingService: LabService = {
  name: "udp-ping",
  description: "UDP ping server, 30% loss",
  defaultPort: 12000,
  impairable: true,
  async start({ host, port, impair }) {
    const server = await createUdpPingServer({
      host, port, loss: 0.3,
      ...(impair !== undefined ? { impair: impair.config } : {}),
      ...(impair?.seed !== undefined ? { seed: impair.seed } : {}),
    });
    const impairment = describeImpairment(server.impairment, server.seed);
    const recent: UdpPingSnapshot["recent"] = [];
    const listeners = new Set<(e: LabEvent) => void>();
    server.on("datagram", (d) => {
      const at = systemClock.now();
      const from = `${d.from.address}:${d.from.port}`;
      const item: UdpPingSnapshot["recent"][number] = { at, from, bytes: d.message.length, dropped: d.dropped, message: preview(d.message) };
      if (d.impairment !== undefined) item.impairment = d.impairment;
      recent.unshift(item);
      if (recent.length > RECENT) recent.pop();
      if (listeners.size === 0) return;
      const e: LabEvent = {
        service: "udp-ping",
        kind: "datagram",
        at,
        text: `${from} ${item.bytes} bytes ${d.dropped ? "dropped" : "echoed"}${d.impairment !== undefined && !d.dropped ? ` (${d.impairment})` : ""}`,
        data: { from, bytes: item.bytes, dropped: d.dropped, impairment: d.impairment ?? null },
      };
      for (const l of listeners) l(e);
    });
    return {
      address: server.address,
      port: server.port,
      transport: "udp",
      clientCommand: `wirekit udp-ping ${server.address} ${server.port}`,
      ...(impairment !== "" ? { impairment } : {}),
      totals: () => ({ ...server.totals(), ...(impair !== undefined ? impairedTotals(server.impairmentTotals()) : {}) }),
      snapshot: (): Record<string, unknown> & UdpPingSnapshot => ({ loss: server.loss, impairment, recent: [...recent] }),
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      close: async () => {
        await server.close();
      },
    };
  },
  async demo({ address, port, signal }) {
    const r = await udpPing({ host: address, port, count: 5, intervalMs: 200, timeoutMs: 1000, signal });
    const t = r.totals;
    const rtt = r.rtt.count > 0 ? `, rtt min/avg/max = ${r.rtt.min.toFixed(3)}/${r.rtt.avg.toFixed(3)}/${r.rtt.max.toFixed(3)} ms` : "";
    return `${t.transmitted} packets transmitted, ${t.received} received, ${formatG(lossPercent(t.transmitted, t.received))}% packet loss${rtt}`;
  },
};

/**
 * The UDP ping server as a lab service: totals, the latest datagrams for the dashboard, a
 * "datagram" event per datagram, and `--demo` running the library's `udpPing` once.
 */
import { describeImpairment } from "../../core/impair.js";
import { formatHostPort } from "../../core/address.js";
import { escapeBytes } from "../../core/escape.js";
import { createUdpPingServer } from "../../udp/ping/server.js";
import { udpPing } from "../../udp/ping/client.js";
import { renderUdpPingServerEvent, renderUdpPingSummaryLine } from "../../render/udp-ping.js";
import { impairedTotals, serviceFromServer, type LabService } from "../service.js";

/** How many datagrams the dashboard's "latest" list keeps. */
const RECENT = 20;

export interface UdpPingSnapshot {
  loss: number;
  /** The listening line's impairment text ("impair: loss 30%, seed 7"). */
  impairment: string;
  /** Newest first. */
  recent: Array<{ at: number; from: string; bytes: number; dropped: boolean; message: string; impairment?: string }>;
}

/** LabEvent data of a datagram: {from, bytes, dropped, impairment (null when untouched)}. */
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
    const from = (e: { from: { address: string; port: number } }): string => formatHostPort(e.from.address, e.from.port);
    return serviceFromServer({
      name: "udp-ping",
      server,
      transport: "udp",
      clientCommand: `wirekit udp-ping ${server.address} ${server.port}`,
      impairment,
      totals: () => ({ ...server.totals(), ...(impair !== undefined ? impairedTotals(server.impairmentTotals()) : {}) }),
      recent: {
        size: RECENT,
        item: (e): UdpPingSnapshot["recent"][number] => ({ at: e.at, from: from(e), bytes: e.message.length, dropped: e.dropped, message: escapeBytes(e.message, 60), ...(e.impairment !== undefined ? { impairment: e.impairment } : {}) }),
      },
      snapshot: (recent): Record<string, unknown> & UdpPingSnapshot => ({ loss: server.loss, impairment, recent: recent.newestFirst() }),
      feed: {
        render: renderUdpPingServerEvent,
        data: (e) => ({ from: from(e), bytes: e.message.length, dropped: e.dropped, impairment: e.impairment ?? null }),
      },
      close: async () => {
        await server.close();
      },
    });
  },
  async demo({ address, port, signal }) {
    const r = await udpPing({ host: address, port, count: 5, intervalMs: 200, timeoutMs: 1000, signal });
    return renderUdpPingSummaryLine(r);
  },
};

/** The UDP echo server as a lab service (issue 4). */
import { formatHostPort } from "../../core/address.js";
import { describeImpairment } from "../../core/impair.js";
import { createUdpEchoServer, type UdpEchoServerEvent } from "../../udp/echo/server.js";
import { describeServerEvent, printableMessage } from "../../render/udp-echo-server.js";
import { udpEcho } from "../../udp/echo/client.js";
import { renderUdpEchoOutcome, renderUdpEchoReplyLine } from "../../render/udp-echo.js";
import { impairedTotals, serviceFromServer, type LabService } from "../service.js";

/**
 * udp-echo: totals() = {received, replied, bytes, reassembled};
 * snapshot() = { recent: Array<{ at: number; from: string; bytes: number; message: string }> } (last 50
 * datagrams, oldest first); subscribe() emits kinds "datagram", "reassembled" and "incomplete",
 * with `text` = the line `wirekit udp-echo serve` prints.
 */
export const udpEchoService: LabService = {
  name: "udp-echo",
  description: "UDP echo server (request ids, reassembly)",
  defaultPort: 12002,
  impairable: true,
  async start({ host, port, impair }) {
    const server = await createUdpEchoServer({
      host, port,
      ...(impair !== undefined ? { impair: impair.config } : {}),
      ...(impair?.seed !== undefined ? { seed: impair.seed } : {}),
    });
    const from = (e: UdpEchoServerEvent): string => formatHostPort(e.from.address, e.from.port);
    return serviceFromServer({
      name: "udp-echo",
      server,
      transport: "udp",
      clientCommand: `wirekit udp-echo ${server.address} ${server.port}`,
      impairment: describeImpairment(server.impairment, server.seed),
      totals: () => {
        const t = server.totals();
        return { received: t.received, replied: t.replied, bytes: t.bytes, reassembled: t.reassembled, ...(impair !== undefined ? { dropped: t.dropped, ...impairedTotals(server.impairmentTotals()) } : {}) };
      },
      recent: { size: 50, item: (e) => (e.kind === "datagram" ? { at: e.at, from: from(e), bytes: e.message.length, message: printableMessage(e.message) } : undefined) },
      snapshot: (recent) => ({ recent: recent.oldestFirst() }),
      feed: {
        render: (e) => describeServerEvent(e) ?? "",
        kinds: { datagram: "datagram", reassembled: "reassembled", incomplete: "incomplete" },
        data: (e) => {
          const data: Record<string, unknown> = { from: from(e) };
          if (e.kind === "datagram") Object.assign(data, { bytes: e.message.length, id: e.id ?? null, dropped: e.dropped });
          if (e.kind === "reassembled") Object.assign(data, { id: e.id, bytes: e.bytes, parts: e.parts });
          if (e.kind === "incomplete") Object.assign(data, { id: e.message.id, parts: e.message.count, missing: e.message.missing });
          return data;
        },
      },
      close: async () => {
        await server.close();
      },
    });
  },
  async demo({ address, port, signal }) {
    // The demo shows one clean exchange: a first timeout of 500 ms (the lab default is 100 ms)
    // keeps a busy machine's scheduling delay from showing up as a retransmission.
    const r = await udpEcho({ host: address, port, message: "hello from wirekit lab --demo", timeoutMs: 500, signal });
    if (r.status !== "reply" || r.reply === undefined) throw new Error(renderUdpEchoOutcome(r).trimEnd());
    return renderUdpEchoReplyLine(r.reply);
  },
};

/** The services `wirekit lab` starts, in display order. Each tool adds itself here. */
import { createUdpPingServer } from "../udp/ping/server.js";
import { createStaticServer } from "../http/static/server.js";
import { labSiteRoot } from "../http/static/lab-site.js";
import { formatAccessLog, type RequestRecord } from "../http/static/access-log.js";
import type { LabEvent, LabService } from "./service.js";

const udpPing: LabService = {
  name: "udp-ping",
  description: "UDP ping server, 30% loss",
  defaultPort: 12000,
  async start({ host, port }) {
    const server = await createUdpPingServer({ host, port, loss: 0.3 });
    return {
      address: server.address,
      port: server.port,
      transport: "udp",
      clientCommand: `wirekit udp-ping ${server.address} ${server.port}`,
      totals: () => ({ ...server.totals() }),
      close: async () => {
        await server.close();
      },
    };
  },
};

/**
 * The web server lab serving the bundled sample site.
 * snapshot(): `{ recent: Array<{ at, client, method, path, status, bytes, ms }> }` (last 50 requests).
 * subscribe(): LabEvent kind "request", text = the access-log line, data = the record.
 */
const http: LabService = {
  name: "http",
  description: "web server (sample site)",
  defaultPort: 8080,
  async start({ host, port }) {
    const server = await createStaticServer({ root: labSiteRoot(), host, port });
    const recent: RequestRecord[] = [];
    const listeners = new Set<(e: LabEvent) => void>();
    server.on("request", (r) => {
      recent.push(r);
      if (recent.length > 50) recent.shift();
      const e: LabEvent = { service: "http", kind: "request", at: r.at, text: formatAccessLog(r), data: { ...r } };
      for (const l of listeners) l(e);
    });
    return {
      address: server.address,
      port: server.port,
      transport: "tcp",
      clientCommand: `wirekit http get ${server.address} ${server.port} index.html`,
      totals: () => ({ ...server.totals() }),
      snapshot: () => ({ recent: recent.map(({ at, client, method, path, status, bytes, ms }) => ({ at, client, method, path, status, bytes, ms })) }),
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      close: () => server.close(),
    };
  },
};

export const LAB_SERVICES: readonly LabService[] = [udpPing, http];


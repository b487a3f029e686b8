/** The services `wirekit lab` starts, in display order. Each tool adds itself here. */
import { createUdpPingServer } from "../udp/ping/server.js";
import type { LabService } from "./service.js";
import { proxyService as proxy } from "./services/proxy.js";

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

export const LAB_SERVICES: readonly LabService[] = [udpPing, proxy];


/** The web server lab (issue 5) as a lab service, serving the bundled sample site. */
import { formatHostPort } from "../../core/address.js";
import { createStaticServer } from "../../http/static/server.js";
import { labSiteRoot } from "../../http/static/lab-site.js";
import { formatAccessLog, type RequestRecord } from "../../http/static/access-log.js";
import { httpGet } from "../../http/client/client.js";
import { tcpImpairment, type LabEvent, type LabService } from "../service.js";
import { describeImpairment } from "../../core/impair.js";

/**
 * The web server lab serving the bundled sample site.
 * snapshot(): `{ recent: Array<{ at, client, method, path, status, bytes, ms }> }` (last 50 requests).
 * subscribe(): LabEvent kind "request", text = the access-log line, data = the record.
 */
export const httpService: LabService = {
  name: "http",
  description: "web server (sample site)",
  defaultPort: 8080,
  impairable: true,
  checkImpairment: (impair) => void tcpImpairment("http", impair),
  async start({ host, port, impair }) {
    const impairment = tcpImpairment("http", impair);
    const server = await createStaticServer({ root: labSiteRoot(), host, port, impair: impairment });
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
      ...(describeImpairment(impairment) !== "" ? { impairment: describeImpairment(impairment) } : {}),
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
  async demo({ address, port }) {
    const url = new URL(`http://${formatHostPort(address, port)}/index.html`);
    const ex = await httpGet({ url, timeoutMs: 10_000 });
    return `GET ${url.pathname}: ${ex.head.statusLine}, ${ex.bodyBytes} bytes in ${ex.timing.totalMs.toFixed(1)} ms`;
  },
};

/** The web server lab (issue 5) as a lab service, serving the bundled sample site. */
import { formatHostPort } from "../../core/address.js";
import { createStaticServer } from "../../http/static/server.js";
import { labSiteRoot } from "../../http/static/lab-site.js";
import type { RequestRecord } from "../../http/static/access-log.js";
import { renderStaticServerEvent } from "../../render/http-server.js";
import { systemClock } from "../../core/clock.js";
import { httpGet } from "../../http/client/client.js";
import { renderHttpGetSummaryLine } from "../../render/http-get.js";
import { serviceFromServer, tcpImpairment, type LabService } from "../service.js";
import { describeImpairment } from "../../core/impair.js";

/** What the snapshot keeps of a request record. */
function pick({ at, client, method, path, status, bytes, ms }: RequestRecord): { at: number; client: string; method: string; path: string; status: number; bytes: number; ms: number } {
  return { at, client, method, path, status, bytes, ms };
}

/**
 * The web server lab serving the bundled sample site.
 * snapshot(): `{ recent: Array<{ at, client, method, path, status, bytes, ms }> }` (last 50 requests).
 * subscribe(): LabEvent kind "request", text = the access-log line, data = the record (a
 * handler that threw shows as its 500 request).
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
    return serviceFromServer({
      name: "http",
      server,
      transport: "tcp",
      impairment: describeImpairment(impairment),
      clientCommand: `wirekit http get ${server.address} ${server.port} index.html`,
      totals: () => ({ ...server.totals() }),
      recent: { size: 50, item: (e) => (e.kind === "request" ? pick(e.record) : undefined) },
      snapshot: (recent) => ({ recent: recent.oldestFirst() }),
      feed: {
        render: renderStaticServerEvent,
        kinds: { request: "request" },
        at: (e) => (e.kind === "request" ? e.record.at : systemClock.now()),
        data: (e) => (e.kind === "request" ? { ...e.record } : {}),
      },
      close: () => server.close(),
    });
  },
  async demo({ address, port }) {
    const url = new URL(`http://${formatHostPort(address, port)}/index.html`);
    const ex = await httpGet({ url, timeoutMs: 10_000 });
    return renderHttpGetSummaryLine(url, ex);
  },
};

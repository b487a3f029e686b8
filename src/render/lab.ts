/**
 * What `wirekit lab` prints: the table of its services (where each listens, what to try), the
 * impairments asked for, the dashboard's address, the --demo table and each service's totals
 * at exit. Pure.
 */
import { formatHostPort } from "../core/address.js";
import type { DemoResult } from "../lab/demo.js";
import type { LabServiceState } from "../lab/lab.js";
import { renderTable, renderTotals } from "./text.js";

/** Where the dashboard listens, for the services table; `error` when it could not start. */
export type DashboardRow = { address: string; port: number; url: string } | { error: string } | undefined;

/** The table the lab starts with: each service's transport and address and the command to try, or FAILED and why. */
export function renderLabServices(services: readonly LabServiceState[], dashboard: DashboardRow): string {
  const rows = services.map((s) =>
    s.status === "running"
      ? [s.name, `${s.running.transport} ${formatHostPort(s.running.address, s.running.port)}`, s.running.clientCommand]
      : [s.name, "FAILED", s.error.message],
  );
  if (dashboard !== undefined && "url" in dashboard) rows.push(["dashboard", `http ${formatHostPort(dashboard.address, dashboard.port)}`, `open ${dashboard.url} in a browser`]);
  else if (dashboard !== undefined) rows.push(["dashboard", "FAILED", dashboard.error]);
  return renderTable(["service", "listening on", "try"], rows);
}

/** "udp-ping: impair: loss 30%, seed 7\n": one line per service given --impair. */
export function renderLabImpairments(services: readonly LabServiceState[], asked: ReadonlySet<string>): string {
  return services.map((s) => (s.status === "running" && s.running.impairment !== undefined && asked.has(s.name) ? `${s.name}: ${s.running.impairment}\n` : "")).join("");
}

/** The dashboard's line, after the table (with its newlines). */
export function renderDashboardLine(url: string): string {
  return `\nDashboard: ${url}  (Prometheus metrics: ${url}metrics)\n`;
}

/** The --demo table: each service's demo line, or why it failed or did not start. */
export function renderDemoTable(results: readonly DemoResult[]): string {
  return renderTable(["service", "result"], results.map((r) => [r.name, r.outcome === "error" ? `FAILED: ${r.text}` : r.outcome === "not-started" ? `NOT STARTED: ${r.text}` : r.text]));
}

/** Each service's totals at exit, in the lab's order: "udp-ping: 10 received, 7 replied, 3 dropped\n". */
export function renderLabTotals(services: readonly LabServiceState[], totals: Readonly<Record<string, Readonly<Record<string, number>> | undefined>>): string {
  return services.map((s) => {
    const t = totals[s.name];
    return t ? `${s.name}: ${renderTotals(t)}\n` : "";
  }).join("");
}

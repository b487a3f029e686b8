/** `wirekit lab`: start every server and the dashboard, print the table, stop cleanly on Ctrl-C. */
import { startDashboard, type Dashboard } from "../lab/dashboard/server.js";
import { runDemos } from "../lab/demo.js";
import { startLab } from "../lab/lab.js";
import { LAB_SERVICES } from "../lab/services.js";
import { parseForm } from "./spec.js";
import { labForm, labSpec } from "./specs/lab.js";
import { parseImpairSpec } from "./specs/impair.js";
import type { LabImpairment } from "../lab/service.js";
import { usageError } from "../core/errors.js";
import type { CliContext } from "./context.js";
import { renderDashboardLine, renderDemoTable, renderLabImpairments, renderLabServices, renderLabTotals } from "../render/lab.js";

export const spec = labSpec;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseForm(labForm, argv[0] === "serve" ? argv.slice(1) : argv);
  const flags = values as Record<string, unknown>;
  const host = values.host;
  const random = values["random-ports"];
  // An explicit --dashboard-port wins over --random-ports (a fixed URL to bookmark, free service ports).
  const dashboardPort = values["dashboard-port"] ?? (random ? 0 : 7070);
  const exclude = LAB_SERVICES.filter((s) => flags[`no-${s.name}`] === true).map((s) => s.name);
  const ports: Record<string, number> = random ? Object.fromEntries(LAB_SERVICES.map((s) => [s.name, 0])) : {};
  for (const s of LAB_SERVICES) {
    const given = flags[`port-${s.name}`];
    if (typeof given === "number") ports[s.name] = given;
  }

  const impair: Record<string, LabImpairment> = {};
  for (const text of values.impair) {
    const spec = parseImpairSpec(text);
    if (impair[spec.service] !== undefined) throw usageError(`--impair: '${spec.service}' given twice (put every key in one --impair)`);
    impair[spec.service] = spec.seed === undefined ? { config: spec.config } : { config: spec.config, seed: spec.seed };
  }

  const lab = await startLab({ host, exclude, ports, impair });
  let dashboard: Dashboard | undefined;
  let dashboardError: string | undefined;
  if (flags["no-dashboard"] !== true && lab.running().length > 0) {
    try {
      dashboard = await startDashboard(lab, { host, port: dashboardPort, allowedHosts: (values["dashboard-host"] as string[] | undefined) ?? [] });
    } catch (err) {
      dashboardError = err instanceof Error ? err.message : String(err);
    }
  }

  ctx.stdout.write(renderLabServices(lab.services, dashboard ?? (dashboardError === undefined ? undefined : { error: dashboardError })));
  const impaired = renderLabImpairments(lab.services, new Set(Object.keys(impair)));
  if (impaired !== "") ctx.stdout.write(impaired);
  for (const f of lab.services) if (f.status === "failed") ctx.stderr.write(`wirekit: ${f.name}: ${f.error.message}\n`);
  if (dashboardError !== undefined) ctx.stderr.write(`wirekit: ${dashboardError}\n`);
  if (lab.running().length === 0) {
    ctx.stderr.write("wirekit: no service could start\n");
    return 2;
  }
  if (dashboard) ctx.stdout.write(renderDashboardLine(dashboard.url));

  if (values.demo) {
    ctx.stdout.write("\nDemo: each client once against its server\n");
    const results = await runDemos(lab, { signal: ctx.signal });
    ctx.stdout.write(renderDemoTable(results));
  }

  ctx.stdout.write("\nPress Ctrl-C to stop.\n");
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await dashboard?.close();
  const totals = await lab.close();
  ctx.stdout.write("\n");
  const lines = renderLabTotals(lab.services, totals);
  if (lines !== "") ctx.stdout.write(lines);
  return 0;
}

/** `wirekit lab`: start every server and the dashboard, print the table, stop cleanly on Ctrl-C. */
import { formatHostPort } from "../core/address.js";
import { startDashboard, type Dashboard } from "../lab/dashboard/server.js";
import { runDemos } from "../lab/demo.js";
import { startLab } from "../lab/lab.js";
import { LAB_SERVICES } from "../lab/services.js";
import { intOption, parseCommandArgs, positionalArgs, type OptionSpec } from "./args.js";
import type { CliContext } from "./context.js";
import { renderTable } from "./render/text.js";

export const help = `wirekit lab — every wirekit server on one machine, with one command (npm start),
and a live dashboard in the browser

Usage:
  wirekit lab [--host 127.0.0.1] [--dashboard-port 7070] [--dashboard-host NAME]... [--demo] [--random-ports]
              ${LAB_SERVICES.map((s) => `[--no-${s.name}]`).join(" ")} [--no-dashboard]

Services:
${LAB_SERVICES.map((s) => `  ${s.name.padEnd(10)} port ${String(s.defaultPort).padEnd(6)} ${s.description}`).join("\n")}
  ${"dashboard".padEnd(10)} port ${"7070".padEnd(6)} live view of every service (http://HOST:7070/), Prometheus /metrics

Options:
  --host ADDR            address every service and the dashboard bind (default 127.0.0.1)
  --dashboard-port PORT  dashboard port (default 7070; 0 picks one)
  --dashboard-host NAME  also accept this Host name at the dashboard (repeatable); by default only
                         the bound address (and localhost on loopback) is answered, other Host
                         values get 421, so a DNS-rebinding page cannot read the lab
  --demo                 also run each tool's client once against its server and print the result
  --random-ports         let the system pick a free port for every service (and the dashboard,
                         unless --dashboard-port is given)
  --no-<service>         leave a service out (--no-dashboard: no dashboard)

A service whose port is taken reports it and the others still start. Ctrl-C stops everything
and prints each service's totals.

Example:
  wirekit lab
  wirekit lab --demo --no-mail
  wirekit lab --host 0.0.0.0 --dashboard-port 8000
`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const spec: OptionSpec = {
    host: { type: "string" },
    "dashboard-port": { type: "string" },
    "dashboard-host": { type: "string", multiple: true },
    demo: { type: "boolean" },
    "random-ports": { type: "boolean" },
    "no-dashboard": { type: "boolean" },
  };
  for (const s of LAB_SERVICES) spec[`no-${s.name}`] = { type: "boolean" };
  const { values, positionals } = parseCommandArgs(argv, spec);
  positionalArgs(positionals, []);
  const host = typeof values.host === "string" ? values.host : "127.0.0.1";
  const random = values["random-ports"] === true;
  // An explicit --dashboard-port wins over --random-ports (a fixed URL to bookmark, free service ports).
  const dashboardPort = intOption(values["dashboard-port"] as string | undefined, "dashboard port", random ? 0 : 7070, 0, 65535);
  const exclude = LAB_SERVICES.filter((s) => values[`no-${s.name}`] === true).map((s) => s.name);
  const ports = random ? Object.fromEntries(LAB_SERVICES.map((s) => [s.name, 0])) : undefined;

  const lab = await startLab({ host, exclude, ports });
  let dashboard: Dashboard | undefined;
  let dashboardError: string | undefined;
  if (values["no-dashboard"] !== true && lab.running().length > 0) {
    try {
      dashboard = await startDashboard(lab, { host, port: dashboardPort, allowedHosts: (values["dashboard-host"] as string[] | undefined) ?? [] });
    } catch (err) {
      dashboardError = err instanceof Error ? err.message : String(err);
    }
  }

  const rows = lab.services.map((s) =>
    s.status === "running"
      ? [s.name, `${s.running.transport} ${formatHostPort(s.running.address, s.running.port)}`, s.running.clientCommand]
      : [s.name, "FAILED", s.error.message],
  );
  if (dashboard) rows.push(["dashboard", `http ${formatHostPort(dashboard.address, dashboard.port)}`, `open ${dashboard.url} in a browser`]);
  else if (dashboardError !== undefined) rows.push(["dashboard", "FAILED", dashboardError]);
  ctx.stdout.write(renderTable(["service", "listening on", "try"], rows));
  for (const f of lab.services) if (f.status === "failed") ctx.stderr.write(`wirekit: ${f.name}: ${f.error.message}\n`);
  if (dashboardError !== undefined) ctx.stderr.write(`wirekit: ${dashboardError}\n`);
  if (lab.running().length === 0) {
    ctx.stderr.write("wirekit: no service could start\n");
    return 2;
  }
  if (dashboard) ctx.stdout.write(`\nDashboard: ${dashboard.url}  (Prometheus metrics: ${dashboard.url}metrics)\n`);

  if (values.demo === true) {
    ctx.stdout.write("\nDemo: each client once against its server\n");
    const results = await runDemos(lab, { signal: ctx.signal });
    ctx.stdout.write(renderTable(["service", "result"], results.map((r) => [r.name, r.outcome === "error" ? `FAILED: ${r.text}` : r.text])));
  }

  ctx.stdout.write("\nPress Ctrl-C to stop.\n");
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await dashboard?.close();
  const totals = await lab.close();
  ctx.stdout.write("\n");
  for (const s of lab.services) {
    const t = totals[s.name];
    if (t) ctx.stdout.write(`${s.name}: ${Object.entries(t).map(([k, v]) => `${v} ${k}`).join(", ")}\n`);
  }
  return 0;
}

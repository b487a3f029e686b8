/** `wirekit lab`: start every server, print the table, stop cleanly on Ctrl-C. */
import { formatHostPort } from "../core/address.js";
import { startLab } from "../lab/lab.js";
import { LAB_SERVICES } from "../lab/services.js";
import { parseCommandArgs, positionalArgs, type OptionSpec } from "./args.js";
import type { CliContext } from "./context.js";
import { renderTable } from "./render/text.js";

export const help = `wirekit lab — every wirekit server on one machine, with one command (npm start)

Usage:
  wirekit lab [--host 127.0.0.1] ${LAB_SERVICES.map((s) => `[--no-${s.name}]`).join(" ")}

Services:
${LAB_SERVICES.map((s) => `  ${s.name.padEnd(10)} port ${String(s.defaultPort).padEnd(6)} ${s.description}`).join("\n")}

Options:
  --host ADDR     address every service binds (default 127.0.0.1)
  --no-<service>  leave a service out

Example:
  wirekit lab
  wirekit lab --no-udp-ping
`;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  const spec: OptionSpec = { host: { type: "string" } };
  for (const s of LAB_SERVICES) spec[`no-${s.name}`] = { type: "boolean" };
  const { values, positionals } = parseCommandArgs(argv, spec);
  positionalArgs(positionals, []);
  const host = typeof values.host === "string" ? values.host : "127.0.0.1";
  const exclude = LAB_SERVICES.filter((s) => values[`no-${s.name}`] === true).map((s) => s.name);
  const lab = await startLab({ host, exclude });
  const rows = lab.services.map((s) =>
    s.status === "running"
      ? [s.name, `${s.running.transport} ${formatHostPort(s.running.address, s.running.port)}`, s.running.clientCommand]
      : [s.name, "FAILED", s.error.message],
  );
  ctx.stdout.write(renderTable(["service", "listening on", "try"], rows));
  ctx.stdout.write("\nPress Ctrl-C to stop.\n");
  const failed = lab.services.filter((s) => s.status === "failed");
  for (const f of failed) if (f.status === "failed") ctx.stderr.write(`wirekit: ${f.name}: ${f.error.message}\n`);
  if (lab.running().length === 0) {
    ctx.stderr.write("wirekit: no service could start\n");
    return 2;
  }
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  const totals = await lab.close();
  ctx.stdout.write("\n");
  for (const [name, t] of Object.entries(totals)) {
    ctx.stdout.write(`${name}: ${Object.entries(t).map(([k, v]) => `${v} ${k}`).join(", ")}\n`);
  }
  return 0;
}

/** The spec of `wirekit lab`: every server and the dashboard. */
import { LAB_SERVICES } from "../../lab/services.js";
import { defineCommand, defineForm, type OptionDef } from "../spec.js";
import { impairOptions } from "./impair.js";

const movePort: Record<string, OptionDef> = Object.fromEntries(
  LAB_SERVICES.map((s) => [`port-${s.name}`, { type: "port", value: "N", label: `--port-${s.name}`, help: `move ${s.name} off its default port ${s.defaultPort} (0 picks one)` } satisfies OptionDef]),
);

const leaveOut: Record<string, OptionDef> = Object.fromEntries(
  LAB_SERVICES.map((s) => [`no-${s.name}`, { type: "boolean", help: `leave out ${s.name}: ${s.description}` } satisfies OptionDef]),
);

export const labForm = defineForm({
  aliases: ["serve"],
  usage: [
    "[--host 127.0.0.1] [--dashboard-port 7070] [--demo] [--random-ports] [--port-<service> N]",
    "            [--impair SERVICE:key=value,...]",
    `            ${LAB_SERVICES.map((s) => `[--no-${s.name}]`).join(" ")} [--no-dashboard]`,
  ],
  positionals: [],
  options: {
    host: { type: "string", value: "ADDR", default: "127.0.0.1", complete: "host", help: "address every service and the dashboard bind" },
    "dashboard-port": { type: "integer", value: "PORT", min: 0, max: 65535, label: "dashboard port", help: "dashboard port (default 7070; 0 picks one)" },
    "dashboard-host": { type: "list", value: "NAME", help: "also answer this Host name at the dashboard (repeatable); other Host values get 421, so a DNS-rebinding page cannot read the lab" },
    demo: { type: "boolean", help: "also run each tool's client once against its server and print the result" },
    "random-ports": { type: "boolean", help: "let the system pick a free port for every service (and the dashboard, unless --dashboard-port is given)" },
    impair: {
      type: "list", value: "SERVICE:K=V,...",
      help: `impair one UDP service (repeatable): keys ${Object.keys(impairOptions).join(", ")}, as the serve options`,
    },
    ...movePort,
    ...leaveOut,
    "no-dashboard": { type: "boolean", help: "no dashboard" },
  },
});

export const labSpec = defineCommand({
  name: "lab",
  summary: "every wirekit server on loopback, one command",
  title: "every wirekit server on one machine, with one command (npm start), and a live dashboard in the browser",
  description: `Services:
${LAB_SERVICES.map((s) => `  ${s.name.padEnd(10)} port ${String(s.defaultPort).padEnd(6)} ${s.description}`).join("\n")}
  ${"dashboard".padEnd(10)} port ${"7070".padEnd(6)} live view of every service (http://HOST:7070/), Prometheus /metrics`,
  forms: [labForm],
  notes: `A service whose port is taken reports it and the others still start. Ctrl-C stops everything
and prints each service's totals.`,
  examples: ["wirekit lab", "wirekit lab --demo --no-mail", "wirekit lab --impair udp-ping:loss=0.3,jitter=20ms --impair heartbeat:reorder=0.1", "wirekit lab --port-mail 2526", "wirekit lab --host 0.0.0.0 --dashboard-port 8000"],
});

/**
 * The command table: `wirekit <name>` loads its module lazily, so one tool's dependencies
 * (the ICMP addon, TLS, ...) never slow down or break another.
 */
import type { CommandModule } from "./context.js";

export interface CommandEntry {
  summary: string;
  load(): Promise<CommandModule>;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  lab: { summary: "every wirekit server on loopback, one command", load: () => import("./lab.js") },
  heartbeat: { summary: "UDP heartbeat: sender, and monitor of many clients (serve)", load: () => import("./heartbeat.js") },
  "udp-ping": { summary: "UDP pinger: client, and server with simulated loss (serve)", load: () => import("./udp-ping.js") },
};

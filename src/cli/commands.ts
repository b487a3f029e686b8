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
  "udp-ping": { summary: "UDP pinger: client, and server with simulated loss (serve)", load: () => import("./udp-ping.js") },
  heartbeat: { summary: "UDP heartbeat: sender, and monitor of many clients (serve)", load: () => import("./heartbeat.js") },
  "udp-echo": { summary: "UDP client/server: request ids, retransmission with backoff, big datagrams (serve, send-big)", load: () => import("./udp-echo.js") },
  http: { summary: "web server lab: static file server (serve) and HTTP client (get)", load: () => import("./http.js") },
  proxy: { summary: "caching web proxy (RFC 9111 cache on disk, CONNECT tunnels)", load: () => import("./proxy.js") },
  mail: { summary: "SMTP mail client: TLS, AUTH, MIME attachments, sequence diagram", load: () => import("./mail.js") },
  ping: { summary: "ICMP ping over raw / ping sockets, kernel-timestamped RTT, ICMP errors decoded", load: () => import("./ping.js") },
  traceroute: { summary: "traceroute over ICMP, UDP or TCP, Paris flows, and an mtr view (--watch)", load: () => import("./traceroute.js") },
  mtr: { summary: "mtr: every hop probed continuously, a live table of loss and RTTs", load: () => import("./mtr.js") },
  check: { summary: "grade a student's lab program requirement by requirement (one, or a class with --batch)", load: () => import("./check.js") },
};

/** The spec of `wirekit ping` (traceroute and mtr: ./traceroute.ts). */
import { defineCommand, defineForm } from "../spec.js";
import { ipv4, ipv6, json } from "./common.js";

export const NEEDS_PRIVILEGE = `Needs root, CAP_NET_RAW, or Linux ping sockets enabled for your group:
  sysctl -w net.ipv4.ping_group_range="0 2147483647"`;

export const pingForm = defineForm({
  usage: ["<destination_host> [-n 4] [-i 1s] [-W 1s] [-s 56] [-t TTL] [-e ID] [-q] [-4|-6] [--json]"],
  positionals: [{ name: "destination_host", kind: "host" }],
  options: {
    count: { type: "integer", short: "n", aliases: ["c"], value: "N", default: 4, min: 0, help: "echo requests to send (0 = until Ctrl-C)" },
    interval: { type: "duration", short: "i", value: "T", default: "1s", min: 2, help: "time between requests (0.2, 200ms ...; at least 2ms)" },
    timeout: { type: "duration", short: "W", value: "T", default: "1s", min: 1, help: "how long to wait for each reply" },
    size: { type: "integer", short: "s", value: "N", default: 56, min: 0, max: 65527, help: "echo data bytes" },
    ttl: { type: "integer", short: "t", value: "N", min: 1, max: 255, help: "time to live / hop limit of the requests (1-255)" },
    identifier: { type: "integer", short: "e", value: "N", min: 0, max: 65535, help: "echo identifier, 0-65535 (default: random; the kernel's on ping sockets)" },
    quiet: { type: "boolean", short: "q", help: "only the statistics" },
    ipv4,
    ipv6,
    json: json("one JSON document with every probe and the summary"),
  },
});

export const pingSpec = defineCommand({
  name: "ping",
  summary: "ICMP ping over raw / ping sockets, kernel-timestamped RTT, ICMP errors decoded",
  title: "ICMP echo (ping) over our own raw / ping socket, kernel-timestamped RTTs",
  forms: [pingForm],
  notes: NEEDS_PRIVILEGE,
  exitStatus: "0 if any reply came back, 1 if none, 2 on usage errors or an unknown host.",
  examples: ["wirekit ping 127.0.0.1 -n 3", "wirekit ping ::1 -n 5 -i 0.2", "wirekit ping 10.77.1.2 -t 1"],
});

/** The spec of `wirekit ping` (traceroute and mtr: ./traceroute.ts). */
import { defineCommand, defineForm } from "../spec.js";
import { diagram, ipv4, ipv6, json, pcap } from "./common.js";

export const NEEDS_PRIVILEGE = `Needs root, CAP_NET_RAW, or Linux ping sockets enabled for your group:
  sysctl -w net.ipv4.ping_group_range="0 2147483647"`;

export const pingForm = defineForm({
  usage: [
    "<destination_host> [-n 4] [-i 1s] [-W 1s] [-w T] [-s 56] [-t TTL] [-e ID] [-q] [-D] [-O] [-4|-6] [--json|--json-lines] [--diagram FILE] [--pcap FILE]",
    "<destination_host> [-f] [-M do|want|dont] [-I ADDR] [-p PATTERN] [-Q TOS]",
    "<host> <host> ... | --file FILE | -g CIDR  [-a|-u] [options]",
  ],
  positionals: [{ name: "destination_host", kind: "host", optional: true, variadic: true, help: "one or more targets (or --file, -g)" }],
  options: {
    count: { type: "integer", short: "n", aliases: ["c"], value: "N", default: 4, min: 0, help: "echo requests to send (0 = until Ctrl-C; with -w and no -n: until the deadline)" },
    interval: { type: "duration", short: "i", value: "T", default: "1s", min: 2, help: "time between requests (0.2, 200ms ...; at least 2ms)" },
    timeout: { type: "duration", short: "W", value: "T", default: "1s", min: 1, help: "how long to wait for each reply" },
    deadline: { type: "duration", short: "w", value: "T", min: 1, help: "stop after T whatever was sent; with -n N, once N replies came" },
    size: { type: "integer", short: "s", value: "N", default: 56, min: 0, max: 65527, help: "echo data bytes" },
    ttl: { type: "integer", short: "t", value: "N", min: 1, max: 255, help: "time to live / hop limit of the requests (1-255)" },
    identifier: { type: "integer", short: "e", value: "N", min: 0, max: 65535, help: "echo identifier, 0-65535 (default: random; the kernel's on ping sockets)" },
    timestamps: { type: "boolean", short: "D", help: "print [unix time] before each line" },
    outstanding: { type: "boolean", short: "O", help: "report a missing reply when the next request leaves" },
    flood: { type: "boolean", short: "f", help: "flood: next request as soon as a reply comes (or every 10ms); prints . per request, backspace per reply; root only, one target" },
    pmtu: { type: "string", short: "M", value: "HINT", complete: ["do", "want", "dont"], help: "path-MTU discovery: do (set DF, never fragment), want, dont" },
    source: { type: "string", short: "I", value: "ADDR", complete: "host", help: "source address of the requests" },
    pattern: { type: "string", short: "p", value: "HEX", help: "fill the echo data with this pattern, up to 16 bytes (-p ff00)" },
    tos: { type: "string", short: "Q", value: "TOS", help: "TOS byte / IPv6 traffic class, 0-255 (decimal or 0x..)" },
    file: { type: "string", value: "FILE", complete: "file", help: "read targets from FILE, one per line (- = stdin); fping's -f, which here is flood" },
    generate: { type: "string", short: "g", value: "CIDR", help: "ping every host address of an IPv4 range (-g 127.0.0.0/28)" },
    alive: { type: "boolean", short: "a", help: "with several targets: print only the targets that answered" },
    unreachable: { type: "boolean", short: "u", help: "with several targets: print only the targets that did not answer" },
    quiet: { type: "boolean", short: "q", help: "only the statistics" },
    ipv4,
    ipv6,
    json: json("one JSON document with every probe and the summary"),
    "json-lines": json("one JSON object per event as it happens, then the summary"),
    diagram,
    pcap: { ...pcap, help: "write the echo requests and what came back as pcapng, each decision (lost, late, DUP!, ICMP error) as a packet comment; one target" },
  },
});

export const pingSpec = defineCommand({
  name: "ping",
  summary: "ICMP ping over raw / ping sockets, kernel-timestamped RTT, ICMP errors decoded",
  title: "ICMP echo (ping) over our own raw / ping socket, kernel-timestamped RTTs",
  description: `Several targets (given as arguments, with --file or -g) are pinged at once over one socket per
family, as fping does: each line starts with its target, and a table with one row per target
closes the run. Replies are matched by source address, identifier and sequence number.`,
  forms: [pingForm],
  notes: NEEDS_PRIVILEGE,
  exitStatus: "0 if any reply came back (with several targets: if every target answered; with -w and -n N: if N replies came), 1 if not, 2 on usage errors or an unknown host.",
  examples: [
    "wirekit ping 127.0.0.1 -n 3",
    "wirekit ping ::1 -c 5 -i 0.2 -D",
    "wirekit ping 10.77.1.2 -t 1",
    "wirekit ping 10.77.1.2 -M do -s 1472  # reports the path MTU",
    "wirekit ping 127.0.0.1 127.0.0.2 ::1 -n 3",
    "wirekit ping -g 127.0.0.0/28 -n 1 -a",
  ],
});

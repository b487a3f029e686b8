/** The spec of `wirekit udp-ping`: the client and `serve`. */
import { defineCommand, defineForm } from "../spec.js";
import { bindHost, bindPort, diagram, ipv4, ipv6, json, pcap } from "./common.js";
import { impairOptions } from "./impair.js";

export const clientForm = defineForm({
  title: "Client options",
  usage: ["<server_address> <server_port> [-c 10] [-i 1s] [-W 1s] [-w T] [-s SIZE] [-q] [-v] [-4|-6] [--json|--json-lines]", "      [--diagram FILE] [--pcap FILE]"],
  positionals: [
    { name: "server_address", kind: "host" },
    { name: "server_port", kind: "port" },
  ],
  options: {
    count: { type: "integer", short: "c", aliases: ["n"], value: "N", default: 10, min: 0, help: "pings to send (0 = until Ctrl-C)" },
    interval: { type: "duration", short: "i", value: "T", default: "1s", help: "time between pings (0.2, 200ms ...)" },
    timeout: { type: "duration", short: "W", value: "T", default: "1s", min: 1, help: "how long to wait for each reply" },
    deadline: { type: "duration", short: "w", value: "T", min: 1, help: "stop after T, whatever was sent or answered (with no -c: ping until then)" },
    size: { type: "integer", short: "s", value: "N", default: 0, max: 65527, help: "pad each ping to N bytes" },
    quiet: { type: "boolean", short: "q", help: "only the statistics" },
    verbose: { type: "boolean", short: "v", help: "also show datagrams that are not replies from the server" },
    ipv4,
    ipv6,
    json: json("one JSON document with every ping and the summary"),
    "json-lines": json("one JSON object per event as it happens, then the summary"),
    diagram,
    pcap,
  },
});

export const serveForm = defineForm({
  name: "serve",
  title: "Server options",
  usage: [
    "serve [--host 0.0.0.0] [-p 12000] [--loss 0.3] [--seed N] [--quiet] [--pcap FILE]",
    "      [--loss-burst N] [--delay T] [--jitter T] [--reorder P] [--duplicate P] [--corrupt P] [--rate BYTES/s]",
  ],
  positionals: [],
  options: {
    host: bindHost("0.0.0.0", 'address to bind ("::" for IPv6 and IPv4)'),
    port: bindPort(12000),
    ...impairOptions,
    loss: { ...impairOptions.loss, default: 0.3, help: "drop probability 0..1 (0.3 is the lab's 30%)" },
    quiet: { type: "boolean", short: "q", help: "no line per datagram" },
    pcap,
  },
});

export const udpPingSpec = defineCommand({
  name: "udp-ping",
  summary: "UDP pinger: client, and server with simulated loss (serve)",
  title: "the UDP pinger lab: a client, and a server that drops a share of pings",
  description: "The server address and port may also be written as one argument, HOST:PORT.",
  forms: [clientForm, serveForm],
  examples: [
    "wirekit udp-ping serve --port 12000 --loss 0.3 --seed 7",
    "wirekit udp-ping serve --loss 0 --duplicate 0.2 --jitter 300ms   # watch for (DUP!) and late replies",
    "wirekit udp-ping 127.0.0.1 12000 -c 10 -i 0.2",
    "wirekit udp-ping 127.0.0.1:12000 -n 3 -q",
  ],
});

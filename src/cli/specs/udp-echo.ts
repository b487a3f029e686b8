/** The spec of `wirekit udp-echo`: `serve`, the client and `send-big`. */
import { defineCommand, defineForm } from "../spec.js";
import { bindHost, bindPort, diagram, ipv4, ipv6, json, pcap } from "./common.js";
import { impairOptions } from "./impair.js";

export const serveForm = defineForm({
  name: "serve",
  title: "Server",
  intro: 'Replies "I received from you a message of N bytes".',
  usage: [
    "serve <interface> <port> [--loss P] [--seed N] [--delay T] [--reassembly-timeout T] [-q] [-v] [--pcap FILE]",
    "      [--loss-burst N] [--jitter T] [--reorder P] [--duplicate P] [--corrupt P] [--rate BYTES/s]",
    "serve [--host 127.0.0.1] [-p 12002] [options]",
  ],
  positionals: [
    { name: "interface", kind: "host", optional: true, help: "address to bind exactly: 127.0.0.1, 0.0.0.0, ::, an external address, or a name such as lo" },
    { name: "port", kind: "port", optional: true, help: "UDP port (0 picks one)" },
  ],
  options: {
    host: bindHost("127.0.0.1", "address to bind, when <interface> is not given"),
    port: bindPort(12002),
    ...impairOptions,
    "reassembly-timeout": { type: "duration", value: "T", default: "2s", min: 1, label: "reassembly timeout", help: "report a split message incomplete after T without parts" },
    quiet: { type: "boolean", short: "q", help: "no line per datagram" },
    verbose: { type: "boolean", short: "v", help: "also a line per part and per rejected datagram" },
    pcap,
  },
});

export const clientForm = defineForm({
  title: "Client",
  intro: 'Sends "<request id> <current time>".',
  usage: ["<server_ip> <server_port> [-m MESSAGE] [--timeout 0.1s] [--max-timeout 2s] [--jitter] [--no-verify] [--json] [--diagram FILE] [--pcap FILE]"],
  positionals: [
    { name: "server_ip", kind: "host" },
    { name: "server_port", kind: "port" },
  ],
  options: {
    message: { type: "string", short: "m", value: "TEXT", help: "send TEXT instead of the current time" },
    timeout: { type: "duration", value: "T", default: "0.1s", min: 1, help: "first timeout; doubles after every timeout" },
    "max-timeout": { type: "duration", value: "T", default: "2s", min: 1, help: "give up when the next timeout would exceed T" },
    jitter: { type: "boolean", help: "randomize each timeout by ±50% (--seed N for a repeatable run)" },
    seed: { type: "integer", value: "N", min: 0, max: 2 ** 32 - 1, help: "seed for --jitter" },
    "no-verify": { type: "boolean", help: "accept any datagram as the reply (shows why a client must check)" },
    ipv4,
    ipv6,
    json: json("one JSON document instead of text"),
    diagram,
    pcap,
  },
});

export const bigForm = defineForm({
  name: "send-big",
  title: "Big datagrams",
  intro: "One datagram of SIZE bytes, then the same bytes in PARTS datagrams.",
  usage: ["send-big <host> <port> [--size 80000] [--parts 16] [--char a] [--wait 4s] [--json] [--diagram FILE] [--pcap FILE]"],
  positionals: [
    { name: "host", kind: "host" },
    { name: "port", kind: "port" },
  ],
  options: {
    size: { type: "integer", value: "N", default: 80000, min: 0, max: 16 * 1024 * 1024, help: "message size" },
    parts: { type: "integer", value: "N", default: 16, min: 1, max: 65535, help: "datagrams for the split send" },
    char: { type: "string", value: "C", default: "a", help: "the ASCII character repeated" },
    wait: { type: "duration", value: "T", default: "4s", help: "wait this long for the server's verdict (0 = do not wait)" },
    interval: { type: "duration", value: "T", default: 0, help: "pause between parts" },
    ipv4,
    ipv6,
    json: json("one JSON document instead of text"),
    diagram,
    pcap,
  },
});

export const udpEchoSpec = defineCommand({
  name: "udp-echo",
  summary: "UDP client/server: request ids, retransmission with backoff, big datagrams (serve, send-big)",
  title: "the UDP client/server lab: trusted replies, retransmission with exponential backoff, and datagrams too big to send",
  description: "The server address and port may also be written as one argument, HOST:PORT.",
  forms: [serveForm, clientForm, bigForm],
  examples: [
    "wirekit udp-echo serve 127.0.0.1 12002",
    "wirekit udp-echo 127.0.0.1 12002",
    "wirekit udp-echo serve 127.0.0.1 12002 --loss 1          # a dead server: watch the backoff",
    "wirekit udp-echo 127.0.0.2 12002                         # bound to 127.0.0.1 only: no reply",
    "wirekit udp-echo send-big 127.0.0.1 12002 --size 80000 --parts 16",
    "wirekit udp-echo 127.0.0.1:12002 -m hello",
  ],
});

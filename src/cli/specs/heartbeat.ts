/** The spec of `wirekit heartbeat`: the monitor (`serve`) and the sender. */
import { defineCommand, defineForm } from "../spec.js";
import { bindHost, bindPort, diagram, ipv4, ipv6, json, pcap } from "./common.js";
import { impairOptions } from "./impair.js";

export const serveForm = defineForm({
  name: "serve",
  title: "Monitor options",
  usage: [
    "serve [--host 0.0.0.0] [-p 12001] [--dead-after 3s] [--phi 8] [--loss P --seed N]",
    "                        [--loss-burst N] [--delay T] [--jitter T] [--reorder P] [--duplicate P] [--corrupt P] [--rate BYTES/s]",
    "                        [--summary-every T] [--forget-after 1h] [--max-clients 100000] [-v] [--json] [--pcap FILE]",
  ],
  positionals: [],
  options: {
    host: bindHost("0.0.0.0", 'address to bind ("::" for IPv6 and IPv4)'),
    port: bindPort(12001),
    "dead-after": { type: "duration", value: "T", default: "3s", min: 1, help: "a client silent this long is reported stopped" },
    phi: { type: "float", value: "X", default: 8, min: 0.1, max: 300, help: "suspect a client when the phi accrual level exceeds X" },
    ...impairOptions,
    loss: { ...impairOptions.loss, help: "drop a fraction 0..1 of incoming heartbeats, to demonstrate loss detection" },
    "summary-every": { type: "duration", value: "T", min: 100, help: "print the client table every T (default: only at exit)" },
    "forget-after": { type: "duration", value: "T", default: "1h", min: 1, help: "forget clients silent this long" },
    "max-clients": { type: "integer", value: "N", default: 100_000, min: 1, help: "most clients tracked; the longest silent is dropped first" },
    "on-event": { type: "string", value: "COMMAND", help: "run COMMAND (sh -c) for each state change, with WIREKIT_EVENT, WIREKIT_CLIENT, ... set" },
    webhook: { type: "string", value: "URL", help: "POST each state change as JSON to URL (retried with backoff)" },
    "hook-timeout": { type: "duration", value: "T", default: "10s", min: 1, help: "a hook command or webhook call is stopped after T" },
    "hook-concurrency": { type: "integer", value: "N", default: 4, min: 1, max: 64, help: "hooks running at once; more wait in a bounded queue" },
    metrics: { type: "string", value: "HOST:PORT", help: "serve Prometheus /metrics there (a bare PORT means 127.0.0.1:PORT)" },
    "dead-after-beats": { type: "float", value: "N", default: 3, min: 1, max: 1000, help: "a client that announces its interval (int=) is stopped after N of its intervals" },
    "max-dead-after": { type: "duration", value: "T", min: 1, help: "upper bound of a client's announced deadline (default: --forget-after)" },
    expect: { type: "string", value: "FILE", complete: "file", help: "clients that must exist, 'client-id [deadline]' per line; one not heard in time is never-seen" },
    keys: { type: "string", value: "FILE", complete: "file", help: "'client-id secret' per line: those clients must sign their heartbeats (mac=)" },
    "keys-required": { type: "boolean", help: "with --keys: refuse heartbeats from clients that have no key" },
    "max-skew": { type: "duration", value: "T", default: "30s", min: 1, help: "refuse a keyed heartbeat whose timestamp is further than T from this clock" },
    state: { type: "string", value: "FILE", complete: "file", help: "keep clients, counters and the expected list in FILE (crash-safe), and load it at start" },
    "state-every": { type: "duration", value: "T", default: "5s", min: 100, help: "with --state: save at most every T (and at exit)" },
    verbose: { type: "boolean", short: "v", help: "also print a line for every heartbeat" },
    json: json("events and summaries as JSON lines"),
    pcap,
  },
});

export const senderForm = defineForm({
  title: "Sender options",
  usage: [
    "<server_address> <server_port> [-i 1s] [-c COUNT] [--misses 3] [--id NAME] [--keep-going]",
    "                        [--status ok|fail|CODE] [--msg TEXT] [--key SECRET] [--diagram FILE] [--pcap FILE] [-- COMMAND [ARG ...]]",
  ],
  positionals: [
    { name: "server_address", kind: "host" },
    { name: "server_port", kind: "port" },
  ],
  options: {
    interval: { type: "duration", short: "i", value: "T", default: "1s", min: 1, help: "time between heartbeats" },
    count: { type: "integer", short: "c", aliases: ["n"], value: "N", default: 0, min: 0, help: "heartbeats to send (0 = until Ctrl-C)" },
    timeout: { type: "duration", short: "W", value: "T", min: 1, help: "how long to wait for each reply (default: the interval)" },
    misses: { type: "integer", value: "N", default: 3, min: 1, max: 1_000_000, help: "declare the monitor down after N consecutive heartbeats without reply" },
    "keep-going": { type: "boolean", help: "do not exit when the monitor is down; report when it answers again" },
    id: { type: "string", value: "NAME", help: "client id sent to the monitor (default: this host's name)" },
    status: { type: "string", value: "S", help: "status to report: ok, fail, or an exit code 0-255 (fail or nonzero: the client is failed)" },
    msg: { type: "string", value: "TEXT", help: "message to report with the status (at most 200 bytes on the wire, percent-encoded)" },
    key: { type: "string", value: "SECRET", help: "sign heartbeats (HMAC-SHA256); better: set WIREKIT_HEARTBEAT_KEY, which ps does not show" },
    quiet: { type: "boolean", short: "q", help: "only the statistics" },
    ipv4,
    ipv6,
    json: json("one JSON document with the statistics"),
    "json-lines": json("one JSON object per event as it happens, then the summary"),
    diagram,
    pcap,
  },
});

export const heartbeatSpec = defineCommand({
  name: "heartbeat",
  summary: "UDP heartbeat: sender, and monitor of many clients (serve)",
  title: "the UDP heartbeat lab: a sender, and a monitor that finds lost heartbeats and stopped clients",
  description: `Wire format: heartbeat "<seq> <unix_time> id=<id> run=<run> int=<ms> [status=S msg=TEXT dur=<ms>] [mac=HEX]",
reply "<seq> <time_diff>" (compatible with the lab's Python client and server; extra key=value
fields are ignored by old peers, and unknown ones by the monitor).
The server address and port may also be written as one argument, HOST:PORT; several HOST:PORT
arguments send the same heartbeats to each monitor. After --, COMMAND is run and its exit code
and run time are sent as status= and dur= when it ends.`,
  forms: [serveForm, senderForm],
  notes: `Delay is the monitor's receive time minus the sender's timestamp: it includes the offset
between the two hosts' clocks (only on one host is it the true one-way delay).`,
  examples: [
    "wirekit heartbeat serve --port 12001 --dead-after 3s --summary-every 30s",
    "wirekit heartbeat 127.0.0.1 12001 -i 1s --id web-1",
    "wirekit heartbeat serve --port 12001 --loss 0.2 --seed 7   # watch it report the lost seqs",
    "wirekit heartbeat serve --keys /etc/wirekit/hb-keys --keys-required --expect fleet.txt --state /var/lib/wirekit/hb.json",
    "WIREKIT_HEARTBEAT_KEY=s3cretkey wirekit heartbeat mon:12001 --id backup -i 10s -- /usr/local/bin/backup.sh",
    "wirekit heartbeat serve --reorder 0.2 --duplicate 0.1      # and the reordered and duplicate ones",
  ],
});

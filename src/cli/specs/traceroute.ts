/** The specs of `wirekit traceroute` and `wirekit mtr`: one set of probe options, two views. */
import { defineCommand, defineForm, type OptionDef } from "../spec.js";
import { diagram, ipv4, ipv6, json, pcap } from "./common.js";
import { NEEDS_PRIVILEGE } from "./ping.js";

const RAW_NEEDED = "UDP and TCP probes need root or CAP_NET_RAW (a raw ICMP socket hears the routers).";

/** The probe options both commands take. */
const probe = {
  "max-hops": { type: "integer", short: "m", value: "N", default: 30, min: 1, max: 255, label: "max hops", help: "largest TTL / hop limit" },
  wait: { type: "duration", short: "w", value: "T", default: "1s", min: 1, help: "how long to wait for each probe" },
  first: { type: "integer", short: "f", value: "N", default: 1, min: 1, max: 255, label: "first TTL", help: "first TTL" },
  udp: { type: "boolean", short: "U", help: "UDP probes to port 33434 and up, one port per probe (classic traceroute)" },
  tcp: { type: "boolean", short: "T", help: "TCP SYN probes to -p PORT (default 80)" },
  port: { type: "port", short: "p", value: "PORT", help: "-T: the destination port (default 80); -U: the first port (default 33434; with --paris the only one)" },
  paris: { type: "boolean", help: "keep the flow constant (ports; ICMP identifier and checksum), as Paris traceroute" },
  numeric: { type: "boolean", short: "n", help: "print addresses only, no reverse DNS" },
  ipv4,
  ipv6,
} as const satisfies Record<string, OptionDef>;

/** What the mtr view adds. */
const watch = {
  report: { type: "boolean", short: "r", help: "run -c cycles, then print the table once (mtr -r)" },
  cycles: { type: "integer", short: "c", value: "N", min: 0, help: "cycles to run (0 = until Ctrl-C; default 10 with --report, else 0)" },
  interval: { type: "duration", short: "i", value: "T", default: "1s", min: 1, help: "time between cycles" },
} as const satisfies Record<string, OptionDef>;

/** --diagram and --pcap of the mtr view: bounded, since a run may last for days. */
const watchDiagram = { ...diagram, help: `${diagram.help}; with --watch/--report (and mtr) the first 10 cycles` } as const satisfies OptionDef;
const watchPcap = { ...pcap, help: "write each probe (with its TTL and cycle) and the ICMP answers about it as pcapng, as the run goes" } as const satisfies OptionDef;

export const tracerouteForm = defineForm({
  usage: ["<host> [-U|-T [-p PORT]] [--paris] [-m 30] [-q 3] [-w 1s] [-f 1] [-N 16] [-n] [-4|-6] [--json|--json-lines] [--diagram FILE] [--pcap FILE]", "<host> --watch|--report [-c N] [-i 1s] [probe options]"],
  positionals: [{ name: "host", kind: "host" }],
  options: {
    ...probe,
    queries: { type: "integer", short: "q", value: "N", default: 3, min: 1, max: 10, label: "probes per hop", help: "probes per hop" },
    sim: { type: "integer", short: "N", value: "N", default: 16, min: 1, max: 1000, label: "simultaneous probes", help: "probes in flight at once, across hops" },
    watch: { type: "boolean", help: "probe every hop continuously and show a table, as mtr (= wirekit mtr)" },
    ...watch,
    json: json("one JSON document with every hop"),
    "json-lines": json("one JSON object per probe and per hop as they happen, then the summary"),
    diagram: watchDiagram,
    pcap: { ...pcap, help: "write each probe (with its TTL; with --watch/--report also its cycle) and the ICMP answers about it as pcapng" },
  },
});

const ANNOTATIONS = `annotation when a router reports the destination unreachable: !N network, !H host, !P protocol,
!F-<mtu> fragmentation needed, !S source route failed, !X administratively prohibited,
!V host precedence violation, !C precedence cutoff.`;

export const tracerouteSpec = defineCommand({
  name: "traceroute",
  summary: "traceroute over ICMP, UDP or TCP, Paris flows, and an mtr view (--watch)",
  title: "the route to a host: ICMP echo, UDP or TCP SYN probes with a growing TTL",
  forms: [tracerouteForm],
  notes: `Each hop: its number, the responding address (and name), one RTT per probe or * for none, and an
${ANNOTATIONS}
The trace stops at the destination (an echo reply, a port unreachable, a SYN-ACK or a RST) or at
the first unreachable.
${RAW_NEEDED}
${NEEDS_PRIVILEGE}`,
  exitStatus: "0 when the destination answered, 1 when not, 2 on usage errors.",
  examples: [
    "wirekit traceroute -n 10.77.1.2",
    "wirekit traceroute ::1 -q 1",
    "wirekit traceroute -n -T -p 443 10.77.1.2",
    "wirekit traceroute -n -U --paris 10.77.1.2",
    "wirekit traceroute -n --report -c 20 10.77.1.2",
  ],
});

export const mtrForm = defineForm({
  usage: ["<host> [-r] [-c N] [-i 1s] [-U|-T [-p PORT]] [--paris] [-m 30] [-w 1s] [-n] [-4|-6] [--json] [--diagram FILE] [--pcap FILE]"],
  positionals: [{ name: "host", kind: "host" }],
  options: { ...watch, ...probe, json: json("one JSON document with the table at the end"), diagram: watchDiagram, pcap: watchPcap },
});

export const mtrSpec = defineCommand({
  name: "mtr",
  summary: "mtr: every hop probed continuously, a live table of loss and RTTs",
  title: "traceroute and ping in one: every hop probed continuously, loss and RTTs per hop",
  forms: [mtrForm],
  notes: `Each cycle sends one probe to every TTL up to the destination. The table shows per hop: the
hosts that answered (several when a load balancer spreads the probes), Loss% (probes without an
answer), Snt (probes settled), and Last, Avg, Best, Wrst and StDev of the RTTs in ms, and an
${ANNOTATIONS}
On a terminal the table is redrawn each cycle and printed once more on Ctrl-C; otherwise, and with
--report, it is printed once at the end.
${RAW_NEEDED}
${NEEDS_PRIVILEGE}`,
  exitStatus: "0 when the destination answered at least once, 1 when not, 2 on usage errors.",
  examples: ["wirekit mtr -n 10.77.1.2", "wirekit mtr -n --report -c 10 -i 0.1 10.77.1.2", "wirekit mtr -n -T -p 22 --report 10.77.1.2"],
});

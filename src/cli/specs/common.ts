/** Options several commands share, declared once. */
import type { OptionDef } from "../spec.js";

export const ipv4 = { type: "boolean", short: "4", help: "use IPv4" } as const satisfies OptionDef;
export const ipv6 = { type: "boolean", short: "6", help: "use IPv6" } as const satisfies OptionDef;
export const json = (help: string) => ({ type: "boolean", help }) as const satisfies OptionDef;

/** `--host` of a server. */
export const bindHost = (def: string, help = "address to bind") =>
  ({ type: "string", value: "ADDR", default: def, help, complete: "host" }) as const satisfies OptionDef;

/** `-p, --port` of a server: the same letter on every server. */
export const bindPort = (def: number) => ({ type: "port", short: "p", value: "N", default: def, help: "port (0 picks one)" }) as const satisfies OptionDef;

/** `--diagram FILE` on every client tool: the exchange as a ladder diagram. */
export const diagram = {
  type: "string",
  value: "FILE",
  complete: "file",
  help: "draw the exchange as a ladder diagram: FILE.svg (picture), FILE.mmd (Mermaid) or FILE.txt (text)",
} as const satisfies OptionDef;

/** `--pcap FILE` on the UDP tools: what crossed the wire, with the tool's decisions as packet comments. */
export const pcap = {
  type: "string",
  value: "FILE",
  complete: "file",
  help: "write the datagrams as pcapng (Wireshark, tshark), each with the tool's decision as its packet comment",
} as const satisfies OptionDef;

/** `--pcap-max-bytes` beside a TCP server's `--pcap`: the file's bound. */
const pcapMaxBytes = {
  type: "size",
  value: "SIZE",
  label: "pcap max bytes",
  help: "stop capturing once the --pcap file reaches SIZE (default 100MiB; 0 = no bound); the server goes on",
} as const satisfies OptionDef;

/** `--pcap FILE` on the TCP servers (`http serve`, `proxy`): written while serving, bounded by `--pcap-max-bytes`. */
export function serverPcap(decisions: string): { pcap: Omit<typeof pcap, "help"> & { help: string }; "pcap-max-bytes": typeof pcapMaxBytes } {
  return {
    pcap: { ...pcap, help: `write every connection as pcapng while serving (TCP segments Wireshark reassembles), ${decisions} as packet comments; plain http only, one process` },
    "pcap-max-bytes": pcapMaxBytes,
  };
}

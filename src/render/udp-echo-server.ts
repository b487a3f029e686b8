/**
 * The one-line description of each udp-echo server event, shared by the CLI (`udp-echo serve`)
 * and the lab dashboard so both say the same thing. Pure: an event in, a line out (no newline).
 * And the server's listening line and its totals at exit.
 */
import { formatHostPort } from "../core/address.js";
import { describeImpairment } from "../core/impair.js";
import { formatPartRanges } from "../udp/echo/reassembly.js";
import type { UdpEchoServer, UdpEchoServerEvent, UdpEchoServerTotals } from "../udp/echo/server.js";
import { renderImpairmentTotals } from "./text.js";

/**
 * A message for one log line: UTF-8 decoded, control characters escaped, cut at `max` characters.
 *
 * @example
 * printableMessage(Buffer.from("héllo\n")) // "héllo\\n"
 */
export function printableMessage(buf: Uint8Array, max = 120): string {
  const text = Buffer.from(buf.subarray(0, max * 4)).toString("utf8");
  let out = "";
  let n = 0;
  for (const ch of text) {
    if (n >= max) return `${out}...`;
    const c = ch.codePointAt(0) ?? 0;
    if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
    n++;
  }
  return buf.length > max * 4 ? `${out}...` : out;
}

/**
 * The log line for a server event, or undefined for events shown only when `verbose`.
 *
 * @example
 * describeServerEvent(e) // "127.0.0.1:54321: 2026-11-23 18:30:01.123 (23 bytes, id 5c1f0a3e9d2b4471)"
 */
export function describeServerEvent(e: UdpEchoServerEvent, verbose = false): string | undefined {
  const from = formatHostPort(e.from.address, e.from.port);
  switch (e.kind) {
    case "datagram": {
      const id = e.id === undefined ? "" : `, id ${e.id}`;
      return `${from}: ${printableMessage(e.message)} (${e.message.length} bytes${id})${e.dropped ? " dropped" : ""}`;
    }
    case "part":
      if (!verbose) return undefined;
      return `${from}: part ${e.number}/${e.count} of message ${e.id} (${e.bytes} bytes)${e.dropped ? " dropped" : ""}${e.note ? ` ${e.note}` : ""}`;
    case "reassembled":
      return `received message ${e.id}: ${e.bytes} bytes in ${e.parts} parts from ${from}`;
    case "incomplete": {
      const m = e.message;
      const why = m.reason === "timeout" ? "" : " (evicted to bound memory)";
      return `message ${m.id} from ${from} incomplete${why}: ${m.received} of ${m.count} parts (${m.receivedBytes} of ${m.total} bytes), missing parts ${formatPartRanges(m.missing, 20, m.missingCount)}`;
    }
    case "garbage":
      return verbose ? `${from}: ignored ${e.bytes} bytes: ${e.reason}` : undefined;
  }
}

/**
 * The line a started server prints (no newline): "listening on 127.0.0.1:12002", or with its
 * impairments "listening on 127.0.0.1:12002 (impair: loss 30%, seed 7)".
 */
export function renderUdpEchoListening(server: Pick<UdpEchoServer, "address" | "port" | "impairment" | "seed">): string {
  const impairText = describeImpairment(server.impairment, server.seed);
  return `listening on ${formatHostPort(server.address, server.port)}${impairText === "" ? "" : ` (${impairText})`}`;
}

/**
 * What `udp-echo serve` prints at exit (with its newlines): the totals, then what the
 * impairments did when any is set.
 *
 * @example
 * renderUdpEchoServerTotals(t, undefined) // "4 received, 4 replied, 92 bytes, 0 reassembled\n"
 */
export function renderUdpEchoServerTotals(t: UdpEchoServerTotals, impairment: Readonly<Record<string, number>> | undefined): string {
  return `${t.received} received, ${t.replied} replied, ${t.bytes} bytes, ${t.reassembled} reassembled` +
    `${t.incomplete ? `, ${t.incomplete} incomplete` : ""}${t.dropped ? `, ${t.dropped} dropped` : ""}\n${renderImpairmentTotals(impairment)}`;
}

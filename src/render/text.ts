/**
 * Text renderers shared by several commands. The ping-style statistics block is iputils'
 * format (`ping_print_finish`, ping/ping_output.c), used by every ping-like tool.
 */
import { formatG, lossPercent, type PingTotals, type RttSummary } from "../core/stats.js";
import { formatHostPort } from "../core/address.js";

/** Seconds with one decimal: "3.0 s". */
export function seconds1(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A client's decision on a datagram it did not take as a reply (a pcap comment / ladder note): "ignored: wrong request id (from 10.0.0.9:53)". */
export function ignoredDecision(reason: string, from: { address: string; port: number }): string {
  return `ignored: ${reason} (from ${formatHostPort(from.address, from.port)})`;
}

/** A client's line for a datagram it did not take as a reply (with its newline): "ignored 12 bytes from 10.0.0.9:53: wrong request id\n". */
export function renderIgnoredLine(bytes: number, from: { address: string; port: number }, reason: string): string {
  return `ignored ${bytes} bytes from ${formatHostPort(from.address, from.port)}: ${reason}\n`;
}

/** "0.052" — three decimals, as ping's summary line. */
export function ms3(x: number): string {
  return x.toFixed(3);
}

/**
 * The statistics block ping prints at the end:
 *
 *     --- 127.0.0.1 udp-ping statistics ---
 *     10 packets transmitted, 7 received, 30% packet loss, time 9008ms
 *     rtt min/avg/max/mdev = 0.052/0.071/0.103/0.015 ms
 */
export function renderPingStatistics(target: string, tool: string, totals: PingTotals, rtt: RttSummary): string {
  const parts = [`${totals.transmitted} packets transmitted`, `${totals.received} received`];
  if (totals.duplicates > 0) parts.push(`+${totals.duplicates} duplicates`);
  if (totals.errors > 0) parts.push(`+${totals.errors} errors`);
  if (totals.late > 0) parts.push(`+${totals.late} late`);
  parts.push(`${formatG(lossPercent(totals.transmitted, totals.received))}% packet loss`);
  parts.push(`time ${Math.round(totals.elapsedMs)}ms`);
  let out = `\n--- ${target} ${tool} statistics ---\n${parts.join(", ")}\n`;
  if (rtt.count > 0) {
    out += `rtt min/avg/max/mdev = ${ms3(rtt.min)}/${ms3(rtt.avg)}/${ms3(rtt.max)}/${ms3(rtt.mdev)} ms\n`;
  }
  return out;
}

export { escapeBytes, escapeText } from "../core/escape.js";

/** A plain text table with left-aligned columns. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** Singular forms of the count words the totals use; a word not listed has one form ("lost"). */
const SINGULAR: Readonly<Record<string, string>> = {
  bytes: "byte",
  clients: "client",
  connections: "connection",
  datagrams: "datagram",
  duplicates: "duplicate",
  errors: "error",
  heartbeats: "heartbeat",
  hits: "hit",
  messages: "message",
  misses: "miss",
  requests: "request",
  revalidations: "revalidation",
  bypasses: "bypass",
  tunnels: "tunnel",
  restarts: "restart",
};

/**
 * "3 clients", "1 client", "1155 bytes from cache", "1 client error": one count in words. `key`
 * is a totals field name in camelCase (`bytesFromCache`); its noun is singular when `n` is 1.
 */
export function countWords(n: number, key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(" ");
  // The noun is the first word that has a singular: "bytes from cache", "client errors".
  const noun = words.findIndex((w) => SINGULAR[w] !== undefined);
  if (n === 1 && noun !== -1) words[noun] = SINGULAR[words[noun] ?? ""] ?? "";
  return `${n} ${words.join(" ")}`;
}

/** A totals object as one line of words: "1 request, 2 hits, 0 misses, 1155 bytes from cache". */
export function renderTotals(totals: Readonly<Record<string, number>>): string {
  return Object.entries(totals).map(([k, v]) => countWords(v, k)).join(", ");
}

/**
 * A server's impairment counters as one line: "impairments: 3 lost, 1 duplicated\n"; "" when
 * the server has no impairment set.
 */
export function renderImpairmentTotals(counts: Readonly<Record<string, number>> | undefined): string {
  return counts === undefined ? "" : `impairments: ${renderTotals(counts)}\n`;
}

/** camelCase keys to snake_case, deeply: the JSON documents wirekit prints use snake_case. */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()] = snakeKeys(v);
  return out;
}

/**
 * One --json-lines line (with its newline): the event as snake_case JSON with its wall time.
 *
 * @example
 * renderJsonLine({ kind: "timeout", seq: 3 }, 0) // '{"kind":"timeout","seq":3,"at":"1970-01-01T00:00:00.000Z"}\n'
 */
export function renderJsonLine(e: object, atMs: number): string {
  return `${JSON.stringify(snakeKeys({ ...e, at: new Date(atMs).toISOString() }))}\n`;
}

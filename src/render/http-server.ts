/**
 * The lines of the web server (`wirekit http serve`, the lab's web server): the access-log
 * line of each request, the Common Log Format (as Apache and nginx write it) followed by the
 * response time, and the line of a handler that threw. Pure: an event in, a line out.
 */
import type { RequestRecord } from "../http/static/access-log.js";
import type { StaticServer, StaticServerEvent, StaticTotals } from "../http/static/server.js";
import { describeImpairment } from "../core/impair.js";
import { formatHostPort } from "../core/address.js";
import { countWords } from "./text.js";
import { escapeText } from "../core/escape.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (n: number): string => String(n).padStart(2, "0");

/** `10/Oct/2000:13:55:36 +0000` (UTC). */
export function clfDate(ms: number): string {
  const d = new Date(ms);
  return `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
}

/**
 * The access-log line (no newline). Control characters and quotes in the target are
 * escaped so a request cannot forge log lines; the authenticated user (CLF's authuser field)
 * is escaped too, spaces included, so the line keeps its fields.
 *
 * @example
 * formatAccessLog({ at: 0, client: "127.0.0.1", method: "GET", path: "/", httpVersion: "1.1", status: 200, bytes: 12, ms: 0.4 })
 * // '127.0.0.1 - - [01/Jan/1970:00:00:00 +0000] "GET / HTTP/1.1" 200 12 0.400ms'
 */
export function formatAccessLog(r: RequestRecord): string {
  const target = escapeLog(r.path);
  const user = r.user === undefined || r.user === "" ? "-" : escapeLog(r.user).replace(/ /g, "\\x20");
  return `${r.client} - ${user} [${clfDate(r.at)}] "${r.method} ${target} HTTP/${r.httpVersion}" ${r.status} ${r.bytes === 0 ? "-" : r.bytes} ${r.ms.toFixed(3)}ms`;
}

function escapeLog(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * The line for a web server event (no newline): the access-log line of a request; for a
 * handler that threw, what it was answering (the CLI prints that one on stderr).
 *
 * @example
 * renderStaticServerEvent({ kind: "handler-error", method: "GET", target: "/x", client: "127.0.0.1", message: "boom" })
 * // "error answering GET /x from 127.0.0.1: boom (sent 500)"
 */
export function renderStaticServerEvent(e: StaticServerEvent): string {
  switch (e.kind) {
    case "request":
      return formatAccessLog(e.record);
    case "handler-error":
      return `error answering ${escapeText(e.method)} ${escapeText(e.target)} from ${e.client}: ${escapeText(e.message)} (sent 500)`;
  }
}

/** The totals line printed at exit and on SIGUSR1 / Ctrl-T: "3 requests, 1024 bytes sent, 0 client errors, 0 server errors". */
export function renderStaticTotals(t: StaticTotals): string {
  return `${countWords(t.requests, "requests")}, ${countWords(t.bytes, "bytesSent")}, ${countWords(t.clientErrors, "clientErrors")}, ${countWords(t.errors, "serverErrors")}`;
}

/**
 * The line a started web server prints:
 * "listening on 127.0.0.1:8080 (http, root ./site, 1 worker, basic auth for 1 user, delay 100ms)".
 */
export function renderStaticListening(server: StaticServer, o: { tls: boolean; root: string; users: number; impair: Parameters<typeof describeImpairment>[0] }): string {
  const workers = server.workers;
  const authNote = o.users === 0 ? "" : `, basic auth for ${o.users === 1 ? "1 user" : `${o.users} users`}`;
  const impaired = describeImpairment(o.impair);
  const impairNote = impaired === "" ? "" : `, ${impaired}${workers > 1 && o.impair.rateBytesPerSec !== undefined ? " per worker" : ""}`;
  return `listening on ${formatHostPort(server.address, server.port)} (${o.tls ? "https" : "http"}, root ${o.root}, ${workers} worker${workers === 1 ? "" : "s"}${authNote}${impairNote})`;
}

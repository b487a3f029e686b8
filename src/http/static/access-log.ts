/**
 * One record per request and its access-log line: the Common Log Format (as Apache and
 * nginx write it) followed by the response time. Pure.
 */

/** What the server did for one request. */
export interface RequestRecord {
  /** Wall-clock ms when the request arrived. */
  at: number;
  /** Client address. */
  client: string;
  method: string;
  /** The request-target as received. */
  path: string;
  httpVersion: string;
  status: number;
  /** Body bytes sent. */
  bytes: number;
  /** Time from request to the last byte handed to the socket, ms. */
  ms: number;
  /** The user the request authenticated as (HTTP Basic), never the password. @default undefined ("-") */
  user?: string;
}

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

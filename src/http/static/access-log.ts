/**
 * One record per request. Its access-log line is render/http-server.ts's `formatAccessLog`.
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

/**
 * Checks on a request head that the static server makes before the handler sees it, for the
 * framing and routing rules of RFC 9112 that node:http's parser lets through: one Host field
 * (§3.2), Transfer-Encoding only on HTTP/1.1 and only `chunked` (§6.1, §6.3), HTTP/1.x only
 * (RFC 9110 §6.2, §15.6.6), and no CONNECT on a file server (RFC 9110 §9.3.6, §15.5.6). Pure:
 * it reads the method, the version and the raw header list, and says how to answer.
 */

/** What the checks read from a request (node:http's IncomingMessage has these fields). */
export interface RequestHead {
  method?: string | undefined;
  /** "1.1", "1.0", "2.0", ... */
  httpVersion: string;
  /** Field names and values alternating, as received. */
  rawHeaders: readonly string[];
}

/** A request to refuse: the status, why, and the headers that go with it. */
export interface RequestRejection {
  status: 400 | 405 | 501 | 505;
  reason: string;
  /** Set on 405 (RFC 9110 §15.5.6 requires it). */
  allow?: string;
  /**
   * Close the connection after answering. Always true: each of these leaves the end of the
   * request unknown (a body framed in a way we refuse, a tunnel we will not open) or comes from a
   * client whose next bytes we cannot trust to be a request.
   */
  close: true;
}

/** The methods the static server implements, for Allow. */
export interface RequestCheckOptions {
  /** @default "GET, HEAD" */
  allow?: string;
}

/**
 * The first rule the request head breaks, or undefined when it passes.
 *
 * @example
 * checkRequestHead({ method: "GET", httpVersion: "1.1", rawHeaders: ["Host", "a", "Host", "b"] })
 * // { status: 400, reason: "more than one Host field", close: true }
 */
export function checkRequestHead(head: RequestHead, options: RequestCheckOptions = {}): RequestRejection | undefined {
  if (head.httpVersion !== "1.1" && head.httpVersion !== "1.0") {
    // RFC 9110 §15.6.6: the major version is one we do not speak over this connection.
    return { status: 505, reason: `HTTP/${head.httpVersion} is not supported`, close: true };
  }
  let hosts = 0;
  const codings: string[] = [];
  let hasTransferEncoding = false;
  for (let i = 0; i + 1 < head.rawHeaders.length; i += 2) {
    const name = (head.rawHeaders[i] ?? "").toLowerCase();
    if (name === "host") hosts++;
    else if (name === "transfer-encoding") {
      hasTransferEncoding = true;
      for (const c of (head.rawHeaders[i + 1] ?? "").split(",")) {
        const coding = c.trim().toLowerCase();
        if (coding !== "") codings.push(coding);
      }
    }
  }
  // RFC 9112 §3.2: a request with more than one Host field gets 400 (which one would we serve?).
  if (hosts > 1) return { status: 400, reason: "more than one Host field", close: true };
  if (hasTransferEncoding) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; a 1.0 intermediary may
    // have forwarded it without knowing it, so the body length is anyone's guess (smuggling).
    if (head.httpVersion === "1.0") return { status: 400, reason: "Transfer-Encoding in an HTTP/1.0 request", close: true };
    // RFC 9112 §6.1: a transfer coding the server does not understand gets 501.
    const unknown = codings.find((c) => c !== "chunked");
    if (unknown !== undefined) return { status: 501, reason: `transfer coding "${unknown}" is not implemented`, close: true };
    // RFC 9112 §6.3 (4): chunked must be the final coding, once.
    if (codings.length !== 1) return { status: 400, reason: "chunked is not the one final transfer coding", close: true };
  }
  // RFC 9110 §9.3.6: CONNECT asks for a tunnel, which a file server never opens.
  if ((head.method ?? "").toUpperCase() === "CONNECT") return { status: 405, reason: "CONNECT is not allowed", allow: options.allow ?? "GET, HEAD", close: true };
  return undefined;
}

const REASON_PHRASES: Readonly<Record<RequestRejection["status"], string>> = {
  400: "Bad Request",
  405: "Method Not Allowed",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

/**
 * The whole response to a rejected request, as bytes for a raw socket (the CONNECT path has no
 * ServerResponse): status line, Allow when set, Connection: close, and an empty body.
 *
 * @example
 * encodeRejection({ status: 400, reason: "more than one Host field", close: true })
 * // "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
 */
export function encodeRejection(r: RequestRejection): string {
  const allow = r.allow === undefined ? "" : `Allow: ${r.allow}\r\n`;
  return `HTTP/1.1 ${r.status} ${REASON_PHRASES[r.status]}\r\n${allow}Connection: close\r\nContent-Length: 0\r\n\r\n`;
}

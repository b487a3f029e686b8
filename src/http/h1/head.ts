/**
 * The response side of HTTP/1.1 message syntax (RFC 9112 §4, §6): which framing a response
 * gets, and its head serialized into one string. Pure: the caller passes `now` and the
 * handler's fields; no sockets, no timers.
 */
import { STATUS_CODES } from "node:http";
import { isFieldName, type HeaderList } from "../header-list.js";
import { WirekitError } from "../../core/errors.js";

/** How the body of one response is delimited on the wire. */
export type ResponseFraming =
  /** No body at all: HEAD, 1xx, 204, 304 (RFC 9112 §6.3 rule 1). */
  | { kind: "none" }
  /** Content-Length: exactly `length` bytes. */
  | { kind: "length"; length: number }
  /** Transfer-Encoding: chunked (HTTP/1.1 peers, unknown length). */
  | { kind: "chunked" }
  /** Close-delimited (HTTP/1.0 peers, unknown length): the connection closes after it. */
  | { kind: "close" };

/** A response head ready to write, and what the engine must do after the body. */
export interface EncodedHead {
  head: string;
  framing: ResponseFraming;
  /** The connection closes after this response. */
  close: boolean;
}

/** What the engine knows when it serializes a head. */
export interface HeadInput {
  status: number;
  reason: string | undefined;
  headers: HeaderList;
  /** Request method ("HEAD" responses carry no body). */
  method: string;
  /** Request version; "1.0" peers get keep-alive only when they asked for it. */
  version: "1.0" | "1.1";
  /** Byte length of the given body, or undefined for a stream of unknown length. */
  bodyLength: number | undefined;
  /** The request allows the connection to persist (parser's keepAlive) and the engine agrees. */
  keepAlive: boolean;
  /** `Date` field value (see DateField). */
  date: string;
  /** `headers` already checked and serialized for this status (FieldLines): not checked again. */
  fieldLines?: FieldLines | undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values: HTAB, SP, VCHAR, obs-text; never CR, LF, NUL or code points above U+00FF. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** The standard reason phrase of a status (RFC 9110 §15), "Unknown" for unregistered ones. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? "Unknown";
}

/**
 * True when a field can be written as is: a token name and a value without CR, LF, NUL or code
 * points above U+00FF (RFC 9110 §5.1, §5.5). A proxy checks relayed fields with it before it
 * commits to an answer.
 *
 * @example
 * isValidField("X-A", "1") // true
 * isValidField("X-A", "1\r\nX-B: 2") // false
 */
export function isValidField(name: string, value: string): boolean {
  return TOKEN.test(name) && !BAD_VALUE.test(value);
}

/** A handler-supplied head that would split or corrupt the response (ERR_PROTOCOL: for the proxy it is the upstream's). */
function invalid(message: string): WirekitError {
  return new WirekitError("ERR_PROTOCOL", `invalid response: ${message}`);
}

/** True for statuses whose responses never carry content (RFC 9110 §15.2, §15.3.5, §15.4.5). */
export function isBodiless(status: number, method: string): boolean {
  return method === "HEAD" || status < 200 || status === 204 || status === 304;
}

/**
 * Serialize a final response head. Handler fields are kept in order and case except the ones the
 * engine owns: `Connection` and `Transfer-Encoding` (dropped; "close" in Connection is honoured),
 * `Content-Length` (kept, and it fixes the announced length). `Date` is added unless given.
 *
 * @example
 * encodeHead({ status: 200, reason: undefined, headers: [["Content-Type", "text/plain"]], method: "GET",
 *   version: "1.1", bodyLength: 2, keepAlive: true, date: "Thu, 01 Jan 2026 00:00:00 GMT" })
 * // head: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: ...\r\nContent-Length: 2\r\n\r\n"
 */
export function encodeHead(input: HeadInput): EncodedHead {
  const { status, headers, method, version } = input;
  if (!Number.isInteger(status) || status < 200 || status > 999) throw invalid(`bad status ${status}`);
  const reason = input.reason ?? STATUS_CODES[status] ?? "Unknown";
  if (BAD_VALUE.test(reason)) throw invalid("bad reason phrase");
  const f = input.fieldLines?.fieldsFor(headers, status) ?? encodedFields(headers, status);
  let head = `HTTP/1.1 ${status} ${reason}\r\n${f.text}`;
  let close = !input.keepAlive || f.close;
  const declared = f.declared;
  if (!f.hasDate) head += `Date: ${input.date}\r\n`;
  let framing: ResponseFraming;
  if (isBodiless(status, method)) {
    framing = NONE;
    // A HEAD answer may announce the length the GET would have; 204 and 304 never do.
    if (declared === undefined && method === "HEAD" && status >= 200 && status !== 204 && status !== 304 && input.bodyLength !== undefined) {
      head += `Content-Length: ${input.bodyLength}\r\n`;
    }
  } else if (declared !== undefined) {
    framing = { kind: "length", length: declared };
  } else if (input.bodyLength !== undefined) {
    framing = { kind: "length", length: input.bodyLength };
    head += `Content-Length: ${input.bodyLength}\r\n`;
  } else if (version === "1.1") {
    framing = CHUNKED;
    head += "Transfer-Encoding: chunked\r\n";
  } else {
    framing = CLOSE;
    close = true;
  }
  if (close) head += "Connection: close\r\n";
  else if (version === "1.0") head += "Connection: keep-alive\r\n";
  return { head: head + "\r\n", framing, close };
}

/** A handler's fields as head lines, checked, with what the engine reads out of them. */
export interface EncodedFields {
  readonly text: string;
  readonly close: boolean;
  readonly hasDate: boolean;
  /** Content-Length the fields announce (never for a 204). */
  readonly declared: number | undefined;
}

/**
 * Frozen field lists (deeply frozen: the list and each pair) cannot change, so their checked
 * serialization is kept: a handler that answers many requests with one precomputed list (the
 * static server's cached representations) pays for validation once, not per response. Keyed
 * by the list and by whether the status is 204 (the one status that changes the result).
 */
const frozenFields = new WeakMap<HeaderList, { normal?: EncodedFields; noContent?: EncodedFields }>();

function encodedFields(headers: HeaderList, status: number): EncodedFields {
  if (!Object.isFrozen(headers)) return serializeFields(headers, status);
  let memo = frozenFields.get(headers);
  const slot = status === 204 ? "noContent" : "normal";
  const hit = memo?.[slot];
  if (hit !== undefined) return hit;
  const out = serializeFields(headers, status);
  if (headers.every((pair) => Object.isFrozen(pair))) {
    if (memo === undefined) frozenFields.set(headers, (memo = {}));
    memo[slot] = out;
  }
  return out;
}

function serializeFields(headers: HeaderList, status: number): EncodedFields {
  let text = "";
  let close = false;
  let hasDate = false;
  let declared: number | undefined;
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i] as readonly [string, string];
    const name = field[0];
    const value = field[1];
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw invalid(`bad header field ${JSON.stringify(name)}`);
    if (isFieldName(name, "connection")) {
      if (/(^|,)\s*close\s*(,|$)/i.test(value)) close = true;
      continue;
    }
    if (isFieldName(name, "transfer-encoding")) continue;
    if (isFieldName(name, "content-length")) {
      const v = value.trim();
      if (!/^\d{1,15}$/.test(v) || (declared !== undefined && Number(v) !== declared)) throw invalid("bad Content-Length");
      if (declared !== undefined || status === 204) continue; // RFC 9110 §8.6: never on a 204
      declared = Number(v);
    } else if (isFieldName(name, "date")) hasDate = true;
    text += `${name}: ${value}\r\n`;
  }
  return { text, close, hasDate, declared };
}

/**
 * A field list checked and serialized once, for the status it goes out with: what encodeHead
 * writes for it. A handler that must know a head is writable before it commits to it (the proxy
 * relaying an origin's head, ClientReply.writeHead) has it checked here, and the engine then
 * writes these lines without checking each field again. They serve only the very list (and the
 * status, 204 or not) they were made from; the lines are the checked bytes themselves, so a
 * list changed afterwards cannot change what is sent.
 *
 * @example
 * const lines = new FieldLines([["X-A", "1"]], 200); // throws ERR_PROTOCOL for [["X-A", "1\r\nX-B: 2"]]
 */
export class FieldLines {
  readonly #list: HeaderList;
  readonly #noContent: boolean;
  readonly #fields: EncodedFields;

  /** Throws ERR_PROTOCOL, as encodeHead would, when a field cannot be written as is. */
  constructor(list: HeaderList, status: number) {
    this.#list = list;
    this.#noContent = status === 204;
    this.#fields = serializeFields(list, status);
  }

  /** The fields ask to close the connection. */
  get close(): boolean {
    return this.#fields.close;
  }

  /** The serialized fields when they are `list`'s for `status`; undefined otherwise (serialize anew). */
  fieldsFor(list: HeaderList, status: number): EncodedFields | undefined {
    return list === this.#list && (status === 204) === this.#noContent ? this.#fields : undefined;
  }
}

const NONE: ResponseFraming = { kind: "none" };
const CHUNKED: ResponseFraming = { kind: "chunked" };
const CLOSE: ResponseFraming = { kind: "close" };

/** An interim (1xx) response head; 101 is not one (it goes through takeover). */
export function encodeInterim(status: number, headers: HeaderList = []): string {
  if (!Number.isInteger(status) || status < 100 || status > 199 || status === 101) throw invalid(`bad interim status ${status}`);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw invalid(`bad header field ${JSON.stringify(name)}`);
    head += `${name}: ${value}\r\n`;
  }
  return head + "\r\n";
}

/** The whole answer to a request the engine refuses itself (parse error, timeout). */
export function encodeErrorResponse(status: number, text: string, date: string): string {
  const body = `${text}\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\nDate: ${date}\r\nConnection: close\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/**
 * The `Date` field value (RFC 9110 §6.6.1), formatted at most once per wall-clock second.
 *
 * @example
 * const date = new DateField();
 * date.at(Date.UTC(2026, 0, 1)) // "Thu, 01 Jan 2026 00:00:00 GMT"
 */
export class DateField {
  #second = -1;
  #value = "";

  /** The value for wall time `nowMs`. */
  at(nowMs: number): string {
    const s = Math.floor(nowMs / 1000);
    if (s !== this.#second) {
      this.#second = s;
      this.#value = new Date(s * 1000).toUTCString();
    }
    return this.#value;
  }
}

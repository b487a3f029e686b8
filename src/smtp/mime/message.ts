/**
 * The message builder: RFC 5322 headers (Date, Message-ID, From, To, Cc, Subject; Bcc never
 * written, §3.6.3 lets it be left out so blind recipients stay blind), MIME-Version (RFC 2045),
 * and the body tree: text/plain, multipart/alternative with HTML (RFC 2046 §5.1.4),
 * multipart/related for inline images referenced by cid: (RFC 2387, RFC 2392), multipart/mixed for
 * attachments (RFC 2183 Content-Disposition). Pure: the date comes from the caller's clock and
 * boundaries and the Message-ID from the caller's Random, so the same inputs give the same bytes.
 */
import { WirekitError } from "../../core/errors.js";
import type { Random } from "../../core/random.js";
import { addressDomain, formatMailbox, type Mailbox } from "./address.js";
import { assertHeaderValue, encodeUnstructured, foldHeader, needsTransferEncoding } from "./encode.js";
import { serializeNode, type MimeLeaf, type MimeNode } from "./node.js";

/** A file to attach or to inline. */
export interface MessageFile {
  /** Name shown to the recipient (may be non-ASCII). */
  filename: string;
  content: Uint8Array;
  /** @default looked up by the caller from the file name, else application/octet-stream */
  contentType?: string;
}

/** Everything that goes into a message. */
export interface BuildMessageOptions {
  from: Mailbox;
  to: Mailbox[];
  /** @default [] */
  cc?: Mailbox[];
  /** @default "" (no Subject header is left out; an empty one is written) */
  subject?: string;
  /** Plain text body. @default "" */
  text?: string;
  /** HTML body; with `text` gives multipart/alternative. */
  html?: string;
  /** @default [] */
  attachments?: MessageFile[];
  /** Images for the HTML body, referenced as `cid:<filename>`. @default [] */
  inline?: MessageFile[];
  /** Wall-clock time for the Date header, ms since the epoch. */
  date: number;
  /** Source of boundaries and the Message-ID. */
  random: Random;
  /** Extra header lines `[name, value]` (checked for injection). @default [] */
  headers?: Array<[string, string]>;
}

/** A built message. */
export interface BuiltMessage {
  /** The message with CRLF line ends (not yet dot-stuffed). */
  bytes: Buffer;
  messageId: string;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * RFC 5322 §3.3 date-time in UTC.
 *
 * @example
 * formatRfc5322Date(Date.UTC(2026, 0, 1)) // "Thu, 01 Jan 2026 00:00:00 +0000"
 */
export function formatRfc5322Date(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number): string => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
}

function hex(random: Random, n: number): string {
  return random.bytes(n).toString("hex");
}

function textLeaf(type: "text/plain" | "text/html", text: string): MimeLeaf {
  // "=_" appears in our boundaries; a 7-bit body containing it is sent quoted-printable (which
  // encodes "=") so a boundary can never occur inside a part.
  const qp = needsTransferEncoding(text) || text.includes("=_");
  return { kind: "leaf", type, params: [["charset", "utf-8"]], encoding: qp ? "quoted-printable" : "7bit", body: Buffer.from(text, "utf8") };
}

function fileLeaf(f: MessageFile, disposition: "attachment" | "inline", contentId?: string): MimeLeaf {
  assertHeaderValue("attachment file name", f.filename);
  const type = f.contentType ?? "application/octet-stream";
  if (!/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/.test(type)) throw new WirekitError("ERR_USAGE", `bad content type '${type}'`);
  const leaf: MimeLeaf = {
    kind: "leaf",
    type,
    params: [["name", f.filename]],
    encoding: "base64",
    disposition: { value: disposition, params: [["filename", f.filename]] },
    body: f.content,
  };
  if (contentId !== undefined) leaf.contentId = contentId;
  return leaf;
}

/**
 * The Content-ID of an inline file: its name with anything outside [A-Za-z0-9._-] replaced by
 * "_", so the HTML can say `<img src="cid:logo.png">`.
 *
 * @example
 * inlineContentId("my logo.png") // "my_logo.png"
 */
export function inlineContentId(filename: string): string {
  return filename.replace(/[^A-Za-z0-9._-]/g, "_") || "inline";
}

/**
 * Build the message bytes.
 *
 * @example
 * const m = buildMessage({ from: { address: "a@x.test" }, to: [{ address: "b@x.test" }], subject: "Hi", text: "Hello",
 *   date: Date.UTC(2026, 0, 1), random: createRandom(1) });
 * m.bytes.toString().startsWith("Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n") // true
 */
export function buildMessage(o: BuildMessageOptions): BuiltMessage {
  const subject = o.subject ?? "";
  assertHeaderValue("Subject", subject);
  for (const [name, value] of o.headers ?? []) {
    if (!/^[!-9;-~]+$/.test(name)) throw new WirekitError("ERR_USAGE", `bad header name '${name}'`);
    assertHeaderValue(name, value);
  }
  let serial = 0;
  const base = hex(o.random, 8);
  const boundary = (): string => `----=_wirekit_${base}_${serial++}`;
  const messageId = `${hex(o.random, 12)}@${addressDomain(o.from.address)}`;

  const text = o.text ?? "";
  let body: MimeNode = textLeaf("text/plain", text);
  if (o.html !== undefined) {
    const html = textLeaf("text/html", o.html);
    let htmlPart: MimeNode = html;
    const inline = o.inline ?? [];
    if (inline.length > 0) {
      const cids = inline.map((f) => inlineContentId(f.filename));
      htmlPart = { kind: "multipart", subtype: "related", rootType: "text/html", boundary: boundary(), children: [html, ...inline.map((f, i) => fileLeaf(f, "inline", cids[i]))] };
    }
    body = o.text === undefined ? htmlPart : { kind: "multipart", subtype: "alternative", boundary: boundary(), children: [body, htmlPart] };
  } else if ((o.inline ?? []).length > 0) {
    throw new WirekitError("ERR_USAGE", "inline images need an HTML body (--html-file)");
  }
  const attachments = o.attachments ?? [];
  if (attachments.length > 0) {
    body = { kind: "multipart", subtype: "mixed", boundary: boundary(), children: [body, ...attachments.map((f) => fileLeaf(f, "attachment"))] };
  }

  const headers = [
    foldHeader("Date", formatRfc5322Date(o.date)),
    foldHeader("Message-ID", `<${messageId}>`),
    foldHeader("From", formatMailbox(o.from)),
  ];
  if (o.to.length > 0) headers.push(foldHeader("To", o.to.map(formatMailbox).join(", ")));
  const cc = o.cc ?? [];
  if (cc.length > 0) headers.push(foldHeader("Cc", cc.map(formatMailbox).join(", ")));
  headers.push(foldHeader("Subject", encodeUnstructured(subject)));
  for (const [name, value] of o.headers ?? []) headers.push(foldHeader(name, encodeUnstructured(value)));
  headers.push(foldHeader("MIME-Version", "1.0"));
  return { bytes: Buffer.from(serializeNode(body, headers).join(""), "latin1"), messageId };
}

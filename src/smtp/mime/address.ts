/**
 * Mailboxes as users type them ("alice@example.com", "Alice Ünal <alice@example.com>") for the
 * envelope (RFC 5321 §4.1.2 Path) and for the headers (RFC 5322 §3.4 mailbox, with RFC 2047 for
 * a non-ASCII display name). Addresses are checked at the edge: CR, LF, NUL, "<", ">" and spaces
 * can never reach a command line or a header. International domain names become their ASCII
 * (punycode) form; a non-ASCII local part would need SMTPUTF8 end to end and is refused.
 */
import { domainToASCII } from "node:url";
import { WirekitError } from "../../core/errors.js";
import { assertHeaderValue, encodeWords } from "./encode.js";

/** A parsed mailbox. */
export interface Mailbox {
  /** Display name, if any (Unicode). */
  name?: string;
  /** The address, ASCII, `local@domain`. */
  address: string;
}

/**
 * Parse "addr" or "Name <addr>". Throws ERR_USAGE naming `what` on anything unsafe or malformed.
 *
 * @example
 * parseMailbox("Ana <ana@example.com>", "--from") // { name: "Ana", address: "ana@example.com" }
 */
export function parseMailbox(text: string, what: string): Mailbox {
  assertHeaderValue(what, text);
  const t = text.trim();
  const m = /^(.*?)\s*<([^<>]*)>$/.exec(t);
  let name: string | undefined;
  let addr: string;
  if (m) {
    name = (m[1] ?? "").trim().replace(/^"(.*)"$/, "$1").replace(/\\(.)/g, "$1");
    addr = (m[2] ?? "").trim();
    if (name === "") name = undefined;
  } else {
    addr = t;
  }
  return name === undefined ? { address: checkAddress(addr, what) } : { name, address: checkAddress(addr, what) };
}

function checkAddress(addr: string, what: string): string {
  const at = addr.lastIndexOf("@");
  if (at <= 0 || at === addr.length - 1) throw new WirekitError("ERR_USAGE", `${what}: '${addr}' is not an address of the form user@domain`);
  const local = addr.slice(0, at);
  const domain = addr.slice(at + 1);
  if (/[\s<>()[\],;:\\]/.test(local.replace(/^"(.*)"$/, "x"))) throw new WirekitError("ERR_USAGE", `${what}: '${addr}' has characters not allowed in an address`);
  if (/[^\x21-\x7e]/.test(local)) throw new WirekitError("ERR_USAGE", `${what}: non-ASCII local part in '${addr}' is not supported (needs SMTPUTF8 end to end)`);
  const literal = /^\[[0-9A-Fa-f:.]+\]$/.test(domain);
  const ascii = literal ? domain : domainToASCII(domain);
  if (ascii === "" || (!literal && !/^[A-Za-z0-9.-]+$/.test(ascii))) throw new WirekitError("ERR_USAGE", `${what}: '${domain}' is not a valid domain`);
  return `${local}@${ascii}`;
}

/**
 * The mailbox as header text: `addr`, `Name <addr>`, `"Name, Jr." <addr>` or an encoded word.
 *
 * @example
 * formatMailbox({ name: "Zoë", address: "zoe@example.com" }) // "=?UTF-8?Q?Zo=C3=AB?= <zoe@example.com>"
 */
export function formatMailbox(m: Mailbox): string {
  if (m.name === undefined) return m.address;
  let phrase: string;
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(m.name) && !m.name.includes("=?")) phrase = m.name;
  else if (/^[\x20-\x7e]*$/.test(m.name) && !m.name.includes("=?")) phrase = `"${m.name.replace(/[\\"]/g, "\\$&")}"`;
  else phrase = encodeWords(m.name);
  return `${phrase} <${m.address}>`;
}

/** The domain of an address ("example.com" for "a@example.com"). */
export function addressDomain(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}

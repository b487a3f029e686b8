/**
 * EHLO capabilities (RFC 5321 §4.1.1.1): the first line of a 250 reply to EHLO is the server's
 * domain and greeting, every following line is `KEYWORD [params...]`. Parsed once into a map from
 * upper-cased keyword to its parameters, so a keyword is found only where a keyword can be
 * (never by searching the whole text, where a greeting such as "250 no STARTTLS here" would match).
 *
 * Keywords used here: STARTTLS (RFC 3207), AUTH (RFC 4954), SIZE (RFC 1870), 8BITMIME (RFC 6152),
 * SMTPUTF8 (RFC 6531), PIPELINING (RFC 2920), ENHANCEDSTATUSCODES (RFC 2034).
 */
import type { SmtpReply } from "./reply.js";

/** What a server offers after EHLO. */
export interface Capabilities {
  /** The domain the server named in the first line. */
  domain: string;
  /** Upper-cased keyword → its parameters (as sent). */
  keywords: ReadonlyMap<string, readonly string[]>;
}

/**
 * Parse a 250 reply to EHLO.
 *
 * @example
 * const caps = parseCapabilities({ code: 250, lines: ["mx.example", "SIZE 1000", "AUTH PLAIN LOGIN"], raw: [] });
 * caps.keywords.get("AUTH") // ["PLAIN", "LOGIN"]
 */
export function parseCapabilities(reply: SmtpReply): Capabilities {
  const [first = "", ...rest] = reply.lines;
  const keywords = new Map<string, string[]>();
  for (const line of rest) {
    const words = line.trim().split(/[ \t]+/).filter((w) => w !== "");
    const [kw, ...params] = words;
    if (kw === undefined || !/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(kw)) continue;
    const key = kw.toUpperCase();
    // "AUTH=LOGIN PLAIN" is an old (pre-RFC 4954) spelling some servers still send alongside AUTH.
    if (key.startsWith("AUTH=")) continue;
    const prev = keywords.get(key);
    keywords.set(key, prev === undefined ? params : [...prev, ...params]);
  }
  for (const line of rest) {
    const m = /^AUTH=(.*)$/i.exec(line.trim());
    if (m && !keywords.has("AUTH")) keywords.set("AUTH", (m[1] ?? "").split(/[ \t]+/).filter((w) => w !== ""));
  }
  return { domain: first.trim().split(/\s+/)[0] ?? "", keywords };
}

/** Capabilities of a server that answered HELO (RFC 5321 §4.1.1.1: no extensions). */
export function noCapabilities(domain = ""): Capabilities {
  return { domain, keywords: new Map() };
}

/** True when the server offers `keyword`. */
export function hasCapability(caps: Capabilities, keyword: string): boolean {
  return caps.keywords.has(keyword.toUpperCase());
}

/** Upper-cased SASL mechanisms offered with AUTH. */
export function authMechanisms(caps: Capabilities): string[] {
  return (caps.keywords.get("AUTH") ?? []).map((m) => m.toUpperCase());
}

/**
 * The SIZE limit in octets: undefined when SIZE is not offered, 0 when offered without a
 * limit (RFC 1870 §4: "SIZE 0" or a bare SIZE means no fixed maximum).
 */
export function sizeLimit(caps: Capabilities): number | undefined {
  const p = caps.keywords.get("SIZE");
  if (p === undefined) return undefined;
  const n = Number(p[0] ?? "0");
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

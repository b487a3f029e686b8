/**
 * The request-target forms (RFC 9112 §3.2) and the Host value (RFC 9110 §7.2, RFC 3986 §3.2.2)
 * as the strict parser accepts them. Pure.
 */
import { COLON } from "./field-line.js";

/** reg-name bytes besides ALPHA/DIGIT: unreserved / sub-delims / '%' (RFC 3986 §3.2.2). */
const REG_NAME = new Uint8Array(256);
for (const ch of "-._~!$&'()*+,;=%") REG_NAME[ch.charCodeAt(0)] = 1;
for (let i = 0x30; i <= 0x39; i++) REG_NAME[i] = 1;
for (let i = 0x41; i <= 0x5a; i++) REG_NAME[i] = 1;
for (let i = 0x61; i <= 0x7a; i++) REG_NAME[i] = 1;

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/**
 * `uri-host [":" port]` in s[start, end) (RFC 9110 §7.2, RFC 3986 §3.2.2): a reg-name or an IPv6
 * literal, then an optional port of at most 5 digits. An empty Host is allowed (RFC 9110 §7.2),
 * an empty host before a port is not; `portRequired` for CONNECT's authority-form.
 */
export function isHostValue(s: string, start: number, end: number, portRequired: boolean): boolean {
  if (start === end) return !portRequired;
  let i = start;
  if (s.charCodeAt(i) === 0x5b) {
    i++;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (!isHex(c) && c !== COLON && c !== 0x2e) break;
      i++;
    }
    if (i >= end || s.charCodeAt(i) !== 0x5d || i === start + 1) return false;
    i++;
  } else {
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c > 0xff || REG_NAME[c] !== 1) break;
      if (c === 0x25 && !(i + 2 < end && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2)))) return false;
      i++;
    }
    if (i === start) return false;
  }
  if (i === end) return !portRequired;
  if (s.charCodeAt(i) !== COLON) return false;
  i++;
  const digits = end - i;
  if (digits > 5 || (portRequired && digits === 0)) return false;
  let port = 0;
  for (; i < end; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return false;
    port = port * 10 + d;
  }
  return port <= 65535;
}

/** `s[i]` lower-cased when it is an ASCII letter (OR-ing 0x20 maps no other character onto one). */
function letterAt(s: string, i: number): number {
  return s.charCodeAt(i) | 0x20;
}

/**
 * 4 when `target` starts with "http://", 5 with "https://" (the scheme in any case, RFC 3986
 * §3.1), else -1: read in place, where lower-casing the first 8 characters made two strings for
 * every proxied request.
 */
function schemeEnd(target: string): number {
  if (letterAt(target, 0) !== 0x68 || letterAt(target, 1) !== 0x74 || letterAt(target, 2) !== 0x74 || letterAt(target, 3) !== 0x70) return -1;
  const i = letterAt(target, 4) === 0x73 ? 5 : 4;
  return target.startsWith("://", i) ? i : -1;
}

/** The request-target form must fit the method (RFC 9112 §3.2): a reason when it does not. */
export function checkTarget(method: string, target: string): string | undefined {
  if (method === "CONNECT") {
    return isHostValue(target, 0, target.length, true) ? undefined : "CONNECT needs authority-form host:port";
  }
  const first = target.charCodeAt(0);
  if (first === 0x2f) return undefined;
  if (first === 0x2a && target.length === 1) return method === "OPTIONS" ? undefined : "asterisk-form is only for OPTIONS";
  // absolute-form, for the two schemes an HTTP server or proxy serves: "http(s)://" authority ...
  const i = schemeEnd(target);
  if (i < 0) return "absolute-form needs http:// or https://";
  const authStart = i + 3;
  let authEnd = authStart;
  while (authEnd < target.length) {
    const c = target.charCodeAt(authEnd);
    if (c === 0x2f || c === 0x3f) break;
    authEnd++;
  }
  if (authEnd === authStart || !isHostValue(target, authStart, authEnd, false)) return "invalid authority in absolute-form";
  return undefined;
}

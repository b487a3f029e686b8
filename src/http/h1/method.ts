/**
 * The request methods the engine serves (RFC 9110 §9): which tokens, and how to find one in the
 * request line's bytes without decoding them. Pure.
 */

/**
 * Methods the parser lets through (case-sensitive): the IANA HTTP Method Registry entries that
 * llhttp parses, plus PURGE for caches. Anything else that is a token is 501.
 */
export const IMPLEMENTED_METHODS: ReadonlySet<string> = new Set([
  "ACL", "BIND", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "MERGE",
  "MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE", "OPTIONS", "PATCH", "POST", "PROPFIND", "PROPPATCH",
  "PURGE", "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "TRACE", "UNBIND", "UNLINK", "UNLOCK",
]);

/** IMPLEMENTED_METHODS by length, to find the method's string without decoding the bytes. */
const METHODS_BY_LENGTH: string[][] = [];
for (const m of IMPLEMENTED_METHODS) (METHODS_BY_LENGTH[m.length] ??= []).push(m);

export const MAX_METHOD_LENGTH = METHODS_BY_LENGTH.length - 1;

/** The implemented method spelled by buf[start, end), or undefined. */
export function knownMethod(buf: Buffer, start: number, end: number): string | undefined {
  const candidates = METHODS_BY_LENGTH[end - start];
  if (candidates === undefined) return undefined;
  for (const m of candidates) {
    let i = 0;
    while (i < m.length && buf[start + i] === m.charCodeAt(i)) i++;
    if (i === m.length) return m;
  }
  return undefined;
}

/** Whether buf[start, end) begins some implemented method. */
export function isMethodPrefix(buf: Buffer, start: number, end: number): boolean {
  const n = end - start;
  for (let l = n; l < METHODS_BY_LENGTH.length; l++) {
    for (const m of METHODS_BY_LENGTH[l] ?? []) {
      let i = 0;
      while (i < n && buf[start + i] === m.charCodeAt(i)) i++;
      if (i === n) return true;
    }
  }
  return false;
}


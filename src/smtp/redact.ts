/**
 * Masking the AUTH secret in everything wirekit shows or writes about a session.
 *
 * Masking only our own AUTH lines is not enough: a hostile or careless server can echo what it
 * received ("535 5.7.8 Authentication failed for cGFzcw== (pass)"), and that reply then lands in
 * the transcript, `--json` and the diagram. So every string of the result goes through
 * `redactSecrets`, which removes the password and each base64 form it travelled in: AUTH LOGIN's
 * base64 of the password (RFC 4616 is PLAIN, LOGIN has no RFC), AUTH PLAIN's base64 of
 * "\0user\0pass" (RFC 4616 §2), and the base64 of user and password joined. Pure.
 */
import type { StreamTap } from "../core/stream-tap.js";

/** What replaces a secret. */
export const REDACTED = "***";

/**
 * The strings that must never be shown for this login, longest first (so a longer form is
 * removed before a shorter one that it contains could break it up).
 *
 * @example
 * secretForms("me", "pass") // includes "pass", "cGFzcw==", base64("\0me\0pass") ...
 */
export function secretForms(user: string, password: string): string[] {
  if (password === "") return [];
  const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
  const joined = [`\0${user}\0${password}`, `${user}\0${password}`, `${user}${password}`, `${user}:${password}`, password];
  const forms = new Set<string>([password]);
  for (const j of joined) {
    const e = b64(j);
    forms.add(e);
    forms.add(e.replace(/=+$/, "")); // echoed without its padding
  }
  return [...forms].filter((f) => f !== "").sort((a, b) => b.length - a.length);
}

/**
 * Replace every occurrence of each secret form in a string.
 *
 * @example
 * redactSecrets("535 failed for cGFzcw== (pass)", secretForms("me", "pass")) // "535 failed for *** (***)"
 */
export function redactSecrets(text: string, forms: readonly string[]): string {
  let out = text;
  for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
  return out;
}

/**
 * A tap that is shown the bytes with every secret form overwritten by as many "*" (the length
 * stays, so a capture's TCP sequence numbers still add up), and a note saying so.
 */
export function redactingTap(tap: StreamTap, forms: readonly string[]): StreamTap {
  const patterns = forms.map((f) => Buffer.from(f, "utf8"));
  const mask = (bytes: Buffer): { bytes: Buffer; masked: number } => {
    let out = bytes;
    let masked = 0;
    for (const p of patterns) {
      for (let i = out.indexOf(p); i !== -1; i = out.indexOf(p, i + p.length)) {
        if (out === bytes) out = Buffer.from(bytes);
        out.fill(0x2a, i, i + p.length);
        masked += p.length;
      }
    }
    return { bytes: out, masked };
  };
  const note = (n: number): string | undefined => (n === 0 ? undefined : `AUTH secret redacted (${n} bytes overwritten with *)`);
  return {
    connected: (l, r) => tap.connected(l, r),
    sent(bytes) {
      const m = mask(bytes);
      tap.sent(m.bytes, note(m.masked));
    },
    received(bytes) {
      const m = mask(bytes);
      tap.received(m.bytes, note(m.masked));
    },
    encrypted: () => tap.encrypted?.(),
    closed: () => tap.closed(),
  };
}

/** The same value with `redactSecrets` applied to every string inside it (objects, arrays, Maps). */
export function redactDeep<T>(value: T, forms: readonly string[]): T {
  if (forms.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return redactSecrets(v, forms);
    if (Array.isArray(v)) return v.map(walk);
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [walk(k), walk(x)]));
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

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

/**
 * HTTP Basic authentication, RFC 7617 (over the framework of RFC 9110 §11): the credentials a
 * server accepts, the Authorization header decoded, and a check that takes the same time
 * whichever user is tried and however much of the password is right. Pure apart from
 * node:crypto's hash; passwords are kept only as SHA-256 digests and never rendered.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** One user and password, as `--auth USER:PASSWORD` gives them. */
export interface Credential {
  readonly user: string;
  readonly password: string;
}

/** The challenge of a 401 (§2: the realm is required). */
export const BASIC_CHALLENGE = 'Basic realm="wirekit"';

/**
 * `user:password` split at the first colon (§2: a user-id cannot contain one). Undefined when
 * there is no colon, the user is empty, or either part holds a control character.
 *
 * @example
 * parseCredential("ada:s3cr:et") // { user: "ada", password: "s3cr:et" }
 */
export function parseCredential(text: string): Credential | undefined {
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  const user = text.slice(0, colon);
  const password = text.slice(colon + 1);
  // §2: user-id and password exclude CTL characters.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(user) || /[\x00-\x1f\x7f]/.test(password)) return undefined;
  return { user, password };
}

/**
 * The lines of an auth file: one `user:password` per line; blank lines and lines starting with
 * `#` are skipped. On a bad line, its number (1-based), never its text (it holds a password).
 *
 * @example
 * parseAuthFile("ada:one\n# comment\nbob:two\n") // { ok: true, credentials: [...2] }
 */
export function parseAuthFile(text: string): { ok: true; credentials: Credential[] } | { ok: false; line: number } {
  const credentials: Credential[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const c = parseCredential(line);
    if (c === undefined) return { ok: false, line: i + 1 };
    credentials.push(c);
  }
  return { ok: true, credentials };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The credentials of an `Authorization: Basic <base64>` value (scheme case-insensitive,
 * §2.1 UTF-8). Undefined for another scheme or anything malformed.
 *
 * @example
 * decodeBasicAuthorization("Basic YWRhOnNlY3JldA==") // { user: "ada", password: "secret" }
 */
export function decodeBasicAuthorization(value: string | undefined): Credential | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(value);
  const token = m?.[1];
  if (token === undefined || !BASE64.test(token) || token.length % 4 !== 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(Buffer.from(token, "base64"));
  } catch {
    return undefined;
  }
  return parseCredential(text);
}

function digest(user: string, password: string): Buffer {
  // Length-prefix the user so "a:b:c" cannot be split two ways into the same digest input.
  return createHash("sha256").update(`${Buffer.byteLength(user)}:${user}:${password}`).digest();
}

/**
 * Checks Authorization headers against a fixed set of credentials.
 *
 * Every stored digest is compared with `timingSafeEqual`, with no early exit, so the time
 * taken reveals neither which users exist nor how much of a password matched.
 *
 * @example
 * const auth = new BasicAuthenticator([{ user: "ada", password: "secret" }]);
 * auth.check("Basic YWRhOnNlY3JldA==") // { ok: true, user: "ada" }
 */
export class BasicAuthenticator {
  readonly #users: ReadonlyArray<{ user: string; digest: Buffer }>;

  constructor(credentials: readonly Credential[]) {
    this.#users = credentials.map((c) => ({ user: c.user, digest: digest(c.user, c.password) }));
  }

  /** The authenticated user, or why not: no (usable) credentials, or wrong ones. */
  check(authorization: string | undefined): { ok: true; user: string } | { ok: false; reason: "missing" | "malformed" | "wrong" } {
    if (authorization === undefined) return { ok: false, reason: "missing" };
    const c = decodeBasicAuthorization(authorization);
    if (c === undefined) return { ok: false, reason: "malformed" };
    const presented = digest(c.user, c.password);
    let user: string | undefined;
    for (const u of this.#users) {
      if (timingSafeEqual(u.digest, presented) && user === undefined) user = u.user;
    }
    return user === undefined ? { ok: false, reason: "wrong" } : { ok: true, user };
  }
}

/**
 * Typed errors. Every failure a user can see is a `WirekitError` with a stable `code`;
 * `cli/main.ts` maps the code to an exit status and prints `wirekit: <message>` once.
 */

/** Stable error codes. Tests assert on these, never on message text. */
export type ErrorCode =
  | "ERR_USAGE" // bad command line or option value (exit 2)
  | "ERR_RESOLVE" // host name could not be resolved (exit 2)
  | "ERR_LOCAL" // local failure: port in use, permission, bad file (exit 2)
  | "ERR_TIMEOUT" // the target did not answer in time (exit 1)
  | "ERR_CONNECT" // connection refused / reset (exit 1)
  | "ERR_PROTOCOL" // the peer broke the protocol (exit 1)
  | "ERR_TLS" // TLS handshake or certificate failure (exit 1)
  | "ERR_AUTH" // authentication rejected (exit 1)
  | "ERR_REJECTED" // the peer understood and refused (exit 1)
  | "ERR_TARGET"; // the target failed in some other way (exit 1)

/** Exit status for each code: 2 for usage/resolve/local problems, 1 when the target failed. */
export const EXIT_STATUS: Readonly<Record<ErrorCode, number>> = {
  ERR_USAGE: 2,
  ERR_RESOLVE: 2,
  ERR_LOCAL: 2,
  ERR_TIMEOUT: 1,
  ERR_CONNECT: 1,
  ERR_PROTOCOL: 1,
  ERR_TLS: 1,
  ERR_AUTH: 1,
  ERR_REJECTED: 1,
  ERR_TARGET: 1,
};

export interface WirekitErrorOptions {
  cause?: unknown;
  /** Free-form context (the command sent, the reply, the offset...). */
  context?: Record<string, unknown>;
  /** Override the exit status implied by the code (e.g. curl's 22 for --fail). */
  exitCode?: number;
}

/** The one error class of the project. `message` is a single line meant for the user. */
export class WirekitError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown>;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: WirekitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WirekitError";
    this.code = code;
    this.context = options.context ?? {};
    this.exitCode = options.exitCode ?? EXIT_STATUS[code];
  }
}

/** Shorthand for a usage error (exit 2). */
export function usageError(message: string): WirekitError {
  return new WirekitError("ERR_USAGE", message);
}

/** True when `e` is a WirekitError (optionally with the given code). */
export function isWirekitError(e: unknown, code?: ErrorCode): e is WirekitError {
  return e instanceof WirekitError && (code === undefined || e.code === code);
}

/** A decode failure on a hot path: a value, not an exception. */
export interface ParseError {
  /** What was being decoded and what went wrong, e.g. "echo reply: need 8 bytes". */
  reason: string;
  /** Byte offset where decoding failed, when meaningful. */
  offset?: number;
  /** How many bytes were needed and how many were there, when relevant. */
  needed?: number;
  got?: number;
}

/** Result of a `decodeX()` function: `{ok:true, value}` or `{ok:false, error}`. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: ParseError };

export function decoded<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

export function parseFailure<T = never>(reason: string, extra: Omit<ParseError, "reason"> = {}): Decoded<T> {
  return { ok: false, error: { reason, ...extra } };
}

/**
 * Turn a Node system error (EADDRINUSE, ECONNREFUSED, ...) into a WirekitError with a
 * readable one-line message. `what` names the operation, e.g. "bind 127.0.0.1:12000".
 */
export function fromSystemError(err: unknown, what: string): WirekitError {
  if (err instanceof WirekitError) return err;
  const code = typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : "";
  const msg = err instanceof Error ? err.message : String(err);
  switch (code) {
    case "EADDRINUSE":
      return new WirekitError("ERR_LOCAL", `${what}: address already in use`, { cause: err });
    case "EADDRNOTAVAIL":
      return new WirekitError("ERR_LOCAL", `${what}: address not available on this machine`, { cause: err });
    case "EACCES":
    case "EPERM":
      return new WirekitError("ERR_LOCAL", `${what}: permission denied`, { cause: err });
    case "ECONNREFUSED":
      return new WirekitError("ERR_CONNECT", `${what}: connection refused`, { cause: err });
    case "ECONNRESET":
      return new WirekitError("ERR_CONNECT", `${what}: connection reset by peer`, { cause: err });
    case "ETIMEDOUT":
      return new WirekitError("ERR_TIMEOUT", `${what}: timed out`, { cause: err });
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new WirekitError("ERR_CONNECT", `${what}: no route to host`, { cause: err });
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return new WirekitError("ERR_RESOLVE", `${what}: host not found`, { cause: err });
    case "ENOENT":
      return new WirekitError("ERR_LOCAL", `${what}: no such file or directory`, { cause: err });
    case "ENOTDIR":
      return new WirekitError("ERR_LOCAL", `${what}: not a directory`, { cause: err });
    case "EROFS":
      return new WirekitError("ERR_LOCAL", `${what}: read-only file system`, { cause: err });
    default:
      return new WirekitError("ERR_TARGET", `${what}: ${msg}`, { cause: err });
  }
}

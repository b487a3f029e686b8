/**
 * The SMTP client driver: owns the TCP or TLS socket and the timers, feeds replies to the pure
 * `SmtpDialogue`, writes what it asks for, and records a transcript (with secrets already masked
 * by the dialogue). STARTTLS (RFC 3207): after the 220, every byte received in plaintext that was
 * not part of the 220 is thrown away before the handshake (§6: a man in the middle could have
 * injected replies that would otherwise be read as the server's answers after TLS).
 * Each command has its own timeout (RFC 5321 §4.5.3.2 lists per-command timeouts).
 */
import { hostname } from "node:os";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { resolveHost, addressFamily } from "../core/address.js";
import { systemClock, type Clock } from "../core/clock.js";
import { WirekitError, fromSystemError, type ErrorCode } from "../core/errors.js";
import { SmtpDialogue, type AuthMechanism, type DialogueOutcome, type Phase, type TlsMode } from "./dialogue.js";
import { DotStuffer } from "./dot-stuff.js";
import { ReplyReader, type SmtpReply } from "./reply.js";
import type { TranscriptEntry } from "./transcript.js";

export interface SendMailOptions {
  host: string;
  /** @default 465 with tls "implicit", else 587 */
  port?: number;
  /** @default "auto" (STARTTLS when offered) */
  tls?: TlsMode;
  /** Envelope sender address. */
  from: string;
  /** Envelope recipients: every To, Cc and Bcc address. */
  recipients: string[];
  /** The message (CRLF or LF line ends; it is dot-stuffed here). */
  message: Uint8Array;
  auth?: { user: string; password: string; mechanism?: AuthMechanism };
  /** @default false */
  allowPlainAuth?: boolean;
  /** Extra trusted CA certificates (PEM). @default the system store */
  ca?: string | Buffer;
  /** Skip certificate verification. @default false */
  insecure?: boolean;
  /** Name sent in EHLO. @default the host name, or an address literal */
  clientName?: string;
  /** Timeout for connecting and for each reply, ms. @default 30000 */
  timeoutMs?: number;
  /** Timeout for the reply after the end of data, ms (RFC 5321 §4.5.3.2.6: 10 min). @default 600000 */
  dataTimeoutMs?: number;
  /** Force IPv4 or IPv6. @default whatever the resolver answers first */
  family?: 4 | 6;
  /** @default systemClock */
  clock?: Clock;
  signal?: AbortSignal;
  /** Called with each transcript entry as it happens (for live `C:`/`S:` output). */
  onEntry?: (e: TranscriptEntry) => void;
}

/** What `sendMail` resolves to, whether or not the message was accepted. */
export interface SendMailResult {
  outcome: DialogueOutcome;
  transcript: TranscriptEntry[];
  /** Set when the message was not accepted: the one-line reason with a stable code. */
  error?: WirekitError;
}

const WRITE_CHUNK = 64 * 1024;

/**
 * Send one message. Resolves with the outcome and transcript for every failure of the server or
 * the connection; rejects only for problems found before connecting (bad input, unknown host).
 *
 * @example
 * const r = await sendMail({ host: "127.0.0.1", port: 2525, tls: "none", from: "a@x.test", recipients: ["b@x.test"],
 *   message: buildMessage({ ... }).bytes });
 * r.outcome.status // "accepted"
 */
export async function sendMail(options: SendMailOptions): Promise<SendMailResult> {
  const clock = options.clock ?? systemClock;
  const tlsMode = options.tls ?? "auto";
  const port = options.port ?? (tlsMode === "implicit" ? 465 : 587);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dataTimeoutMs = options.dataTimeoutMs ?? 600_000;
  // Stuff before connecting, so a message that cannot be sent fails without touching the server.
  const stuffer = new DotStuffer();
  const wire = Buffer.concat([stuffer.push(options.message), stuffer.end()]);
  const messageSize = Buffer.from(options.message).toString("latin1").replace(/\r?\n|\r/g, "\r\n").length;
  const target = await resolveHost(options.host, options.family);
  const start = clock.monotonic();
  const transcript: TranscriptEntry[] = [];
  const record = (e: TranscriptEntry): void => {
    transcript.push(e);
    options.onEntry?.(e);
  };
  const at = (): number => Math.round((clock.monotonic() - start) * 1000) / 1000;
  const servername = addressFamily(options.host) === undefined ? options.host : undefined;
  const tlsOptions: ConnectionOptions = { rejectUnauthorized: options.insecure !== true, minVersion: "TLSv1.2" };
  if (servername !== undefined) tlsOptions.servername = servername;
  if (options.ca !== undefined) tlsOptions.ca = options.ca;

  const conn = new Connection(clock, options.signal);
  let dialogue: SmtpDialogue | undefined;
  const finish = (outcome: DialogueOutcome): SendMailResult => {
    conn.destroy();
    const result: SendMailResult = { outcome, transcript };
    if (outcome.status !== "accepted") {
      const err = outcome.error ?? { code: "ERR_TARGET" as ErrorCode, message: "the message was not accepted" };
      result.error = new WirekitError(err.code, err.message, { context: { phase: outcome.phase, reply: outcome.reply } });
    }
    return result;
  };
  try {
    record({ kind: "connect", at: at(), host: options.host, address: target.address, port, tls: tlsMode === "implicit" });
    if (tlsMode === "implicit") {
      await conn.open(() => tlsConnect({ ...tlsOptions, host: target.address, port }), "secureConnect", timeoutMs, `connect to ${options.host}:${port}`);
      record(tlsEntry(conn.socket as TLSSocket, at()));
    } else {
      await conn.open(() => netConnect({ host: target.address, port }), "connect", timeoutMs, `connect to ${options.host}:${port}`);
    }
    const d = new SmtpDialogue({
      clientName: options.clientName ?? defaultClientName(conn.socket?.localAddress),
      tls: tlsMode,
      allowPlainAuth: options.allowPlainAuth ?? false,
      from: options.from,
      recipients: options.recipients,
      messageSize,
      ...(options.auth === undefined ? {} : { auth: options.auth }),
    });
    dialogue = d;
    for (;;) {
      const reply = await conn.read(d.phase === "end of data" ? dataTimeoutMs : timeoutMs, d.phase);
      record({ kind: "server", at: at(), code: reply.code, lines: reply.raw });
      let action = d.onReply(reply);
      if (action.kind === "upgrade-tls") {
        const dropped = conn.discardBuffered();
        if (dropped > 0) record({ kind: "note", at: at(), text: `discarded ${dropped} bytes received in plaintext after the 220 to STARTTLS (RFC 3207 §6)` });
        await conn.upgrade((socket) => tlsConnect({ ...tlsOptions, socket }), timeoutMs);
        record(tlsEntry(conn.socket as TLSSocket, at()));
        action = d.onTlsEstablished();
      }
      if (action.kind === "close") break;
      if (action.kind === "send") {
        record({ kind: "client", at: at(), text: action.display });
        await conn.write(Buffer.from(`${action.line}\r\n`, "utf8"), timeoutMs);
      } else if (action.kind === "send-message") {
        for (let i = 0; i < wire.length; i += WRITE_CHUNK) await conn.write(wire.subarray(i, i + WRITE_CHUNK), timeoutMs);
        record({ kind: "message", at: at(), octets: messageSize, wireOctets: wire.length });
        record({ kind: "client", at: at(), text: "." });
        d.onMessageSent();
      }
    }
    return finish(d.outcome ?? d.onConnectionLost("ERR_PROTOCOL", "the dialogue ended early"));
  } catch (err) {
    const e = err instanceof WirekitError ? err : fromSystemError(err, `${options.host}:${port}`);
    // A server that hangs up after QUIT without a 221 has still done its job.
    if (dialogue?.phase !== "QUIT") record({ kind: "error", at: at(), text: e.message });
    if (dialogue !== undefined) return finish(dialogue.onConnectionLost(e.code, e.message));
    return finish({ status: "failed", error: { code: e.code, message: e.message }, recipients: [], tls: false });
  }
}

function defaultClientName(localAddress: string | undefined): string {
  const h = hostname();
  if (/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(h)) return h;
  const a = localAddress ?? "127.0.0.1";
  return addressFamily(a) === 6 ? `[IPv6:${a}]` : `[${a}]`;
}

function tlsEntry(s: TLSSocket, at: number): TranscriptEntry {
  const cert = s.getPeerCertificate();
  const subject = cert && typeof cert.subject === "object" && cert.subject !== null ? cert.subject.CN : undefined;
  return {
    kind: "tls",
    at,
    protocol: s.getProtocol() ?? "TLS",
    cipher: s.getCipher()?.name ?? "",
    verified: s.authorized,
    ...(typeof subject === "string" ? { peer: subject } : {}),
  };
}

/** The socket, its reply reader, and timed waits; one per session. */
class Connection {
  socket: Socket | undefined;
  #reader = new ReplyReader();
  #replies: SmtpReply[] = [];
  #error: WirekitError | undefined;
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(
    readonly clock: Clock,
    readonly signal: AbortSignal | undefined,
  ) {}

  async open(make: () => Socket, readyEvent: "connect" | "secureConnect", timeoutMs: number, what: string): Promise<void> {
    const s = make();
    this.#attach(s, what);
    await this.#until(() => this.#error !== undefined || this.#ready, timeoutMs, `timed out after ${secs(timeoutMs)} connecting (${what})`, () => {
      s.once(readyEvent, () => {
        this.#ready = true;
        this.#wake?.();
      });
    });
    if (this.#error) throw this.#error;
  }

  #ready = false;

  #attach(s: Socket, what: string): void {
    this.socket = s;
    this.#closed = false;
    s.on("data", this.#onData);
    s.on("error", (err: Error) => {
      if (s !== this.socket) return;
      this.#error ??= classifySocketError(err, what);
      this.#wake?.();
    });
    s.on("close", () => {
      if (s !== this.socket) return;
      this.#closed = true;
      this.#wake?.();
    });
  }

  #onData = (chunk: Buffer): void => {
    for (const ev of this.#reader.push(chunk)) {
      if (ev.kind === "reply") this.#replies.push(ev.reply);
      else this.#error ??= new WirekitError("ERR_PROTOCOL", `bad reply from the server: ${ev.reason}`);
    }
    this.#wake?.();
  };

  async read(timeoutMs: number, phase: Phase): Promise<SmtpReply> {
    const what = phase === "greeting" ? "the greeting" : `the reply to ${phase}`;
    await this.#until(() => this.#replies.length > 0 || this.#error !== undefined || this.#closed, timeoutMs, `timed out after ${secs(timeoutMs)} waiting for ${what}`);
    const r = this.#replies.shift();
    if (r !== undefined) return r;
    if (this.#error) throw this.#error;
    throw new WirekitError("ERR_CONNECT", `the server closed the connection while we waited for ${what}`);
  }

  async write(data: Buffer, timeoutMs: number): Promise<void> {
    const s = this.socket;
    if (s === undefined || this.#closed) throw this.#error ?? new WirekitError("ERR_CONNECT", "the connection is closed");
    if (s.write(data)) return;
    let drained = false;
    await this.#until(() => drained || this.#error !== undefined || this.#closed, timeoutMs, `timed out after ${secs(timeoutMs)} sending (the server stopped reading)`, () => {
      s.once("drain", () => {
        drained = true;
        this.#wake?.();
      });
    });
    if (this.#error) throw this.#error;
    if (!drained) throw new WirekitError("ERR_CONNECT", "the server closed the connection while we were sending");
  }

  /** Drop every byte received but not consumed (replies and partial lines); returns how many. */
  discardBuffered(): number {
    let n = this.#reader.discard();
    for (const r of this.#replies) n += r.raw.reduce((k, l) => k + Buffer.byteLength(l) + 2, 0);
    this.#replies = [];
    return n;
  }

  async upgrade(make: (socket: Socket) => TLSSocket, timeoutMs: number): Promise<void> {
    const plain = this.socket;
    if (plain === undefined) throw new WirekitError("ERR_CONNECT", "the connection is closed");
    plain.off("data", this.#onData);
    this.#ready = false;
    const secure = make(plain);
    this.#attach(secure, "TLS handshake");
    await this.#until(() => this.#error !== undefined || this.#ready || this.#closed, timeoutMs, `timed out after ${secs(timeoutMs)} in the TLS handshake`, () => {
      secure.once("secureConnect", () => {
        this.#ready = true;
        this.#wake?.();
      });
    });
    if (this.#error) throw this.#error;
    if (!this.#ready) throw new WirekitError("ERR_TLS", "the server closed the connection during the TLS handshake");
  }

  destroy(): void {
    this.socket?.destroy();
  }

  /** Wait until `done()` holds, with a timeout and the abort signal. */
  #until(done: () => boolean, timeoutMs: number, timeoutMessage: string, arm?: () => void): Promise<void> {
    arm?.();
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        this.#wake = undefined;
        this.clock.clearTimeout(timer);
        this.signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = (): void => {
        cleanup();
        reject(new WirekitError("ERR_TARGET", "interrupted"));
      };
      const timer = this.clock.setTimeout(() => {
        cleanup();
        reject(new WirekitError("ERR_TIMEOUT", timeoutMessage));
      }, timeoutMs);
      this.#wake = () => {
        if (!done()) return;
        cleanup();
        resolve();
      };
      if (this.signal?.aborted) onAbort();
      else this.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function secs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function classifySocketError(err: Error, what: string): WirekitError {
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL") || /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME/.test(code))) {
    return new WirekitError("ERR_TLS", `TLS: ${err.message} (${code}; --ca FILE to trust a private CA)`, { cause: err });
  }
  return fromSystemError(err, what);
}

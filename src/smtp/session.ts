/**
 * The SMTP client driver: owns the TCP or TLS socket and the timers, feeds replies to the pure
 * `SmtpDialogue`, writes what it asks for, and records a transcript (with secrets already masked
 * by the dialogue). STARTTLS (RFC 3207): after the 220, every byte received in plaintext that was
 * not part of the 220 is thrown away before the handshake (§6: a man in the middle could have
 * injected replies that would otherwise be read as the server's answers after TLS).
 * Each command has its own timeout (RFC 5321 §4.5.3.2 lists per-command timeouts).
 */
import { hostname } from "node:os";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect, rootCertificates, type ConnectionOptions, type TLSSocket } from "node:tls";
import { resolveHost, addressFamily, formatHostPort } from "../core/address.js";
import { systemClock, type Clock } from "../core/clock.js";
import { WirekitError, fromSystemError, type ErrorCode } from "../core/errors.js";
import { publish } from "../core/events.js";
import { SmtpConnection } from "./connection.js";
import { SmtpDialogue, type AuthMechanism, type DialogueOutcome, type TlsMode } from "./dialogue.js";
import { DotStuffer } from "./dot-stuff.js";
import { redactDeep, redactingTap, secretForms } from "./redact.js";
import type { StreamTap } from "../core/stream-tap.js";
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
  /** Extra trusted CA certificates (PEM), in addition to Node's bundled store. @default the bundled store only */
  ca?: string | Buffer;
  /** Skip certificate verification. @default false */
  insecure?: boolean;
  /** Name sent in EHLO. @default the host name, or an address literal */
  clientName?: string;
  /** Send MAIL, RCPT and DATA in one batch when the server offers PIPELINING (RFC 2920). @default false */
  pipelining?: boolean;
  /** Timeout for each reply (and for connecting, unless `connectTimeoutMs`), ms. @default 30000 */
  timeoutMs?: number;
  /** Timeout for the TCP connection (and the TLS handshake with implicit TLS), ms. @default timeoutMs */
  connectTimeoutMs?: number;
  /** Timeout for the reply after the end of data, ms (RFC 5321 §4.5.3.2.6: 10 min). @default 600000 */
  dataTimeoutMs?: number;
  /** Force IPv4 or IPv6. @default whatever the resolver answers first */
  family?: 4 | 6;
  /** @default systemClock */
  clock?: Clock;
  signal?: AbortSignal;
  /**
   * Called with each transcript entry as it happens (for live `C:`/`S:` output). The same entries
   * are published on the diagnostics channel `wirekit:mail:transcript`.
   */
  onEntry?: (e: TranscriptEntry) => void;
  /** Shown the session's plaintext bytes, secrets overwritten (`--pcap`); unused with implicit TLS. */
  tap?: StreamTap;
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
  const connectTimeoutMs = options.connectTimeoutMs ?? timeoutMs;
  const dataTimeoutMs = options.dataTimeoutMs ?? 600_000;
  if (options.recipients.length === 0) throw new WirekitError("ERR_USAGE", "no recipients");
  // Stuff before connecting, so a message that cannot be sent fails without touching the server.
  const stuffer = new DotStuffer();
  const wire = Buffer.concat([stuffer.push(options.message), stuffer.end()]);
  const messageSize = Buffer.from(options.message).toString("latin1").replace(/\r?\n|\r/g, "\r\n").length;
  const target = await resolveHost(options.host, options.family);
  const start = clock.monotonic();
  const transcript: TranscriptEntry[] = [];
  // Everything shown or written about the session passes here or through finish(): the secret is
  // masked once, for the live lines, the transcript, --json and the diagram alike.
  const secrets = options.auth === undefined ? [] : secretForms(options.auth.user, options.auth.password);
  const record = (raw: TranscriptEntry): void => {
    const e = redactDeep(raw, secrets);
    transcript.push(e);
    options.onEntry?.(e);
    publish("mail", "transcript", e);
  };
  const at = (): number => Math.round((clock.monotonic() - start) * 1000) / 1000;
  const servername = addressFamily(options.host) === undefined ? options.host : undefined;
  const tlsOptions: ConnectionOptions = { rejectUnauthorized: options.insecure !== true, minVersion: "TLSv1.2" };
  if (servername !== undefined) tlsOptions.servername = servername;
  if (options.ca !== undefined) tlsOptions.ca = trustedCertificates(options.ca);

  // The capture sees the plaintext part only (all of it with --no-tls, up to STARTTLS otherwise;
  // nothing over implicit TLS), with the secret overwritten as in the transcript.
  const tap = options.tap === undefined || tlsMode === "implicit" ? undefined : redactingTap(options.tap, secrets);
  const conn = new SmtpConnection(clock, options.signal, tap);
  let dialogue: SmtpDialogue | undefined;
  const finish = (unmasked: DialogueOutcome): SendMailResult => {
    conn.destroy();
    const outcome = redactDeep(unmasked, secrets);
    const result: SendMailResult = { outcome, transcript };
    if (outcome.status !== "accepted") {
      const err = outcome.error ?? { code: "ERR_TARGET" as ErrorCode, message: "the message was not accepted" };
      result.error = new WirekitError(err.code, err.message, { context: { phase: outcome.phase, reply: outcome.reply } });
    }
    return result;
  };
  try {
    // Recorded once the TCP connection is up, so a refused connection is never shown as "connected".
    const connected = (): void => record({ kind: "connect", at: at(), host: options.host, address: target.address, port, tls: tlsMode === "implicit" });
    if (tlsMode === "implicit") {
      await conn.open(() => tlsConnect({ ...tlsOptions, host: target.address, port }), "secureConnect", connectTimeoutMs, `connect to ${formatHostPort(options.host, port)}`, connected);
      record(tlsEntry(conn.socket as TLSSocket, at()));
    } else {
      await conn.open(() => netConnect({ host: target.address, port }), "connect", connectTimeoutMs, `connect to ${formatHostPort(options.host, port)}`, connected);
    }
    const d = new SmtpDialogue({
      clientName: options.clientName ?? defaultClientName(conn.socket?.localAddress),
      tls: tlsMode,
      allowPlainAuth: options.allowPlainAuth ?? false,
      from: options.from,
      recipients: options.recipients,
      messageSize,
      pipelining: options.pipelining ?? false,
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
      if (action.kind === "send-batch") {
        for (const l of action.lines) record({ kind: "client", at: at(), text: l.display });
        await conn.write(Buffer.from(action.lines.map((l) => `${l.line}\r\n`).join(""), "utf8"), timeoutMs);
      } else if (action.kind === "send") {
        record({ kind: "client", at: at(), text: action.display });
        await conn.write(Buffer.from(`${action.line}\r\n`, "utf8"), timeoutMs);
      } else if (action.kind === "send-message") {
        let sent = 0;
        try {
          for (; sent < wire.length; sent += WRITE_CHUNK) await conn.write(wire.subarray(sent, sent + WRITE_CHUNK), timeoutMs);
        } catch (err) {
          // A server may refuse mid-message (552 too big) and hang up: its reply explains more
          // than our broken pipe, so read it if it came.
          if (!conn.hasReply) throw err;
          record({ kind: "note", at: at(), text: `the server replied after ${sent} of ${wire.length} octets of the message` });
        }
        if (sent >= wire.length) {
          record({ kind: "message", at: at(), octets: messageSize, wireOctets: wire.length });
          record({ kind: "client", at: at(), text: "." });
        }
        d.onMessageSent();
      }
    }
    return finish(d.outcome ?? d.onConnectionLost("ERR_PROTOCOL", "the dialogue ended early"));
  } catch (err) {
    let e = err instanceof WirekitError ? err : fromSystemError(err, formatHostPort(options.host, port));
    // After the final dot the server may already have queued the message (RFC 5321 §6.1 makes
    // it responsible from the 250 on, and a lost 250 is the classic duplicate): say so, and do
    // not blame "connect", which worked long ago.
    if (dialogue?.phase === "end of data" && e.code === "ERR_CONNECT") {
      const how = (e.cause as { code?: unknown } | undefined)?.code === "ECONNRESET" || /reset/i.test(e.message) ? "connection reset" : "the server closed the connection";
      e = new WirekitError("ERR_CONNECT", `${how} after the message was sent; it may or may not have been accepted`, { cause: e });
    }
    // A server that hangs up after QUIT without a 221 has still done its job.
    if (dialogue?.phase !== "QUIT") record({ kind: "error", at: at(), text: e.message });
    if (dialogue !== undefined) return finish(dialogue.onConnectionLost(e.code, e.message));
    return finish({ status: "failed", error: { code: e.code, message: e.message }, recipients: [], tls: false });
  }
}

/**
 * The CAs to trust with `--ca`: Node's `ca` option replaces the bundled store, so the extra
 * certificate is added to it (a private CA must not stop a public server from verifying).
 *
 * @example
 * trustedCertificates(pem).length === rootCertificates.length + 1 // true
 */
export function trustedCertificates(extra: string | Buffer): Array<string | Buffer> {
  return [...rootCertificates, extra];
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

/**
 * The lab's mail sink: an SMTP server (npm `smtp-server`, RFC 5321) that accepts every
 * message for any recipient, parses it with `mailparser` (RFC 5322 / MIME) and keeps the
 * last ones in a bounded store for the dashboard. It never relays anything anywhere.
 * AUTH (any credentials) is offered so an SMTP client can exercise it, and not required;
 * STARTTLS is offered only with a key and certificate of the caller's (`tls`, see below).
 */
import { Transform } from "node:stream";
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import { simpleParser, type AddressObject } from "mailparser";
import { systemClock, type Clock } from "../../core/clock.js";
import { TokenBucket } from "../../core/impair.js";
import { TypedEmitter } from "../../core/events.js";
import { fromSystemError, WirekitError } from "../../core/errors.js";
import { formatHostPort } from "../../core/address.js";
import { MailStore, summarize, type MessageSummary, type StoredMessage } from "./store.js";

export interface MailSinkOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks one. @default 2525 */
  port?: number;
  /** Messages kept in memory. @default 100 */
  keep?: number;
  /** Largest message accepted, in bytes (advertised with SIZE, RFC 1870). @default 25 MiB */
  maxMessageBytes?: number;
  /** Bytes of bodies and attachments kept in all. @default 64 MiB */
  maxStoredBytes?: number;
  /** `--delay`: the greeting and the replies to MAIL, RCPT and the end of DATA wait this long, ms. @default 0 */
  delayMs?: number;
  /** `--rate`: message data is read at most this many bytes/s (one budget for every session), so uploads are slow. @default off */
  rateBytesPerSec?: number;
  /** @default systemClock */
  clock?: Clock;
  /** Offer STARTTLS (RFC 3207) with this key and certificate (`wirekit check smtp-client --starttls`). AUTH stays allowed without it. @default not offered */
  tls?: { key: Buffer; cert: Buffer };
}

export interface MailSinkTotals {
  connections: number;
  messages: number;
  rejected: number;
  bytes: number;
  stored: number;
}

/** Everything the sink reports: a message stored, or one refused (`at` is wall-clock ms). */
export type MailSinkEvent = { kind: "message"; message: MessageSummary } | { kind: "rejected"; at: number; reason: string; from: string };

export type MailSinkEvents = { event: [MailSinkEvent] };

function addressText(a: AddressObject | AddressObject[] | undefined): string {
  if (a === undefined) return "";
  return (Array.isArray(a) ? a : [a]).map((x) => x.text).join(", ");
}

function envelopeAddress(a: SMTPServerAddress | false): string {
  return a === false ? "" : a.address;
}

/** A running mail sink. */
export class MailSink extends TypedEmitter<MailSinkEvents> {
  readonly address: string;
  readonly port: number;
  readonly store: MailStore;
  readonly #server: SMTPServer;
  readonly #totals = { connections: 0, messages: 0, rejected: 0, bytes: 0 };

  readonly #clock: Clock;
  readonly #bucket: TokenBucket | undefined;

  constructor(server: SMTPServer, address: string, port: number, store: MailStore, clock: Clock = systemClock, rateBytesPerSec?: number) {
    super();
    this.#clock = clock;
    this.#bucket = rateBytesPerSec === undefined ? undefined : new TokenBucket(rateBytesPerSec);
    this.#server = server;
    this.address = address;
    this.port = port;
    this.store = store;
    server.on("connect", () => this.#totals.connections++);
  }

  /** Called by the server for each DATA (see `createMailSink`). */
  async accept(stream: SMTPServerDataStream, session: SMTPServerSession, now: number): Promise<StoredMessage> {
    const mailFrom = envelopeAddress(session.envelope.mailFrom);
    const rcptTo = session.envelope.rcptTo.map((r) => r.address);
    // smtp-server keeps delivering an oversized message (it only flags it); stop feeding the
    // parser past the limit so a huge message costs no memory, then refuse it below.
    const bucket = this.#bucket;
    const clock = this.#clock;
    const capped = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        const out = stream.sizeExceeded ? undefined : chunk;
        // --rate: holding the chunk back is backpressure on the socket, so the client's upload slows.
        const wait = bucket?.take(chunk.length, clock.monotonic()) ?? 0;
        if (wait > 0) clock.setTimeout(() => done(null, out), wait);
        else done(null, out);
      },
    });
    stream.pipe(capped);
    const parsed = await simpleParser(capped, { skipTextToHtml: true, skipImageLinks: true });
    this.#totals.bytes += stream.byteLength;
    if (stream.sizeExceeded) {
      this.#totals.rejected++;
      this.emit("event", { kind: "rejected", at: this.#clock.now(), reason: "message too big", from: mailFrom });
      throw new WirekitError("ERR_REJECTED", "message exceeds the maximum size");
    }
    const stored = this.store.add({
      at: now,
      from: addressText(parsed.from) || mailFrom,
      to: addressText(parsed.to) || rcptTo.join(", "),
      subject: parsed.subject ?? "",
      text: parsed.text ?? "",
      html: typeof parsed.html === "string" ? parsed.html : "",
      attachments: parsed.attachments.map((a, i) => ({
        filename: a.filename ?? `attachment-${i + 1}`,
        contentType: a.contentType,
        size: a.size,
        content: a.content,
      })),
      envelope: { mailFrom, rcptTo },
      size: stream.byteLength,
    });
    this.#totals.messages++;
    this.emit("event", { kind: "message", message: summarize(stored) });
    return stored;
  }

  totals(): MailSinkTotals {
    return { ...this.#totals, stored: this.store.size };
  }

  /** Stop accepting connections; open sessions get up to a second to finish. */
  close(): Promise<MailSinkTotals> {
    return new Promise((resolve) => this.#server.close(() => resolve(this.totals())));
  }
}

/**
 * Start a mail sink.
 *
 * @example
 * const sink = await createMailSink({ host: "127.0.0.1", port: 0 });
 * sink.on("event", (e) => e.kind === "message" && console.log(e.message.subject));
 * await sink.close();
 */
export async function createMailSink(options: MailSinkOptions = {}): Promise<MailSink> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 2525;
  const clock = options.clock ?? systemClock;
  const maxMessageBytes = options.maxMessageBytes ?? 25 * 1024 * 1024;
  const store = new MailStore({ keep: options.keep ?? 100, maxBytes: options.maxStoredBytes ?? 64 * 1024 * 1024 });
  // The server is built before the sink object that its onData hands messages to.
  const ref: { sink?: MailSink } = {};
  const delayMs = Math.max(0, options.delayMs ?? 0);
  // --delay: a reply is held back by holding back smtp-server's callback.
  const later = <A extends unknown[]>(callback: (...args: A) => void, ...args: A): void => {
    if (delayMs === 0) callback(...args);
    else clock.setTimeout(() => callback(...args), delayMs);
  };
  const server = new SMTPServer({
    name: "wirekit-lab",
    banner: "wirekit lab mail sink: every message is accepted and shown on the dashboard",
    logger: false,
    size: maxMessageBytes,
    authOptional: true,
    allowInsecureAuth: true,
    closeTimeout: 1000,
    // No STARTTLS unless the caller brings a certificate: smtp-server's built-in one is expired and
    // untrusted, so a verifying client (ours) would refuse it. A loopback classroom sink speaks plain SMTP; AUTH still works with
    // `wirekit mail --allow-plain-auth`. Enhanced status codes make the replies look like real servers'.
    disabledCommands: options.tls === undefined ? ["STARTTLS"] : [],
    ...(options.tls === undefined ? {} : { key: options.tls.key, cert: options.tls.cert }),
    hideENHANCEDSTATUSCODES: false,
    // Bounds memory: at most this many sessions, each parsing at most maxMessageBytes.
    maxClients: 32,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? "anonymous" });
    },
    onConnect(_session, callback) {
      later(callback);
    },
    onMailFrom(_address, _session, callback) {
      later(callback);
    },
    onRcptTo(_address, _session, callback) {
      later(callback);
    },
    onData(stream, session, callback) {
      const sink = ref.sink;
      if (!sink) {
        stream.resume();
        callback(new Error("not ready"));
        return;
      }
      sink.accept(stream, session, clock.now()).then(
        (m) => later(callback, null, `queued as ${m.id} (kept by the wirekit lab mail sink)`),
        (err: unknown) => {
          const e = new Error(err instanceof Error ? err.message : String(err)) as Error & { responseCode?: number };
          e.responseCode = err instanceof WirekitError ? 552 : 451;
          later(callback, e);
        },
      );
    },
  });
  // A broken client connection must never take the sink down.
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.server.off("listening", onListening);
      reject(fromSystemError(err, `bind ${formatHostPort(host, port)}`));
    };
    const onListening = (): void => {
      server.server.off("error", onError);
      resolve();
    };
    server.server.once("error", onError);
    server.server.once("listening", onListening);
    server.listen(port, host);
  });
  const addr = server.server.address();
  const boundPort = typeof addr === "object" && addr !== null ? addr.port : port;
  const boundHost = typeof addr === "object" && addr !== null ? addr.address : host;
  ref.sink = new MailSink(server, boundHost, boundPort, store, clock, options.rateBytesPerSec);
  return ref.sink;
}

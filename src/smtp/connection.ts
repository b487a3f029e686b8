/**
 * The socket side of an SMTP session: one TCP or TLS socket, the reply reader fed by it, and
 * waits with a timeout (on the injected Clock) and the abort signal. `upgrade()` moves the
 * session onto TLS over the same TCP connection (RFC 3207) after `discardBuffered()` has dropped
 * whatever arrived in plaintext after the 220 (§6). Internal to src/smtp.
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Clock } from "../core/clock.js";
import { WirekitError, fromSystemError } from "../core/errors.js";
import type { Phase } from "./dialogue.js";
import { ReplyReader, type SmtpReply } from "./reply.js";
import type { StreamTap } from "../core/stream-tap.js";

/** The socket, its reply reader, and timed waits; one per session. */
export class SmtpConnection {
  socket: Socket | undefined;
  #reader = new ReplyReader();
  #replies: SmtpReply[] = [];
  #error: WirekitError | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  /** Shown the plaintext bytes (`--pcap`), until STARTTLS. */
  #tap: StreamTap | undefined;
  /** The same tap, kept past STARTTLS to show the close. */
  #closeTap: StreamTap | undefined;

  constructor(
    readonly clock: Clock,
    readonly signal: AbortSignal | undefined,
    tap?: StreamTap,
  ) {
    this.#tap = tap;
  }

  #connectedTap(s: Socket): void {
    const tap = this.#tap;
    if (tap === undefined) return;
    s.once("connect", () => {
      this.#closeTap = tap;
      tap.connected({ address: s.localAddress ?? "0.0.0.0", port: s.localPort ?? 0 }, { address: s.remoteAddress ?? "0.0.0.0", port: s.remotePort ?? 0 });
    });
  }

  /** Connect; `onTcpConnect` runs when the TCP connection is up (before any TLS handshake). */
  async open(make: () => Socket, readyEvent: "connect" | "secureConnect", timeoutMs: number, what: string, onTcpConnect?: () => void): Promise<void> {
    const s = make();
    this.#connectedTap(s);
    if (onTcpConnect !== undefined) s.once("connect", onTcpConnect);
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
    this.#tap?.received(chunk);
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
    this.#tap?.sent(data);
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

  /** True when a complete reply is waiting to be read. */
  get hasReply(): boolean {
    return this.#replies.length > 0;
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
    // From here the bytes are ciphertext that never passes through this class.
    this.#tap?.encrypted?.();
    this.#tap = undefined;
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
    const tap = this.#closeTap;
    this.#closeTap = undefined;
    tap?.closed();
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
        const reason: unknown = this.signal?.reason;
        reject(reason instanceof WirekitError ? reason : new WirekitError("ERR_TARGET", "interrupted"));
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

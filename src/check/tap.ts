/**
 * A recording TCP relay between the student's program and wirekit's counterpart: every byte in
 * both directions with the time it passed, per connection. Optionally it holds each reply of
 * the counterpart back for a while before passing it on, so a client that sends its next
 * command without waiting for the reply shows in the timings. With `upgrade`, it follows an
 * in-band STARTTLS: it is the TLS server to the student (a certificate of the check's own) and a
 * TLS client to the counterpart, so the dialogue inside TLS is recorded too.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { connect as tlsConnect, TLSSocket } from "node:tls";

export interface TapChunk {
  /** "c2s": from the student's client; "s2c": from the counterpart, at the time it was passed on. */
  dir: "c2s" | "s2c";
  at: number;
  data: Buffer;
}

export interface TapConnection {
  id: number;
  /** Both directions in the clear: after an upgrade, the bytes inside TLS. */
  chunks: TapChunk[];
  /** Set once the counterpart gave the go-ahead to an upgrade request. */
  upgrade?: TapUpgradeState;
}

/**
 * An in-band upgrade to TLS (SMTP's STARTTLS, RFC 3207): when the client's line matches
 * `request` and the counterpart's answer matches `ready`, the tap ends TLS on both sides, the
 * client's with this key and certificate, and goes on recording the bytes inside.
 */
export interface TapUpgrade {
  request: RegExp;
  ready: RegExp;
  key: Buffer;
  cert: Buffer;
}

/** What became of an upgrade, with `performance.now()` times. */
export interface TapUpgradeState {
  /** The go-ahead reached the client. */
  readyAt: number;
  /** The client's TLS handshake completed. */
  secureAt?: number;
  protocol?: string;
  /** The handshake failed (the client's alert, or garbage). */
  error?: string;
  /** The client went on in plaintext after the go-ahead: its first bytes. */
  plaintext?: string;
}

export interface TapOptions {
  /** Where the counterpart listens. */
  targetPort: number;
  targetHost?: string;
  /** Hold every chunk from the counterpart back this long. @default 0 */
  replyDelayMs?: number;
  /** End an in-band TLS upgrade on both sides. @default none */
  upgrade?: TapUpgrade;
}

/** A running relay; `port` is where the student connects. */
export class TcpTap {
  readonly connections: TapConnection[] = [];
  #server: Server;
  #sockets = new Set<Socket>();
  port = 0;

  constructor(readonly options: TapOptions) {
    this.#server = createServer((client) => this.#relay(client));
  }

  listen(): Promise<this> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => {
        const a = this.#server.address();
        this.port = typeof a === "object" && a !== null ? a.port : 0;
        resolve(this);
      });
    });
  }

  #relay(client: Socket): void {
    const conn: TapConnection = { id: this.connections.length + 1, chunks: [] };
    this.connections.push(conn);
    const upstream = connect({ host: this.options.targetHost ?? "127.0.0.1", port: this.options.targetPort });
    this.#sockets.add(client).add(upstream);
    const delay = this.options.replyDelayMs ?? 0;
    const upgrade = this.options.upgrade;
    // Where each side's bytes go; after an upgrade, the TLS sockets.
    let toUpstream: Duplex = upstream;
    let toClient: Duplex = client;
    let awaiting = false;
    let c2sText = "";
    let pending = Promise.resolve();
    const onClient = (b: Buffer): void => {
      conn.chunks.push({ dir: "c2s", at: performance.now(), data: Buffer.from(b) });
      toUpstream.write(b);
      if (upgrade === undefined || conn.upgrade !== undefined || awaiting) return;
      c2sText = (c2sText + b.toString("latin1")).slice(-256);
      const lastLine = /(?:^|\n)([^\n]*\n)$/.exec(c2sText)?.[1] ?? "";
      if (upgrade.request.test(lastLine)) {
        // Hold the client's next bytes (its ClientHello) until the counterpart's answer is passed on.
        awaiting = true;
        client.pause();
      }
    };
    const onUpstream = (b: Buffer): void => {
      const copy = Buffer.from(b);
      pending = pending.then(async () => {
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        if (client.destroyed) return;
        conn.chunks.push({ dir: "s2c", at: performance.now(), data: copy });
        toClient.write(copy);
        if (!awaiting || upgrade === undefined) return;
        awaiting = false;
        if (upgrade.ready.test(copy.toString("latin1"))) startTls(upgrade);
        else client.resume();
      });
    };
    const startTls = (u: TapUpgrade): void => {
      const state: TapUpgradeState = { readyAt: performance.now() };
      conn.upgrade = state;
      // The counterpart side: a TLS client on the same socket (the certificate is our own).
      upstream.off("data", onUpstream);
      const up = tlsConnect({ socket: upstream, rejectUnauthorized: false });
      this.#sockets.add(up);
      up.on("data", onUpstream);
      up.on("end", () => void pending.then(() => toClient.end()));
      up.on("error", () => void pending.then(down));
      toUpstream = up;
      // The student's side: look at its first bytes. A TLS handshake record goes to a TLS server
      // fed by hand (so the raw bytes stay ours); anything else is plaintext sent after the go-ahead.
      client.off("data", onClient);
      const raw = new Duplex({
        read() {},
        write(chunk: Buffer, _enc, done) {
          if (client.destroyed) done();
          else client.write(chunk, () => done());
        },
        final(done) {
          client.end();
          done();
        },
      });
      let first = true;
      client.on("data", (b: Buffer) => {
        if (first) {
          first = false;
          if (b[0] !== 0x16) {
            state.plaintext = b.toString("latin1");
            client.on("data", onClient);
            onClient(b);
            return;
          }
          const secure = new TLSSocket(raw, { isServer: true, key: u.key, cert: u.cert });
          this.#sockets.add(secure);
          secure.on("secure", () => {
            state.secureAt = performance.now();
            state.protocol = secure.getProtocol() ?? undefined;
          });
          secure.on("data", onClient);
          secure.on("end", () => toUpstream.end());
          secure.on("error", (e: Error & { reason?: string }) => {
            // OpenSSL's reason ("tlsv1 alert unknown ca") rather than its whole error string.
            state.error ??= e.reason ?? e.message;
            down();
          });
          toClient = secure;
        }
        if (state.plaintext === undefined) raw.push(b);
      });
      client.on("end", () => raw.push(null));
      client.resume();
    };
    client.on("data", onClient);
    upstream.on("data", onUpstream);
    client.on("end", () => toUpstream.end());
    upstream.on("end", () => {
      if (toUpstream === upstream) void pending.then(() => toClient.end());
    });
    const down = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", down);
    upstream.on("error", () => void pending.then(down));
    client.on("close", () => upstream.destroy());
  }

  /** Bytes one side sent on a connection, concatenated. */
  static bytes(conn: TapConnection, dir: "c2s" | "s2c"): Buffer {
    return Buffer.concat(conn.chunks.filter((c) => c.dir === dir).map((c) => c.data));
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

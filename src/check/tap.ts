/**
 * A recording TCP relay between the student's program and wirekit's counterpart: every byte in
 * both directions with the time it passed, per connection. Optionally it holds each reply of
 * the counterpart back for a while before passing it on, so a client that sends its next
 * command without waiting for the reply shows in the timings.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TapChunk {
  /** "c2s": from the student's client; "s2c": from the counterpart, at the time it was passed on. */
  dir: "c2s" | "s2c";
  at: number;
  data: Buffer;
}

export interface TapConnection {
  id: number;
  chunks: TapChunk[];
}

export interface TapOptions {
  /** Where the counterpart listens. */
  targetPort: number;
  targetHost?: string;
  /** Hold every chunk from the counterpart back this long. @default 0 */
  replyDelayMs?: number;
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
    let pending = Promise.resolve();
    client.on("data", (b: Buffer) => {
      conn.chunks.push({ dir: "c2s", at: performance.now(), data: Buffer.from(b) });
      upstream.write(b);
    });
    upstream.on("data", (b: Buffer) => {
      const copy = Buffer.from(b);
      pending = pending.then(async () => {
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        if (client.destroyed) return;
        conn.chunks.push({ dir: "s2c", at: performance.now(), data: copy });
        client.write(copy);
      });
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => void pending.then(() => client.end()));
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

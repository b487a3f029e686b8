/**
 * What `--pcap` sees of a TCP connection a tool opened: the two ends once connected, the bytes
 * each way as the tool wrote and read them (with a note when the tool changed them, e.g. a
 * redacted secret), the switch to TLS after which the bytes are not seen, and the close. The
 * tool calls it synchronously, so bytes received are seen before the tool handles them.
 */
import type { Socket } from "node:net";
import type { WireEndpoint } from "./udp-socket.js";

export interface StreamTap {
  connected(local: WireEndpoint, remote: WireEndpoint): void;
  sent(bytes: Buffer, note?: string): void;
  received(bytes: Buffer, note?: string): void;
  /** The connection turned to TLS (STARTTLS): what follows is ciphertext the tool never handles. */
  encrypted?(): void;
  closed(): void;
}

/**
 * Show `tap` every byte of a socket: what it reads, by a 'data' listener added before its
 * owner's (so bytes are seen before they are handled), and what it writes, by wrapping this
 * socket's `write` (every write of the engine, its body senders included, goes through it); then
 * the close. An accepted socket is shown as connected at once; one still connecting (a client
 * socket just made) once it connects, with what was written meanwhile, and not at all if it never
 * does. Costs nothing to sockets that are not tapped. Bytes handed to the kernel another way
 * (sendfile(2)) are not seen: a tapped server does not use it.
 */
export function tapSocket(socket: Socket, tap: StreamTap): void {
  let early: Buffer[] | undefined;
  const start = (): void => {
    tap.connected({ address: socket.localAddress ?? "0.0.0.0", port: socket.localPort ?? 0 }, { address: socket.remoteAddress ?? "0.0.0.0", port: socket.remotePort ?? 0 });
    const queued = early ?? [];
    early = undefined;
    for (const b of queued) tap.sent(b);
  };
  if (socket.connecting) {
    early = [];
    socket.once("connect", start);
  } else start();
  socket.on("data", (chunk: Buffer) => tap.received(chunk));
  socket.once("close", () => {
    if (early === undefined) tap.closed();
  });
  const sent = (b: Buffer): void => {
    if (early === undefined) tap.sent(b);
    else early.push(Buffer.from(b));
  };
  // A write after the end fails with an error: nothing of it reaches the wire.
  const show = (s: Socket, chunk: unknown, encoding: unknown): void => {
    if (!s.writable) return;
    if (typeof chunk === "string") sent(Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8"));
    else if (chunk instanceof Uint8Array && chunk.length > 0) sent(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  };
  const write = socket.write as (...a: unknown[]) => boolean;
  socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    show(this, chunk, rest[0]);
    return write.call(this, chunk, ...rest);
  } as typeof socket.write;
  // end(data) writes its data without going through write().
  const end = socket.end as (...a: unknown[]) => Socket;
  socket.end = function (this: Socket, ...args: unknown[]): Socket {
    if (typeof args[0] !== "function") show(this, args[0], args[1]);
    return end.apply(this, args);
  } as typeof socket.end;
}

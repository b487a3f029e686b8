/**
 * Talking to a student's TCP server: send some bytes, read until the peer closes, the response
 * is complete (by Content-Length), or a deadline. Records everything, decides nothing.
 */
import { connect, type Socket } from "node:net";

/** One exchange with the student's server. */
export interface Exchange {
  /** Bytes received. */
  raw: Buffer;
  /** Why reading stopped. */
  ended: "closed" | "complete" | "timeout" | "error";
  error?: string;
  /** ms from connect to the end. */
  ms: number;
}

const MAX = 4 * 1024 * 1024;

/** True once `raw` holds a head and all the body its Content-Length announces. */
export function completeByLength(raw: Buffer): boolean {
  const end = raw.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const m = /\r\ncontent-length:[ \t]*(\d+)/i.exec(raw.subarray(0, end).toString("latin1"));
  return m !== null && raw.length - end - 4 >= Number(m[1]);
}

/** Write `request` (one write) on a new connection to `port`, or on an open socket, and read the answer. */
export function exchange(to: number | Socket, request: Buffer | string, timeoutMs: number, host = "127.0.0.1"): Promise<Exchange> {
  if (typeof to === "number") {
    const sock = connect({ host, port: to });
    sock.once("connect", () => sock.write(request));
    return collect(sock, timeoutMs);
  }
  to.write(request);
  return collect(to, timeoutMs);
}

/**
 * Connect to `port` until something accepts (retrying refusals every 25 ms), within `timeoutMs`
 * or until `gone()`; resolves to the open socket, or undefined.
 */
export async function connectWhenListening(port: number, timeoutMs: number, gone: () => boolean, host = "127.0.0.1"): Promise<Socket | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && !gone()) {
    const sock = await new Promise<Socket | undefined>((resolve) => {
      const s = connect({ host, port });
      s.once("connect", () => {
        s.removeAllListeners("error");
        resolve(s);
      });
      s.once("error", () => {
        s.destroy();
        resolve(undefined);
      });
    });
    if (sock !== undefined) return sock;
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

/** Read from an open socket until it closes, the response is complete, or `timeoutMs`. */
export function collect(sock: Socket, timeoutMs: number, stopWhenComplete = true): Promise<Exchange> {
  const started = performance.now();
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve) => {
    let done = false;
    const finish = (ended: Exchange["ended"], error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ raw: Buffer.concat(chunks), ended, ms: performance.now() - started, ...(error === undefined ? {} : { error }) });
    };
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    sock.on("data", (b: Buffer) => {
      if (size < MAX) chunks.push(b);
      size += b.length;
      if (stopWhenComplete && completeByLength(Buffer.concat(chunks))) finish("complete");
    });
    sock.on("end", () => finish("closed"));
    sock.on("close", () => finish("closed"));
    sock.on("error", (e: NodeJS.ErrnoException) => finish("error", e.code ?? e.message));
  });
}

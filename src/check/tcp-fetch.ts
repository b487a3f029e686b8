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

/** Connect, write `request` (one write), read the answer. */
export function exchange(port: number, request: Buffer | string, timeoutMs: number, host = "127.0.0.1"): Promise<Exchange> {
  const sock = connect({ host, port });
  sock.once("connect", () => sock.write(request));
  return collect(sock, timeoutMs);
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

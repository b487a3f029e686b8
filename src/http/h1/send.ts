/**
 * Writing response bodies that are not one buffer: file ranges and streams, with backpressure
 * and bounded memory, never more bytes than the head announced. The connection hands each
 * sender a `ByteSink` over its socket; the sender owns the body from then on (closes the fd,
 * destroys the stream) whatever happens.
 */
import { close as closeFd, read as readFd } from "node:fs";
import { Readable } from "node:stream";
import type { FileBody, HttpBody } from "./types.js";
import type { ResponseFraming } from "./head.js";
import type { FileSender } from "../../core/send-file.js";

/** The socket as a sender sees it. */
export interface ByteSink {
  /** Queue bytes; false when the caller should wait for `drained()`. */
  write(chunk: Uint8Array | string): boolean;
  /** Queue bytes and resolve once the kernel has them (the buffer may then be reused); false if the socket failed. */
  writeFlushed(chunk: Uint8Array): Promise<boolean>;
  /** Resolves true on 'drain', false once the socket is gone. */
  drained(): Promise<boolean>;
  /** Batch the following writes into one writev (socket.cork/uncork). */
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
}

/** How a body send ended. */
export interface SendResult {
  /** Body bytes written (excluding chunked framing). */
  sent: number;
  /** The body was framed completely; false means the connection must close (peer gone, file shrank, stream failed or ended short). */
  complete: boolean;
}

const FILE_CHUNK = 64 * 1024;

export function isFileBody(body: HttpBody): body is FileBody {
  return typeof body === "object" && body !== null && !(body instanceof Uint8Array) && (body as { kind?: unknown }).kind === "file";
}

/** The sender is done with a file body's descriptor: close it (unless `close: false`) and tell its owner. */
export function releaseFile(file: FileBody): void {
  if (file.close !== false) closeFd(file.fd, noop);
  file.onDone?.();
}

/** Release a body that will not be sent (bodiless status, aborted exchange). */
export function disposeBody(body: HttpBody): void {
  if (body === undefined || typeof body === "string" || body instanceof Uint8Array) return;
  if (isFileBody(body)) {
    releaseFile(body);
  } else if (body instanceof Readable) {
    body.destroy();
  } else {
    void Promise.resolve(body[Symbol.asyncIterator]().return?.()).catch(noop);
  }
}

function noop(): void {}

function readAt(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => readFd(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * A file range as a stream of fresh 64 KiB chunks (for code that transforms a body, such as
 * `--rate` pacing), closing the descriptor at the end, on return() or on a read error. Ends
 * early when the file shrank (the engine then closes the connection: fewer bytes than announced).
 */
export async function* fileChunks(file: FileBody): AsyncGenerator<Uint8Array> {
  try {
    let pos = file.start;
    let remaining = file.length;
    while (remaining > 0) {
      const buf = Buffer.allocUnsafe(Math.min(FILE_CHUNK, remaining));
      const n = await readAt(file.fd, buf, buf.length, pos);
      if (n === 0) return;
      yield n === buf.length ? buf : buf.subarray(0, n);
      pos += n;
      remaining -= n;
    }
  } finally {
    releaseFile(file);
  }
}

/**
 * Send exactly `file.length` bytes from `file.start`: a growing file is cut at the length, a
 * shrinking one ends the send incomplete. Two 64 KiB buffers alternate, so one is read while
 * the other is on the wire, and memory stays flat whatever the size.
 *
 * On plain TCP the connection uses `sendFileZeroCopy` instead (same contract, the kernel copies).
 */
export async function sendFile(sink: ByteSink, file: FileBody): Promise<SendResult> {
  let sent = 0;
  let complete = false;
  try {
    const bufs = [Buffer.allocUnsafe(Math.min(FILE_CHUNK, Math.max(1, file.length))), Buffer.allocUnsafe(Math.min(FILE_CHUNK, Math.max(1, file.length)))];
    let turn = 0;
    let inFlight: Promise<boolean> | undefined;
    let pos = file.start;
    let remaining = file.length;
    while (remaining > 0 && !sink.destroyed) {
      const buf = bufs[turn] as Buffer;
      const n = await readAt(file.fd, buf, Math.min(buf.length, remaining), pos);
      if (n === 0) break; // the file shrank under us
      if (inFlight !== undefined && !(await inFlight)) break;
      inFlight = sink.writeFlushed(buf.subarray(0, n));
      sent += n;
      pos += n;
      remaining -= n;
      turn ^= 1;
    }
    const lastOk = inFlight === undefined ? !sink.destroyed : await inFlight;
    complete = remaining === 0 && lastOk;
  } catch {
    complete = false;
  } finally {
    releaseFile(file);
  }
  return { sent, complete };
}

/**
 * `sendFile` through sendfile(2), as nginx's `sendfile on`: the head (with MSG_MORE) and then the
 * file range leave from the page cache without passing through JavaScript. Call it only with
 * the socket's write queue empty. When the kernel's buffer is full (or the file ends early) the
 * next 64 KiB go through Node's own queue, whose completion is the wait for writability; then
 * sendfile resumes. A file that shrank ends the send incomplete, one that grew is cut at length.
 */
export async function sendFileZeroCopy(sink: ByteSink, send: FileSender, head: Buffer, file: FileBody): Promise<SendResult> {
  let sent = 0;
  let complete = false;
  let pendingHead: Buffer | null = head.length > 0 ? head : null;
  let pos = file.start;
  let remaining = file.length;
  let buf: Buffer | undefined;
  try {
    while (!sink.destroyed) {
      const n = send(pendingHead, file.fd, pos, remaining);
      const fromHead = pendingHead === null ? 0 : Math.min(n, pendingHead.length);
      if (pendingHead !== null) pendingHead = fromHead === pendingHead.length ? null : pendingHead.subarray(fromHead);
      const fromFile = n - fromHead;
      pos += fromFile;
      remaining -= fromFile;
      sent += fromFile;
      if (remaining === 0 && pendingHead === null) {
        complete = true;
        break;
      }
      if (pendingHead !== null) {
        if (!(await sink.writeFlushed(pendingHead))) break;
        pendingHead = null;
        continue;
      }
      buf ??= Buffer.allocUnsafe(Math.min(FILE_CHUNK, remaining));
      const m = await readAt(file.fd, buf, Math.min(buf.length, remaining), pos);
      if (m === 0) break; // the file shrank under us
      if (!(await sink.writeFlushed(buf.subarray(0, m)))) break;
      pos += m;
      remaining -= m;
      sent += m;
      if (remaining === 0) {
        complete = true;
        break;
      }
    }
  } catch {
    complete = false;
  } finally {
    releaseFile(file);
  }
  return { sent, complete };
}

/**
 * Send a stream under the given framing: chunked coding, exactly `length` bytes (a stream that
 * yields more is cut there and the send ends incomplete so the connection closes; fewer also
 * incomplete), or close-delimited.
 */
export async function sendStream(sink: ByteSink, body: Readable | AsyncIterable<Uint8Array>, framing: ResponseFraming): Promise<SendResult> {
  let sent = 0;
  let complete = false;
  const limit = framing.kind === "length" ? framing.length : Infinity;
  let overrun = false;
  try {
    for await (const raw of body as AsyncIterable<Uint8Array | string>) {
      if (sink.destroyed) break;
      let chunk: Uint8Array = typeof raw === "string" ? Buffer.from(raw) : raw;
      if (chunk.length === 0) continue;
      if (sent + chunk.length > limit) {
        // More than was announced: send up to the limit, stop reading, and close after it.
        overrun = true;
        chunk = chunk.subarray(0, limit - sent);
      }
      let ok: boolean;
      if (framing.kind === "chunked") {
        sink.cork();
        sink.write(`${chunk.length.toString(16)}\r\n`);
        sink.write(chunk);
        ok = sink.write("\r\n");
        sink.uncork();
      } else {
        ok = chunk.length === 0 || sink.write(chunk);
      }
      sent += chunk.length;
      if (overrun) break;
      if (!ok && !(await sink.drained())) break;
    }
    if (!sink.destroyed && !overrun) {
      if (framing.kind === "chunked") {
        sink.write("0\r\n\r\n");
        complete = true;
      } else {
        complete = framing.kind !== "length" || sent === limit;
      }
    }
  } catch {
    complete = false;
  } finally {
    if (body instanceof Readable && !body.readableEnded) body.destroy();
  }
  return { sent, complete };
}

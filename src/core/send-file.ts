/**
 * Zero-copy sending of a file range to a TCP socket through the addon's sendfile(2)
 * (native/send_file.cc), as nginx's `sendfile on`. Used by the HTTP/1.1 engine for large
 * file bodies; where it is not available (no addon, a TLS socket, a non-Linux system, a
 * socket without a file descriptor) `fileSender()` returns undefined and the engine takes its
 * plain read-and-write path.
 */
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { addonFunction } from "./native.js";

type SendHeadAndFile = (socketFd: number, head: Buffer | null, fileFd: number, offset: number, length: number) => number;

let native: SendHeadAndFile | null | undefined;

function nativeSender(): SendHeadAndFile | null {
  if (native === undefined) native = addonFunction<SendHeadAndFile>("sendHeadAndFile");
  return native;
}

/**
 * Sends `head` (if any) and then `length` bytes of `fileFd` from `offset`, without blocking.
 * Returns the bytes written in all; fewer than asked means the socket buffer is full (wait for
 * writability and call again) or the file ended early. Call it only when the socket's
 * write queue is empty (`socket.writableLength === 0`), or bytes would leave out of order.
 */
export type FileSender = (head: Buffer | null, fileFd: number, offset: number, length: number) => number;

/**
 * The zero-copy sender for `socket`, or undefined when this socket cannot use one.
 *
 * @example
 * const send = fileSender(socket);
 * if (send && socket.writableLength === 0) sent = send(head, fd, 0, size);
 */
export function fileSender(socket: Socket): FileSender | undefined {
  if (process.platform !== "linux" || socket instanceof TLSSocket) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) return undefined;
  const send = nativeSender();
  if (send === null) return undefined;
  return (head, fileFd, offset, length) => send(fd, head, fileFd, offset, length);
}

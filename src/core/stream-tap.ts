/**
 * What `--pcap` sees of a TCP connection a tool opened: the two ends once connected, the bytes
 * each way as the tool wrote and read them (with a note when the tool changed them, e.g. a
 * redacted secret), the switch to TLS after which the bytes are not seen, and the close. The
 * tool calls it synchronously, so bytes received are seen before the tool handles them.
 */
import type { WireEndpoint } from "./udp-socket.js";

export interface StreamTap {
  connected(local: WireEndpoint, remote: WireEndpoint): void;
  sent(bytes: Buffer, note?: string): void;
  received(bytes: Buffer, note?: string): void;
  /** The connection turned to TLS (STARTTLS): what follows is ciphertext the tool never handles. */
  encrypted?(): void;
  closed(): void;
}

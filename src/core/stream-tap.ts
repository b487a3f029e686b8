/**
 * What `--pcap` sees of a TCP connection a tool opened: the two ends once connected, the bytes
 * each way as the tool wrote and read them, and the close. The tool calls it synchronously, so
 * bytes received are seen before the tool handles them.
 */
import type { WireEndpoint } from "./udp-socket.js";

export interface StreamTap {
  connected(local: WireEndpoint, remote: WireEndpoint): void;
  sent(bytes: Buffer): void;
  received(bytes: Buffer): void;
  closed(): void;
}

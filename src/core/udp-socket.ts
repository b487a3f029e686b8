/**
 * Opening UDP sockets the same way in every tool: family from the address, `::` serving
 * IPv4 too where the OS allows, and bind errors (port in use, address not on this host)
 * turned into one-line WirekitErrors.
 */
import { createSocket, type Socket } from "node:dgram";
import { addressFamily, formatHostPort, type IpFamily } from "./address.js";
import { fromSystemError } from "./errors.js";

export interface UdpBindOptions {
  /** Numeric address to bind ("0.0.0.0", "127.0.0.1", "::"). */
  host: string;
  /** 0 = pick one. */
  port: number;
  /** Forces the family when `host` is empty. */
  family?: IpFamily;
  /** Kernel buffer sizes in bytes (left to the OS when unset). */
  recvBufferSize?: number;
  sendBufferSize?: number;
}

export interface BoundUdpSocket {
  socket: Socket;
  address: string;
  port: number;
  family: IpFamily;
}

/** Create and bind a UDP socket; rejects with ERR_LOCAL on EADDRINUSE/EADDRNOTAVAIL/EACCES. */
export function bindUdp(options: UdpBindOptions): Promise<BoundUdpSocket> {
  const family = addressFamily(options.host) ?? options.family ?? 4;
  const socket = createSocket({ type: family === 6 ? "udp6" : "udp4", ipv6Only: false });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(fromSystemError(err, `bind ${formatHostPort(options.host, options.port)}`));
    };
    socket.once("error", onError);
    socket.bind({ address: options.host, port: options.port, exclusive: true }, () => {
      socket.off("error", onError);
      try {
        if (options.recvBufferSize !== undefined) socket.setRecvBufferSize(options.recvBufferSize);
        if (options.sendBufferSize !== undefined) socket.setSendBufferSize(options.sendBufferSize);
      } catch {
        // Buffer sizes are a hint; the kernel may cap them (net.core.rmem_max).
      }
      const a = socket.address();
      resolve({ socket, address: a.address, port: a.port, family });
    });
  });
}

/** Close a dgram socket, resolving when it is closed (idempotent). */
export function closeUdp(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** Strip the IPv4-mapped prefix so "::ffff:127.0.0.1" compares equal to "127.0.0.1". */
export function normalizeAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** A client's UDP socket to one server, behind an interface a test can fake. */
export interface DatagramLink {
  /** The bound local address and port. */
  local: { address: string; port: number };
  /** Send to the server; a failure is reported later through `onError`. */
  send(bytes: Buffer, onError?: (err: Error) => void): void;
  /** Datagrams received (from anyone: the caller checks the source); returns an unsubscribe. */
  onMessage(fn: (msg: Buffer, from: { address: string; port: number }) => void): () => void;
  close(): Promise<void>;
}

/** Opens the link to `server` (a numeric address). */
export type OpenDatagramLink = (server: { address: string; port: number; family: IpFamily }) => Promise<DatagramLink>;

/**
 * The real link: a socket bound to the wildcard address of the server's family, port 0.
 * Socket errors (ICMP port unreachable surfacing on the socket) are swallowed: the caller's
 * timeouts already tell that story.
 */
export const openUdpLink: OpenDatagramLink = async (server) => {
  const bound = await bindUdp({ host: server.family === 6 ? "::" : "0.0.0.0", port: 0 });
  const socket = bound.socket;
  socket.on("error", () => {});
  return {
    local: { address: bound.address, port: bound.port },
    send(bytes, onError) {
      socket.send(bytes, server.port, server.address, (err) => {
        if (err) onError?.(err);
      });
    },
    onMessage(fn) {
      const h = (msg: Buffer, rinfo: { address: string; port: number }): void => fn(msg, { address: normalizeAddress(rinfo.address), port: rinfo.port });
      socket.on("message", h);
      return () => socket.off("message", h);
    },
    close: () => closeUdp(socket),
  };
};

/** One end of a datagram. */
export interface WireEndpoint {
  address: string;
  port: number;
}

/**
 * Sees every datagram a client link or a server port sends and receives, as it happens
 * (`--pcap`). Called synchronously: a received datagram is seen before the tool handles it.
 */
export interface WireTap {
  sent(bytes: Buffer, local: WireEndpoint, remote: WireEndpoint): void;
  received(bytes: Buffer, local: WireEndpoint, remote: WireEndpoint): void;
}

/** True for "0.0.0.0" and "::". */
export function isWildcardAddress(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

/**
 * The local address the OS would use to reach `server` (routing's choice of source), found
 * by connect() on a scratch UDP socket, which sends nothing; the wildcard when that fails.
 */
export async function routeSourceAddress(server: WireEndpoint, family: IpFamily): Promise<string> {
  const wildcard = family === 6 ? "::" : "0.0.0.0";
  const probe = createSocket(family === 6 ? "udp6" : "udp4");
  try {
    return await new Promise<string>((resolve) => {
      probe.once("error", () => resolve(wildcard));
      probe.connect(server.port, server.address, () => resolve(normalizeAddress(probe.address().address)));
    });
  } catch {
    return wildcard;
  } finally {
    await closeUdp(probe);
  }
}

/**
 * A link opener whose links show `tap` every datagram. A link bound to the wildcard address
 * is shown with the source address routing picks for the server.
 */
export function tapLink(open: OpenDatagramLink, tap: WireTap): OpenDatagramLink {
  return async (server) => {
    const link = await open(server);
    const local = { address: isWildcardAddress(link.local.address) ? await routeSourceAddress(server, server.family) : normalizeAddress(link.local.address), port: link.local.port };
    const remote = { address: normalizeAddress(server.address), port: server.port };
    return {
      local: link.local,
      send(bytes, onError) {
        tap.sent(bytes, local, remote);
        link.send(bytes, onError);
      },
      onMessage(fn) {
        return link.onMessage((msg, from) => {
          tap.received(msg, local, from);
          fn(msg, from);
        });
      },
      close: () => link.close(),
    };
  };
}

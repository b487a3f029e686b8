/**
 * A bound UDP port for servers that answer datagrams, with two back ends behind one shape:
 *
 * - "batch": the addon's UdpSocket (native/udp_socket.cc). One wakeup reads up to 64 datagrams
 *   with recvmmsg(2) and delivers them in one call into JavaScript; replies sent while a
 *   datagram is being handled are queued and leave together in one sendmmsg(2). This is what
 *   lets a monitor keep up with a flood that node:dgram (one system call and one callback per
 *   datagram each way) cannot.
 * - "dgram": node:dgram, used when the addon is not built or `fast: false` is asked.
 *
 * Handlers see the same thing from both: the bytes, the sender's address (IPv4-mapped
 * addresses as node:dgram gives them) and port.
 */
import type { Socket } from "node:dgram";
import { addressFamily, formatHostPort, type IpFamily } from "./address.js";
import { fromSystemError } from "./errors.js";
import { loadAddon } from "./native.js";
import { bindUdp, closeUdp, isWildcardAddress, normalizeAddress, type UdpBindOptions, type WireEndpoint, type WireTap } from "./udp-socket.js";

/** Datagrams longer than `maxDatagram` reach a "batch" handler cut to it, with `truncated` set. */
export const BATCH_MAX_DATAGRAM = 2048;

export type DatagramHandler = (msg: Buffer, address: string, port: number, truncated: boolean) => void;

export interface DatagramPort {
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
  readonly kind: "batch" | "dgram";
  /** Set the one handler for incoming datagrams. */
  onMessage(handler: DatagramHandler): void;
  /** Send a datagram. Called from inside the handler to the sender being handled, it is batched. */
  send(msg: Buffer, port: number, address: string): void;
  /**
   * True when send() is done with `msg` once it returns (the bytes were copied or sent): the
   * caller may then write its next datagram into the same buffer. node:dgram may still be
   * reading it later.
   */
  readonly sendCopies: boolean;
  close(): Promise<void>;
}

export interface DatagramPortOptions extends UdpBindOptions {
  /** Use the recvmmsg/sendmmsg back end when the addon is available. @default true */
  fast?: boolean;
  /**
   * Longest datagram a "batch" handler receives whole (1…65536); longer ones arrive cut, with
   * `truncated`. Each batch reserves 64 times this. node:dgram always delivers them whole.
   * @default BATCH_MAX_DATAGRAM (2048)
   */
  maxDatagram?: number;
}

interface NativeUdpSocket {
  bind(address: string, port: number): void;
  reply(index: number, buf: Buffer): void;
  send(buf: Buffer, address: string, port: number): void;
  setOption(level: number, name: number, value: number): void;
  address(): { address: string; port: number };
  close(): void;
}

interface UdpAddon {
  UdpSocket: new (family: number, onBatch: (data: Buffer, meta: Uint32Array, addresses: string[]) => void, slot?: number) => NativeUdpSocket;
  constants: Readonly<Record<string, number>>;
}

const TRUNCATED = 0x80000000;

class BatchPort implements DatagramPort {
  readonly kind = "batch" as const;
  // reply() copies the bytes into the batch's queue; send() is one sendto(2).
  readonly sendCopies = true;
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
  readonly #native: NativeUdpSocket;
  #handler: DatagramHandler = () => {};
  // The datagram being handled, so that a reply to its sender joins the batch.
  #index = -1;
  #fromAddress = "";
  #fromPort = 0;
  #closed = false;

  constructor(addon: UdpAddon, options: DatagramPortOptions, family: IpFamily) {
    this.family = family;
    this.#native = new addon.UdpSocket(family, (data, meta, addresses) => this.#onBatch(data, meta, addresses), options.maxDatagram ?? BATCH_MAX_DATAGRAM);
    try {
      this.#native.bind(options.host, options.port);
      const c = addon.constants;
      const set = (name: string | undefined, size: number | undefined): void => {
        if (name === undefined || size === undefined || c.SOL_SOCKET === undefined || c[name] === undefined) return;
        try {
          this.#native.setOption(c.SOL_SOCKET, c[name], size);
        } catch {
          // A hint; the kernel caps it (net.core.rmem_max).
        }
      };
      set("SO_RCVBUF", options.recvBufferSize);
      set("SO_SNDBUF", options.sendBufferSize);
    } catch (err) {
      this.#native.close();
      throw fromSystemError(err, `bind ${formatHostPort(options.host, options.port)}`);
    }
    const a = this.#native.address();
    this.address = a.address;
    this.port = a.port;
  }

  onMessage(handler: DatagramHandler): void {
    this.#handler = handler;
  }

  #onBatch(data: Buffer, meta: Uint32Array, addresses: string[]): void {
    const v6 = this.family === 6;
    for (let i = 0; i < addresses.length && !this.#closed; i++) {
      const off = meta[3 * i] ?? 0;
      const len = meta[3 * i + 1] ?? 0;
      const word = meta[3 * i + 2] ?? 0;
      const port = word & 0xffff;
      let address = addresses[i] ?? "";
      // node:dgram reports IPv4 peers of a dual-stack socket as ::ffff:a.b.c.d; so does inet_ntop.
      if (v6 && address.includes(".") && !address.startsWith("::ffff:")) address = `::ffff:${address}`;
      this.#index = i;
      this.#fromAddress = address;
      this.#fromPort = port;
      try {
        this.#handler(data.subarray(off, off + len), address, port, (word & TRUNCATED) !== 0);
      } finally {
        this.#index = -1;
      }
    }
  }

  send(msg: Buffer, port: number, address: string): void {
    if (this.#closed) return;
    try {
      if (this.#index >= 0 && port === this.#fromPort && address === this.#fromAddress) this.#native.reply(this.#index, msg);
      else this.#native.send(msg, address, port);
    } catch {
      // A UDP send that fails (buffer full, no route) is a lost datagram, as with node:dgram.
    }
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#native.close();
    }
    return Promise.resolve();
  }
}

class DgramPort implements DatagramPort {
  readonly kind = "dgram" as const;
  readonly sendCopies = false;
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
  readonly #socket: Socket;

  constructor(socket: Socket, address: string, port: number, family: IpFamily) {
    this.#socket = socket;
    this.address = address;
    this.port = port;
    this.family = family;
    // ICMP errors surfacing on the socket (a client gone away) must never stop a server.
    socket.on("error", () => {});
  }

  onMessage(handler: DatagramHandler): void {
    this.#socket.removeAllListeners("message");
    this.#socket.on("message", (msg, rinfo) => handler(msg, rinfo.address, rinfo.port, false));
  }

  send(msg: Buffer, port: number, address: string): void {
    try {
      this.#socket.send(msg, port, address);
    } catch {
      // Closed meanwhile, or a port the OS refuses (0): the reply is dropped.
    }
  }

  close(): Promise<void> {
    return closeUdp(this.#socket);
  }
}

/** Why the batch back end cannot be used here (the addon is missing or lacks it), or undefined. */
export function batchUnavailableReason(): string | undefined {
  try {
    // loadAddon() caches the addon once it has loaded.
    const addon = loadAddon() as Partial<UdpAddon>;
    return typeof addon.UdpSocket === "function" ? undefined : "the addon has no UdpSocket (rebuild it: npm run build:addon)";
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Bind a UDP port for a server: the batch back end where the addon has it, else node:dgram.
 * Rejects with ERR_LOCAL when the port is in use or the address is not on this host.
 *
 * @example
 * const port = await openDatagramPort({ host: "127.0.0.1", port: 0 });
 * port.onMessage((msg, address, p) => port.send(msg, p, address)); // an echo server
 */
export async function openDatagramPort(options: DatagramPortOptions): Promise<DatagramPort> {
  const family = addressFamily(options.host) ?? options.family ?? 4;
  if (options.fast !== false && process.platform === "linux" && batchUnavailableReason() === undefined) {
    return new BatchPort(loadAddon() as UdpAddon, options, family);
  }
  const bound = await bindUdp(options);
  return new DgramPort(bound.socket, bound.address, bound.port, bound.family);
}

/**
 * The port with `tap` shown every datagram it receives (before the handler) and sends. A port
 * bound to the wildcard address names itself by the peer's address when that is a loopback one
 * (what the kernel would put in the packet), else by the wildcard.
 */
export function tapDatagramPort(port: DatagramPort, tap: WireTap): DatagramPort {
  const local = (peer: string): WireEndpoint => ({ address: isWildcardAddress(port.address) && isLoopback(peer) ? peer : port.address, port: port.port });
  return {
    address: port.address,
    port: port.port,
    family: port.family,
    kind: port.kind,
    // A tap may keep what it is shown.
    sendCopies: false,
    onMessage(handler) {
      port.onMessage((msg, address, p, truncated) => {
        const from = normalizeAddress(address);
        tap.received(msg, local(from), { address: from, port: p });
        handler(msg, address, p, truncated);
      });
    },
    send(msg, p, address) {
      const to = normalizeAddress(address);
      tap.sent(msg, local(to), { address: to, port: p });
      port.send(msg, p, address);
    },
    close: () => port.close(),
  };
}

function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.");
}

/**
 * The UDP ping server: echoes every datagram upper-cased, dropping a seeded random fraction
 * to simulate loss (the lab's 30%). Never crashes on what arrives: empty, binary and
 * maximum-size datagrams are all just bytes.
 */
import { createRandom, type Random } from "../../core/random.js";
import { TypedEmitter, publish } from "../../core/events.js";
import { normalizeAddress } from "../../core/udp-socket.js";
import { openDatagramPort, type DatagramPort } from "../../core/datagram-port.js";
import { usageError } from "../../core/errors.js";
import { upperCaseAscii } from "./protocol.js";

export interface UdpPingServerOptions {
  /** Address to bind. @default "0.0.0.0" */
  host?: string;
  /** Port to bind; 0 picks one. @default 12000 */
  port?: number;
  /** Probability in [0, 1] that a datagram is dropped. @default 0.3 */
  loss?: number;
  /** Seed for the loss PRNG (same seed, same drops). @default random */
  seed?: number;
  /** Inject a PRNG instead of a seed (tests). */
  random?: Random;
  /**
   * Read and answer in batches (recvmmsg/sendmmsg through wirekit's addon) when the addon is
   * built; false = node:dgram, one datagram per callback. @default true
   */
  batch?: boolean;
}

/** One datagram the server saw. */
export interface UdpPingDatagram {
  from: { address: string; port: number };
  message: Buffer;
  dropped: boolean;
}

export interface UdpPingServerTotals {
  received: number;
  replied: number;
  dropped: number;
  bytes: number;
}

export type UdpPingServerEvents = {
  datagram: [UdpPingDatagram];
};

/** A running UDP ping server. */
export class UdpPingServer extends TypedEmitter<UdpPingServerEvents> {
  readonly address: string;
  readonly port: number;
  readonly loss: number;
  readonly seed: number;
  readonly #socket: DatagramPort;
  readonly #random: Random;
  readonly #totals: UdpPingServerTotals = { received: 0, replied: 0, dropped: 0, bytes: 0 };
  #closed = false;

  constructor(socket: DatagramPort, loss: number, random: Random) {
    super();
    this.#socket = socket;
    this.address = socket.address;
    this.port = socket.port;
    this.loss = loss;
    this.#random = random;
    this.seed = random.seed;
    socket.onMessage((msg, address, port) => this.#onMessage(msg, address, port));
  }

  /** How datagrams are read: "batch" (recvmmsg/sendmmsg) or "dgram" (node:dgram). */
  get transport(): "batch" | "dgram" {
    return this.#socket.kind;
  }

  #onMessage(msg: Buffer, address: string, port: number): void {
    const t = this.#totals;
    t.received++;
    t.bytes += msg.length;
    const dropped = this.loss > 0 && this.#random.next() < this.loss;
    if (dropped) t.dropped++;
    else if (port === 0) {
      // A forged source port 0 (possible with raw sockets) cannot be answered.
      t.dropped++;
    } else {
      t.replied++;
      this.#socket.send(upperCaseAscii(msg), port, address);
    }
    if (this.listenerCount("datagram") > 0) {
      this.emit("datagram", { from: { address: normalizeAddress(address), port }, message: msg, dropped });
    }
    publish("udp-ping", "datagram", { dropped, bytes: msg.length });
  }

  totals(): UdpPingServerTotals {
    return { ...this.#totals };
  }

  /** Stop receiving and close the socket. */
  async close(): Promise<UdpPingServerTotals> {
    if (!this.#closed) {
      this.#closed = true;
      await this.#socket.close();
    }
    return this.totals();
  }
}

/**
 * Start a UDP ping server.
 *
 * @example
 * const server = await createUdpPingServer({ host: "127.0.0.1", port: 0, loss: 0.3, seed: 1 });
 * console.log(server.port);
 * await server.close();
 */
export async function createUdpPingServer(options: UdpPingServerOptions = {}): Promise<UdpPingServer> {
  const loss = options.loss ?? 0.3;
  if (!(loss >= 0 && loss <= 1)) throw usageError(`invalid loss '${loss}' (must be between 0 and 1)`);
  const random = options.random ?? createRandom(options.seed);
  // 64 KiB slots: a maximum-size ping (65,507 bytes) is echoed whole.
  const socket = await openDatagramPort({ host: options.host ?? "0.0.0.0", port: options.port ?? 12000, recvBufferSize: 4 << 20, fast: options.batch, maxDatagram: 65536 });
  return new UdpPingServer(socket, loss, random);
}

/**
 * The UDP ping server: echoes every datagram upper-cased, dropping a seeded random fraction
 * to simulate loss (the lab's 30%). Never crashes on what arrives: empty, binary and
 * maximum-size datagrams are all just bytes.
 */
import type { Socket } from "node:dgram";
import { createRandom, type Random } from "../../core/random.js";
import { TypedEmitter, publish } from "../../core/events.js";
import { bindUdp, closeUdp, normalizeAddress } from "../../core/udp-socket.js";
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
  error: [Error];
};

/** A running UDP ping server. */
export class UdpPingServer extends TypedEmitter<UdpPingServerEvents> {
  readonly address: string;
  readonly port: number;
  readonly loss: number;
  readonly seed: number;
  readonly #socket: Socket;
  readonly #random: Random;
  readonly #totals: UdpPingServerTotals = { received: 0, replied: 0, dropped: 0, bytes: 0 };
  #closed = false;

  constructor(socket: Socket, address: string, port: number, loss: number, random: Random) {
    super();
    this.#socket = socket;
    this.address = address;
    this.port = port;
    this.loss = loss;
    this.#random = random;
    this.seed = random.seed;
    socket.on("message", (msg, rinfo) => this.#onMessage(msg, rinfo.address, rinfo.port));
    // Send errors (e.g. an ICMP error reported on the socket) must never stop the server.
    socket.on("error", (err) => {
      if (this.listenerCount("error") > 0) this.emit("error", err);
    });
  }

  #onMessage(msg: Buffer, address: string, port: number): void {
    const t = this.#totals;
    t.received++;
    t.bytes += msg.length;
    const dropped = this.loss > 0 && this.#random.next() < this.loss;
    if (dropped) t.dropped++;
    else if (port === 0) {
      // A forged source port 0 (possible with raw sockets) cannot be answered: dgram.send() throws on it.
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
      await closeUdp(this.#socket);
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
  const bound = await bindUdp({ host: options.host ?? "0.0.0.0", port: options.port ?? 12000, recvBufferSize: 4 << 20 });
  return new UdpPingServer(bound.socket, bound.address, bound.port, loss, random);
}

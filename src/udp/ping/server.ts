/**
 * The UDP ping server: echoes every datagram upper-cased, dropping a seeded random fraction
 * to simulate loss (the lab's 30%), and optionally delaying, reordering, duplicating,
 * corrupting or rate-limiting them (core/impair.ts; the impairments act on arriving pings).
 * Never crashes on what arrives: empty, binary and maximum-size datagrams are all just bytes.
 */
import { systemClock, type Clock } from "../../core/clock.js";
import { createImpairment, resolveImpairment, type ImpairmentConfig } from "../../core/impair.js";
import { ImpairedSender, type ImpairedSenderCounts } from "../../core/impaired-sender.js";
import { createRandom, type Random } from "../../core/random.js";
import { TypedEmitter, toolChannel } from "../../core/events.js";
import { normalizeAddress, type WireTap } from "../../core/udp-socket.js";
import { openDatagramPort, tapDatagramPort, type DatagramPort } from "../../core/datagram-port.js";
import { upperCaseAscii } from "./protocol.js";

export interface UdpPingServerOptions {
  /** Address to bind. @default "0.0.0.0" */
  host?: string;
  /** Port to bind; 0 picks one. @default 12000 */
  port?: number;
  /** Probability in [0, 1] that a datagram is dropped. @default 0.3 */
  loss?: number;
  /** Seed for the impairment PRNG (same seed, same drops). @default random */
  seed?: number;
  /** More impairments (delay, jitter, reorder, ...); its `loss`, when set, wins over `loss`. @default {} */
  impair?: ImpairmentConfig;
  /** Timers for delayed datagrams. @default systemClock */
  clock?: Clock;
  /** Inject a PRNG instead of a seed (tests). */
  random?: Random;
  /**
   * Read and answer in batches (recvmmsg/sendmmsg through wirekit's addon) when the addon is
   * built; false = node:dgram, one datagram per callback. @default true
   */
  batch?: boolean;
  /** Shown every datagram received and sent (`--pcap`). */
  tap?: WireTap;
}

/** One datagram the server saw. */
export interface UdpPingDatagram {
  /** Wall-clock ms when it arrived. */
  at: number;
  from: { address: string; port: number };
  message: Buffer;
  dropped: boolean;
  /** What the impairments did to it ("dropped", "delayed 23 ms, duplicated"); absent when untouched. */
  impairment?: string;
}

export interface UdpPingServerTotals {
  received: number;
  replied: number;
  dropped: number;
  bytes: number;
}

/** Everything the server does, as it happens: one kind today, a datagram that arrived. */
export type UdpPingServerEvent = { kind: "datagram" } & UdpPingDatagram;

export type UdpPingServerEvents = {
  event: [UdpPingServerEvent];
};

const DATAGRAM = toolChannel("udp-ping", "datagram");

/** A running UDP ping server. Listen to `event`. */
export class UdpPingServer extends TypedEmitter<UdpPingServerEvents> {
  readonly address: string;
  readonly port: number;
  readonly loss: number;
  readonly seed: number;
  /** The impairments in force (loss included). */
  readonly impairment: Readonly<ImpairmentConfig>;
  readonly #socket: DatagramPort;
  /** Undefined when nothing is impaired: the datagram goes straight to the reply. */
  readonly #path: ImpairedSender | undefined;
  readonly #totals: UdpPingServerTotals = { received: 0, replied: 0, dropped: 0, bytes: 0 };
  readonly #clock: Clock;
  #closed = false;

  constructor(socket: DatagramPort, impairment: ImpairmentConfig, random: Random, clock: Clock = systemClock) {
    super();
    this.#clock = clock;
    this.#socket = socket;
    this.address = socket.address;
    this.port = socket.port;
    this.impairment = { ...impairment };
    this.loss = impairment.loss ?? 0;
    this.seed = random.seed;
    const model = createImpairment(impairment, random);
    this.#path = model === undefined ? undefined : new ImpairedSender(model, clock, (msg, port, address) => this.#answer(msg, address, port));
    socket.onMessage((msg, address, port) => this.#onMessage(msg, address, port));
  }

  /** What the impairments did so far; undefined when none is set. */
  impairments(): ImpairedSenderCounts | undefined {
    return this.#path?.counts();
  }

  /** The counters its impairments can move (zeros included), for a totals line; undefined when none is set. */
  impairmentTotals(): Record<string, number> | undefined {
    return this.#path?.shownCounts();
  }

  /** How datagrams are read: "batch" (recvmmsg/sendmmsg) or "dgram" (node:dgram). */
  get transport(): "batch" | "dgram" {
    return this.#socket.kind;
  }

  #onMessage(msg: Buffer, address: string, port: number): void {
    const t = this.#totals;
    t.received++;
    t.bytes += msg.length;
    let dropped = false;
    let impairment: string | undefined;
    if (this.#path === undefined) this.#answer(msg, address, port);
    else {
      const d = this.#path.send(msg, port, address);
      if (d.drop !== undefined) {
        dropped = true;
        t.dropped++;
      }
      if (d.reason !== "") impairment = d.reason;
    }
    // Built only when someone listens: this is the batched hot path.
    if (this.listenerCount("event") > 0) {
      const e: UdpPingServerEvent = { kind: "datagram", at: this.#clock.now(), from: { address: normalizeAddress(address), port }, message: msg, dropped };
      if (impairment !== undefined) e.impairment = impairment;
      this.emit("event", e);
    }
    if (DATAGRAM.hasSubscribers) DATAGRAM.publish({ dropped, bytes: msg.length });
  }

  #answer(msg: Buffer, address: string, port: number): void {
    if (this.#closed) return;
    if (port === 0) {
      // A forged source port 0 (possible with raw sockets) cannot be answered.
      this.#totals.dropped++;
      return;
    }
    this.#totals.replied++;
    this.#socket.send(upperCaseAscii(msg), port, address);
  }

  totals(): UdpPingServerTotals {
    return { ...this.#totals };
  }

  /** Stop receiving and close the socket. */
  async close(): Promise<UdpPingServerTotals> {
    if (!this.#closed) {
      this.#closed = true;
      this.#path?.close();
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
  const impairment: ImpairmentConfig = { ...options.impair, loss: options.impair?.loss ?? options.loss ?? 0.3 };
  const random = options.random ?? createRandom(options.seed);
  // Validate before binding: a bad value is a usage error, not a bound port left behind.
  resolveImpairment(impairment);
  // 64 KiB slots: a maximum-size ping (65,507 bytes) is echoed whole.
  const socket = await openDatagramPort({ host: options.host ?? "0.0.0.0", port: options.port ?? 12000, recvBufferSize: 4 << 20, fast: options.batch, maxDatagram: 65536 });
  return new UdpPingServer(options.tap === undefined ? socket : tapDatagramPort(socket, options.tap), impairment, random, options.clock);
}

/**
 * The UDP echo server (RFC 768): binds exactly the interface it is given, answers every
 * datagram with `I received from you a message of N bytes` (prefixed by the request ID when
 * the request carried one), and reassembles messages sent in parts. `loss`, `delayMs` and the
 * other impairments (core/impair.ts, acting on arriving datagrams) make it behave like a server
 * far away over a bad network (the lab's `udp_server_remote`).
 * Never crashes on what arrives: empty, binary, forged parts and floods are all just bytes.
 */
import type { Socket } from "node:dgram";
import { isIPv4 } from "node:net";
import { networkInterfaces } from "node:os";
import { formatHostPort, resolveHost } from "../../core/address.js";
import { systemClock, type Clock, type TimerHandle } from "../../core/clock.js";
import { createImpairment, resolveImpairment, type ImpairmentConfig } from "../../core/impair.js";
import { ImpairedSender, type ImpairedSenderCounts } from "../../core/impaired-sender.js";
import { TypedEmitter, publish } from "../../core/events.js";
import { createRandom, type Random } from "../../core/random.js";
import { bindUdp, closeUdp, isWildcardAddress, normalizeAddress, type WireTap } from "../../core/udp-socket.js";
import { decodePart, decodeRequest, encodeReply, encodeTextReply, isPart, PART_HEADER_BYTES, replyText } from "./protocol.js";
import { formatPartRanges, Reassembler, type IncompleteMessage, type ReassemblyOptions } from "./reassembly.js";

export interface Endpoint {
  address: string;
  port: number;
}

export interface UdpEchoServerOptions {
  /** Shown every datagram received and sent (`--pcap`). */
  tap?: WireTap;
  /** Interface to bind: an address ("127.0.0.1", "0.0.0.0", "::"), a host name, or an interface name ("lo"). @default "0.0.0.0" */
  host?: string;
  /** 0 picks one. @default 12002 */
  port?: number;
  /** Probability in [0, 1] that an arriving datagram is dropped, as if lost on the way. @default 0 */
  loss?: number;
  /** Delay every arriving datagram (so every reply) by this many ms. @default 0 */
  delayMs?: number;
  /** Seed for the impairment PRNG. @default random */
  seed?: number;
  /** More impairments (jitter, reorder, duplicate, ...); its `loss`/`delayMs`, when set, win. @default {} */
  impair?: ImpairmentConfig;
  /** Inject a PRNG instead of a seed (tests). */
  random?: Random;
  /** Reassembly timeout and memory bounds. */
  reassembly?: ReassemblyOptions;
  /** @default systemClock */
  clock?: Clock;
}

/** Everything the server does, as it happens. `at` is wall-clock ms. */
export type UdpEchoServerEvent =
  | { kind: "datagram"; at: number; from: Endpoint; id?: string; message: Buffer; dropped: boolean }
  | { kind: "part"; at: number; from: Endpoint; id: string; number: number; count: number; bytes: number; dropped: boolean; note?: "duplicate" | "late" }
  | { kind: "reassembled"; at: number; from: Endpoint; id: string; bytes: number; parts: number; elapsedMs: number }
  | { kind: "incomplete"; at: number; from: Endpoint; message: IncompleteMessage }
  | { kind: "garbage"; at: number; from: Endpoint; bytes: number; reason: string };

export interface UdpEchoServerTotals {
  /** Datagrams that reached the socket (including parts and dropped ones). */
  received: number;
  replied: number;
  /** Bytes of all datagrams received. */
  bytes: number;
  reassembled: number;
  incomplete: number;
  dropped: number;
  parts: number;
  garbage: number;
}

/** A running UDP echo server. Listen to `event`. */
export class UdpEchoServer extends TypedEmitter<{ event: [UdpEchoServerEvent] }> {
  readonly address: string;
  readonly port: number;
  readonly loss: number;
  readonly delayMs: number;
  readonly seed: number;
  /** The impairments in force. */
  readonly impairment: Readonly<ImpairmentConfig>;
  readonly #socket: Socket;
  /** Undefined when nothing is impaired: datagrams go straight to the handler. */
  readonly #path: ImpairedSender | undefined;
  readonly #clock: Clock;
  readonly #reassembler: Reassembler;
  #sweep: TimerHandle | undefined;
  #closed = false;
  /** Bound to an IPv6 address ("::" serves IPv4 too): replies to IPv4 clients go to their mapped form. */
  readonly #ipv6: boolean;
  readonly #totals: UdpEchoServerTotals = { received: 0, replied: 0, bytes: 0, reassembled: 0, incomplete: 0, dropped: 0, parts: 0, garbage: 0 };

  readonly #tap: WireTap | undefined;

  constructor(socket: Socket, options: { impairment: ImpairmentConfig; clock: Clock; random: Random; reassembly?: ReassemblyOptions; tap?: WireTap }) {
    super();
    this.#socket = socket;
    const a = socket.address();
    this.address = normalizeAddress(a.address);
    this.#ipv6 = a.family === "IPv6";
    this.port = a.port;
    this.impairment = { ...options.impairment };
    this.loss = options.impairment.loss ?? 0;
    this.delayMs = options.impairment.delayMs ?? 0;
    this.seed = options.random.seed;
    this.#clock = options.clock;
    const model = createImpairment(options.impairment, options.random);
    this.#path = model === undefined ? undefined : new ImpairedSender(model, options.clock, (msg, port, address) => this.#handle(msg, { address, port }, false));
    this.#reassembler = new Reassembler(options.reassembly);
    this.#tap = options.tap;
    socket.on("message", (msg, rinfo) => {
      const from = { address: normalizeAddress(rinfo.address), port: rinfo.port };
      this.#tap?.received(msg, this.#local(from.address), from);
      this.#onMessage(msg, from);
    });
    // A send error (an ICMP error reported on the socket) must never stop the server.
    socket.on("error", () => {});
  }

  #emitEvent(e: UdpEchoServerEvent): void {
    if (this.listenerCount("event") > 0) this.emit("event", e);
    publish("udp-echo", e.kind, e);
  }

  #onMessage(msg: Buffer, from: Endpoint): void {
    if (this.#closed) return;
    const t = this.#totals;
    t.received++;
    t.bytes += msg.length;
    if (this.#path === undefined) {
      this.#handle(msg, from, false);
      return;
    }
    const d = this.#path.send(msg, from.port, from.address);
    if (d.drop !== undefined) {
      t.dropped++;
      // Still reported (and a malformed part still counted), as seen on the wire before the loss.
      this.#handle(msg, from, true);
    }
  }

  /** What the server does with a datagram that reached it (or, `dropped`, only reports it). */
  #handle(msg: Buffer, from: Endpoint, dropped: boolean): void {
    if (this.#closed) return;
    const t = this.#totals;
    const at = this.#clock.now();
    if (isPart(msg)) {
      t.parts++;
      this.#onPart(msg, from, at, dropped);
      return;
    }
    const req = decodeRequest(msg);
    const e: UdpEchoServerEvent = { kind: "datagram", at, from, message: req.message, dropped };
    if (req.id !== undefined) e.id = req.id;
    this.#emitEvent(e);
    if (!dropped) this.#reply(encodeReply(req), from);
  }

  #onPart(msg: Buffer, from: Endpoint, at: number, dropped: boolean): void {
    const d = decodePart(msg);
    if (!d.ok) {
      this.#totals.garbage++;
      this.#emitEvent({ kind: "garbage", at, from, bytes: msg.length, reason: d.error.reason });
      return;
    }
    const part = d.value;
    if (dropped) {
      this.#emitEvent({ kind: "part", at, from, id: part.id, number: part.number, count: part.count, bytes: msg.length, dropped });
      return;
    }
    const source = formatHostPort(from.address, from.port);
    const { outcome, evicted } = this.#reassembler.add(source, part, this.#clock.monotonic());
    for (const m of evicted) this.#reportIncomplete(m);
    switch (outcome.kind) {
      case "rejected":
        this.#totals.garbage++;
        this.#emitEvent({ kind: "garbage", at, from, bytes: msg.length, reason: outcome.reason });
        break;
      case "stored":
      case "duplicate":
      case "late": {
        const e: UdpEchoServerEvent = { kind: "part", at, from, id: part.id, number: part.number, count: part.count, bytes: msg.length, dropped };
        if (outcome.kind !== "stored") e.note = outcome.kind;
        this.#emitEvent(e);
        break;
      }
      case "complete":
        this.#emitEvent({ kind: "part", at, from, id: part.id, number: part.number, count: part.count, bytes: msg.length, dropped });
        this.#totals.reassembled++;
        this.#emitEvent({
          kind: "reassembled", at, from, id: outcome.id, bytes: outcome.message.length, parts: outcome.count,
          elapsedMs: this.#clock.monotonic() - outcome.firstAt,
        });
        this.#reply(encodeTextReply(outcome.id, `${replyText(outcome.message.length)} in ${outcome.count} parts`), from);
        break;
    }
    this.#armSweep();
  }

  #reportIncomplete(m: IncompleteMessage): void {
    this.#totals.incomplete++;
    const from = parseSource(m.source);
    this.#emitEvent({ kind: "incomplete", at: this.#clock.now(), from, message: m });
    const report = encodeTextReply(m.id, incompleteText(m));
    // Never answer with more bytes than the (possibly spoofed) source sent for this message:
    // otherwise one forged 21-byte part would make us a reflection amplifier.
    if (report.length <= m.receivedBytes + m.received * PART_HEADER_BYTES) this.#reply(report, from);
  }

  /** One timer for the earliest reassembly deadline; re-armed after each sweep. */
  #armSweep(): void {
    if (this.#sweep !== undefined || this.#closed) return;
    const deadline = this.#reassembler.nextDeadline();
    if (deadline === undefined) return;
    this.#sweep = this.#clock.setTimeout(() => {
      this.#sweep = undefined;
      for (const m of this.#reassembler.expire(this.#clock.monotonic())) this.#reportIncomplete(m);
      this.#armSweep();
    }, Math.max(0, deadline - this.#clock.monotonic()));
    this.#sweep.unref();
  }

  /** This end as a packet would name it: a wildcard bind answers loopback peers from their own address. */
  #local(peer: string): Endpoint {
    const wildcard = isWildcardAddress(this.address);
    return { address: wildcard && (peer === "::1" || peer.startsWith("127.")) ? peer : this.address, port: this.port };
  }

  #reply(payload: Buffer, to: Endpoint): void {
    // Source port 0 cannot be answered (and only a forged datagram carries it): Node's send()
    // would throw ERR_SOCKET_BAD_PORT, and a throw in a message handler ends the process.
    if (this.#closed || !(to.port > 0 && to.port < 65536)) return;
    // Events carry "127.0.0.1", not "::ffff:127.0.0.1"; a udp6 socket cannot send to the bare
    // IPv4 form (EINVAL), so a server on "::" would silently never answer IPv4 clients.
    const address = this.#ipv6 && isIPv4(to.address) ? `::ffff:${to.address}` : to.address;
    this.#tap?.sent(payload, this.#local(to.address), to);
    try {
      this.#socket.send(payload, to.port, address, () => {
        // Errors (EHOSTUNREACH, ENOBUFS under a flood) cost one reply, never the server.
      });
      this.#totals.replied++;
    } catch {
      // A socket closing under us, or an address Node refuses: drop this reply only.
    }
  }

  /** What the impairments did so far; undefined when none is set. */
  impairments(): ImpairedSenderCounts | undefined {
    return this.#path?.counts();
  }

  /** The counters its impairments can move (zeros included), for a totals line; undefined when none is set. */
  impairmentTotals(): Record<string, number> | undefined {
    return this.#path?.shownCounts();
  }

  totals(): UdpEchoServerTotals {
    return { ...this.#totals };
  }

  /** Messages being reassembled right now, and the bytes they hold. */
  reassembling(): { messages: number; bytes: number } {
    return { messages: this.#reassembler.pending, bytes: this.#reassembler.pendingBytes };
  }

  /** Stop receiving, drop datagrams still delayed, close the socket. */
  async close(): Promise<UdpEchoServerTotals> {
    if (!this.#closed) {
      this.#closed = true;
      this.#path?.close();
      if (this.#sweep !== undefined) this.#clock.clearTimeout(this.#sweep);
      await closeUdp(this.#socket);
    }
    return this.totals();
  }
}

/**
 * What the server tells a sender whose message could not be completed.
 *
 * @example
 * incompleteText(m) // "incomplete message: 14 of 16 parts (70000 of 80000 bytes) arrived, missing parts 3, 9"
 */
export function incompleteText(m: IncompleteMessage): string {
  const why = m.reason === "timeout" ? "" : " (evicted to bound memory)";
  return `incomplete message${why}: ${m.received} of ${m.count} parts (${m.receivedBytes} of ${m.total} bytes) arrived, missing parts ${formatPartRanges(m.missing, 20, m.missingCount)}`;
}

function parseSource(source: string): Endpoint {
  const i = source.lastIndexOf(":");
  const host = source.slice(0, i);
  return { address: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(source.slice(i + 1)) };
}

/**
 * The address to bind for an interface argument: an interface name ("lo", "eth0") maps to
 * its first IPv4 address (else its first address); anything else is resolved as a host.
 *
 * @example
 * await resolveInterface("lo") // "127.0.0.1"
 */
export async function resolveInterface(name: string): Promise<string> {
  const nics = networkInterfaces()[name];
  if (nics !== undefined && nics.length > 0) {
    const v4 = nics.find((n) => n.family === "IPv4");
    return (v4 ?? nics[0])?.address ?? name;
  }
  return (await resolveHost(name)).address;
}

/**
 * Start a UDP echo server.
 *
 * @example
 * const server = await createUdpEchoServer({ host: "127.0.0.1", port: 0 });
 * server.on("event", (e) => e.kind === "datagram" && console.log(e.from, e.message.toString()));
 * await server.close();
 */
export async function createUdpEchoServer(options: UdpEchoServerOptions = {}): Promise<UdpEchoServer> {
  const impairment: ImpairmentConfig = {
    ...options.impair,
    loss: options.impair?.loss ?? options.loss ?? 0,
    delayMs: options.impair?.delayMs ?? options.delayMs ?? 0,
  };
  resolveImpairment(impairment);
  const host = await resolveInterface(options.host ?? "0.0.0.0");
  const random = options.random ?? createRandom(options.seed);
  const bound = await bindUdp({ host, port: options.port ?? 12002, recvBufferSize: 4 << 20 });
  const server = new UdpEchoServer(bound.socket, {
    impairment, random, clock: options.clock ?? systemClock,
    ...(options.reassembly ? { reassembly: options.reassembly } : {}),
    ...(options.tap ? { tap: options.tap } : {}),
  });
  return server;
}

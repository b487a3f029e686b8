/**
 * Traceroute's probe methods behind one small interface: send a probe with a TTL, hear what
 * answered it. Each method knows its own identity trick (how a quoted header names the probe)
 * and where the path ends:
 *
 * - "icmp": echo requests (traceroute -I); the echo sequence names the probe, an echo reply ends
 *   the path. With `paris`, the first two data bytes are the one's complement of the sequence,
 *   so the checksum (with the identifier, the ICMP "ports") stays the same on every probe.
 * - "udp": datagrams to port 33434 and up, one port per probe (classic traceroute); the quoted
 *   destination port names the probe, a port unreachable (or a UDP answer) ends the path. With
 *   `paris` both ports stay fixed and the UDP checksum names the probe, as in paris-traceroute
 *   (two payload bytes make it come out right; ./udp-datagram.ts). The datagrams are ours, sent on
 *   a raw socket (./raw-ip.ts), so the kernel neither delays them nor rewrites the checksum.
 * - "tcp": SYNs (see trace-tcp.ts).
 *
 * ICMP errors about UDP and TCP probes are read on a raw ICMP socket (root or CAP_NET_RAW).
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { resolveHost, type IpFamily } from "../core/address.js";
import type { Clock } from "../core/clock.js";
import { WirekitError, usageError } from "../core/errors.js";
import type { Random } from "../core/random.js";
import { matchEcho } from "./match.js";
import { echoPayload, encodeEchoRequest, isIcmpError, type IcmpErrorMessage } from "./message/index.js";
import { canonicalAddress } from "./ping.js";
import { RawIpSocket, sourceAddressFor } from "./raw-ip.js";
import { IcmpSocket, type IcmpReceived, type IcmpSocketKind } from "./socket.js";
import { encodeUdp, encodeUdpWithChecksum } from "./udp-datagram.js";

export type TraceMethod = "icmp" | "udp" | "tcp";

/** A probe that left. */
export interface ProbeSent {
  key: number;
  /** CLOCK_REALTIME ns just before sendto(), or 0n when unknown. */
  txNs: bigint;
  sentMono: number;
}

/** What answered a probe. */
export interface ProbeReply {
  key: number;
  from: string;
  /** Kernel receive timestamp (0n if none). */
  rxNs: bigint;
  /** "", or !H !N !P !X !F-N ... */
  annotation: string;
  /** The destination itself answered. */
  reached: boolean;
  /** The path ends here. */
  final: boolean;
}

/** The fields every probe of the run shares, for --paris checks and the JSON output. */
export interface ProbeFlow {
  protocol: TraceMethod;
  srcPort?: number;
  dstPort?: number;
  icmpId?: number;
  icmpChecksum?: number;
}

export interface TraceProber {
  readonly method: TraceMethod;
  /** The ICMP socket kind that hears the answers. */
  readonly socket: IcmpSocketKind;
  /** IP packet size of a probe. */
  readonly packetBytes: number;
  /** Constant across probes (all of it with --paris; the identifier only otherwise). */
  readonly flow: ProbeFlow;
  /** Send one probe; throws (with `.code`) when the send fails at once. */
  send(ttl: number): ProbeSent;
  close(): void;
}

export interface ProberOptions {
  method: TraceMethod;
  family: IpFamily;
  /** Canonical destination address. */
  target: string;
  /** Payload bytes (echo data, UDP payload; unused by TCP). */
  size: number;
  paris: boolean;
  /** UDP: first destination port (33434); TCP: destination port (80). */
  port?: number;
  socket: IcmpSocketKind | "auto";
  clock: Clock;
  random: Random;
  onReply(r: ProbeReply): void;
  /** Shown each probe and the socket that hears the answers (`--pcap`). */
  tap?: ProbeTap;
}

/** What `--pcap` sees of a trace: each probe as it left, and the ICMP socket that hears the routers. */
export interface ProbeTap {
  /** A probe's transport bytes (ICMP message, UDP datagram, TCP segment), its IP protocol and TTL. */
  sent(bytes: Buffer, protocol: number, ttl: number): void;
  /** The socket the answers come in on (its packets reach the tap through `onRawPacket`). */
  listen(sock: IcmpSocket): void;
  /** An answer that came on another socket (a TCP SYN-ACK or RST): its transport bytes. */
  answered?(bytes: Buffer, from: string, protocol: number): void;
}

/** The first UDP port classic traceroute probes. */
export const UDP_BASE_PORT = 33434;
/** Destination ports a classic UDP run cycles through, from the base port. */
const UDP_SPAN = 1024;

/** What an ICMP error about one of our probes means for the trace. */
export function errorOutcome(e: IcmpErrorMessage, from: string, target: string): Omit<ProbeReply, "key" | "rxNs" | "from"> | undefined {
  if (e.kind === "redirect" || e.kind === "source-quench") return undefined; // advice, not an answer
  if (e.kind === "time-exceeded") return { annotation: "", reached: false, final: false };
  if (e.kind === "dest-unreachable" || e.kind === "packet-too-big") {
    // A port unreachable has no annotation: it is the destination saying "arrived" (UDP, TCP).
    return { annotation: e.annotation, reached: e.annotation === "" && from === target, final: true };
  }
  return { annotation: `!<${e.type}>`, reached: false, final: false };
}

/**
 * The two echo data bytes that keep the ICMP checksum constant: seq + ~seq is the one's
 * complement -0, which leaves any non-zero sum unchanged (RFC 1071 arithmetic).
 *
 * @example
 * parisCompensation(7) // 0xfff8
 */
export function parisCompensation(seq: number): number {
  return ~seq & 0xffff;
}

/** Echo data of a Paris probe: the compensation word, then a fixed pattern (no timestamp). */
export function parisEchoData(size: number, seq: number): Buffer {
  const b = Buffer.alloc(Math.max(2, size));
  for (let i = 2; i < b.length; i++) b[i] = i & 0xff;
  b.writeUInt16BE(parisCompensation(seq), 0);
  return b;
}

/** Open the prober of `o.method`. */
export async function openProber(o: ProberOptions): Promise<TraceProber> {
  if (o.method === "icmp") return new IcmpProber(o);
  if (o.method === "udp") return UdpProber.open(o);
  const { TcpProber } = await import("./trace-tcp.js");
  return TcpProber.open(o);
}

/** What traceroute and mtr both give to open their prober on a named host. */
export interface TraceTargetOptions extends Omit<ProberOptions, "family" | "target" | "onReply"> {
  host: string;
  family?: IpFamily;
  openProber: (o: ProberOptions) => Promise<TraceProber>;
}

/**
 * Resolve the host and open the prober on its canonical address: the first step of every
 * trace (traceroute, mtr). `onReply` is called with each answer the prober hears.
 */
export async function openTraceTarget(
  o: TraceTargetOptions,
  onReply: (r: ProbeReply) => void,
): Promise<{ host: string; family: IpFamily; target: string; prober: TraceProber }> {
  const r = await resolveHost(o.host, o.family);
  const target = canonicalAddress(r.address);
  const prober = await o.openProber({
    method: o.method,
    family: r.family,
    target,
    size: o.size,
    paris: o.paris,
    ...(o.port === undefined ? {} : { port: o.port }),
    ...(o.tap === undefined ? {} : { tap: o.tap }),
    socket: o.socket,
    clock: o.clock,
    random: o.random,
    onReply,
  });
  return { host: r.host, family: r.family, target, prober };
}

/** The TTL range every trace checks: max hops 1-255, first TTL 1..max hops, a positive wait. */
export function checkTtlRange(maxHops: number, firstTtl: number, waitMs: number): void {
  if (!Number.isInteger(maxHops) || maxHops < 1 || maxHops > 255) throw usageError(`invalid max hops ${maxHops} (must be 1-255)`);
  if (!Number.isInteger(firstTtl) || firstTtl < 1 || firstTtl > maxHops) throw usageError(`invalid first TTL ${firstTtl} (must be 1-${maxHops})`);
  if (!(waitMs > 0)) throw usageError("wait time must be positive");
}

/** Open the raw ICMP socket that hears errors about UDP / TCP probes (root or CAP_NET_RAW). */
export function openErrorSocket(family: IpFamily, method: TraceMethod): IcmpSocket {
  try {
    return IcmpSocket.open({ family, kind: "raw" });
  } catch (err) {
    if (err instanceof WirekitError && /ICMP needs root/.test(err.message)) {
      throw new WirekitError("ERR_LOCAL", `${method.toUpperCase()} traceroute needs root or CAP_NET_RAW (a raw ICMP socket hears the routers)`, { cause: err });
    }
    throw err;
  }
}

class IcmpProber implements TraceProber {
  readonly method = "icmp";
  readonly socket: IcmpSocketKind;
  readonly packetBytes: number;
  readonly flow: ProbeFlow;
  readonly #o: ProberOptions;
  readonly #sock: IcmpSocket;
  readonly #id: number;
  #seq: number;

  constructor(o: ProberOptions) {
    this.#o = o;
    this.#sock = IcmpSocket.open({ family: o.family, kind: o.socket });
    this.socket = this.#sock.kind;
    this.#id = this.#sock.echoId ?? o.random.int(0x10000);
    this.#seq = o.random.int(0x10000);
    this.packetBytes = (o.family === 4 ? 20 : 40) + 8 + (o.paris ? Math.max(2, o.size) : o.size);
    this.flow = { protocol: "icmp", icmpId: this.#id };
    if (o.paris && o.family === 4) this.flow.icmpChecksum = encodeEchoRequest({ family: 4, id: this.#id, seq: 0, data: parisEchoData(o.size, 0) }).readUInt16BE(2);
    this.#sock.on("packet", (p) => this.#onPacket(p));
    o.tap?.listen(this.#sock);
  }

  send(ttl: number): ProbeSent {
    const o = this.#o;
    this.#seq = (this.#seq + 1) & 0xffff;
    const seq = this.#seq;
    const data = o.paris ? parisEchoData(o.size, seq) : echoPayload(o.size, BigInt(Math.round(o.clock.now())) * 1_000_000n);
    const bytes = encodeEchoRequest({ family: o.family, id: this.#id, seq, data });
    const sentMono = o.clock.monotonic();
    this.#sock.setTtl(ttl);
    o.tap?.sent(bytes, o.family === 4 ? 1 : 58, ttl);
    const txNs = this.#sock.send(bytes, o.target);
    return { key: seq, txNs, sentMono };
  }

  #onPacket(p: IcmpReceived): void {
    if (p.kind !== "message") return;
    const o = this.#o;
    const m = matchEcho(p.message, p.from, { family: o.family, id: this.#id, target: o.target });
    if (m.kind === "ignore") return;
    if (m.kind === "reply") {
      o.onReply({ key: m.seq, from: p.from, rxNs: p.rxNs, annotation: "", reached: true, final: true });
      return;
    }
    const out = errorOutcome(m.error, p.from, o.target);
    // An echo request answered by "port unreachable" is odd: keep its annotation-less final form.
    if (out !== undefined) o.onReply({ key: m.seq, from: p.from, rxNs: p.rxNs, ...out });
  }

  close(): void {
    this.#sock.close();
  }
}

class UdpProber implements TraceProber {
  readonly method = "udp";
  readonly socket: IcmpSocketKind = "raw";
  readonly packetBytes: number;
  readonly flow: ProbeFlow;
  readonly #o: ProberOptions;
  readonly #icmp: IcmpSocket;
  readonly #udp: UdpSocket;
  readonly #raw: RawIpSocket;
  readonly #src: string;
  readonly #base: number;
  readonly #srcPort: number;
  #n: number;
  #closed = false;

  private constructor(o: ProberOptions, icmp: IcmpSocket, udp: UdpSocket, raw: RawIpSocket, src: string) {
    this.#o = o;
    this.#icmp = icmp;
    this.#udp = udp;
    this.#raw = raw;
    this.#src = src;
    this.#base = o.port ?? UDP_BASE_PORT;
    this.#srcPort = udp.address().port;
    // Classic ports count from the base, as traceroute's; Paris checksums from a random number.
    this.#n = o.paris ? o.random.int(0xfffd) : 0;
    this.packetBytes = (o.family === 4 ? 20 : 40) + 8 + (o.paris ? Math.max(4, o.size) : o.size);
    this.flow = o.paris ? { protocol: "udp", srcPort: this.#srcPort, dstPort: this.#base } : { protocol: "udp", srcPort: this.#srcPort };
    icmp.on("packet", (p) => this.#onIcmp(p));
    o.tap?.listen(icmp);
    udp.on("message", (msg, rinfo) => this.#onUdp(msg, rinfo.address, rinfo.port));
    udp.on("error", () => {}); // the raw ICMP socket has the details of any error
  }

  /**
   * The datagrams go out on a raw UDP socket (synchronous, the TTL set per send, a C-side send
   * time); a node:dgram socket bound to the same port owns it and hears a service that answers.
   */
  static async open(o: ProberOptions): Promise<UdpProber> {
    const icmp = openErrorSocket(o.family, "udp");
    const udp = createSocket({ type: o.family === 4 ? "udp4" : "udp6" });
    let raw: RawIpSocket | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(0, () => {
          udp.off("error", reject);
          resolve();
        });
      });
      const src = await sourceAddressFor(o.family, o.target);
      raw = new RawIpSocket(o.family, "udp");
      raw.keepNothing(); // it only sends: the answers come on the ICMP socket
      return new UdpProber(o, icmp, udp, raw, src);
    } catch (err) {
      raw?.close();
      icmp.close();
      udp.close();
      throw err;
    }
  }

  send(ttl: number): ProbeSent {
    const o = this.#o;
    const n = this.#n;
    this.#n = (this.#n + 1) % 0xfffd;
    const head = { src: this.#src, dst: o.target, srcPort: this.#srcPort };
    let bytes: Buffer;
    let key: number;
    if (o.paris) {
      // Paris: the ports never move; the checksum (1-0xfffd) names the probe.
      key = n + 1;
      bytes = encodeUdpWithChecksum({ ...head, dstPort: this.#base, size: o.size }, key);
    } else {
      // Classic: one destination port per probe.
      key = (this.#base + (n % UDP_SPAN)) & 0xffff;
      const payload = Buffer.alloc(o.size);
      for (let j = 0; j < o.size; j++) payload[j] = 0x40 + (j & 0x3f);
      bytes = encodeUdp({ ...head, dstPort: key, payload });
    }
    const sentMono = o.clock.monotonic();
    o.tap?.sent(bytes, 17, ttl);
    const txNs = this.#raw.send(bytes, o.target, ttl);
    return { key, txNs, sentMono };
  }

  #onIcmp(p: IcmpReceived): void {
    if (p.kind !== "message" || !isIcmpError(p.message)) return;
    const o = this.#o;
    const q = p.message.original;
    const t = q.transport;
    if (t?.protocol !== "udp" || t.srcPort !== this.#srcPort || q.ip?.dst !== o.target) return;
    if (o.paris && t.dstPort !== this.#base) return;
    const out = errorOutcome(p.message, p.from, o.target);
    if (out !== undefined) o.onReply({ key: o.paris ? t.checksum : t.dstPort, from: p.from, rxNs: p.rxNs, ...out });
  }

  /** A service on the destination port answered (an echo gives our payload back): the path ends there. */
  #onUdp(msg: Buffer, address: string, port: number): void {
    const o = this.#o;
    if (canonicalAddress(address) !== o.target) return;
    if (o.paris && msg.length < 4) return;
    const key = o.paris ? msg.readUInt16BE(2) : port;
    o.onReply({ key, from: o.target, rxNs: 0n, annotation: "", reached: true, final: true });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#raw.close();
    this.#icmp.close();
    this.#udp.close();
  }
}

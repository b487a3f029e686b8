/**
 * traceroute -T: TCP SYNs to one port, as tcptraceroute and `traceroute -T` send them. node:net
 * cannot set a TTL before connect(), so the SYNs are our own segments (./tcp-segment.ts) sent on
 * a raw IPPROTO_TCP socket of the addon (./raw-ip.ts), whose IP_TTL is set per probe; the same socket sees the
 * destination's SYN-ACK (open port) or RST (closed port), and the raw ICMP socket hears the
 * routers. The ports never change, so every probe is one flow (Paris traceroute for free); the
 * sequence number names the probe: an ICMP error quotes it, a SYN-ACK or RST acknowledges it + 1.
 * Our kernel, which knows no such connection, answers a SYN-ACK with a RST, so no half-open
 * connection is left at the destination.
 */
import { decodeIpv4Header, isIcmpError } from "./message/index.js";
import { canonicalAddress } from "./ping.js";
import { RawIpSocket, sourceAddressFor } from "./raw-ip.js";
import type { IcmpReceived, IcmpSocket } from "./socket.js";
import { decodeTcpHeader, encodeSyn, SYN_BYTES, TCP_FLAGS } from "./tcp-segment.js";
import { errorOutcome, openErrorSocket, type ProbeFlow, type ProberOptions, type ProbeSent, type TraceProber } from "./trace-probes.js";

/** The default destination port of traceroute -T. */
export const TCP_DEFAULT_PORT = 80;

export class TcpProber implements TraceProber {
  readonly method = "tcp";
  readonly socket = "raw";
  readonly packetBytes: number;
  readonly flow: ProbeFlow;
  readonly #o: ProberOptions;
  readonly #icmp: IcmpSocket;
  readonly #tcp: RawIpSocket;
  readonly #src: string;
  readonly #srcPort: number;
  readonly #dstPort: number;
  #seq: number;
  #closed = false;

  private constructor(o: ProberOptions, icmp: IcmpSocket, src: string) {
    this.#o = o;
    this.#icmp = icmp;
    this.#src = src;
    this.#srcPort = 32768 + o.random.int(28000);
    this.#dstPort = o.port ?? TCP_DEFAULT_PORT;
    this.#seq = o.random.int(0x100000000);
    this.packetBytes = (o.family === 4 ? 20 : 40) + SYN_BYTES;
    this.flow = { protocol: "tcp", srcPort: this.#srcPort, dstPort: this.#dstPort };
    try {
      const tcp = new RawIpSocket(o.family, "tcp", (buf, address, rxNs) => this.#onTcp(buf, address, rxNs));
      try {
        // Only the target's answers (its port to ours) reach the queue; #onTcp still checks each.
        tcp.keepOnly(this.#dstPort, this.#srcPort);
      } catch (err) {
        tcp.close();
        throw err;
      }
      this.#tcp = tcp;
    } catch (err) {
      icmp.close();
      throw err;
    }
    icmp.on("packet", (p) => this.#onIcmp(p));
  }

  static async open(o: ProberOptions): Promise<TcpProber> {
    const icmp = openErrorSocket(o.family, "tcp");
    let src: string;
    try {
      src = await sourceAddressFor(o.family, o.target);
    } catch (err) {
      icmp.close();
      throw err;
    }
    return new TcpProber(o, icmp, src);
  }

  send(ttl: number): ProbeSent {
    const o = this.#o;
    this.#seq = (this.#seq + 1) >>> 0;
    const seq = this.#seq;
    const syn = encodeSyn({ src: this.#src, dst: o.target, srcPort: this.#srcPort, dstPort: this.#dstPort, seq });
    const sentMono = o.clock.monotonic();
    o.tap?.sent(syn, 6, ttl);
    const txNs = this.#tcp.send(syn, o.target, ttl);
    return { key: seq, txNs, sentMono };
  }

  #onIcmp(p: IcmpReceived): void {
    if (p.kind !== "message" || !isIcmpError(p.message)) return;
    const o = this.#o;
    const q = p.message.original;
    const t = q.transport;
    if (t?.protocol !== "tcp" || t.srcPort !== this.#srcPort || t.dstPort !== this.#dstPort || q.ip?.dst !== o.target) return;
    const out = errorOutcome(p.message, p.from, o.target);
    if (out !== undefined) o.onReply({ key: t.seq, from: p.from, rxNs: p.rxNs, ...out });
  }

  /** Every TCP segment the host receives passes here; ours is a SYN-ACK or RST from the target. */
  #onTcp(buf: Buffer, address: string, rxNs: bigint): void {
    if (this.#closed) return;
    const o = this.#o;
    if (canonicalAddress(address) !== o.target) return;
    let segment: Uint8Array = buf;
    if (o.family === 4) {
      const ip = decodeIpv4Header(buf);
      if (!ip.ok) return;
      segment = buf.subarray(ip.value.headerLength);
    }
    const h = decodeTcpHeader(segment);
    if (h === undefined || h.srcPort !== this.#dstPort || h.dstPort !== this.#srcPort) return;
    const synAck = (h.flags & (TCP_FLAGS.SYN | TCP_FLAGS.ACK)) === (TCP_FLAGS.SYN | TCP_FLAGS.ACK);
    const rst = (h.flags & TCP_FLAGS.RST) !== 0;
    if (!synAck && !rst) return;
    o.tap?.answered?.(Buffer.from(segment), address, 6);
    o.onReply({ key: (h.ack - 1) >>> 0, from: o.target, rxNs, annotation: "", reached: true, final: true });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tcp.close();
    this.#icmp.close();
  }
}

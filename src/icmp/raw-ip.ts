/**
 * A raw IP socket for one transport protocol (IPPROTO_UDP, IPPROTO_TCP) on the addon, for the
 * probes of traceroute -U and -T: the datagram or segment is ours (checksum included), the kernel
 * adds the IP header, IP_TTL / IPV6_UNICAST_HOPS is set before each send, and send() is
 * synchronous and returns the CLOCK_REALTIME ns read just before sendto(), so the RTT is kernel
 * receive time minus that, as for ICMP. What it receives (every segment of that protocol the host
 * gets; IPv4 with its IP header) goes to `onPacket`.
 */
import { createSocket } from "node:dgram";
import type { IpFamily } from "../core/address.js";
import { WirekitError } from "../core/errors.js";
import { canonicalAddress } from "./ping.js";
import { loadIcmpAddon, type NativeSocket } from "./socket.js";
import { dropAllFilter, portFilter } from "./socket-filter.js";

export type RawProtocol = "udp" | "tcp";

export class RawIpSocket {
  readonly #sock: NativeSocket;
  readonly #ttl: readonly [number, number];
  readonly #family: IpFamily;

  constructor(family: IpFamily, protocol: RawProtocol, onPacket: (buf: Buffer, from: string, rxNs: bigint) => void = () => {}) {
    this.#family = family;
    const lib = loadIcmpAddon();
    const need = (name: string): number => {
      const v = lib.constants[name];
      if (v === undefined) throw new WirekitError("ERR_LOCAL", `ICMP addon lacks constant ${name} (rebuild it: npm run build:addon)`);
      return v;
    };
    this.#ttl = family === 4 ? [need("IPPROTO_IP"), need("IP_TTL")] : [need("IPPROTO_IPV6"), need("IPV6_UNICAST_HOPS")];
    const proto = protocol === "tcp" ? need("IPPROTO_TCP") : 17; // IPPROTO_UDP is 17 everywhere (RFC 768)
    try {
      this.#sock = new lib.IcmpSocket(family, "raw", (buf, address, _ttl, rxNs) => onPacket(buf, address, rxNs), proto);
    } catch (err) {
      throw new WirekitError("ERR_LOCAL", `cannot open a raw ${protocol.toUpperCase()} socket: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** Send `bytes` (a whole UDP datagram / TCP segment) with this TTL; CLOCK_REALTIME ns before sendto(). */
  send(bytes: Buffer, address: string, ttl: number): bigint {
    this.#sock.setOption(this.#ttl[0], this.#ttl[1], ttl);
    return this.#sock.send(bytes, address);
  }

  /**
   * Have the kernel keep only packets from port `srcPort` to port `dstPort` (socket-filter.ts):
   * the host's other traffic never reaches the queue, so it cannot crowd out a probe's answer.
   * Without it (an addon built before attachFilter) every packet still comes and is checked here.
   */
  keepOnly(srcPort: number, dstPort: number): void {
    this.#attach(portFilter(this.#family, srcPort, dstPort));
  }

  /** Have the kernel keep nothing: for a socket that only sends. */
  keepNothing(): void {
    this.#attach(dropAllFilter());
  }

  #attach(program: Buffer): void {
    if (this.#sock.attachFilter === undefined) return;
    try {
      this.#sock.attachFilter(program);
    } catch (err) {
      throw new WirekitError("ERR_LOCAL", `cannot filter the raw socket: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  close(): void {
    this.#sock.close();
  }
}

/** The source address the kernel would use towards `target` (a connected UDP socket tells). */
export async function sourceAddressFor(family: IpFamily, target: string): Promise<string> {
  const s = createSocket({ type: family === 4 ? "udp4" : "udp6" });
  try {
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.connect(9, target, () => resolve());
    });
    return canonicalAddress(s.address().address);
  } finally {
    s.close();
  }
}

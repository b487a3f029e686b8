/**
 * The ICMP socket: a typed wrapper over the project's Node-API addon (native/icmp_socket.cc).
 * Like iputils, it tries the unprivileged Linux ping socket (SOCK_DGRAM + IPPROTO_ICMP, allowed
 * by net.ipv4.ping_group_range) first and falls back to a raw socket (root / CAP_NET_RAW).
 * Received bytes are decoded here with the pure codec in ./message; nothing is printed.
 */
import { endianness } from "node:os";
import { WirekitError } from "../core/errors.js";
import { loadAddon } from "../core/native.js";
import { TypedEmitter } from "../core/events.js";
import {
  decodeIcmp,
  decodeIpv4Icmp,
  decodeQueuedError,
  ICMP,
  ICMP6,
  type IcmpFamily,
  type IcmpMessage,
  type QueuedIcmpError,
} from "./message/index.js";

/** "raw" (root / CAP_NET_RAW) or "dgram" (Linux ping socket). */
export type IcmpSocketKind = "raw" | "dgram";

interface NativeError {
  origin: number;
  type: number;
  code: number;
  errno: number;
  info: number;
}

export interface NativeSocket {
  send(buf: Buffer, address: string): bigint;
  setOption(level: number, name: number, value: number | Buffer): void;
  getOption(level: number, name: number): number;
  /** SO_ATTACH_FILTER with a classic BPF program (socket-filter.ts); absent in an addon built before it. */
  attachFilter?(program: Buffer): void;
  bind(address: string, port: number): void;
  address(): { address: string; port: number };
  ref(): void;
  unref(): void;
  close(): void;
}

interface NativeAddon {
  IcmpSocket: new (
    family: number,
    kind: string,
    onMessage: (buf: Buffer, address: string, ttl: number, rxNs: bigint, userNs: bigint, err: NativeError | null) => void,
    /** Another IP protocol for a raw socket (IPPROTO_TCP for traceroute -T). @default ICMP */
    protocol?: number,
  ) => NativeSocket;
  constants: Readonly<Record<string, number>>;
}

/** Where `npm install` builds the addon (it also holds core's batched UDP socket). */
export { ADDON_PATH } from "../core/native.js";

/** The exact line the CLI prints when no ICMP socket is allowed (exit 2). */
export const NO_PERMISSION_MESSAGE =
  'ICMP needs root or CAP_NET_RAW, or ping sockets enabled: sysctl -w net.ipv4.ping_group_range="0 2147483647"';

/** Load the addon once; ERR_LOCAL with build instructions when it is missing. */
export function loadIcmpAddon(): NativeAddon {
  return loadAddon("ICMP addon") as NativeAddon;
}

/** One decoded packet, or why it could not be decoded. */
export type IcmpReceived =
  | {
      kind: "message";
      message: IcmpMessage;
      /** Source address (for queued errors: the router that sent the error). */
      from: string;
      /** TTL / hop limit of the received packet, when known. */
      ttl?: number;
      /** ICMP bytes received (without the IP header). */
      bytes: number;
      /** Kernel receive timestamp, CLOCK_REALTIME ns (0n if the kernel gave none). */
      rxNs: bigint;
      /** CLOCK_REALTIME ns read right after recvmsg(). */
      userNs: bigint;
    }
  /**
   * A local error from the socket's error queue (origin SO_EE_ORIGIN_LOCAL): with path-MTU
   * discovery on, EMSGSIZE carries the path MTU in `info` (IP_RECVERR, ip(7)).
   */
  | { kind: "local-error"; from: string; errno: number; info: number }
  | { kind: "invalid"; from: string; bytes: number; reason: string };

export interface IcmpSocketEvents {
  [event: string]: unknown[];
  packet: [IcmpReceived];
}

export interface OpenIcmpSocketOptions {
  family: IcmpFamily;
  /** Which socket to use; "auto" tries "dgram" then "raw" as iputils does. @default "auto" */
  kind?: IcmpSocketKind | "auto";
  /** A fixed echo identifier (iputils -e); ping sockets bind to it. @default the kernel's / caller's choice */
  echoId?: number;
  /** Source address to bind (ping -I ADDR). @default the wildcard address */
  source?: string;
}

/** Path-MTU discovery as ping -M says it: prohibit fragmentation, fragment when needed, or never set DF. */
export type PmtuMode = "do" | "want" | "dont";

/** Linux values of IP_PMTUDISC_* (the same for IPV6_PMTUDISC_*), linux/in.h; the addon exports DO and DONT. */
const PMTUDISC_WANT = 1;
/** IP_RECVERR / IPV6_RECVERR, linux/in.h and linux/in6.h: local errors (EMSGSIZE with the MTU) go to the error queue. */
const IP_RECVERR = 11;
const IPV6_RECVERR = 25;
/** The errno of "message too long" on Linux. */
export const EMSGSIZE = 90;

/**
 * An open ICMP or ICMPv6 socket.
 *
 * @example
 * const sock = IcmpSocket.open({ family: 4 });
 * sock.on("packet", (p) => { if (p.kind === "message") console.log(p.message.kind, p.from); });
 * sock.send(encodeEchoRequest({ family: 4, id: sock.echoId ?? 1, seq: 1, data: Buffer.alloc(56) }), "127.0.0.1");
 */
export class IcmpSocket extends TypedEmitter<IcmpSocketEvents> {
  readonly family: IcmpFamily;
  readonly kind: IcmpSocketKind;
  /** The echo identifier: for ping sockets the bound "port" the kernel uses; for raw ones, `echoId` if given. */
  readonly echoId: number | undefined;
  readonly #sock: NativeSocket;
  readonly #c: Readonly<Record<string, number>>;
  #closed = false;
  /**
   * Shown each packet as the socket gave it, before it is decoded (`--pcap`): with its IPv4
   * header on a raw IPv4 socket, the ICMP message alone otherwise. Queued errors are not shown.
   */
  onRawPacket: ((bytes: Buffer, from: string, ttl: number) => void) | undefined;

  private constructor(family: IcmpFamily, kind: IcmpSocketKind, lib: NativeAddon, echoId: number | undefined, source: string | undefined) {
    super();
    this.family = family;
    this.kind = kind;
    this.#c = lib.constants;
    this.#sock = new lib.IcmpSocket(family, kind, (buf, address, ttl, rxNs, userNs, err) => {
      if (err === null) this.onRawPacket?.(buf, address, ttl);
      this.emit("packet", this.#decode(buf, address, ttl, rxNs, userNs, err));
    });
    if (kind === "dgram") {
      this.#sock.bind(source ?? (family === 4 ? "0.0.0.0" : "::"), echoId ?? 0);
      this.echoId = this.#sock.address().port;
    } else {
      this.echoId = echoId;
      if (source !== undefined) this.#sock.bind(source, 0);
      this.#setFilter();
    }
  }

  /**
   * Open a socket: "auto" tries a ping socket, then a raw one. When neither is permitted,
   * throws ERR_LOCAL with NO_PERMISSION_MESSAGE.
   */
  static open(options: OpenIcmpSocketOptions): IcmpSocket {
    const lib = loadIcmpAddon();
    const kinds: IcmpSocketKind[] = options.kind === undefined || options.kind === "auto" ? ["dgram", "raw"] : [options.kind];
    let last: unknown;
    for (const k of kinds) {
      try {
        return new IcmpSocket(options.family, k, lib, options.echoId, options.source);
      } catch (err) {
        last = err;
        const code = errorCode(err);
        if (code === "EADDRNOTAVAIL") throw new WirekitError("ERR_LOCAL", `cannot bind to ${options.source ?? "the source address"}: not an address of this host`, { cause: err });
        if (code === "EADDRINUSE") throw new WirekitError("ERR_LOCAL", `echo identifier ${options.echoId} is in use by another ping socket`, { cause: err });
        if (code !== "EACCES" && code !== "EPERM" && code !== "EPROTONOSUPPORT" && code !== "EAFNOSUPPORT") break;
      }
    }
    const code = errorCode(last);
    if (code === "EACCES" || code === "EPERM") throw new WirekitError("ERR_LOCAL", NO_PERMISSION_MESSAGE, { cause: last });
    throw new WirekitError("ERR_LOCAL", `cannot open an ICMP socket: ${last instanceof Error ? last.message : String(last)}`, { cause: last });
  }

  /** Send raw ICMP bytes; returns CLOCK_REALTIME ns read just before sendto(). Throws with `.code`. */
  send(bytes: Buffer, address: string): bigint {
    return this.#sock.send(bytes, address);
  }

  /** Set the TTL (IPv4) or unicast hop limit (IPv6) of the packets sent from now on. */
  setTtl(ttl: number): void {
    if (this.family === 4) this.#sock.setOption(this.#const("IPPROTO_IP"), this.#const("IP_TTL"), ttl);
    else this.#sock.setOption(this.#const("IPPROTO_IPV6"), this.#const("IPV6_UNICAST_HOPS"), ttl);
  }

  /** Set the TOS byte (IPv4) or traffic class (IPv6) of the packets sent from now on (ping -Q). */
  setTos(tos: number): void {
    if (this.family === 4) this.#sock.setOption(this.#const("IPPROTO_IP"), this.#const("IP_TOS"), tos);
    else this.#sock.setOption(this.#const("IPPROTO_IPV6"), this.#const("IPV6_TCLASS"), tos);
  }

  /**
   * Path-MTU discovery (ping -M). With "do" the kernel sets DF and refuses a datagram above the
   * path MTU with EMSGSIZE; the error queue is turned on so that refusal also reports the MTU.
   */
  setPmtuDiscovery(mode: PmtuMode): void {
    const value = mode === "do" ? this.#const("IP_PMTUDISC_DO") : mode === "dont" ? this.#const("IP_PMTUDISC_DONT") : PMTUDISC_WANT;
    if (this.family === 4) {
      this.#sock.setOption(this.#const("IPPROTO_IP"), this.#const("IP_MTU_DISCOVER"), value);
      this.#sock.setOption(this.#const("IPPROTO_IP"), IP_RECVERR, 1);
    } else {
      this.#sock.setOption(this.#const("IPPROTO_IPV6"), this.#const("IPV6_MTU_DISCOVER"), value);
      this.#sock.setOption(this.#const("IPPROTO_IPV6"), IPV6_RECVERR, 1);
    }
  }

  /** Set SO_RCVBUF (the kernel doubles it). */
  setReceiveBuffer(bytes: number): void {
    this.#sock.setOption(this.#const("SOL_SOCKET"), this.#const("SO_RCVBUF"), bytes);
  }

  /** Keep the process alive while open (the default). */
  ref(): void {
    if (!this.#closed) this.#sock.ref();
  }

  /** Let the process exit while the socket is open. */
  unref(): void {
    if (!this.#closed) this.#sock.unref();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #const(name: string): number {
    const v = this.#c[name];
    if (v === undefined) throw new WirekitError("ERR_LOCAL", `ICMP addon lacks constant ${name}`);
    return v;
  }

  /**
   * A raw socket sees every ICMP packet of the host (other pings' replies, our own requests on
   * loopback): let the kernel drop all but echo replies and errors (bit set = drop).
   */
  #setFilter(): void {
    const le = endianness() === "LE";
    if (this.family === 4) {
      const keep = [ICMP.ECHO_REPLY, ICMP.DEST_UNREACH, ICMP.SOURCE_QUENCH, ICMP.REDIRECT, ICMP.TIME_EXCEEDED, ICMP.PARAM_PROBLEM];
      let mask = 0xffffffff;
      for (const t of keep) mask &= ~(1 << t);
      const b = Buffer.alloc(4);
      if (le) b.writeUInt32LE(mask >>> 0);
      else b.writeUInt32BE(mask >>> 0);
      this.#sock.setOption(this.#const("SOL_RAW"), this.#const("ICMP_FILTER"), b);
    } else {
      const keep = [ICMP6.DEST_UNREACH, ICMP6.PACKET_TOO_BIG, ICMP6.TIME_EXCEEDED, ICMP6.PARAM_PROBLEM, ICMP6.ECHO_REPLY];
      const words = new Array<number>(8).fill(0xffffffff);
      for (const t of keep) words[t >> 5] = ((words[t >> 5] ?? 0) & ~(1 << (t & 31))) >>> 0;
      const b = Buffer.alloc(32);
      words.forEach((w, i) => (le ? b.writeUInt32LE(w >>> 0, i * 4) : b.writeUInt32BE(w >>> 0, i * 4)));
      this.#sock.setOption(this.#const("IPPROTO_ICMPV6"), this.#const("ICMP6_FILTER"), b);
    }
  }

  #decode(buf: Buffer, from: string, ttl: number, rxNs: bigint, userNs: bigint, err: NativeError | null): IcmpReceived {
    const base = { from, rxNs, userNs, ...(ttl >= 0 ? { ttl } : {}) };
    if (err !== null) {
      const q: QueuedIcmpError = { origin: err.origin, type: err.type, code: err.code, info: err.info };
      const m = decodeQueuedError(this.family, q, buf);
      if (m === undefined && err.origin === 1) return { kind: "local-error", from, errno: err.errno, info: err.info };
      if (m === undefined) return { kind: "invalid", from, bytes: buf.length, reason: `local error (errno ${err.errno})` };
      return { kind: "message", message: m, bytes: buf.length, ...base };
    }
    if (this.family === 4 && this.kind === "raw") {
      const r = decodeIpv4Icmp(buf);
      if (!r.ok) return { kind: "invalid", from, bytes: buf.length, reason: r.error.reason };
      return { kind: "message", message: r.value.message, bytes: r.value.icmpLength, ...base, ttl: r.value.ip.ttl };
    }
    const r = decodeIcmp(this.family, buf);
    if (!r.ok) return { kind: "invalid", from, bytes: buf.length, reason: r.error.reason };
    return { kind: "message", message: r.value, bytes: buf.length, ...base };
  }
}

function errorCode(err: unknown): string {
  return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : "";
}

/**
 * Classic BPF programs (the kernel's socket filters, SO_ATTACH_FILTER) for the raw TCP and UDP
 * sockets of traceroute -T and -U. Such a socket gets a copy of every segment of its protocol the
 * host receives; a busy host's other traffic fills its queue, and the one answer a probe waits
 * for is dropped with the rest. A filter makes the kernel keep only the segments the prober can
 * use. Pure: the program is bytes, attached by the addon.
 *
 * The instruction format is `struct sock_filter` (linux/filter.h): a 16-bit opcode, two 8-bit
 * jump offsets (counted from the next instruction) and a 32-bit constant, in the machine's byte
 * order. What the program sees: on an IPv4 raw socket the packet from its IP header; on an IPv6
 * raw socket from the transport header (RFC 3542 §3: no IPv6 header is delivered).
 */
import { endianness } from "node:os";
import type { IpFamily } from "../core/address.js";

/** The opcodes used here (linux/filter.h, linux/bpf_common.h). */
const OP = {
  /** X = 4 * (P[k] & 0xf): the IPv4 header length. BPF_LDX | BPF_B | BPF_MSH */
  ldxIpHeaderLength: 0xb1,
  /** X = k. BPF_LDX | BPF_W | BPF_IMM */
  ldxImmediate: 0x01,
  /** A = the 16 bits at P[X + k]. BPF_LD | BPF_H | BPF_IND */
  ldhIndexed: 0x48,
  /** if A == k skip jt else skip jf. BPF_JMP | BPF_JEQ | BPF_K */
  jeq: 0x15,
  /** accept k bytes (0: drop). BPF_RET | BPF_K */
  ret: 0x06,
} as const;

/** Accept the whole packet (more than any IP packet holds). */
const WHOLE = 0x40000;

type Instruction = readonly [code: number, jt: number, jf: number, k: number];

/** The instructions as `struct sock_filter` bytes in this machine's order. */
export function encodeFilter(program: readonly Instruction[], littleEndian = endianness() === "LE"): Buffer {
  const out = Buffer.alloc(program.length * 8);
  const v = new DataView(out.buffer, out.byteOffset, out.length);
  program.forEach(([code, jt, jf, k], i) => {
    v.setUint16(i * 8, code, littleEndian);
    v.setUint8(i * 8 + 2, jt);
    v.setUint8(i * 8 + 3, jf);
    v.setUint32(i * 8 + 4, k >>> 0, littleEndian);
  });
  return out;
}

/**
 * Keep only TCP or UDP packets from port `srcPort` to port `dstPort` (both in the transport
 * header's first four bytes, which TCP and UDP share). Ports are of the packet as received: for
 * the answer to a probe sent from port P to port Q, `srcPort` is Q and `dstPort` is P.
 *
 * @example
 * sock.attachFilter(portFilter(4, 80, 40123)); // only segments 80 -> 40123
 */
export function portFilter(family: IpFamily, srcPort: number, dstPort: number): Buffer {
  return encodeFilter([
    // X = where the transport header starts.
    family === 4 ? [OP.ldxIpHeaderLength, 0, 0, 0] : [OP.ldxImmediate, 0, 0, 0],
    [OP.ldhIndexed, 0, 0, 0],
    [OP.jeq, 0, 3, srcPort],
    [OP.ldhIndexed, 0, 0, 2],
    [OP.jeq, 0, 1, dstPort],
    [OP.ret, 0, 0, WHOLE],
    [OP.ret, 0, 0, 0],
  ]);
}

/** Keep nothing: for a raw socket used only to send (its copies of the host's traffic are never read). */
export function dropAllFilter(): Buffer {
  return encodeFilter([[OP.ret, 0, 0, 0]]);
}

/**
 * What `program` decides for `packet`, by the kernel's rules for the instructions above (an
 * interpreter for tests: it answers the bytes to keep, 0 for a drop, undefined for an
 * instruction it does not know or a read past the packet's end, which the kernel drops too).
 */
export function runFilter(program: Buffer, packet: Uint8Array, littleEndian = endianness() === "LE"): number | undefined {
  const v = new DataView(program.buffer, program.byteOffset, program.length);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc * 8 < program.length; pc++) {
    const code = v.getUint16(pc * 8, littleEndian);
    const jt = v.getUint8(pc * 8 + 2);
    const jf = v.getUint8(pc * 8 + 3);
    const k = v.getUint32(pc * 8 + 4, littleEndian);
    switch (code) {
      case OP.ldxIpHeaderLength:
        if (k >= packet.length) return 0;
        x = 4 * ((packet[k] ?? 0) & 0xf);
        break;
      case OP.ldxImmediate:
        x = k;
        break;
      case OP.ldhIndexed:
        if (x + k + 2 > packet.length) return 0;
        a = ((packet[x + k] ?? 0) << 8) | (packet[x + k + 1] ?? 0);
        break;
      case OP.jeq:
        pc += a === k ? jt : jf;
        break;
      case OP.ret:
        return Math.min(k, packet.length);
      default:
        return undefined;
    }
  }
  return undefined;
}

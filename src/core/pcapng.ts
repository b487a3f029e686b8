/**
 * The pcapng capture format (draft-ietf-opsawg-pcapng), pure: the three blocks `--pcap` writes.
 *
 * - Section Header Block (type 0x0A0D0D0A): byte-order magic 0x1A2B3C4D, version 1.0, section
 *   length -1 (not known in advance), and shb_userappl naming the writer.
 * - Interface Description Block (type 1): the link type (LINKTYPE_RAW = 101: each packet starts
 *   with its IPv4 or IPv6 header), snap length, if_name, and if_tsresol 6 (microseconds).
 * - Enhanced Packet Block (type 6): interface 0, a 64-bit timestamp in microseconds split in
 *   two 32-bit halves, captured and original length, the packet padded to 32 bits, and the
 *   packet's opt_comment: the decision the tool took on it.
 *
 * Every block is written little-endian, starts and ends with its total length, and pads each
 * option value to 32 bits; an option list ends with opt_endofopt.
 */

export const LINKTYPE_RAW = 101;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** One option: code, length, value padded to a multiple of 4. */
function option(code: number, value: Buffer): Buffer {
  const b = Buffer.alloc(4 + pad4(value.length));
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** The options area: the options, then opt_endofopt; empty when there are none. */
function options(list: Buffer[]): Buffer {
  return list.length === 0 ? Buffer.alloc(0) : Buffer.concat([...list, Buffer.alloc(4)]);
}

/** A block: type, total length, body, total length again. */
function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  b.writeUInt32LE(total, total - 4);
  return b;
}

/** Option values are UTF-8; one longer than an option can hold (65535 bytes) is cut. */
function utf8(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  return b.length > 0xfffc ? b.subarray(0, 0xfffc) : b;
}

/**
 * A Section Header Block.
 *
 * @example
 * encodeSectionHeader("wirekit").readUInt32LE(8) // 0x1a2b3c4d
 */
export function encodeSectionHeader(application: string): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  fixed.writeUInt16LE(1, 4); // major version
  fixed.writeUInt16LE(0, 6); // minor version
  fixed.writeBigInt64LE(-1n, 8); // section length: unspecified
  return block(0x0a0d0d0a, Buffer.concat([fixed, options([option(4, utf8(application))])]));
}

/** An Interface Description Block; its index in the section is the order it was written. */
export function encodeInterfaceDescription(linkType: number, name: string, snapLength = 0): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16LE(linkType, 0);
  fixed.writeUInt32LE(snapLength, 4);
  return block(1, Buffer.concat([fixed, options([option(2, utf8(name)), option(9, Buffer.from([6]))])]));
}

export interface PcapPacket {
  /** Microseconds since the Unix epoch. */
  timestampUs: bigint;
  data: Uint8Array;
  /** Length on the wire when `data` is cut. @default data.length */
  originalLength?: number;
  /** opt_comment: what the tool decided about this packet. */
  comment?: string;
  /** @default 0 */
  interfaceId?: number;
}

/**
 * An Enhanced Packet Block.
 *
 * @example
 * encodeEnhancedPacket({ timestampUs: 1n, data: Buffer.alloc(28), comment: "late reply for seq 3" }).readUInt32LE(0) // 6
 */
export function encodeEnhancedPacket(p: PcapPacket): Buffer {
  const fixed = Buffer.alloc(20);
  fixed.writeUInt32LE(p.interfaceId ?? 0, 0);
  fixed.writeUInt32LE(Number(p.timestampUs >> 32n) >>> 0, 4);
  fixed.writeUInt32LE(Number(p.timestampUs & 0xffffffffn) >>> 0, 8);
  fixed.writeUInt32LE(p.data.length, 12);
  fixed.writeUInt32LE(p.originalLength ?? p.data.length, 16);
  const data = Buffer.alloc(pad4(p.data.length));
  data.set(p.data, 0);
  const opts = p.comment === undefined || p.comment === "" ? [] : [option(1, utf8(p.comment))];
  return block(6, Buffer.concat([fixed, data, options(opts)]));
}

/** A decoded block, for tests and tools that read what we wrote. */
export interface PcapBlock {
  type: number;
  body: Buffer;
}

/** Split a little-endian pcapng byte string into its blocks; throws on a malformed length. */
export function splitBlocks(b: Buffer): PcapBlock[] {
  const out: PcapBlock[] = [];
  for (let off = 0; off + 12 <= b.length; ) {
    const type = b.readUInt32LE(off);
    const len = b.readUInt32LE(off + 4);
    if (len < 12 || len % 4 !== 0 || off + len > b.length || b.readUInt32LE(off + len - 4) !== len) throw new Error(`pcapng: bad block length at offset ${off}`);
    out.push({ type, body: b.subarray(off + 8, off + len - 4) });
    off += len;
  }
  return out;
}

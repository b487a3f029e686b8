/**
 * A pcapng file being written (`--pcap FILE`): the section and interface headers at once, then
 * one Enhanced Packet Block per packet with its real time and, when the tool took a decision on
 * it, that decision as the packet comment.
 *
 * A decision often comes after the packet: a reply is judged the moment it is read, a timeout
 * marks a request sent a second earlier. So packets wait in a queue where they can still be
 * annotated, and are written (synchronously, so the file is valid after Ctrl-C or a crash):
 * - `live` (servers): at the end of the current batch of work (a microtask later);
 * - `holdMs` (clients): once they are older than that (the longest a decision can take), and
 *   all of them on close.
 * `close()` is idempotent; every exit path must reach it.
 *
 * `maxBytes` bounds the file (a server may run for days): the packet that would pass the bound
 * is written cut to its headers, with a comment saying the capture stops there, and nothing is
 * queued after it (`full`); the tool keeps running.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { WirekitError } from "./errors.js";
import { encodeEnhancedPacket, encodeInterfaceDescription, encodeSectionHeader, LINKTYPE_RAW } from "./pcapng.js";
import type { Clock } from "./clock.js";

/** A packet in the queue; its comment may still be set until it is written. */
export interface CapturedPacket {
  readonly data: Buffer;
  readonly atMonotonic: number;
  comment?: string;
}

export interface PcapFileOptions {
  clock: Clock;
  /** Interface name in the file (if_name). */
  name: string;
  /** Write each batch at the end of the current tick (servers). @default false */
  live?: boolean;
  /** Keep packets annotatable this long before writing them (clients). @default Infinity */
  holdMs?: number;
  /** Stop capturing once the file would pass this size, in bytes. @default Infinity */
  maxBytes?: number;
}

/** What the last packet of a full file keeps: its IP and TCP/UDP headers. */
const CUT_TO = 60;
/** Room kept under `maxBytes` for that last packet and its comment. */
const LAST_PACKET_ROOM = 512;

export class PcapFile {
  readonly path: string;
  #fd: number | undefined;
  readonly #queue: CapturedPacket[] = [];
  readonly #clock: Clock;
  readonly #wall0: number;
  readonly #mono0: number;
  readonly #live: boolean;
  readonly #holdMs: number;
  readonly #maxBytes: number;
  #scheduled = false;
  #written = 0;
  #bytes = 0;
  #full = false;

  /** Create (or truncate) `path` and write the headers; an ERR_LOCAL error when it cannot be written. */
  constructor(path: string, options: PcapFileOptions) {
    this.path = path;
    this.#clock = options.clock;
    this.#wall0 = options.clock.now();
    this.#mono0 = options.clock.monotonic();
    this.#live = options.live === true;
    this.#holdMs = options.holdMs ?? Infinity;
    this.#maxBytes = options.maxBytes ?? Infinity;
    try {
      this.#fd = openSync(path, "w");
      const head = Buffer.concat([encodeSectionHeader("wirekit"), encodeInterfaceDescription(LINKTYPE_RAW, options.name)]);
      writeSync(this.#fd, head);
      this.#bytes = head.length;
    } catch (err) {
      if (this.#fd !== undefined) closeSync(this.#fd);
      this.#fd = undefined;
      throw new WirekitError("ERR_LOCAL", `--pcap: cannot write '${path}': ${(err as NodeJS.ErrnoException).code ?? "error"}`, { cause: err });
    }
  }

  /** Packets written so far (queued ones not counted). */
  get written(): number {
    return this.#written;
  }

  get closed(): boolean {
    return this.#fd === undefined;
  }

  /** The file reached `maxBytes`: packets added now are not written (a tool may skip building them). */
  get full(): boolean {
    return this.#full;
  }

  /** Bytes in the file so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queue a packet (a whole IP packet, LINKTYPE_RAW); returns it so a later decision can annotate it. */
  add(data: Buffer, comment?: string): CapturedPacket {
    const p: CapturedPacket = { data, atMonotonic: this.#clock.monotonic(), ...(comment === undefined ? {} : { comment }) };
    if (this.#fd === undefined || this.#full) return p;
    this.#queue.push(p);
    if (this.#live) {
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => {
          this.#scheduled = false;
          this.flush();
        });
      }
    } else if (this.#holdMs !== Infinity) this.flush(p.atMonotonic - this.#holdMs);
    return p;
  }

  /** Add `text` to a packet's comment (joined with "; "); ignored once the packet is written. */
  static annotate(p: CapturedPacket | undefined, text: string | undefined): void {
    if (p === undefined || text === undefined || text === "") return;
    p.comment = p.comment === undefined ? text : `${p.comment}; ${text}`;
  }

  /** Write the queued packets captured before `olderThan` (monotonic ms; all by default). */
  flush(olderThan = Infinity): void {
    if (this.#fd === undefined) return;
    let n = 0;
    while (n < this.#queue.length && (this.#queue[n]?.atMonotonic ?? 0) <= olderThan) n++;
    if (n === 0) return;
    const out: Buffer[] = [];
    let size = 0;
    for (const p of this.#queue.splice(0, n)) {
      if (this.#full) break;
      const us = BigInt(Math.round((this.#wall0 + (p.atMonotonic - this.#mono0)) * 1000));
      let block = encodeEnhancedPacket({ timestampUs: us, data: p.data, ...(p.comment === undefined ? {} : { comment: p.comment }) });
      if (this.#bytes + size + block.length > this.#maxBytes - LAST_PACKET_ROOM) {
        this.#full = true;
        this.#queue.length = 0;
        const comment = `capture stopped: the file reached its bound of ${this.#maxBytes} bytes (--pcap-max-bytes); the tool went on without capturing`;
        block = encodeEnhancedPacket({ timestampUs: us, data: p.data.subarray(0, CUT_TO), originalLength: p.data.length, comment: p.comment === undefined ? comment : `${p.comment}; ${comment}` });
      }
      out.push(block);
      size += block.length;
    }
    if (out.length === 0) return;
    writeSync(this.#fd, out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, size));
    this.#written += out.length;
    this.#bytes += size;
  }

  /** Write what is queued and close the file. Safe to call more than once. */
  close(): void {
    if (this.#fd === undefined) return;
    try {
      this.flush();
    } finally {
      closeSync(this.#fd);
      this.#fd = undefined;
    }
  }
}

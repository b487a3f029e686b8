/**
 * `--pcap FILE` for the CLI: open the capture before the tool starts (so a bad path is one
 * line and exit 2 before anything is sent), close it on every way out, say what was written.
 */
import type { Clock } from "../core/clock.js";
import { PcapFile } from "../core/pcap-file.js";
import { IcmpCapture, TcpCapture, TcpServerCapture, UdpCapture, type ResponseDecider } from "../render/pcap.js";
import type { CliContext } from "./context.js";

export interface OpenCapture {
  capture: UdpCapture;
  /** Close the file and, when it holds packets, say so on stderr (a startup error stays one line); safe to call more than once. */
  close(): void;
}

/**
 * Open `path` for a UDP tool. `holdMs`: how long a decision about a packet can come after it
 * (a client's timeout); servers write each batch as it is handled (`live`).
 */
export function openUdpCapture(path: string, ctx: CliContext, name: string, options: { holdMs?: number; live?: boolean; keepSent?: boolean }): OpenCapture {
  const clock: Clock = ctx.clock;
  const file = new PcapFile(path, { clock, name, ...(options.live ? { live: true } : {}), ...(options.holdMs === undefined ? {} : { holdMs: options.holdMs }) });
  return { capture: new UdpCapture(file, { keepSent: options.keepSent === true }), close: closer(file, path, ctx) };
}

/** Open `path` for a TCP client: its connections' packets are written at exit. */
export function openTcpCapture(path: string, ctx: CliContext, name: string): { capture: TcpCapture; close(): void } {
  const file = new PcapFile(path, { clock: ctx.clock, name });
  return { capture: new TcpCapture(file), close: closer(file, path, ctx) };
}

/** What `--pcap-max-bytes` is when not given: a server's capture stops at this size. */
export const SERVER_PCAP_MAX_BYTES = 100 * 1024 * 1024;

/**
 * Open `path` for a TCP server (`http serve`, `proxy`): written while it serves (each batch at
 * the end of its tick), bounded by `maxBytes` (0 = no bound), each response's decision from `decide`.
 */
export function openTcpServerCapture(path: string, ctx: CliContext, name: string, decide: ResponseDecider, maxBytes = SERVER_PCAP_MAX_BYTES): { capture: TcpServerCapture; close(): void } {
  const file = new PcapFile(path, { clock: ctx.clock, name, live: true, ...(maxBytes > 0 ? { maxBytes } : {}) });
  const capture = new TcpServerCapture(file, decide);
  const close = closer(file, path, ctx);
  return {
    capture,
    close: () => {
      capture.finish();
      close();
    },
  };
}

/**
 * Open `path` for ping and traceroute: packets are written at exit, or once older than `holdMs`
 * (mtr, which may run for days).
 */
export function openIcmpCapture(path: string, ctx: CliContext, name: string, options: { holdMs?: number } = {}): { capture: IcmpCapture; close(): void } {
  const file = new PcapFile(path, { clock: ctx.clock, name, ...(options.holdMs === undefined ? {} : { holdMs: options.holdMs }) });
  return { capture: new IcmpCapture(file), close: closer(file, path, ctx) };
}

function closer(file: PcapFile, path: string, ctx: CliContext): () => void {
  return () => {
    if (file.closed) return;
    file.close();
    if (file.written > 0) ctx.stderr.write(`pcap written to ${path} (${file.written} packet${file.written === 1 ? "" : "s"}${file.full ? ", stopped at --pcap-max-bytes" : ""})\n`);
  };
}

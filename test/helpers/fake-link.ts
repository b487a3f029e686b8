/**
 * A fake UDP link (core/udp-socket's DatagramLink) on fake time: the test scripts what the
 * "server" answers to each datagram, and when, so clients run without sockets or real timers.
 */
import type { FakeClock } from "../../src/core/clock.js";
import type { DatagramLink, OpenDatagramLink } from "../../src/core/udp-socket.js";

export interface ScriptedAnswer {
  afterMs: number;
  bytes: Buffer | string;
  /** Source of the answer. @default the server */
  from?: { address: string; port: number };
}

export class FakeLinks {
  readonly sent: Array<{ to: string; bytes: Buffer; at: number }> = [];
  closed = 0;
  constructor(readonly clock: FakeClock, readonly script: (bytes: Buffer, server: { address: string; port: number }) => ScriptedAnswer[]) {}

  /** Pass as the client's `link` option. */
  readonly open: OpenDatagramLink = async (server) => {
    const listeners = new Set<(msg: Buffer, from: { address: string; port: number }) => void>();
    const link: DatagramLink = {
      local: { address: "0.0.0.0", port: 40000 + this.sent.length },
      send: (bytes) => {
        this.sent.push({ to: `${server.address}:${server.port}`, bytes: Buffer.from(bytes), at: this.clock.monotonic() });
        for (const a of this.script(Buffer.from(bytes), server)) {
          this.clock.setTimeout(() => {
            for (const l of listeners) l(Buffer.from(a.bytes), a.from ?? { address: server.address, port: server.port });
          }, a.afterMs);
        }
      },
      onMessage: (fn) => {
        listeners.add(fn);
        return () => listeners.delete(fn);
      },
      close: async () => {
        this.closed++;
      },
    };
    return link;
  };
}

/** Let the client's promises run, then move fake time on, until `done` settles. */
export async function driveFakeTime<T>(clock: FakeClock, done: Promise<T>, stepMs = 10, maxSteps = 5000): Promise<T> {
  let settled = false;
  void done.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < maxSteps && !settled; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(stepMs);
  }
  return done;
}

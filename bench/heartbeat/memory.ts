/**
 * Run with `node --expose-gc memory.js CLIENTS [keys]`: bytes per tracked client, measured as
 * the delta of the heap and of ArrayBuffer memory after CLIENTS clients have each sent a few heartbeats (with a gap, a late
 * one and a duplicate, so every structure is in use), divided by the number of clients. With
 * `keys` every client has a secret and signs its heartbeats (mac=); the key table and the
 * anti-replay state are then part of the delta, as they are of a monitor run with --keys.
 * Prints one JSON line.
 */
import { FakeClock } from "../../src/core/clock.js";
import { HeartbeatMonitor } from "../../src/udp/heartbeat/monitor.js";
import { encodeHeartbeat } from "../../src/udp/heartbeat/protocol.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
const N = Number(process.argv[2] ?? 10_000);
const keyed = process.argv[3] === "keys";
const clock = new FakeClock();
const idOf = (i: number): string => `node-${String(i).padStart(6, "0")}.cluster.example`;
const secretOf = (i: number): string => `secret-${i}-0123456789abcdef`;
const datagrams: Buffer[][] = [];
for (const seq of [1, 2, 4, 5, 3, 3]) {
  datagrams.push(Array.from({ length: N }, (_, i) => encodeHeartbeat({ seq, timestamp: clock.now() / 1000 + seq, id: idOf(i), run: "0123abcd" }, keyed ? secretOf(i) : undefined)));
}
const measure = (): number => {
  gc();
  gc();
  // Typed arrays (the client table's index and links, the key midstates) live outside the JS
  // heap: their ArrayBuffers count too.
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const before = measure();
const keys = keyed ? new Map(Array.from({ length: N }, (_, i) => [idOf(i), secretOf(i)] as const)) : undefined;
const monitor = new HeartbeatMonitor({ clock, reply: false, maxClients: 1_000_000, ...(keys === undefined ? {} : { keys, keysRequired: true }) });
for (const batch of datagrams) {
  clock.advance(1000);
  batch.forEach((d, i) => monitor.ingest(d, "10.1.2.3", 20000 + (i % 40000)));
}
const afterHeap = measure();
if (monitor.size !== N) throw new Error(`tracked ${monitor.size}`);
const t = monitor.totals();
console.log(JSON.stringify({ clients: N, keyed, bytesPerClient: (afterHeap - before) / N, lost: t.lost, refused: t.refused }));

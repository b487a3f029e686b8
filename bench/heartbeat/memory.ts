/**
 * Run with `node --expose-gc`: heap bytes per tracked client, measured as the heap delta after
 * 10 000 clients have each sent a few heartbeats (with a gap, a late one and a duplicate, so
 * every structure is in use), divided by the number of clients. Prints one JSON line.
 */
import { FakeClock } from "../../src/core/clock.js";
import { HeartbeatMonitor } from "../../src/udp/heartbeat/monitor.js";
import { encodeHeartbeat } from "../../src/udp/heartbeat/protocol.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
const N = Number(process.argv[2] ?? 10_000);
const clock = new FakeClock();
const monitor = new HeartbeatMonitor({ clock, reply: false, maxClients: 1_000_000 });
const datagrams: Buffer[][] = [];
for (const seq of [1, 2, 4, 5, 3, 3]) {
  datagrams.push(Array.from({ length: N }, (_, i) => encodeHeartbeat({ seq, timestamp: clock.now() / 1000 + seq, id: `node-${String(i).padStart(5, "0")}.cluster.example`, run: "0123abcd" })));
}
const measure = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const before = measure();
for (const batch of datagrams) {
  clock.advance(1000);
  batch.forEach((d, i) => monitor.ingest(d, "10.1.2.3", 20000 + (i % 40000)));
}
const afterHeap = measure();
if (monitor.size !== N) throw new Error(`tracked ${monitor.size}`);
console.log(JSON.stringify({ clients: N, bytesPerClient: (afterHeap - before) / N, lost: monitor.totals().lost }));

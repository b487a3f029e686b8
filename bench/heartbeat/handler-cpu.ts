/**
 * Run with `node handler-cpu.js [keys]`: the CPU the monitor's own code spends per heartbeat on
 * its socket path, without the sockets, so two builds can be compared on a busy machine (the
 * kernel's part, about half of the whole, is the same for both and is what makes a flood's
 * figures swing). 100 000 clients each send one heartbeat a round; a fake port that copies what
 * it sends (as the addon's does) hands them to the monitor's handler, 64 to a Buffer as the
 * addon delivers them. Rounds 5-12 are timed (process.cpuUsage); prints one JSON line with the
 * median and the best round, in µs per heartbeat. Not part of `npm run bench -- heartbeat`.
 */
import type { DatagramPort, DatagramHandler } from "../../src/core/datagram-port.js";
import { FakeClock } from "../../src/core/clock.js";
import { HeartbeatMonitor } from "../../src/udp/heartbeat/monitor.js";
import { encodeHeartbeat } from "../../src/udp/heartbeat/protocol.js";

const N = 100_000;
const ROUNDS = 12;
const keyed = process.argv[2] === "keys";
const clock = new FakeClock(1_764_000_000_000);
const secretOf = (i: number): string => `bench-secret-${i}`;
const keys = keyed ? new Map(Array.from({ length: N }, (_, i) => [`c${i}`, secretOf(i)] as const)) : undefined;
const monitor = new HeartbeatMonitor({ clock, maxClients: N, deadAfterMs: 3000, ...(keys === undefined ? {} : { keys, keysRequired: true }) });
monitor.heartbeatEvents = false;
monitor.on("event", () => {});
let handler: DatagramHandler = () => {};
let replies = 0;
const port: DatagramPort = {
  address: "127.0.0.1",
  port: 1,
  family: 4,
  kind: "batch",
  sendCopies: true,
  onMessage: (h) => (handler = h),
  send: () => void replies++,
  close: () => Promise.resolve(),
};
monitor.start(port);
const perHeartbeat: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const batches: Array<{ data: Buffer; at: number[] }> = [];
  for (let i = 0; i < N; i += 64) {
    const part = Array.from({ length: Math.min(64, N - i) }, (_, j) => encodeHeartbeat({ seq: round, timestamp: clock.now() / 1000 - 0.0005, id: `c${i + j}`, run: "bench" }, keyed ? secretOf(i + j) : undefined));
    const at = [0];
    for (const d of part) at.push((at.at(-1) ?? 0) + d.length);
    batches.push({ data: Buffer.concat(part), at });
  }
  clock.advance(1000); // also runs the sweeps due, outside the timed part
  const before = process.cpuUsage();
  let k = 0;
  for (const { data, at } of batches) {
    for (let j = 0; j + 1 < at.length; j++, k++) handler(data.subarray(at[j], at[j + 1]), "127.0.0.1", 40000 + (k % 1024), false);
  }
  const used = process.cpuUsage(before);
  if (round > 4) perHeartbeat.push((used.user + used.system) / N);
}
await monitor.close();
perHeartbeat.sort((a, b) => a - b);
const t = monitor.totals();
if (t.heartbeats !== N * ROUNDS || replies !== N * ROUNDS) throw new Error(`${t.heartbeats} heartbeats, ${replies} replies, ${t.refused} refused`);
console.log(JSON.stringify({ clients: N, keyed, medianUs: Number((perHeartbeat[perHeartbeat.length >> 1] ?? 0).toFixed(3)), bestUs: Number((perHeartbeat[0] ?? 0).toFixed(3)) }));

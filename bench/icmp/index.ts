/**
 * `npm run bench -- icmp`: the two ICMP benchmarks, one after the other.
 * - ./rtt.ts: RTT fidelity, the median loopback RTT of wirekit ping beside iputils ping's;
 * - ./many.ts: many targets, wirekit ping on 200 targets beside fping (wall time, CPU per probe).
 * BENCH_ICMP=rtt or BENCH_ICMP=many runs one of them; BENCH_TARGETS, BENCH_PROBES, BENCH_COUNT
 * and BENCH_ROUNDS shrink a run (a quick check that the bench starts).
 */
import { run as runRtt } from "./rtt.js";
import { run as runMany } from "./many.js";

export const title = "ICMP ping: loopback RTT vs iputils ping, and 200 targets vs fping";

export async function run(): Promise<void> {
  const only = process.env.BENCH_ICMP;
  if (only !== undefined && only !== "rtt" && only !== "many") throw new Error(`BENCH_ICMP must be rtt or many, not '${only}'`);
  if (only !== "many") {
    console.log("\n--- RTT fidelity: wirekit ping vs iputils ping");
    await runRtt();
  }
  if (only !== "rtt") {
    console.log("\n--- many targets: wirekit ping vs fping");
    await runMany();
  }
}

/**
 * RTT fidelity: the median loopback RTT `wirekit ping` reports beside the one iputils `ping`
 * reports in the same run (200 echoes at 10 ms intervals each, alternating, several rounds).
 * Both take the kernel receive timestamp minus the time read just before sendto(), so the ratio
 * shows how much our path adds. Target: within 1.5× of iputils. Needs root (or ping sockets).
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const COUNT = Number(process.env.BENCH_COUNT ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout) => {
      // ping exits 1 when some replies are missing; the figures are still there.
      if (err !== null && stdout === "") reject(err);
      else resolve(stdout);
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

function findPing(): string | undefined {
  return ["/usr/bin/ping", "/bin/ping"].find((p) => existsSync(p));
}

async function iputils(ping: string, host: string): Promise<number[]> {
  const out = await exec(ping, ["-n", "-c", String(COUNT), "-i", "0.01", "-W", "1", host]);
  return [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

async function wirekit(host: string): Promise<number[]> {
  const out = await exec(process.execPath, [BIN, "ping", host, "-n", String(COUNT), "-i", "0.01", "--json"]);
  const doc = JSON.parse(out) as { pings: Array<{ rtt_ms: number | null; status: string }> };
  return doc.pings.flatMap((p) => (p.status === "reply" && p.rtt_ms !== null ? [p.rtt_ms] : []));
}


export async function run(): Promise<void> {
  let ping = findPing();
  if (ping === undefined) {
    console.log("installing iputils-ping (apt-get) ...");
    try {
      execFileSync("apt-get", ["install", "-y", "-qq", "iputils-ping"], { stdio: "ignore" });
    } catch {
      execFileSync("apt-get", ["update", "-qq"], { stdio: "ignore" });
      execFileSync("apt-get", ["install", "-y", "-qq", "iputils-ping"], { stdio: "ignore" });
    }
    ping = findPing();
  }
  if (ping === undefined) {
    console.log("iputils ping is not available; cannot compare");
    return;
  }
  for (const host of ["127.0.0.1", "::1"]) {
    const ours: number[] = [];
    const ref: number[] = [];
    console.log(`\n${host}: ${ROUNDS} rounds of ${COUNT} echoes at 10 ms, alternating`);
    console.log("round  wirekit median  iputils median  (ms)");
    for (let r = 1; r <= ROUNDS; r++) {
      // Alternate who goes first so drift in machine load hits both alike.
      const first = r % 2 === 1;
      const a = first ? await wirekit(host) : await iputils(ping, host);
      const b = first ? await iputils(ping, host) : await wirekit(host);
      const w = first ? a : b;
      const i = first ? b : a;
      ours.push(...w);
      ref.push(...i);
      console.log(`${String(r).padStart(5)}  ${median(w).toFixed(4).padStart(14)}  ${median(i).toFixed(4).padStart(14)}   (${w.length}/${i.length} replies)`);
    }
    const mo = median(ours);
    const mi = median(ref);
    const ratio = mo / mi;
    console.log(`all    ${mo.toFixed(4).padStart(14)}  ${mi.toFixed(4).padStart(14)}`);
    console.log(`ratio wirekit / iputils = ${ratio.toFixed(2)}x  (target <= 1.5x: ${ratio <= 1.5 ? "met" : "NOT met"})`);
  }
}

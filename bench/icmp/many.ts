/**
 * Many targets: `wirekit ping A B C ...` against fping on the same targets, in the same run.
 * 200 loopback addresses (127.0.0.1-127.0.0.200: every 127/8 address answers on lo) inside a
 * network namespace the bench creates and deletes, so no probe can leave the machine. Each tool
 * sends 3 probes per target; fping spaces its sends 1 ms apart (-i 1), so one round over the
 * targets takes targets × 1 ms, and both tools probe each target at that period (fping -p,
 * wirekit -i), wirekit sending each round at once over its one socket. Both print only the
 * per-target summary (-q).
 *
 * Figures: wall time of the whole run and CPU time (user + system, from the kernel's rusage of
 * the child) per probe. wirekit's CPU is shown as measured and minus the cost of starting Node
 * (a `wirekit --version` run), since fping is a C program that starts in a millisecond.
 * Targets (issue 15): wall time <= 1.2x fping's, CPU per probe <= 3x fping's. Needs root.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const TARGETS = Number(process.env.BENCH_TARGETS ?? 200);
const PROBES = Number(process.env.BENCH_PROBES ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SPACING_MS = 1;
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

/** What one measured run took, from python's rusage of its child (microsecond resolution). */
interface Measured {
  wallMs: number;
  cpuMs: number;
  code: number;
  stdout: string;
  stderr: string;
}

const MEASURE = `
import json, resource, subprocess, sys, time
# Before and after: the counters also hold whatever ran in this process before exec (a shim).
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t = time.monotonic()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.monotonic() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (r.ru_utime - r0.ru_utime) + (r.ru_stime - r0.ru_stime)
print(json.dumps({"wallMs": wall * 1000, "cpuMs": cpu * 1000, "code": p.returncode, "stdout": p.stdout, "stderr": p.stderr}))
`;

function measure(ns: string, cmd: string, args: string[]): Promise<Measured> {
  return new Promise((resolve, reject) => {
    execFile("ip", ["netns", "exec", ns, PYTHON, "-c", MEASURE, cmd, ...args], { timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err !== null && stdout === "") reject(err);
      else resolve(JSON.parse(stdout) as Measured);
    });
  });
}

function targets(): string[] {
  return Array.from({ length: TARGETS }, (_, i) => `127.0.${(i + 1) >> 8}.${(i + 1) & 0xff}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** Replies fping reports on stderr with -q: "127.0.0.1 : xmt/rcv/%loss = 3/3/0%, ...". */
function fpingReceived(stderr: string): number {
  return [...stderr.matchAll(/xmt\/rcv\/%loss = \d+\/(\d+)\//g)].reduce((n, m) => n + Number(m[1]), 0);
}

/** Replies in wirekit's closing table with -q: "127.0.0.1  3     3         0%    ...". */
function wirekitReceived(stdout: string): number {
  return [...stdout.matchAll(/^\S+ +\d+ +(\d+) +\d+%/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

export async function run(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("many targets: needs root (a network namespace, raw ICMP sockets); skipped");
    return;
  }
  if (!["/usr/bin/fping", "/usr/sbin/fping", "/bin/fping"].some((p) => existsSync(p))) {
    console.log("installing fping (apt-get) ...");
    execFileSync("apt-get", ["install", "-y", "-qq", "fping"], { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  }
  const ns = `wk-bench-${process.pid.toString(36)}`;
  const cleanup = (): void => {
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      // already gone
    }
  };
  process.once("exit", cleanup);
  execFileSync("ip", ["netns", "add", ns]);
  try {
    execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
    const list = targets();
    const periodMs = Math.max(2, TARGETS * SPACING_MS);
    const fpingArgs = ["-q", "-c", String(PROBES), "-i", String(SPACING_MS), "-p", String(periodMs), "-t", "1000", ...list];
    const wirekitArgs = [BIN, "ping", ...list, "-n", String(PROBES), "-i", `${periodMs}ms`, "-W", "1s", "-q"];
    console.log(`${TARGETS} targets (127.0.0.1-${list.at(-1) ?? ""}, in namespace ${ns}) x ${PROBES} probes, ${ROUNDS} alternating rounds`);
    console.log(`fping -q -c ${PROBES} -i ${SPACING_MS} -p ${periodMs} -t 1000 <targets>`);
    console.log(`wirekit ping <targets> -n ${PROBES} -i ${periodMs}ms -W 1s -q`);
    const startup = await measure(ns, process.execPath, [BIN, "--version"]);
    const probes = TARGETS * PROBES;
    const ours: Measured[] = [];
    const ref: Measured[] = [];
    console.log("round  wirekit wall  fping wall   wirekit CPU  fping CPU   replies wirekit/fping");
    for (let r = 1; r <= ROUNDS; r++) {
      // Alternate who goes first so drift in machine load hits both alike.
      const w = r % 2 === 1 ? await measure(ns, process.execPath, wirekitArgs) : undefined;
      const f = await measure(ns, "fping", fpingArgs);
      const w2 = w ?? (await measure(ns, process.execPath, wirekitArgs));
      ours.push(w2);
      ref.push(f);
      const got = w2.code === 2 ? `wirekit failed: ${w2.stderr.trim()}` : `${wirekitReceived(w2.stdout)}/${fpingReceived(f.stderr)}`;
      console.log(
        `${String(r).padStart(5)}  ${w2.wallMs.toFixed(1).padStart(9)} ms ${f.wallMs.toFixed(1).padStart(8)} ms ${w2.cpuMs.toFixed(1).padStart(9)} ms ${f.cpuMs.toFixed(1).padStart(7)} ms   ${got}`,
      );
    }
    const wall = median(ours.map((m) => m.wallMs)) / median(ref.map((m) => m.wallMs));
    const cpuW = median(ours.map((m) => m.cpuMs)) / probes;
    const cpuF = median(ref.map((m) => m.cpuMs)) / probes;
    const cpuAdj = Math.max(0, median(ours.map((m) => m.cpuMs)) - startup.cpuMs) / probes;
    console.log(`wall time      wirekit/fping = ${wall.toFixed(2)}x  (target <= 1.2x: ${wall <= 1.2 ? "met" : "NOT met"})`);
    console.log(`CPU per probe  wirekit ${(cpuW * 1000).toFixed(1)} µs, fping ${(cpuF * 1000).toFixed(1)} µs: ${(cpuW / cpuF).toFixed(2)}x  (target <= 3x: ${cpuW / cpuF <= 3 ? "met" : "NOT met"})`);
    console.log(`               without Node's start (${startup.cpuMs.toFixed(1)} ms CPU for wirekit --version): ${(cpuAdj * 1000).toFixed(1)} µs, ${(cpuAdj / cpuF).toFixed(2)}x`);
  } finally {
    cleanup();
    process.off("exit", cleanup);
  }
}

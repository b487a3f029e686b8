/**
 * bench/udp-ping: echo throughput of `wirekit udp-ping serve --loss 0 --quiet` in datagrams per
 * second on loopback, beside (a) the lab's python3 server without the drop and (b) a C server
 * using recvmmsg/sendmmsg (the practical limit); and with `--jitter 1ms` on, the impaired path. The load generator is C, compiled here, and
 * keeps a window of pings in flight so it is not the bottleneck.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const title = "UDP ping server echo throughput (datagrams/s, loopback)";

const srcDir = fileURLToPath(new URL("../../../bench/udp-ping/", import.meta.url));
const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WINDOW = 32;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function start(cmd: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on("exit", (code) => reject(new Error(`${cmd} exited with ${code}`)));
  });
}

function load(loadgen: string, port: number): number {
  const out = execFileSync(loadgen, [String(port), String(SECONDS), String(WINDOW), "0.5"], { encoding: "utf8" });
  return Number(out.trim().split(" ")[0]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-bench-udp-"));
  try {
    for (const f of ["echo-mmsg.c", "loadgen.c", "python_echo.py"]) copyFileSync(join(srcDir, f), join(dir, f));
    execFileSync("gcc", ["-O2", "-o", join(dir, "echo-mmsg"), join(dir, "echo-mmsg.c")]);
    execFileSync("gcc", ["-O2", "-o", join(dir, "loadgen"), join(dir, "loadgen.c")]);
    const servers: Array<[string, string, string[]]> = [
      ["wirekit udp-ping serve", process.execPath, [cli, "udp-ping", "serve", "--host", "127.0.0.1", "--port", "0", "--loss", "0", "--quiet"]],
      // Impairments on: each reply held back 0-1 ms by a seeded timer (the path with Clock timers).
      ["wirekit serve --jitter 1ms", process.execPath, [cli, "udp-ping", "serve", "--host", "127.0.0.1", "--port", "0", "--loss", "0", "--jitter", "1ms", "--seed", "1", "--quiet"]],
      ["python3 lab server", "python3", [join(dir, "python_echo.py"), "0"]],
      ["C recvmmsg/sendmmsg", join(dir, "echo-mmsg"), ["0"]],
    ];
    const results = new Map<string, number[]>();
    // Interleave rounds so drift in machine load affects every server alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, cmd, args] of servers) {
        const { child, port } = await start(cmd, args);
        try {
          const rate = load(join(dir, "loadgen"), port);
          results.set(name, [...(results.get(name) ?? []), rate]);
        } finally {
          child.kill("SIGKILL");
        }
      }
    }
    const wk = median(results.get("wirekit udp-ping serve") ?? []);
    console.log(`window ${WINDOW} in flight, ${SECONDS}s per run, median of ${ROUNDS} rounds`);
    for (const [name] of servers) {
      const m = median(results.get(name) ?? []);
      const ratio = name === "wirekit udp-ping serve" ? "" : name.startsWith("wirekit") ? `   ${(m / wk).toFixed(2)}x of no impairment (${WINDOW} in flight over a 0-1 ms delay)` : `   wirekit/this = ${(wk / m).toFixed(2)}x`;
      console.log(`${name.padEnd(26)} ${Math.round(m).toString().padStart(9)} datagrams/s${ratio}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * bench/heartbeat: heartbeats per second processed by the monitor with 10 000 simulated clients,
 * beside the lab-style Python server measured in the same run, and heap bytes per tracked client.
 *
 * Load: a C flooder (compiled here with gcc) offers far more heartbeats than either server can
 * take, round-robin over 10 000 client ids; the kernel drops the excess, and each server's own
 * processed count over a fixed window is the figure. Both servers parse, compute the delay,
 * account seq gaps per client (writing "lost" lines to /dev/null) and reply to every heartbeat;
 * wirekit additionally tracks reorder/duplicates/restarts, delay and inter-arrival statistics
 * and runs the phi detector sweep.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHeartbeatMonitor } from "../../src/udp/heartbeat/monitor.js";
import { describeHeartbeatEvent } from "../../src/render/heartbeat-events.js";
import { FLOOD_C, PY_SERVER } from "./flood.js";

export const title = "UDP heartbeat monitor: heartbeats/s with 10 000 clients and bytes per client, vs a lab-style Python server";

const CLIENTS = 10_000;

interface Measured {
  /** Heartbeats processed per second of wall time. */
  rate: number;
  /** Heartbeats per second the flooder offered. */
  offered: number;
  /** Server CPU time (user + system) per processed heartbeat, µs: less sensitive to a busy machine. */
  cpuUs: number;
}
const WARMUP_S = 1.5;
const WINDOW_S = 5;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function startFlood(bin: string, port: number): { child: ChildProcess; sent: Promise<number> } {
  const child = spawn(bin, ["127.0.0.1", String(port), String(CLIENTS), String(WARMUP_S + WINDOW_S + 1)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  const sent = once(child, "close").then(() => Number(out.trim()));
  return { child, sent };
}

async function measureWirekit(bin: string, batch: boolean): Promise<Measured> {
  const monitor = await createHeartbeatMonitor({ host: "127.0.0.1", port: 0, deadAfterMs: 3000, batch });
  if (monitor.transport !== (batch ? "batch" : "dgram")) throw new Error(`the monitor runs on ${monitor.transport}, not ${batch ? "batch" : "dgram"} (is the addon built?)`);
  // Report losses as the CLI would (formatted line), to /dev/null, batched like Python's buffered print.
  const devnull = openSync("/dev/null", "w");
  let pending = "";
  monitor.on("lost", (e) => {
    pending += `${describeHeartbeatEvent(e)}\n`;
    if (pending.length > 8192) {
      writeSync(devnull, pending);
      pending = "";
    }
  });
  const flood = startFlood(bin, monitor.port);
  await sleep(WARMUP_S * 1000);
  const c1 = monitor.totals().heartbeats;
  const t1 = performance.now();
  const cpu1 = process.cpuUsage();
  await sleep(WINDOW_S * 1000);
  const c2 = monitor.totals().heartbeats;
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu1);
  const sent = await flood.sent;
  const tracked = monitor.size;
  await monitor.close();
  closeSync(devnull);
  if (tracked !== CLIENTS) console.log(`  (wirekit tracked ${tracked} clients)`);
  return { rate: ((c2 - c1) * 1000) / (t2 - t1), offered: sent / (WARMUP_S + WINDOW_S + 1), cpuUs: (cpu.user + cpu.system) / (c2 - c1) };
}

/** The ceiling of Node's dgram on this machine: a bare echo server with no heartbeat logic at all. */
async function measureNodeEcho(bin: string): Promise<Measured> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  socket.setRecvBufferSize(8 << 20);
  let count = 0;
  socket.on("message", (msg, rinfo) => {
    count++;
    socket.send(msg, rinfo.port, rinfo.address);
  });
  const flood = startFlood(bin, socket.address().port);
  await sleep(WARMUP_S * 1000);
  const c1 = count;
  const t1 = performance.now();
  const cpu1 = process.cpuUsage();
  await sleep(WINDOW_S * 1000);
  const c2 = count;
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu1);
  const sent = await flood.sent;
  socket.close();
  return { rate: ((c2 - c1) * 1000) / (t2 - t1), offered: sent / (WARMUP_S + WINDOW_S + 1), cpuUs: (cpu.user + cpu.system) / (c2 - c1) };
}

async function measurePython(bin: string): Promise<Measured> {
  const py = spawn("python3", ["-c", PY_SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const waitLine = async (re: RegExp): Promise<RegExpExecArray> => {
    for (;;) {
      const m = re.exec(out);
      if (m !== null) {
        out = out.slice(m.index + m[0].length);
        return m;
      }
      await sleep(5);
    }
  };
  py.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  const port = Number((await waitLine(/port (\d+)\n/))[1]);
  const flood = startFlood(bin, port);
  await sleep(WARMUP_S * 1000);
  py.kill("SIGUSR1");
  const a = await waitLine(/count (\d+) ([\d.]+) ([\d.]+)\n/);
  await sleep(WINDOW_S * 1000);
  py.kill("SIGUSR1");
  const b = await waitLine(/count (\d+) ([\d.]+) ([\d.]+)\n/);
  const sent = await flood.sent;
  py.kill("SIGKILL");
  const n = Number(b[1]) - Number(a[1]);
  return { rate: n / (Number(b[2]) - Number(a[2])), offered: sent / (WARMUP_S + WINDOW_S + 1), cpuUs: ((Number(b[3]) - Number(a[3])) * 1e6) / n };
}

function memoryPerClient(): number {
  const script = fileURLToPath(new URL("./memory.js", import.meta.url));
  const out = execFileSync(process.execPath, ["--expose-gc", script, String(CLIENTS)], { encoding: "utf8" });
  return (JSON.parse(out.trim()) as { bytesPerClient: number }).bytesPerClient;
}

function pythonMemoryPerClient(): number {
  // The Python server's state per client: one dict entry (id -> last seq), measured with tracemalloc.
  const code = `
import tracemalloc
tracemalloc.start()
last = {}
a = tracemalloc.get_traced_memory()[0]
for i in range(${CLIENTS}):
    last[b"node-%05d.cluster.example" % i] = 1000000 + i
print(( tracemalloc.get_traced_memory()[0] - a) / ${CLIENTS})`;
  return Number(execFileSync("python3", ["-c", code], { encoding: "utf8" }).trim());
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-hb-bench-"));
  try {
    writeFileSync(join(dir, "flood.c"), FLOOD_C);
    const bin = join(dir, "flood");
    execFileSync("gcc", ["-O2", "-o", bin, join(dir, "flood.c")]);
    const py = await measurePython(bin);
    const wk = await measureWirekit(bin, true);
    const wkDgram = await measureWirekit(bin, false);
    const echo = await measureNodeEcho(bin);
    const mem = memoryPerClient();
    const pyMem = pythonMemoryPerClient();
    const k = (x: number): string => `${Math.round(x).toLocaleString("en-US")}/s`;
    console.log(`clients: ${CLIENTS.toLocaleString("en-US")}, window ${WINDOW_S} s after ${WARMUP_S} s warm-up, flooder offering ~${k(Math.min(py.offered, wk.offered, wkDgram.offered, echo.offered))}`);
    const us = (x: number): string => `${x.toFixed(1)} µs`;
    console.log(`heartbeats processed   wirekit monitor ${k(wk.rate).padStart(12)}   python3 lab server ${k(py.rate).padStart(12)}   ratio ${(wk.rate / py.rate).toFixed(2)}x`);
    console.log(`CPU per heartbeat      wirekit monitor ${us(wk.cpuUs).padStart(12)}   python3 lab server ${us(py.cpuUs).padStart(12)}   ratio ${(py.cpuUs / wk.cpuUs).toFixed(2)}x (higher is better for wirekit)`);
    console.log(`(wirekit monitor on node:dgram instead of batches: ${k(wkDgram.rate)}, ${us(wkDgram.cpuUs)} CPU each, ratio ${(wkDgram.rate / py.rate).toFixed(2)}x; a bare Node dgram echo server with no heartbeat logic: ${k(echo.rate)}, ${us(echo.cpuUs)} CPU each)`);
    console.log(`memory per client      wirekit monitor ${`${Math.round(mem)} B`.padStart(12)}   python3 lab server ${`${Math.round(pyMem)} B`.padStart(12)}   (target < 1024 B; python keeps only the last seq)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

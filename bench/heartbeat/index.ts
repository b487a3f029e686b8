/**
 * bench/heartbeat: the heartbeat monitor with 100 000 clients, `--metrics` on and scraped every
 * second, keys off and then on, beside the lab's Python heartbeat server measured in the same run;
 * and heap bytes per tracked client. Targets (issue #19): at least 1.5x the Python server's rate
 * with metrics on, and under 1 KiB per client with keys on.
 *
 * Load: a C flooder (compiled here: gcc, OpenSSL's libcrypto for the MACs) sends heartbeats from
 * 100 000 client ids, round-robin. Two loads:
 * - flood: as many as it can, far more than either server processes (the kernel drops the rest),
 *   so each server's own processed count over the window is its capacity;
 * - paced: every client once a second (100 000/s), the load the targets describe: the figure is
 *   the CPU each server spends per heartbeat, and whether it keeps up.
 * Both servers parse, compute the delay, account seq gaps per client (writing "lost" lines to
 * /dev/null) and reply to every heartbeat. wirekit also tracks reorder, duplicates and restarts,
 * delay and inter-arrival statistics, runs the phi sweep and renders /metrics for every client
 * once a second; with keys it checks every MAC, the timestamp skew and replays. The Python
 * reference with keys checks the MAC (hmac.compare_digest), nothing more.
 *
 * For a quick check that it runs (about 5 s; its figures mean nothing): WIREKIT_BENCH_CLIENTS=1000
 * WIREKIT_BENCH_WARMUP_S=0.1 WIREKIT_BENCH_WINDOW_S=0.2 npm run bench -- heartbeat
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHeartbeatMonitor } from "../../src/udp/heartbeat/monitor.js";
import { describeHeartbeatEvent } from "../../src/render/heartbeat-events.js";
import { startHeartbeatMetrics } from "../../src/udp/heartbeat/metrics-endpoint.js";
import { FLOOD_C, PY_SERVER } from "./flood.js";

export const title = "UDP heartbeat monitor: 100 000 clients, --metrics scraped every second, keys off and on, vs the lab's Python server; bytes per client";

function envNumber(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const CLIENTS = Math.round(envNumber("WIREKIT_BENCH_CLIENTS", 100_000));
const WARMUP_S = envNumber("WIREKIT_BENCH_WARMUP_S", 1.5);
const WINDOW_S = envNumber("WIREKIT_BENCH_WINDOW_S", 5);
/** Client c<N> signs with the secret KEY_PREFIX + N (the flooder, the Python reference and the monitor's key table agree). */
const KEY_PREFIX = "bench-secret-";

interface Load {
  /** Heartbeats per second offered; 0 = as many as the flooder can. */
  rate: number;
  keyed: boolean;
}

interface Scrape {
  scrapes: number;
  failed: number;
  bytes: number;
  maxMs: number;
  avgMs: number;
}

interface Measured {
  /** Heartbeats processed per second of wall time. */
  rate: number;
  /** Heartbeats per second the flooder offered. */
  offered: number;
  /** Server CPU time (user + system) per processed heartbeat, µs: less sensitive to a busy machine. */
  cpuUs: number;
  /** Server CPU time over the window, in % of one core. */
  cpuPercent: number;
  refused: number;
  scrape?: Scrape;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function startFlood(bin: string, port: number, load: Load): { child: ChildProcess; done: Promise<{ sent: number; seconds: number }> } {
  // A generous duration: the flooder is stopped with SIGTERM when the window is over.
  const args = ["127.0.0.1", String(port), String(CLIENTS), String(WARMUP_S + WINDOW_S + 60), String(load.rate), load.keyed ? KEY_PREFIX : "-"];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  const done = once(child, "close").then(() => {
    const [sent = "0", seconds = "1"] = out.trim().split(" ");
    return { sent: Number(sent), seconds: Number(seconds) };
  });
  return { child, done };
}

async function measureWirekit(bin: string, load: Load): Promise<Measured> {
  const keys = load.keyed ? new Map(Array.from({ length: CLIENTS }, (_, i) => [`c${i}`, `${KEY_PREFIX}${i}`] as const)) : undefined;
  const monitor = await createHeartbeatMonitor({ host: "127.0.0.1", port: 0, deadAfterMs: 3000, maxClients: CLIENTS, batch: true, ...(keys === undefined ? {} : { keys, keysRequired: true }) });
  if (monitor.transport !== "batch") throw new Error(`the monitor runs on ${monitor.transport}, not batch (is the addon built?)`);
  const metrics = await startHeartbeatMetrics(monitor, { host: "127.0.0.1", port: 0 });
  const scraper = spawn(process.execPath, [fileURLToPath(new URL("./scrape.js", import.meta.url)), `http://127.0.0.1:${metrics.port}/metrics`], { stdio: ["ignore", "pipe", "inherit"] });
  const scraperClosed = once(scraper, "close");
  let scrapeOut = "";
  scraper.stdout?.setEncoding("utf8").on("data", (d: string) => (scrapeOut += d));
  // Report losses as the CLI would (formatted line), to /dev/null, batched like Python's buffered print.
  const devnull = openSync("/dev/null", "w");
  let pending = "";
  // Only the changes, as the CLI without -v: no event per heartbeat.
  monitor.heartbeatEvents = false;
  monitor.on("event", (e) => {
    if (e.kind !== "lost") return;
    pending += `${describeHeartbeatEvent(e)}\n`;
    if (pending.length > 8192) {
      writeSync(devnull, pending);
      pending = "";
    }
  });
  const flood = startFlood(bin, monitor.port, load);
  await sleep(WARMUP_S * 1000);
  const c1 = monitor.totals().heartbeats;
  const t1 = performance.now();
  const cpu1 = process.cpuUsage();
  await sleep(WINDOW_S * 1000);
  const c2 = monitor.totals().heartbeats;
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu1);
  flood.child.kill("SIGTERM");
  scraper.kill("SIGTERM");
  const sent = await flood.done;
  await scraperClosed;
  const tracked = monitor.size;
  const refused = monitor.totals().refused;
  await metrics.close();
  await monitor.close();
  closeSync(devnull);
  if (tracked !== CLIENTS) console.log(`  (wirekit tracked ${tracked} of ${CLIENTS} clients)`);
  const n = Math.max(1, c2 - c1);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return {
    rate: ((c2 - c1) * 1000) / (t2 - t1),
    offered: sent.sent / sent.seconds,
    cpuUs: (cpuS * 1e6) / n,
    cpuPercent: (100 * cpuS * 1000) / (t2 - t1),
    refused,
    scrape: JSON.parse(scrapeOut.trim() || "{}") as Scrape,
  };
}

async function measurePython(bin: string, load: Load): Promise<Measured> {
  const py = spawn("python3", ["-c", PY_SERVER, ...(load.keyed ? ["keys", KEY_PREFIX] : [])], { stdio: ["ignore", "pipe", "inherit"] });
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
  const flood = startFlood(bin, port, load);
  await sleep(WARMUP_S * 1000);
  py.kill("SIGUSR1");
  const a = await waitLine(/count (\d+) ([\d.]+) ([\d.]+)\n/);
  await sleep(WINDOW_S * 1000);
  py.kill("SIGUSR1");
  const b = await waitLine(/count (\d+) ([\d.]+) ([\d.]+)\n/);
  flood.child.kill("SIGTERM");
  const sent = await flood.done;
  py.kill("SIGKILL");
  const n = Math.max(1, Number(b[1]) - Number(a[1]));
  const seconds = Number(b[2]) - Number(a[2]);
  const cpuS = Number(b[3]) - Number(a[3]);
  return { rate: n / seconds, offered: sent.sent / sent.seconds, cpuUs: (cpuS * 1e6) / n, cpuPercent: (100 * cpuS) / seconds, refused: 0 };
}

function memoryPerClient(keyed: boolean): number {
  const script = fileURLToPath(new URL("./memory.js", import.meta.url));
  const out = execFileSync(process.execPath, ["--expose-gc", script, String(CLIENTS), ...(keyed ? ["keys"] : [])], { encoding: "utf8", maxBuffer: 1 << 20 });
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
    last[b"node-%06d.cluster.example" % i] = 1000000 + i
print(( tracemalloc.get_traced_memory()[0] - a) / ${CLIENTS})`;
  return Number(execFileSync("python3", ["-c", code], { encoding: "utf8" }).trim());
}

const k = (x: number): string => `${Math.round(x).toLocaleString("en-US")}/s`;
const us = (x: number): string => `${x.toFixed(1)} µs`;

function row(label: string, m: Measured, flood: boolean): string {
  const scrape = m.scrape === undefined ? "" : `  scrapes ${m.scrape.scrapes} (${m.scrape.failed} failed), ${(m.scrape.bytes / 1e6).toFixed(1)} MB, max ${Math.round(m.scrape.maxMs)} ms`;
  const refused = m.refused > 0 ? `  REFUSED ${m.refused}` : "";
  // Under "flood" the figure is the server's capacity only if the flooder offered clearly more.
  const short = flood && m.offered < 1.2 * m.rate ? "  (the flooder barely outpaced it)" : "";
  return `  ${label.padEnd(26)} ${k(m.rate).padStart(12)}  ${us(m.cpuUs).padStart(9)}/heartbeat  ${`${m.cpuPercent.toFixed(0)}%`.padStart(4)} CPU  (offered ${k(m.offered)})${scrape}${refused}${short}`;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-hb-bench-"));
  try {
    writeFileSync(join(dir, "flood.c"), FLOOD_C);
    const bin = join(dir, "flood");
    execFileSync("gcc", ["-O2", "-o", bin, join(dir, "flood.c"), "-lcrypto"]);
    console.log(`clients: ${CLIENTS.toLocaleString("en-US")}; window ${WINDOW_S} s after ${WARMUP_S} s warm-up; wirekit with --metrics, scraped every second by another process`);
    const results: Array<{ load: string; keyed: boolean; wk: Measured; py: Measured }> = [];
    for (const [name, rate] of [["flood", 0], [`paced ${k(CLIENTS)} (each client 1/s)`, CLIENTS]] as const) {
      for (const keyed of [false, true]) {
        const load = { rate, keyed };
        const py = await measurePython(bin, load);
        const wk = await measureWirekit(bin, load);
        console.log(`${name}, keys ${keyed ? "on" : "off"}:`);
        console.log(row("wirekit monitor", wk, rate === 0));
        console.log(row(keyed ? "python3 lab server + hmac" : "python3 lab server", py, rate === 0));
        console.log(`  ratio ${(wk.rate / py.rate).toFixed(2)}x heartbeats/s, ${(py.cpuUs / wk.cpuUs).toFixed(2)}x CPU per heartbeat (higher is better for wirekit)`);
        results.push({ load: name, keyed, wk, py });
      }
    }
    const mem = memoryPerClient(false);
    const memKeys = memoryPerClient(true);
    const pyMem = pythonMemoryPerClient();
    console.log(`memory per client: wirekit ${Math.round(mem)} B, with keys ${Math.round(memKeys)} B (the key table and anti-replay state included); python3 lab server ${Math.round(pyMem)} B (it keeps only the last seq)`);
    const flood = results.filter((r) => r.load === "flood");
    const ratios = flood.map((r) => `keys ${r.keyed ? "on" : "off"} ${(r.wk.rate / r.py.rate).toFixed(2)}x`).join(", ");
    const rateMet = flood.every((r) => r.wk.rate >= 1.5 * r.py.rate);
    console.log(`targets: rate with metrics >= 1.5x python: ${ratios} (${rateMet ? "met" : "NOT met"}); memory with keys < 1024 B: ${Math.round(memKeys)} B (${memKeys < 1024 ? "met" : "NOT met"})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

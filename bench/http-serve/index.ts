/**
 * bench/http-serve: requests per second and p99 latency for a 1 KiB and a 64 KiB file over
 * keep-alive, measured with wrk (-t1 -c50) in the same run against wirekit (--workers 1 and 2),
 * npm http-server and serve, python3 http.server, nginx (worker_processes 1 and 2, access_log
 * off, sendfile on) and two ceilings: a bare node:net server that finds the end of the head and
 * writes a fixed reply, and a node:http server answering from memory. Also a 10 MiB file at
 * -c4 (MiB/s) and the server's RSS holding 1,000 idle keep-alive connections. Missing
 * reference tools are installed (apt: wrk, nginx; npm: serve, http-server into a temp prefix);
 * one that cannot be had is reported and skipped.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createServer, connect } from "node:net";
import { netCeilingScript } from "../net-ceiling.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";

export const title = "static files: wirekit vs nginx, serve, http-server, python3 (wrk -t1 -c50, keep-alive)";

const DURATION = process.env.BENCH_DURATION ?? "4s";
const BIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

interface Result {
  rps: number;
  p99ms: number;
  /** Transfer/sec in MiB. */
  mibps: number;
}

/** The two ceilings, as child scripts: what node:net and node:http can do with no file work at all. */
const NET_CEILING = netCeilingScript(
  Object.fromEntries([["/1k.bin", 1024], ["/64k.bin", 65536]].map(([p, n]) => [p, { head: `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${n}`, size: Number(n) }])),
  "/1k.bin",
);

const HTTP_CEILING = `
const http = require("node:http");
const bodies = { "/1k.bin": Buffer.alloc(1024, 120), "/64k.bin": Buffer.alloc(65536, 120) };
http.createServer((req, res) => {
  const b = bodies[req.url] ?? bodies["/1k.bin"];
  res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": b.length });
  res.end(b);
}).listen(Number(process.argv[1]), "127.0.0.1");`;

function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function aptInstall(pkgs: string[]): void {
  const missing = pkgs.filter((p) => !has(p));
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(", ")} (apt-get)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = (): number | null => spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { stdio: "inherit", env }).status;
  if (install() !== 0) {
    spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    install();
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

async function waitPort(port: number, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function wrk(url: string, connections = 50): Result | undefined {
  const r = spawnSync("wrk", ["-t1", `-c${connections}`, `-d${DURATION}`, "--latency", url], { encoding: "utf8" });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1];
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(r.stdout);
  if (rps === undefined || p99 === null) return undefined;
  const unit = p99[2] === "us" ? 0.001 : p99[2] === "s" ? 1000 : 1;
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1];
  if (non2xx !== undefined) console.log(`  warning: ${non2xx} non-2xx responses from ${url}`);
  const transfer = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(r.stdout);
  const scale: Record<string, number> = { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 };
  const mibps = transfer ? Number(transfer[1]) * (scale[transfer[2] ?? "MB"] ?? 1) : 0;
  return { rps: Number(rps), p99ms: Number(p99[1]) * unit, mibps };
}

/** Resident set of a process and its children (nginx's workers, wirekit's cluster), in KiB. */
function rssKiB(pid: number): number {
  const r = spawnSync("ps", ["-o", "rss=", "--pid", String(pid), "--ppid", String(pid)], { encoding: "utf8" });
  return r.stdout.split("\n").reduce((sum, line) => sum + (Number(line.trim()) || 0), 0);
}

/** RSS growth while 1,000 keep-alive connections, each after one request, sit idle. */
async function idleRss(pid: number, port: number): Promise<{ beforeKiB: number; afterKiB: number } | undefined> {
  const beforeKiB = rssKiB(pid);
  const sockets: ReturnType<typeof connect>[] = [];
  try {
    for (let i = 0; i < 1000; i++) {
      const s = connect({ host: "127.0.0.1", port });
      s.on("error", () => undefined);
      sockets.push(s);
      await new Promise<void>((resolve) => {
        s.once("connect", () => s.write("GET /1k.bin HTTP/1.1\r\nHost: bench\r\n\r\n"));
        let got = 0;
        s.on("data", (d: Buffer) => {
          got += d.length;
          if (got >= 1024) resolve();
        });
        s.once("close", () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 500));
    const alive = sockets.filter((s) => !s.destroyed).length;
    if (alive < 1000) return undefined;
    return { beforeKiB, afterKiB: rssKiB(pid) };
  } finally {
    for (const s of sockets) s.destroy();
  }
}

interface Contender {
  name: string;
  start(dir: string, port: number, tmp: string): ChildProcess | undefined;
}

function nginxConf(tmp: string, dir: string, port: number, workers: number): string {
  const conf = join(tmp, `nginx-${workers}.conf`);
  writeFileSync(
    conf,
    `daemon off; worker_processes ${workers}; pid ${tmp}/nginx-${workers}.pid; error_log ${tmp}/nginx-error.log;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  client_body_temp_path ${tmp}/cb; proxy_temp_path ${tmp}/pt; fastcgi_temp_path ${tmp}/ft; uwsgi_temp_path ${tmp}/ut; scgi_temp_path ${tmp}/st;
  types { application/octet-stream bin; }
  server { listen 127.0.0.1:${port}; root ${dir}; } }
`,
  );
  return conf;
}

export async function run(): Promise<void> {
  aptInstall(["wrk", "nginx"]);
  if (!has("wrk")) {
    console.log("wrk is not available (apt-get install wrk); cannot measure");
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), "wirekit-bench-http-"));
  chmodSync(tmp, 0o755); // nginx workers run as an unprivileged user
  const dir = join(tmp, "site");
  spawnSync("mkdir", ["-p", dir]);
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "1k.bin"), randomBytes(1024), { mode: 0o644 });
  writeFileSync(join(dir, "64k.bin"), randomBytes(64 * 1024), { mode: 0o644 });
  writeFileSync(join(dir, "10m.bin"), randomBytes(10 * 1024 * 1024), { mode: 0o644 });
  console.log("installing npm serve and http-server into a temp prefix...");
  const npm = spawnSync("npm", ["install", "--prefix", join(tmp, "npm"), "--no-audit", "--no-fund", "--silent", "serve", "http-server"], { encoding: "utf8" });
  const npmBin = (name: string): string | undefined => {
    const p = join(tmp, "npm", "node_modules", ".bin", name);
    return npm.status === 0 && existsSync(p) ? p : undefined;
  };
  const contenders: Contender[] = [
    { name: "wirekit --workers 1", start: (d, p) => spawn(process.execPath, [BIN, "http", "serve", d, "--port", String(p), "--quiet", "--workers", "1"], { stdio: "ignore" }) },
    { name: "wirekit --workers 2", start: (d, p) => spawn(process.execPath, [BIN, "http", "serve", d, "--port", String(p), "--quiet", "--workers", "2"], { stdio: "ignore" }) },
    { name: "ceiling: bare node:net", start: (_d, p) => spawn(process.execPath, ["-e", NET_CEILING, String(p)], { stdio: "ignore" }) },
    { name: "ceiling: node:http", start: (_d, p) => spawn(process.execPath, ["-e", HTTP_CEILING, String(p)], { stdio: "ignore" }) },
    { name: "nginx (1 worker)", start: (d, p, t) => (has("nginx") ? spawn("nginx", ["-c", nginxConf(t, d, p, 1), "-p", t], { stdio: "ignore" }) : undefined) },
    { name: "nginx (2 workers)", start: (d, p, t) => (has("nginx") ? spawn("nginx", ["-c", nginxConf(t, d, p, 2), "-p", t], { stdio: "ignore" }) : undefined) },
    { name: "npm serve", start: (d, p) => { const b = npmBin("serve"); return b ? spawn(b, ["-L", "-l", `tcp://127.0.0.1:${p}`, d], { stdio: "ignore" }) : undefined; } },
    { name: "npm http-server", start: (d, p) => { const b = npmBin("http-server"); return b ? spawn(b, [d, "-a", "127.0.0.1", "-p", String(p), "-s", "-c-1"], { stdio: "ignore" }) : undefined; } },
    { name: "python3 http.server", start: (d, p) => (has("python3") ? spawn("python3", ["-m", "http.server", String(p), "--bind", "127.0.0.1", "--directory", d], { stdio: "ignore" }) : undefined) },
  ];
  const results = new Map<string, { k1?: Result; k64?: Result; m10?: Result; rss?: { beforeKiB: number; afterKiB: number } }>();
  try {
    for (const c of contenders) {
      const port = await freePort();
      const child = c.start(dir, port, tmp);
      if (child === undefined || !(await waitPort(port))) {
        console.log(`${c.name}: not available, skipped`);
        child?.kill("SIGKILL");
        continue;
      }
      spawnSync("wrk", ["-t1", "-c50", "-d1s", `http://127.0.0.1:${port}/1k.bin`], { stdio: "ignore" }); // warm-up
      const k1 = wrk(`http://127.0.0.1:${port}/1k.bin`);
      const k64 = wrk(`http://127.0.0.1:${port}/64k.bin`);
      const ceiling = c.name.startsWith("ceiling");
      const m10 = ceiling ? undefined : wrk(`http://127.0.0.1:${port}/10m.bin`, 4);
      const rss = c.name.startsWith("wirekit") || c.name.startsWith("nginx") ? await idleRss(child.pid ?? 0, port) : undefined;
      results.set(c.name, { k1, k64, m10, rss });
      const extra = `${m10 ? `   10 MiB -c4 ${m10.mibps.toFixed(0)} MiB/s` : ""}${rss ? `   RSS ${(rss.beforeKiB / 1024).toFixed(0)} -> ${(rss.afterKiB / 1024).toFixed(0)} MiB with 1000 idle` : ""}`;
      console.log(`${c.name.padEnd(24)} 1 KiB ${fmt(k1)}   64 KiB ${fmt(k64)}${extra}`);
      child.kill(c.name.startsWith("nginx") ? "SIGQUIT" : "SIGINT");
      await new Promise((r) => { child.once("exit", r); setTimeout(r, 5000).unref(); });
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log("\n| server | 1 KiB req/s | 1 KiB p99 | 64 KiB req/s | 64 KiB p99 | 10 MiB -c4 | RSS, 1000 idle |\n|---|---:|---:|---:|---:|---:|---:|");
  for (const [name, r] of results) {
    const cell = (x?: Result): string => (x ? x.rps.toFixed(0) : "-");
    const p99 = (x?: Result): string => (x ? `${x.p99ms.toFixed(2)} ms` : "-");
    const rss = r.rss ? `${(r.rss.beforeKiB / 1024).toFixed(0)} → ${(r.rss.afterKiB / 1024).toFixed(0)} MiB` : "-";
    console.log(`| ${name} | ${cell(r.k1)} | ${p99(r.k1)} | ${cell(r.k64)} | ${p99(r.k64)} | ${r.m10 ? `${r.m10.mibps.toFixed(0)} MiB/s` : "-"} | ${rss} |`);
  }
  const ratio = (a?: Result, b?: Result): string => (a && b ? `${(a.rps / b.rps).toFixed(2)}x` : "n/a");
  const p99Ratio = (a?: Result, b?: Result): string => (a && b ? `${(a.p99ms / b.p99ms).toFixed(2)}x` : "n/a");
  for (const [ours, theirs] of [["wirekit --workers 1", "nginx (1 worker)"], ["wirekit --workers 2", "nginx (2 workers)"]] as const) {
    const w = results.get(ours);
    const n = results.get(theirs);
    console.log(
      `\n${ours} vs ${theirs}: 1 KiB ${ratio(w?.k1, n?.k1)}, 64 KiB ${ratio(w?.k64, n?.k64)} (target >= 0.8x); ` +
        `p99 1 KiB ${p99Ratio(w?.k1, n?.k1)}, 64 KiB ${p99Ratio(w?.k64, n?.k64)} (target <= 2x)`,
    );
  }
  const w1 = results.get("wirekit --workers 1");
  for (const c of ["ceiling: bare node:net", "ceiling: node:http"]) {
    const n = results.get(c);
    console.log(`wirekit --workers 1 vs ${c}: 1 KiB ${ratio(w1?.k1, n?.k1)}, 64 KiB ${ratio(w1?.k64, n?.k64)}`);
  }
}

function fmt(r: Result | undefined): string {
  return r === undefined ? "failed" : `${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99ms.toFixed(2)} ms`;
}

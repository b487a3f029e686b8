/**
 * bench/http-serve: requests per second and p99 latency for a 1 KiB and a 64 KiB file over
 * keep-alive, measured with wrk (-t1 -c50) in the same run against wirekit (--workers 1 and 2),
 * npm http-server and serve, python3 http.server and nginx (worker_processes 1 and 2,
 * access_log off, sendfile on). Missing reference tools are installed (apt: wrk, nginx;
 * npm: serve, http-server into a temp prefix); one that cannot be had is reported and skipped.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createServer, connect } from "node:net";
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
}

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

function wrk(url: string): Result | undefined {
  const r = spawnSync("wrk", ["-t1", "-c50", `-d${DURATION}`, "--latency", url], { encoding: "utf8" });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1];
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(r.stdout);
  if (rps === undefined || p99 === null) return undefined;
  const unit = p99[2] === "us" ? 0.001 : p99[2] === "s" ? 1000 : 1;
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1];
  if (non2xx !== undefined) console.log(`  warning: ${non2xx} non-2xx responses from ${url}`);
  return { rps: Number(rps), p99ms: Number(p99[1]) * unit };
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
  console.log("installing npm serve and http-server into a temp prefix...");
  const npm = spawnSync("npm", ["install", "--prefix", join(tmp, "npm"), "--no-audit", "--no-fund", "--silent", "serve", "http-server"], { encoding: "utf8" });
  const npmBin = (name: string): string | undefined => {
    const p = join(tmp, "npm", "node_modules", ".bin", name);
    return npm.status === 0 && existsSync(p) ? p : undefined;
  };
  const contenders: Contender[] = [
    { name: "wirekit --workers 1", start: (d, p) => spawn(process.execPath, [BIN, "http", "serve", d, "--port", String(p), "--quiet", "--workers", "1"], { stdio: "ignore" }) },
    { name: "wirekit --workers 2", start: (d, p) => spawn(process.execPath, [BIN, "http", "serve", d, "--port", String(p), "--quiet", "--workers", "2"], { stdio: "ignore" }) },
    { name: "nginx (1 worker)", start: (d, p, t) => (has("nginx") ? spawn("nginx", ["-c", nginxConf(t, d, p, 1), "-p", t], { stdio: "ignore" }) : undefined) },
    { name: "nginx (2 workers)", start: (d, p, t) => (has("nginx") ? spawn("nginx", ["-c", nginxConf(t, d, p, 2), "-p", t], { stdio: "ignore" }) : undefined) },
    { name: "npm serve", start: (d, p) => { const b = npmBin("serve"); return b ? spawn(b, ["-L", "-l", `tcp://127.0.0.1:${p}`, d], { stdio: "ignore" }) : undefined; } },
    { name: "npm http-server", start: (d, p) => { const b = npmBin("http-server"); return b ? spawn(b, [d, "-a", "127.0.0.1", "-p", String(p), "-s", "-c-1"], { stdio: "ignore" }) : undefined; } },
    { name: "python3 http.server", start: (d, p) => (has("python3") ? spawn("python3", ["-m", "http.server", String(p), "--bind", "127.0.0.1", "--directory", d], { stdio: "ignore" }) : undefined) },
  ];
  const results = new Map<string, { k1?: Result; k64?: Result }>();
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
      results.set(c.name, { k1, k64 });
      console.log(`${c.name.padEnd(22)} 1 KiB ${fmt(k1)}   64 KiB ${fmt(k64)}`);
      child.kill(c.name.startsWith("nginx") ? "SIGQUIT" : "SIGINT");
      await new Promise((r) => { child.once("exit", r); setTimeout(r, 5000).unref(); });
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log("\n| server | 1 KiB req/s | 1 KiB p99 | 64 KiB req/s | 64 KiB p99 |\n|---|---:|---:|---:|---:|");
  for (const [name, r] of results) console.log(`| ${name} | ${r.k1?.rps.toFixed(0) ?? "-"} | ${r.k1 ? `${r.k1.p99ms.toFixed(2)} ms` : "-"} | ${r.k64?.rps.toFixed(0) ?? "-"} | ${r.k64 ? `${r.k64.p99ms.toFixed(2)} ms` : "-"} |`);
  const w1 = results.get("wirekit --workers 1");
  const ngx = results.get("nginx (1 worker)");
  const serve = results.get("npm serve");
  const ratio = (a?: Result, b?: Result): string => (a && b ? `${((a.rps / b.rps) * 100).toFixed(0)}%` : "n/a");
  console.log(`\nwirekit --workers 1 vs nginx (1 worker): 1 KiB ${ratio(w1?.k1, ngx?.k1)} (target >= 50%), 64 KiB ${ratio(w1?.k64, ngx?.k64)} (target >= 30%)`);
  console.log(`wirekit --workers 1 vs npm serve: 1 KiB ${w1?.k1 && serve?.k1 ? `${(w1.k1.rps / serve.k1.rps).toFixed(1)}x` : "n/a"} (target >= 4x)`);
}

function fmt(r: Result | undefined): string {
  return r === undefined ? "failed" : `${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99ms.toFixed(2)} ms`;
}

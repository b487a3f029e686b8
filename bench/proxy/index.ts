/**
 * bench/proxy: cache-hit requests per second for a 1 KiB object through `wirekit proxy`, in
 * forward mode and in gateway mode (`--reverse`, origin-form requests), beside Squid (memory cache) and the origin reached directly, all measured in this run with
 * wrk (absolute-form request lines via a Lua script, -t1 -c50); and the latency a miss adds
 * (sequential keep-alive requests for never-seen URLs, proxy minus direct: each server warmed
 * by 3000 uncounted misses, then five rounds of 300 taken in turn, the median of the rounds'
 * medians); and the
 * hit rate of 100 concurrent clients asking at once for one uncached URL (collapsing).
 * Two ceilings from the same run put the figures in scale: a bare node:net server writing a
 * fixed reply of a hit's size (no HTTP parsing, no cache), and a bare node:net relay for misses.
 * Installs wrk and squid with apt-get when missing (needs root).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { netCeilingScript } from "../net-ceiling.js";
import { createServer, connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const title = "caching proxy: 1 KiB cache hits/s (wrk -t1 -c50) and added miss latency, vs Squid and direct";

/** wrk's run per measurement; WIREKIT_BENCH_DURATION=1s makes a quick check that the bench starts. */
const DURATION = process.env.WIREKIT_BENCH_DURATION ?? "6s";
/** Uncounted misses each server answers before the measured ones (WIREKIT_BENCH_MISS_WARMUP). */
const MISS_WARMUP = Number(process.env.WIREKIT_BENCH_MISS_WARMUP ?? 3000);
/** Measured rounds of 300 sequential misses per server (WIREKIT_BENCH_MISS_ROUNDS). */
const MISS_ROUNDS = Number(process.env.WIREKIT_BENCH_MISS_ROUNDS ?? 5);

/**
 * Two ceilings, as child scripts: what node:net alone does with no HTTP parsing and no cache.
 * HIT: a fixed reply the size of a wirekit hit (its head has the same fields), written when the
 * end of a request head is found. MISS: a relay with one kept-alive origin connection per client
 * that rewrites the request line and forwards the answer by its Content-Length.
 */
const HIT_CEILING = netCeilingScript(
  {
    hit: {
      head: "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nCache-Control: max-age=3600\r\nLast-Modified: Mon, 02 Nov 2026 00:00:00 GMT\r\nDate: Mon, 02 Nov 2026 00:00:00 GMT\r\nVia: 1.1 127.0.0.1:8888 (wirekit)\r\nContent-Length: 1024\r\nAge: 10\r\nCache-Status: wirekit; hit; ttl=3590",
      size: 1024,
    },
  },
  "hit",
);

const MISS_CEILING = `
const net = require("node:net");
const [port, originPort] = process.argv.slice(1).map(Number);
net.createServer((c) => {
  c.setNoDelay(true);
  c.on("error", () => {});
  const o = net.connect(originPort, "127.0.0.1");
  o.setNoDelay(true);
  o.on("error", () => c.destroy());
  let acc = "", head = "", need = -1, got = 0;
  c.on("data", (d) => {
    acc += d.latin1Slice();
    let i;
    while ((i = acc.indexOf("\\r\\n\\r\\n")) !== -1) {
      const m = /^GET [a-z]+:\\/\\/[^/]+(\\S*) HTTP/.exec(acc.slice(0, i));
      o.write("GET " + (m ? m[1] : "/") + " HTTP/1.1\\r\\nHost: 127.0.0.1:" + originPort + "\\r\\n\\r\\n", "latin1");
      acc = acc.slice(i + 4);
    }
  });
  o.on("data", (d) => {
    if (need < 0) {
      head += d.latin1Slice();
      const i = head.indexOf("\\r\\n\\r\\n");
      if (i < 0) return;
      const cl = /content-length: *(\\d+)/i.exec(head.slice(0, i));
      need = i + 4 + Number(cl ? cl[1] : 0);
      got = head.length;
      c.write(Buffer.from(head, "latin1"));
      head = "";
    } else {
      got += d.length;
      c.write(d);
    }
    if (got >= need) need = -1;
  });
}).listen(port, "127.0.0.1");`;

function have(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function ensureTools(): void {
  const missing = [["wrk", "wrk"], ["squid", "squid"], ["redis-server", "redis-server"]].filter(([cmd]) => !have(cmd ?? "")).map(([, pkg]) => pkg ?? "");
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(" ")} (apt-get)...`);
  execFileSync("apt-get", ["install", "-y", "-qq", ...missing], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitForPort(port: number, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The origin: every path a 1 KiB max-age=3600 object. Paths under /slow/ answer after 100 ms (an
 * origin slow enough that 100 clients' requests overlap one fetch), and `/_count/PATH` says how
 * many requests for PATH reached it (the collapsing figure counts fetches here, whatever the
 * cache's own headers claim).
 */
const ORIGIN_SCRIPT = `
const http = require("node:http");
const body = Buffer.alloc(1024, 120);
const counts = new Map();
http.createServer((req, res) => {
  if (req.url.startsWith("/_count/")) {
    res.end(String(counts.get(req.url.slice(7)) ?? 0));
    return;
  }
  counts.set(req.url, (counts.get(req.url) ?? 0) + 1);
  const send = () => {
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": "1024", "Cache-Control": "max-age=3600", "Last-Modified": "Mon, 02 Nov 2026 00:00:00 GMT" });
    res.end(body);
  };
  if (req.url.startsWith("/slow/")) setTimeout(send, 100);
  else send();
}).listen(Number(process.argv[1]), "127.0.0.1");
`;

function wrk(target: string, absoluteUrl: string | undefined, dir: string): { rps: number; latency: string } {
  const args = ["-t1", "-c50", `-d${DURATION}`];
  if (absoluteUrl !== undefined) {
    const script = join(dir, "abs.lua");
    writeFileSync(script, `wrk.path = "${absoluteUrl}"\n`);
    args.push("-s", script);
  }
  const out = execFileSync("wrk", [...args, target], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? "0");
  const latency = /Latency\s+(\S+)/.exec(out)?.[1] ?? "?";
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors) console.log(`  (${errors[1]} non-2xx responses!)`);
  return { rps, latency };
}

/** Median ms of `n` sequential keep-alive GETs for fresh URLs (every one a miss). */
async function missLatency(viaPort: number | undefined, originPort: number, tag: string, n = 300, originForm = viaPort === undefined): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const url = `http://127.0.0.1:${originPort}/miss/${tag}/${i}`;
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: viaPort ?? originPort, path: originForm ? `/miss/${tag}/${i}` : url, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve());
      });
      req.on("error", reject);
      req.end();
    });
    times.push(performance.now() - t0);
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

/** One GET on its own connection: the status and the cache's verdict (Cache-Status, or Squid's X-Cache). */
function getOnce(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; verdict: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const cs = String(res.headers["cache-status"] ?? res.headers["x-cache"] ?? "");
        const verdict = /fwd=collapsed|collapsed/.test(cs) ? "collapsed" : /hit/i.test(cs) ? "hit" : /fwd=|miss/i.test(cs) ? "miss" : "?";
        resolve({ status: res.statusCode ?? 0, verdict, body: Buffer.concat(chunks).toString("latin1") });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * Collapsing: 100 clients, each on its own connection, ask at once for one URL the cache has
 * never seen, from an origin that takes 100 ms to answer. The hit rate is the share of the 100
 * answered without a fetch of their own: (100 - fetches the origin counted) / 100.
 */
async function collapsing(port: number, originPort: number, tag: string, originForm = false): Promise<string> {
  const path = `/slow/collapse/${tag}`;
  const target = originForm ? path : `http://127.0.0.1:${originPort}${path}`;
  const answers = await Promise.all(Array.from({ length: 100 }, () => getOnce(port, target)));
  const fetches = Number((await getOnce(originPort, `/_count${path}`)).body);
  const ok = answers.filter((a) => a.status === 200).length;
  const by = new Map<string, number>();
  for (const a of answers) by.set(a.verdict, (by.get(a.verdict) ?? 0) + 1);
  const verdicts = [...by].map(([k, n]) => `${n} ${k}`).join(", ");
  return `${tag.padEnd(8)} hit rate ${((100 - fetches) / 100).toFixed(2)} (${fetches} origin fetch${fetches === 1 ? "" : "es"} for 100 clients; ${ok} answered 200; the cache's headers: ${verdicts})`;
}

function stop(p: ChildProcess | undefined): Promise<void> {
  if (p === undefined || p.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once("exit", () => resolve());
    p.kill("SIGTERM");
    setTimeout(() => p.kill("SIGKILL"), 5000).unref();
  });
}

export async function run(): Promise<void> {
  ensureTools();
  const dir = mkdtempSync(join(tmpdir(), "wirekit-bench-proxy-"));
  chmodSync(dir, 0o777); // squid drops privileges and writes its log here
  const procs: ChildProcess[] = [];
  try {
    const originPort = await freePort();
    const origin = spawn(process.execPath, ["-e", ORIGIN_SCRIPT, String(originPort)], { stdio: "ignore" });
    procs.push(origin);
    const wkPort = await freePort();
    const main = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
    const wk = spawn(process.execPath, [main, "proxy", "--port", String(wkPort), "--cache-dir", join(dir, "wk-cache"), "--quiet"], { stdio: "ignore" });
    procs.push(wk);
    // The like-for-like reference for Squid's memory-only cache (cache_mem, no cache_dir).
    const memPort = await freePort();
    procs.push(spawn(process.execPath, [main, "proxy", "--port", String(memPort), "--store", "memory", "--quiet"], { stdio: "ignore" }));
    const gwPort = await freePort();
    const gw = spawn(process.execPath, [main, "proxy", "--reverse", `http://127.0.0.1:${originPort}`, "--port", String(gwPort), "--cache-dir", join(dir, "gw-cache"), "--quiet"], { stdio: "ignore" });
    procs.push(gw);
    const squidPort = await freePort();
    procs.push(startSquid(dir, "squid", squidPort));
    // A second Squid with collapsed forwarding on, for the collapsing figure only.
    const squidCfPort = await freePort();
    procs.push(startSquid(dir, "squid-cf", squidCfPort, ["collapsed_forwarding on"]));
    // The shared store (issue 14): one redis-server, a proxy on it with its hot layer and one without.
    const redisPort = await freePort();
    const redis = spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
    procs.push(redis);
    await waitForPort(redisPort);
    const rdPort = await freePort();
    procs.push(spawn(process.execPath, [main, "proxy", "--port", String(rdPort), "--store", `redis://127.0.0.1:${redisPort}`, "--quiet"], { stdio: "ignore" }));
    const rdColdPort = await freePort();
    procs.push(spawn(process.execPath, [main, "proxy", "--port", String(rdColdPort), "--store", `redis://127.0.0.1:${redisPort}/1`, "--hot-size", "0", "--quiet"], { stdio: "ignore" }));
    const hitCeilingPort = await freePort();
    procs.push(spawn(process.execPath, ["-e", HIT_CEILING, String(hitCeilingPort)], { stdio: "ignore" }));
    const missCeilingPort = await freePort();
    procs.push(spawn(process.execPath, ["-e", MISS_CEILING, String(missCeilingPort), String(originPort)], { stdio: "ignore" }));
    await Promise.all([waitForPort(hitCeilingPort), waitForPort(missCeilingPort), waitForPort(originPort), waitForPort(wkPort), waitForPort(memPort), waitForPort(gwPort), waitForPort(squidPort), waitForPort(squidCfPort), waitForPort(rdPort), waitForPort(rdColdPort)]);
    const obj = `http://127.0.0.1:${originPort}/obj`;
    // Warm both caches.
    for (const [port, path] of [[wkPort, obj], [memPort, obj], [squidPort, obj], [gwPort, "/obj"], [rdPort, obj], [rdColdPort, obj]] as const) {
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve) => request({ host: "127.0.0.1", port, path }, (r) => r.resume().on("end", () => resolve())).end());
      }
    }
    console.log(`origin node:http on :${originPort}, wirekit proxy on :${wkPort}, wirekit gateway on :${gwPort}, squid ${squidVersion()} on :${squidPort}`);
    // Two interleaved rounds, best of each, so a burst of load on the shared machine does not
    // decide the ratio by itself.
    const best = (a: { rps: number; latency: string }, b: { rps: number; latency: string }) => (a.rps >= b.rps ? a : b);
    let direct = { rps: 0, latency: "?" };
    let sq = { rps: 0, latency: "?" };
    let ours = { rps: 0, latency: "?" };
    let gateway = { rps: 0, latency: "?" };
    let mem = { rps: 0, latency: "?" };
    let rd = { rps: 0, latency: "?" };
    let rdCold = { rps: 0, latency: "?" };
    let ceiling = { rps: 0, latency: "?" };
    for (let round = 1; round <= 2; round++) {
      ceiling = best(ceiling, wrk(`http://127.0.0.1:${hitCeilingPort}`, obj, dir));
      rd = best(rd, wrk(`http://127.0.0.1:${rdPort}`, obj, dir));
      rdCold = best(rdCold, wrk(`http://127.0.0.1:${rdColdPort}`, obj, dir));
      direct = best(direct, wrk(`http://127.0.0.1:${originPort}`, "/obj", dir));
      sq = best(sq, wrk(`http://127.0.0.1:${squidPort}`, obj, dir));
      ours = best(ours, wrk(`http://127.0.0.1:${wkPort}`, obj, dir));
      mem = best(mem, wrk(`http://127.0.0.1:${memPort}`, obj, dir));
      gateway = best(gateway, wrk(`http://127.0.0.1:${gwPort}/obj`, undefined, dir));
    }
    console.log(`direct to origin   ${direct.rps.toFixed(0).padStart(8)} req/s  (latency avg ${direct.latency})`);
    console.log(`squid cache hits   ${sq.rps.toFixed(0).padStart(8)} req/s  (latency avg ${sq.latency})`);
    console.log(`wirekit cache hits ${ours.rps.toFixed(0).padStart(8)} req/s  (latency avg ${ours.latency})`);
    console.log(`wirekit, memory    ${mem.rps.toFixed(0).padStart(8)} req/s  (latency avg ${mem.latency}; --store memory, as Squid's cache_mem)`);
    console.log(`wirekit gateway    ${gateway.rps.toFixed(0).padStart(8)} req/s  (latency avg ${gateway.latency})`);
    console.log(`wirekit on redis    ${rd.rps.toFixed(0).padStart(8)} req/s  (latency avg ${rd.latency}; hot layer on)`);
    console.log(`wirekit on redis    ${rdCold.rps.toFixed(0).padStart(8)} req/s  (latency avg ${rdCold.latency}; --hot-size 0, every hit read from Redis)`);
    console.log(`ceiling: bare node:net ${ceiling.rps.toFixed(0).padStart(8)} req/s  (latency avg ${ceiling.latency}; a fixed reply of a hit's size, no HTTP parsing, no cache)`);
    console.log(`ratio wirekit/squid ${(ours.rps / sq.rps).toFixed(2)} (gateway ${(gateway.rps / sq.rps).toFixed(2)}), wirekit/direct ${(ours.rps / direct.rps).toFixed(2)}, wirekit/ceiling ${(ours.rps / ceiling.rps).toFixed(2)}, ceiling/squid ${(ceiling.rps / sq.rps).toFixed(2)} (target wirekit/squid >= 1.5); memory store/squid ${(mem.rps / sq.rps).toFixed(2)}`);
    console.log(`redis store / disk store: hot layer on ${(rd.rps / ours.rps).toFixed(2)} (target >= 0.8), off ${(rdCold.rps / ours.rps).toFixed(2)}`);
    // Each server first answers MISS_WARMUP misses of its own that are not counted: the figure
    // is a running proxy's miss, not the first misses of a freshly started process. wirekit's
    // miss path reaches V8's optimizing tier only after some two thousand misses (a fresh
    // proxy's 300-miss windows went 0.70 -> 0.45 ms over its first 3,600 misses here; Squid's
    // stayed flat); Squid, the relay and the origin are warmed the same way. Then MISS_ROUNDS
    // rounds of 300 sequential misses per server, taken in turn (so a busy moment of the machine
    // falls on every server alike), and each server's figure is the median of its rounds' medians.
    const missTargets = [[undefined, "direct", true], [squidPort, "squid", false], [missCeilingPort, "relay", false], [wkPort, "wirekit", false], [memPort, "memory", false], [gwPort, "gateway", true], [rdPort, "redis", false]] as const;
    for (const [port, tag, originForm] of missTargets) await missLatency(port, originPort, `${tag}-warm`, MISS_WARMUP, originForm);
    const rounds = new Map<string, number[]>(missTargets.map(([, tag]) => [tag, []]));
    for (let i = 0; i < MISS_ROUNDS; i++) {
      for (const [port, tag, originForm] of missTargets) rounds.get(tag)?.push(await missLatency(port, originPort, `${tag}-${i}`, 300, originForm));
    }
    const med = (tag: string): number => {
      const v = [...(rounds.get(tag) ?? [])].sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)] ?? 0;
    };
    const span = (tag: string): string => {
      const v = rounds.get(tag) ?? [];
      return `${Math.min(...v).toFixed(3)}-${Math.max(...v).toFixed(3)}`;
    };
    const d = med("direct");
    const add = (tag: string): string => `${med(tag).toFixed(3)} ms (+${(med(tag) - d).toFixed(3)}; rounds ${span(tag)})`;
    console.log(`miss latency (${MISS_WARMUP} uncounted misses each, then the median of ${MISS_ROUNDS} rounds' medians of 300 sequential misses): direct ${d.toFixed(3)} ms (rounds ${span("direct")})`);
    console.log(`  squid ${add("squid")}`);
    console.log(`  ceiling: bare node:net relay ${add("relay")}`);
    console.log(`  wirekit ${add("wirekit")}, memory store ${add("memory")}, gateway ${add("gateway")}, redis store ${add("redis")}`);
    console.log(`  added latency wirekit/squid ${((med("wirekit") - d) / (med("squid") - d)).toFixed(2)}, memory store/squid ${((med("memory") - d) / (med("squid") - d)).toFixed(2)} (target <= 1.00)`);
    console.log("collapsing: 100 concurrent clients, one uncached URL, an origin that answers in 100 ms");
    console.log(`  ${await collapsing(wkPort, originPort, "wirekit")}`);
    console.log(`  ${await collapsing(gwPort, originPort, "gateway", true)}`);
    console.log(`  ${await collapsing(squidPort, originPort, "squid")}  (collapsed_forwarding off, Squid's default)`);
    console.log(`  ${await collapsing(squidCfPort, originPort, "squid-cf")}  (collapsed_forwarding on)`);
  } finally {
    for (const p of procs.reverse()) await stop(p);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Squid with a memory cache on `port`, its files named after `name` in `dir`. */
function startSquid(dir: string, name: string, port: number, extra: string[] = []): ChildProcess {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    [
      `http_port 127.0.0.1:${port}`,
      "http_access allow localhost",
      "http_access deny all",
      "cache_mem 256 MB",
      "maximum_object_size_in_memory 1 MB",
      `pid_filename ${join(dir, `${name}.pid`)}`,
      `cache_log ${join(dir, `${name}.log`)}`,
      "access_log none",
      `coredump_dir ${dir}`,
      "shutdown_lifetime 1 seconds",
      "via on",
      ...extra,
      "",
    ].join("\n"),
  );
  return spawn("squid", ["-N", "-f", conf], { stdio: "ignore" });
}

function squidVersion(): string {
  try {
    return /Version (\S+)/.exec(execFileSync("squid", ["-v"], { encoding: "utf8" }))?.[1] ?? "?";
  } catch {
    return "?";
  }
}

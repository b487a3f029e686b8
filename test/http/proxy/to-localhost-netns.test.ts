/**
 * Attack: a client admitted with --allow uses the proxy to reach services that listen only on
 * the proxy host (its loopback, its own addresses). Built in a namespace pair created here:
 *
 *   client ns 10.99.0.2 ── veth ── proxy ns 10.99.0.1 (+ 10.99.1.1 on lo; a page on 127.0.0.1 and 10.99.1.1)
 *
 * The proxy ns gets its own /etc/hosts (ip netns exec mounts /etc/netns/NAME/hosts), so a name
 * resolving to 127.0.0.1 never needs a resolver beyond the machine.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { BIN } from "../../helpers/cli.js";
import { netnsSkipReason } from "../../helpers/netns.js";

const skip = netnsSkipReason();
const id = `${process.pid.toString(36)}-${Date.now().toString(36).slice(-4)}`;
const C = `wk-${id}-c`;
const T = `wk-${id}-t`;
const made: string[] = [];
const children: ChildProcess[] = [];

function cleanup(): void {
  for (const c of children.splice(0)) if (c.pid !== undefined && c.exitCode === null) c.kill("SIGTERM");
  for (const ns of made.splice(0)) {
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
  rmSync(`/etc/netns/${T}`, { recursive: true, force: true });
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Start a long-running process in the proxy namespace; resolves with the first stdout line matching `re`. */
function startIn(ns: string, args: string[], re: RegExp): Promise<RegExpExecArray> {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m !== null) resolve(m);
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("ip", ["netns", "exec", C, "curl", "-sS", "--max-time", "20", ...args], (e, stdout, stderr) => {
      resolve({ code: e === null ? 0 : typeof e.code === "number" ? e.code : -1, stdout, stderr });
    });
  });
}

const SERVICE = `
const http = require("node:http");
const page = (req, res) => res.end("secret loopback page\\n");
const a = http.createServer(page).listen(0, "127.0.0.1", () => {
  const b = http.createServer(page).listen(0, "10.99.1.1", () => {
    const c = http.createServer(page).listen(a.address().port, "::1", () => console.log("ports " + a.address().port + " " + b.address().port));
  });
});`;

describe("proxy: remote clients may not reach the proxy host's own services", { skip }, () => {
  let loPort = 0;
  let ownPort = 0;
  let proxyPort = 0;
  let openPort = 0;

  before(async () => {
    process.once("exit", cleanup);
    for (const ns of [C, T]) {
      ip("netns", "add", ns);
      made.push(ns);
      ip("-n", ns, "link", "set", "lo", "up");
    }
    ip("link", "add", "eth0", "netns", C, "type", "veth", "peer", "name", "eth0", "netns", T);
    ip("-n", C, "addr", "add", "10.99.0.2/24", "dev", "eth0");
    ip("-n", T, "addr", "add", "10.99.0.1/24", "dev", "eth0");
    ip("-n", T, "addr", "add", "10.99.1.1/32", "dev", "lo");
    ip("-n", C, "link", "set", "eth0", "up");
    ip("-n", T, "link", "set", "eth0", "up");
    mkdirSync(`/etc/netns/${T}`, { recursive: true });
    writeFileSync(`/etc/netns/${T}/hosts`, "127.0.0.1 localhost\n::1 localhost\n127.0.0.1 loopy.test\n");
    const m = await startIn(T, ["-e", SERVICE], /ports (\d+) (\d+)\n/);
    loPort = Number(m[1]);
    ownPort = Number(m[2]);
    const ports = `${loPort},${ownPort}`;
    const p = await startIn(T, [BIN, "proxy", "--host", "10.99.0.1", "--port", "0", "--allow", "10.99.0.0/24", "--no-cache", "--quiet", "--connect-ports", ports], /listening on 10\.99\.0\.1:(\d+)/);
    proxyPort = Number(p[1]);
    const q = await startIn(T, [BIN, "proxy", "--host", "10.99.0.1", "--port", "0", "--allow", "10.99.0.0/24", "--no-cache", "--quiet", "--allow-to-loopback"], /listening on 10\.99\.0\.1:(\d+)/);
    openPort = Number(q[1]);
  });
  after(cleanup);

  const targets = (): string[] => [
    `http://127.0.0.1:${loPort}/`,
    `http://localhost:${loPort}/`,
    `http://127.1:${loPort}/`,
    `http://0x7f.1:${loPort}/`,
    `http://loopy.test:${loPort}/`,
    `http://0.0.0.0:${loPort}/`,
    `http://[::1]:${loPort}/`,
    `http://[::ffff:127.0.0.1]:${loPort}/`,
    `http://10.99.1.1:${ownPort}/`,
    `http://10.99.0.1:${loPort}/`,
  ];

  it("answers 403 with the reason, never the page, for every spelling of loopback and the host's own addresses", async () => {
    for (const url of targets()) {
      const r = await curl(["-x", `http://10.99.0.1:${proxyPort}`, "-w", "\n%{http_code}", url]);
      assert.doesNotMatch(r.stdout, /secret loopback page/, url);
      assert.match(r.stdout, /own host|403/, url);
      assert.match(r.stdout, /\n403$/, `${url}: ${r.stdout}`);
    }
  });

  it("refuses CONNECT tunnels to loopback too", async () => {
    for (const authority of [`127.0.0.1:${loPort}`, `localhost:${loPort}`, `10.99.1.1:${ownPort}`]) {
      const r = await curl(["-p", "-x", `http://10.99.0.1:${proxyPort}`, "-w", "%{http_connect}", `http://${authority}/`]);
      assert.doesNotMatch(r.stdout, /secret loopback page/, authority);
      assert.match(r.stdout, /403/, `${authority}: ${r.stdout} ${r.stderr}`);
    }
  });

  it("serves them with --allow-to-loopback (so the denial above is the rule, not the topology)", async () => {
    const r = await curl(["-x", `http://10.99.0.1:${openPort}`, `http://localhost:${loPort}/`]);
    assert.equal(r.stdout, "secret loopback page\n");
    const own = await curl(["-x", `http://10.99.0.1:${openPort}`, `http://10.99.1.1:${ownPort}/`]);
    assert.equal(own.stdout, "secret loopback page\n");
  });
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { BIN, runCliCapture, spawnCli } from "../helpers/cli.js";
import { IcmpSocket } from "../../src/icmp/socket.js";

const isRoot = process.getuid?.() === 0;
const rootOnly = isRoot ? {} : { skip: "needs root (raw ICMP sockets)" };
const REPLY_V4 = /^Reply from 127\.0\.0\.1: bytes=56 time=\d+\.\d{3}ms TTL=64$/;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(cmd, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

test("wirekit ping 127.0.0.1 -n 3 gets three replies with TTL 64 and prints the lab's statistics", rootOnly, async () => {
  const r = await runCliCapture(["ping", "127.0.0.1", "-n", "3", "-i", "0.05"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.equal(lines[0], "Pinging 127.0.0.1 with 56 bytes of data:");
  assert.equal(lines.filter((l) => REPLY_V4.test(l)).length, 3, r.stdout);
  assert.ok(r.stdout.includes("\nPing statistics for 127.0.0.1:\n    Packets: Sent = 3, Received = 3, Lost = 0 (0% loss),\n"), r.stdout);
  assert.match(r.stdout, /Approximate round trip times in milli-seconds:\n {4}Minimum = \d+\.\d{3}ms, Maximum = \d+\.\d{3}ms, Average = \d+\.\d{3}ms, Std dev = \d+\.\d{3}ms\n$/);
});

test("wirekit ping ::1 replies over ICMPv6 with hop limit 64", rootOnly, async () => {
  const r = await runCliCapture(["ping", "::1", "-n", "3", "-i", "0.05"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split("\n").filter((l) => /^Reply from ::1: bytes=56 time=\d+\.\d{3}ms TTL=64$/.test(l)).length, 3, r.stdout);
});

test("-4 on localhost and -s change the family and the data size", rootOnly, async () => {
  const r = await runCliCapture(["ping", "localhost", "-4", "-n", "1", "-s", "1000"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Pinging localhost \[127\.0\.0\.1\] with 1000 bytes of data:\nReply from 127\.0\.0\.1: bytes=1000 /);
});

test("--json prints one document with every probe and the summary", rootOnly, async () => {
  const r = await runCliCapture(["ping", "127.0.0.1", "-n", "2", "-i", "0.05", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { socket: string; pings: Array<{ status: string; ttl: number; rtt_ms: number }>; summary: { received: number } };
  assert.equal(doc.summary.received, 2);
  assert.deepEqual(doc.pings.map((p) => [p.status, p.ttl]), [["reply", 64], ["reply", 64]]);
  assert.ok(doc.pings.every((p) => p.rtt_ms >= 0 && p.rtt_ms < 1000));
});

test("usage errors and unknown hosts exit 2 with one line", async () => {
  for (const argv of [["ping"], ["ping", "127.0.0.1", "-4", "-6"], ["ping", "127.0.0.1", "-n", "x"], ["ping", "127.0.0.1", "-t", "0"], ["ping", "::1", "-4"], ["ping", "no-such-host.invalid"]]) {
    const r = await runCliCapture(argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, /^wirekit: [^\n]+\n$/);
  }
});

test("without root, CAP_NET_RAW or ping sockets, ping prints the permission line and exits 2", rootOnly, async () => {
  // A fresh network namespace has ping_group_range "1 0"; dropping CAP_NET_RAW forbids raw sockets.
  const r = await run("unshare", ["-n", "setpriv", "--bounding-set", "-net_raw", "--", process.execPath, BIN, "ping", "127.0.0.1", "-n", "1"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'wirekit: ICMP needs root or CAP_NET_RAW, or ping sockets enabled: sysctl -w net.ipv4.ping_group_range="0 2147483647"\n');
});

test("without the addon, ping says it is missing and how to build it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-noaddon-"));
  try {
    cpSync(resolve(BIN, "../../.."), join(dir, "dist"), { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const r = await run(process.execPath, [join(dir, "dist/src/cli/main.js"), "ping", "127.0.0.1"]);
    assert.equal(r.code, 2);
    // Both places the loader looks are named: the local build and the prebuild.
    const both = String.raw`\(\S*build/Release/wirekit_icmp\.node, \S*prebuilds/${process.platform}-${process.arch}/wirekit_icmp\.node\)`;
    assert.match(r.stderr, new RegExp(String.raw`^wirekit: the ICMP addon is missing ${both}; build it with 'npm run build:addon'`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("opening and closing the socket 2000 times leaks no file descriptors", rootOnly, () => {
  const before = readdirSync("/proc/self/fd").length;
  for (let i = 0; i < 2000; i++) {
    const s = IcmpSocket.open({ family: i % 2 === 0 ? 4 : 6, kind: "raw" });
    s.close();
    s.close();
  }
  assert.equal(readdirSync("/proc/self/fd").length, before);
});

test("sending on a closed socket throws with a code instead of hanging", rootOnly, () => {
  const s = IcmpSocket.open({ family: 4, kind: "raw" });
  s.close();
  assert.throws(() => s.send(Buffer.alloc(8), "127.0.0.1"), { code: "ERR_SOCKET_CLOSED" });
  const t = IcmpSocket.open({ family: 4, kind: "raw" });
  try {
    assert.throws(() => t.setTtl(0), { code: "EINVAL" });
    assert.throws(() => t.send(Buffer.alloc(70000), "127.0.0.1"), { code: "EMSGSIZE" });
  } finally {
    t.close();
  }
});

test("the addon works inside a worker thread", rootOnly, async () => {
  const url = new URL("../../src/icmp/ping.js", import.meta.url).href;
  const code = `
    const { parentPort } = require("node:worker_threads");
    import(${JSON.stringify(url)}).then(async ({ IcmpPinger }) => {
      const r = await new IcmpPinger({ host: "127.0.0.1", count: 1 }).run();
      parentPort.postMessage(r.totals.received);
    });`;
  const w = new Worker(code, { eval: true });
  const received = await new Promise((res, rej) => {
    w.once("message", res);
    w.once("error", rej);
  });
  assert.equal(received, 1);
  await w.terminate();
});

test("Ctrl-C stops an endless ping and still prints the statistics, exit 0", rootOnly, async () => {
  const p = spawnCli(["ping", "127.0.0.1", "-n", "0", "-i", "0.05"]);
  await p.waitFor(/(Reply from 127\.0\.0\.1: .*\n){2}/);
  p.kill("SIGINT");
  const r = await p.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nPing statistics for 127\.0\.0\.1:\n {4}Packets: Sent = \d+, Received = \d+, Lost = \d+ \(/);
});

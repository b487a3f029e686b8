import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { runCliCapture, spawnCli, type Spawned } from "../helpers/cli.js";

const children: Spawned[] = [];
after(() => {
  for (const c of children) c.kill("SIGKILL");
});

function serve(args: string[]): { child: Spawned; port: Promise<number> } {
  const child = spawnCli(["heartbeat", "serve", "--host", "127.0.0.1", "--port", "0", ...args]);
  children.push(child);
  // In --json mode stdout is JSON only; the listening line goes to stderr and stdout has {"kind":"listening"}.
  const port = args.includes("--json")
    ? child.waitFor(/"kind":"listening"/).then((out) => Number(/"port":(\d+)/.exec(out)?.[1]))
    : child.waitFor(/listening on 127\.0\.0\.1:\d+/).then((out) => Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]));
  return { child, port };
}

test("usage errors exit 2 with one line", { timeout: 60_000 }, async () => {
  for (const argv of [
    ["heartbeat"],
    ["heartbeat", "127.0.0.1"],
    ["heartbeat", "127.0.0.1", "99999"],
    ["heartbeat", "127.0.0.1", "12001", "-i", "soon"],
    ["heartbeat", "127.0.0.1", "12001", "--misses", "0"],
    ["heartbeat", "127.0.0.1", "12001", "--id", "has space"],
    ["heartbeat", "serve", "--phi", "-1"],
    ["heartbeat", "serve", "--loss", "2"],
    ["heartbeat", "serve", "--dead-after", "5s", "--forget-after", "1s"],
    ["heartbeat", "serve", "--bogus"],
  ]) {
    const r = await runCliCapture(argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, /^wirekit: [^\n]+\n$/, argv.join(" "));
  }
});

test("--help shows both forms with an example", { timeout: 60_000 }, async () => {
  const r = await runCliCapture(["heartbeat", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /wirekit heartbeat serve/);
  assert.match(r.stdout, /Examples:\n {2}wirekit heartbeat/);
});

test("sender and monitor: replies with RTT and delay, statistics, and the client table on SIGINT", { timeout: 60_000 }, async () => {
  const { child, port } = serve(["--dead-after", "10s"]);
  const p = await port;
  // -W 5: a loaded machine may take longer than the 50 ms interval to answer the first one; this test is not about timing.
  const r = await runCliCapture(["heartbeat", "127.0.0.1", String(p), "-c", "3", "-i", "0.05", "-W", "5", "--id", "web-1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^HEARTBEAT 127\.0\.0\.1 \(127\.0\.0\.1:\d+\) as web-1 \(run [0-9a-f]{8}\), every 50 ms$/m, "-i 0.05 is 50 ms, not a rounded 0.1 s");
  assert.match(r.stdout, /^reply seq=1 rtt=\d+\.\d{3} ms delay=-?\d+\.\d+ ms$/m);
  assert.match(r.stdout, /^3 packets transmitted, 3 received, 0% packet loss, time \d+ms$/m);
  assert.match(r.stdout, /^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/m);
  await child.waitFor(/new client web-1 \(127\.0\.0\.1:\d+\), first seq 1/);
  child.kill("SIGINT");
  const out = await child.done;
  assert.equal(out.code, 0);
  assert.match(out.stdout, /^client +status +received +lost +loss % +reordered +dups +delay min\/avg\/max ms +last seen$/m);
  assert.match(out.stdout, /^web-1 +alive +3 +0 +0\.0 +0 +0 +[-\d.]+\/[-\d.]+\/[-\d.]+ +[\d.]+ s ago$/m);
  assert.match(out.stdout, /^3 heartbeats from 1 client, 0 lost/m);
  assert.match(out.stdout, /includes the offset between the hosts' clocks/);
});

test("--json prints events and the final summary as JSON lines", { timeout: 60_000 }, async () => {
  const { child, port } = serve(["--json"]);
  const p = await port;
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  for (const seq of [1, 2, 5]) s.send(`${seq} ${Date.now() / 1000} id=j`, p, "127.0.0.1");
  s.send("nonsense", p, "127.0.0.1");
  await child.waitFor(/"kind":"lost"/);
  s.close();
  child.kill("SIGTERM");
  const out = await child.done;
  assert.equal(out.code, 0);
  const lines = out.stdout.trim().split("\n").map((l) => JSON.parse(l) as { kind: string; [k: string]: unknown });
  assert.equal(lines[0]?.kind, "listening");
  const lost = lines.find((l) => l.kind === "lost");
  assert.deepEqual({ ...lost, at: undefined }, { kind: "lost", client: "j", from: 3, to: 4, count: 2, at: undefined });
  assert.ok(lines.some((l) => l.kind === "malformed" && l.count === 1));
  const summary = lines.at(-1) as { kind: string; clients: Array<{ id: string; lost: number }> };
  assert.equal(summary.kind, "summary");
  assert.equal(summary.clients[0]?.id, "j");
  assert.equal(summary.clients[0]?.lost, 2);
});

// The lab's own programs, in the shape the assignment gives them: a Python client sending
// "<seq> <time>" and a Python server replying "<seq> <time_diff>". wirekit must work with both.
const PY_CLIENT = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
for seq in [1, 2, 3, 6, 7]:
    s.sendto(f"{seq} {time.time()}".encode(), ("127.0.0.1", int(sys.argv[1])))
    data, _ = s.recvfrom(1024)
    rseq, diff = data.decode().split()
    print(rseq, float(diff) >= -1)
`;
const PY_SERVER = `
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    data, addr = s.recvfrom(1024)
    seq, ts = data.decode().split()[:2]
    s.sendto(f"{seq} {time.time() - float(ts)}".encode(), addr)
`;

test("the lab's Python client works against the monitor, which finds its lost seqs", { timeout: 60_000 }, async () => {
  const { child, port } = serve([]);
  const p = await port;
  const py = spawn("python3", ["-c", PY_CLIENT, String(p)]);
  let out = "";
  py.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  const [code] = (await once(py, "close")) as [number];
  assert.equal(code, 0);
  assert.equal(out, "1 True\n2 True\n3 True\n6 True\n7 True\n");
  await child.waitFor(/lost seq 4-5 from 127\.0\.0\.1:\d+/);
  child.kill("SIGINT");
  assert.equal((await child.done).code, 0);
});

test("the sender works against the lab's Python server", { timeout: 60_000 }, async () => {
  const py = spawn("python3", ["-c", PY_SERVER]);
  try {
    const [line] = (await once(py.stdout.setEncoding("utf8"), "data")) as [string];
    const r = await runCliCapture(["heartbeat", "127.0.0.1", line.trim(), "-c", "3", "-i", "0.05"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^3 packets transmitted, 3 received, 0% packet loss/m);
    assert.match(r.stdout, /^reply seq=3 rtt=[\d.]+ ms delay=-?[\d.]+ ms$/m);
  } finally {
    py.kill();
  }
});

test("--summary-every prints the client table while running, not only at exit", { timeout: 60_000 }, async () => {
  const { child, port } = serve(["--summary-every", "0.2s"]);
  const p = await port;
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  s.send(`1 ${Date.now() / 1000} id=periodic`, p, "127.0.0.1");
  await child.waitFor(/new client periodic/);
  // Two periodic tables that already list the client, before any signal.
  await child.waitFor(/^periodic +alive +1 +0 [^]*^periodic +\w+ +1 +0 /m);
  s.close();
  child.kill("SIGINT");
  const out = await child.done;
  assert.equal(out.code, 0);
  const tables = out.stdout.match(/^client +status +received/gm) ?? [];
  assert.ok(tables.length >= 3, out.stdout); // at least two periodic ones and the final one
  assert.match(out.stdout, /^1 heartbeat from 1 client, 0 lost/m);
});

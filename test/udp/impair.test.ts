/**
 * Impairments on the real servers over loopback: what one wirekit tool does to the path,
 * another wirekit tool finds. None of these depends on how fast the machine is: each waits for
 * what it checks, not for a fixed time.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createRandom } from "../../src/core/random.js";
import { createUdpPingServer, type UdpPingServer } from "../../src/udp/ping/server.js";
import { udpPing } from "../../src/udp/ping/client.js";
import { createHeartbeatMonitor, type HeartbeatMonitor } from "../../src/udp/heartbeat/monitor.js";
import { sendHeartbeats } from "../../src/udp/heartbeat/sender.js";
import { createUdpEchoServer, type UdpEchoServer } from "../../src/udp/echo/server.js";
import { udpEcho } from "../../src/udp/echo/client.js";
import { startLab, type Lab } from "../../src/lab/lab.js";
import { isWirekitError } from "../../src/core/errors.js";
import { runCliCapture } from "../helpers/cli.js";

const closers: Array<() => Promise<unknown>> = [];

/** Poll until `ok()`; fails (instead of hanging) after a generous bound. */
async function waitUntil(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(ok(), `still waiting for ${what}`);
}
after(async () => {
  await Promise.all(closers.map((c) => c()));
});

async function pingServer(options: Parameters<typeof createUdpPingServer>[0]): Promise<UdpPingServer> {
  const s = await createUdpPingServer({ host: "127.0.0.1", port: 0, ...options });
  closers.push(() => s.close());
  return s;
}

async function monitor(options: Parameters<typeof createHeartbeatMonitor>[0]): Promise<HeartbeatMonitor> {
  const m = await createHeartbeatMonitor({ host: "127.0.0.1", port: 0, ...options });
  closers.push(() => m.close());
  return m;
}

async function echoServer(options: Parameters<typeof createUdpEchoServer>[0]): Promise<UdpEchoServer> {
  const s = await createUdpEchoServer({ host: "127.0.0.1", port: 0, ...options });
  closers.push(() => s.close());
  return s;
}

test("udp-ping serve --duplicate 1: the client sees every reply twice and shows (DUP!)", async () => {
  const ac = new AbortController();
  let port = 0;
  const running = runCliCapture(["udp-ping", "serve", "--host", "127.0.0.1", "--port", "0", "--loss", "0", "--duplicate", "1", "--seed", "3", "-q"], {
    signal: ac.signal,
    onStdout: (out) => (port ||= Number(/listening on 127\.0\.0\.1:(\d+) /.exec(out)?.[1] ?? 0)),
  });
  while (port === 0) await new Promise((r) => setTimeout(r, 5));
  const c = await runCliCapture(["udp-ping", "127.0.0.1", String(port), "-c", "3", "-i", "50ms", "-W", "5s"]);
  ac.abort();
  const s = await running;
  assert.equal(c.code, 0);
  // The client stops at the last ping's first reply, so it may not wait for that one's copy.
  assert.ok((c.stdout.match(/\(DUP!\)/g)?.length ?? 0) >= 2, c.stdout);
  assert.match(c.stdout, /3 packets transmitted, 3 received, \+[23] duplicates, 0% packet loss/);
  assert.match(s.stdout, /^listening on 127\.0\.0\.1:\d+ \(impair: duplicate 100%, seed 3\)\n\n3 received, 6 replied, 0 dropped\nimpairments: 3 duplicated\n$/);
});

test("udp-ping: replies held back (--reorder) arrive late, behind the next ping's", async () => {
  const s = await pingServer({ loss: 0, impair: { reorder: 1 } });
  // Reorder 1: every ping is held until the next one arrives, so each reply comes one ping late.
  const r = await udpPing({ host: "127.0.0.1", port: s.port, count: 4, intervalMs: 30, timeoutMs: 20 });
  assert.ok(r.totals.late >= 2, `late ${r.totals.late}`);
  assert.equal(s.impairments()?.reordered, 4);
});

test("udp-ping: with only --loss the same seed drops the same pings as before the impairment module", async () => {
  const seed = 77;
  const predict = createRandom(seed);
  const expected: number[] = [];
  for (let seq = 1; seq <= 15; seq++) if (predict.next() < 0.4) expected.push(seq);
  const s = await pingServer({ loss: 0.4, seed });
  const r = await udpPing({ host: "127.0.0.1", port: s.port, count: 15, intervalMs: 10, timeoutMs: 1000 });
  assert.deepEqual(r.pings.filter((p) => p.status !== "reply").map((p) => p.seq), expected);
  assert.equal(s.impairments()?.lost, expected.length);
});

test("heartbeat serve --duplicate: the monitor reports every duplicate", async () => {
  const m = await monitor({ impair: { duplicate: 1 }, seed: 1 });
  const dups: number[] = [];
  m.on("event", (e) => e.kind === "duplicate" && void dups.push(e.seq));
  await sendHeartbeats({ host: "127.0.0.1", port: m.port, count: 5, intervalMs: 10, id: "dup-test" });
  await waitUntil(() => dups.length >= 5, "5 duplicates");
  assert.deepEqual(dups, [1, 2, 3, 4, 5]);
  assert.equal(m.totals().duplicates, 5);
  assert.equal(m.impairments()?.duplicated, 5);
  assert.equal(m.client("dup-test")?.duplicates, 5);
});

test("heartbeat serve --reorder: held-back heartbeats are reported reordered, none lost", async () => {
  // The hold limit only matters for the last heartbeat (5 ms apart, each held one goes with the next).
  const m = await monitor({ impair: { reorder: 0.5 }, seed: 12, holdLimitMs: 200 });
  const reordered: number[] = [];
  m.on("event", (e) => e.kind === "reordered" && void reordered.push(e.seq));
  const count = 30;
  await sendHeartbeats({ host: "127.0.0.1", port: m.port, count, intervalMs: 5, id: "ro-test" });
  // Wait until every heartbeat is in (the last one may be held until the hold limit).
  await waitUntil(() => (m.client("ro-test")?.received ?? 0) >= count, "every heartbeat");
  const held = m.impairments()?.reordered ?? 0;
  assert.ok(held > 5, `held ${held}`);
  assert.ok(reordered.length > 0 && reordered.length <= held, `reordered ${reordered.length} of ${held} held`);
  assert.equal(m.totals().reordered, reordered.length);
  assert.equal(m.client("ro-test")?.lost, 0, "a reordered heartbeat fills its gap");
});

test("heartbeat serve --jitter: delays that vary more than the interval reorder heartbeats", async () => {
  const m = await monitor({ impair: { delayMs: 40, jitterMs: 40 }, seed: 5 });
  const count = 40;
  // keepGoing: replies come 0-80 ms late, far past the 2 ms interval the sender would wait.
  await sendHeartbeats({ host: "127.0.0.1", port: m.port, count, intervalMs: 2, id: "jit-test", keepGoing: true });
  await waitUntil(() => (m.client("jit-test")?.received ?? 0) >= count, "every heartbeat");
  assert.ok(m.totals().reordered > 0, `reordered ${m.totals().reordered}`);
  assert.equal(m.impairments()?.delayed, count);
});

test("udp-echo serve with loss: the client still gets its reply, by retransmission", async () => {
  // A seed whose first two draws are drops: the first two attempts are lost.
  let seed = 0;
  for (;; seed++) {
    const r = createRandom(seed);
    if (r.next() < 0.5 && r.next() < 0.5) break;
  }
  const s = await echoServer({ impair: { loss: 0.5 }, seed });
  const r = await udpEcho({ host: "127.0.0.1", port: s.port, message: "hello", timeoutMs: 20, maxTimeoutMs: 5000 });
  assert.equal(r.status, "reply");
  assert.ok((r.reply?.attempts ?? 0) >= 3, `attempts ${r.reply?.attempts}`);
  assert.ok((s.impairments()?.lost ?? 0) >= 2);
  assert.equal(s.totals().dropped, s.impairments()?.lost);
});

test("udp-echo serve with --corrupt 1: a flipped bit makes the client ignore the reply or see a changed text", async () => {
  const s = await echoServer({ impair: { corrupt: 1 }, seed: 9 });
  const r = await udpEcho({ host: "127.0.0.1", port: s.port, message: "hello", timeoutMs: 20, maxTimeoutMs: 80 });
  // The request is corrupted on the way in: either its id no longer matches (ignored, retried,
  // given up) or its text changed; the server saw a corrupted request either way.
  assert.equal(s.impairments()?.corrupted, s.totals().received);
  if (r.status === "reply") assert.ok(r.reply !== undefined);
});

test("impairment option errors are one line and exit 2", async () => {
  const cases: string[][] = [
    ["udp-ping", "serve", "--loss", "2"],
    ["udp-ping", "serve", "--loss", "0.9", "--loss-burst", "1"],
    ["udp-ping", "serve", "--loss-burst", "0.5"],
    ["udp-ping", "serve", "--jitter", "soon"],
    ["udp-ping", "serve", "--rate", "fast"],
    ["heartbeat", "serve", "--reorder", "1.5"],
    ["heartbeat", "serve", "--seed", "3"],
    ["udp-echo", "serve", "127.0.0.1", "0", "--duplicate", "-1"],
    ["udp-echo", "serve", "127.0.0.1", "0", "--corrupt", "x"],
    ["lab", "--impair", "nope:loss=0.1", "--random-ports", "--no-dashboard"],
    ["lab", "--impair", "udp-ping:bogus=1", "--random-ports", "--no-dashboard"],
    ["lab", "--impair", "udp-ping:loss=2", "--random-ports", "--no-dashboard"],
    ["lab", "--impair", "udp-ping", "--random-ports", "--no-dashboard"],
    ["lab", "--impair", "http:loss=0.1", "--random-ports", "--no-dashboard"],
    ["lab", "--impair", "proxy:delay=10", "--random-ports", "--no-dashboard"],
  ];
  for (const argv of cases) {
    const r = await runCliCapture(argv);
    assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^wirekit: [^\n]+\n$/, argv.join(" "));
    assert.equal(r.stdout, "", `${argv.join(" ")} starts nothing`);
  }
});

test("--rate takes sizes (64k) and the listening line names every impairment", async () => {
  const ac = new AbortController();
  const r = runCliCapture(["udp-echo", "serve", "127.0.0.1", "0", "--rate", "64k", "--jitter", "5", "--loss", "0.1", "--loss-burst", "2", "--seed", "4"], {
    signal: ac.signal,
    onStdout: (out) => {
      if (out.includes("\n")) ac.abort();
    },
  });
  const out = await r;
  assert.match(out.stdout, /^listening on 127\.0\.0\.1:\d+ \(impair: loss 10% \(burst 2\), delay 0ms ±5ms, rate 64\.0 KiB\/s, seed 4\)\n/);
});

test("lab --impair passes the impairments through to the named service", async () => {
  const lab: Lab = await startLab({
    host: "127.0.0.1", defaultPort: 0, exclude: ["http", "proxy", "mail"],
    impair: { "udp-ping": { config: { loss: 0, duplicate: 1 }, seed: 2 }, heartbeat: { config: { duplicate: 1 } } },
  });
  closers.push(() => lab.close());
  const ping = lab.running().find((s) => s.name === "udp-ping")?.running;
  const hb = lab.running().find((s) => s.name === "heartbeat")?.running;
  assert.ok(ping !== undefined && hb !== undefined);
  assert.equal(ping.impairment, "impair: duplicate 100%, seed 2");
  const r = await udpPing({ host: "127.0.0.1", port: ping.port, count: 3, intervalMs: 20, timeoutMs: 5000 });
  assert.ok(r.totals.duplicates >= 2, "the last ping's copy may come after the client stopped");
  assert.equal(ping.totals().impairedDuplicated, 3);
  await sendHeartbeats({ host: "127.0.0.1", port: hb.port, count: 2, intervalMs: 10, id: "lab-dup" });
  await waitUntil(() => (hb.totals().duplicates ?? 0) >= 2, "2 duplicates");
  assert.equal(hb.totals().impairedDuplicated, 2);
  // udp-echo was not named: no impairment, no extra totals.
  const echo = lab.running().find((s) => s.name === "udp-echo")?.running;
  assert.equal(echo?.impairment, undefined);
  assert.equal(echo?.totals().impairedLost, undefined);
});

test("startLab rejects an --impair naming a service that takes none", async () => {
  await assert.rejects(startLab({ host: "127.0.0.1", defaultPort: 0, impair: { proxy: { config: { delayMs: 5 } } } }), (e) => isWirekitError(e, "ERR_USAGE"));
});

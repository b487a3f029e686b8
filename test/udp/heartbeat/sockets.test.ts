import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createRandom } from "../../../src/core/random.js";
import { createHeartbeatMonitor, type HeartbeatMonitor } from "../../../src/udp/heartbeat/monitor.js";
import { HeartbeatSender } from "../../../src/udp/heartbeat/sender.js";
import { decodeHeartbeatReply, encodeHeartbeat } from "../../../src/udp/heartbeat/protocol.js";
import type { HeartbeatEvent } from "../../../src/udp/heartbeat/events.js";
import { spawnCli } from "../../helpers/cli.js";

const monitors: HeartbeatMonitor[] = [];
const sockets: Socket[] = [];
after(async () => {
  await Promise.all(monitors.map((m) => m.close()));
  for (const s of sockets) s.close();
});

async function monitor(options: Parameters<typeof createHeartbeatMonitor>[0] = {}): Promise<HeartbeatMonitor> {
  const m = await createHeartbeatMonitor({ host: "127.0.0.1", port: 0, ...options });
  monitors.push(m);
  return m;
}

async function udpClient(): Promise<Socket> {
  const s = createSocket("udp4");
  sockets.push(s);
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  return s;
}

/** Resolve when `pred` holds, polling on events; generous bound for a loaded machine. */
function until(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      if (pred()) resolve();
      else if (Date.now() - started > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

test("a sender with a seeded drop list: the monitor reports exactly those seqs lost", async () => {
  const m = await monitor();
  const lost: number[] = [];
  m.on("event", (e) => {
    if (e.kind !== "lost") return;
    for (let s = e.from; s <= e.to; s++) lost.push(s);
  });
  const r = createRandom(2026);
  const drops = new Set<number>();
  for (let s = 2; s < 60; s++) if (r.next() < 0.2) drops.add(s); // first and last always sent
  assert.ok(drops.size >= 5);
  const sender = new HeartbeatSender({ host: "127.0.0.1", port: m.port, intervalMs: 10, timeoutMs: 10_000, count: 60, misses: 1000, id: "dropper", skip: (s) => drops.has(s) });
  const result = await sender.run();
  assert.equal(result.totals.transmitted, 60 - drops.size);
  await until(() => (m.client("dropper")?.received ?? 0) === 60 - drops.size, "all heartbeats");
  assert.deepEqual(lost, [...drops].sort((a, b) => a - b));
  assert.equal(m.client("dropper")?.lost, drops.size);
  assert.equal(result.totals.received, 60 - drops.size, "every sent heartbeat was answered");
});

test("a sender killed mid-run is reported stopped about dead-after after its last heartbeat", async () => {
  // The sender announces int=50: ten of its intervals make the same 500 ms deadline.
  const m = await monitor({ deadAfterMs: 500, deadAfterBeats: 10 });
  const events: HeartbeatEvent[] = [];
  m.on("event", (e) => (e.kind === "client-joined" || e.kind === "stopped") && void events.push(e));
  const child = spawnCli(["heartbeat", "127.0.0.1", String(m.port), "-i", "0.05", "--id", "victim"]);
  await child.waitFor(/reply seq=3 /);
  child.kill("SIGKILL");
  await child.done;
  const lastSeq = m.client("victim")?.lastSeq ?? -1;
  await until(() => events.some((e) => e.kind === "stopped"), "the stopped event");
  const stopped = events.find((e) => e.kind === "stopped");
  assert.ok(stopped?.kind === "stopped");
  assert.equal(stopped.client, "victim");
  assert.ok(stopped.lastSeq >= 3 && stopped.lastSeq >= lastSeq);
  // Measured by the monitor from the last heartbeat: never before dead-after; the bound after it
  // is one interval plus the sweep period (500 / 20 ms), with slack for a loaded test machine.
  assert.ok(stopped.silentMs >= 500, `stopped after ${stopped.silentMs} ms`);
  assert.ok(stopped.silentMs < 500 + 50 + 25 + 5000, `stopped after ${stopped.silentMs} ms`);
});

test("monitor down: the sender declares it down after 3 misses and exits 1", async () => {
  const silent = await udpClient(); // a port where nobody answers
  const port = (silent.address()).port;
  const child = spawnCli(["heartbeat", "127.0.0.1", String(port), "-i", "0.05"]);
  const r = await child.done;
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^server is assumed to be down after 3 consecutive misses$/m);
  assert.match(r.stdout, /100% packet loss/);
});

// Both ways of reading the socket: batches through the addon (recvmmsg/sendmmsg), and node:dgram.
for (const [batch, transport] of [[true, "batch"], [false, "dgram"]] as const) {
  test(`garbage interleaved with good heartbeats: every good one is counted and answered (${transport})`, async () => {
    const m = await monitor({ batch });
    assert.equal(m.transport, transport);
    const s = await udpClient();
    const replies = new Set<number>();
    s.on("message", (msg) => {
      const d = decodeHeartbeatReply(msg);
      if (d.ok) replies.add(d.value.seq);
    });
    const rnd = createRandom(5);
    let garbage = 0;
    for (let seq = 1; seq <= 300; seq++) {
      s.send(encodeHeartbeat({ seq, timestamp: Date.now() / 1000, id: "mixed" }), m.port, "127.0.0.1");
      for (let j = rnd.int(3); j > 0; j--) {
        const junk = [rnd.bytes(1 + rnd.int(40)), Buffer.from(`-${seq} 1`), Buffer.from(`${seq} 1e99`), Buffer.alloc(2000, 0x31), Buffer.alloc(0)][rnd.int(5)] as Buffer;
        s.send(junk, m.port, "127.0.0.1");
        garbage++;
      }
      if (seq % 50 === 0) await until(() => replies.size === seq, `replies up to ${seq}`);
    }
    await until(() => replies.size === 300 && m.totals().malformed === garbage, "all datagrams");
    const c = m.client("mixed");
    assert.equal(c?.received, 300);
    assert.equal(c?.lost, 0);
    assert.equal(m.totals().malformed, garbage);
    assert.equal(m.size, 1);
  });

  test(`1000 concurrent clients are tracked correctly (${transport})`, async () => {
    const m = await monitor({ batch });
    const socks = await Promise.all(Array.from({ length: 20 }, () => udpClient()));
    let replies = 0;
    for (const s of socks) s.on("message", () => replies++);
    let expected = 0;
    for (let seq = 1; seq <= 5; seq++) {
      for (let i = 0; i < 1000; i++) {
        if (seq === 3 && i % 2 === 0) continue; // even clients lose seq 3
        const s = socks[i % socks.length] as Socket;
        s.send(encodeHeartbeat({ seq, timestamp: Date.now() / 1000, id: `node-${i}`, run: "r" }), m.port, "127.0.0.1");
        expected++;
      }
      // Let the monitor keep up (the kernel buffer is big, but the test box is loaded).
      await until(() => replies === expected, `replies for seq ${seq}`);
    }
    const clients = m.clients();
    assert.equal(clients.length, 1000);
    for (const c of clients) {
      const i = Number(c.id.slice(5));
      assert.equal(c.received, i % 2 === 0 ? 4 : 5, c.id);
      assert.equal(c.lost, i % 2 === 0 ? 1 : 0, c.id);
      assert.equal(c.lastSeq, 5);
      assert.equal(c.status, "alive");
    }
    assert.equal(m.totals().lost, 500);
  });
}

test("--keep-going: the sender reports the monitor down, goes on, and reports when it answers again", { timeout: 60_000 }, async () => {
  const fake = await udpClient(); // a monitor that is "down" for the first 5 heartbeats
  let seen = 0;
  fake.on("message", (msg, rinfo) => {
    seen++;
    const seq = msg.toString("latin1").split(" ")[0] ?? "0";
    if (seen > 5) fake.send(`${seq} 0.000100`, rinfo.port, rinfo.address);
  });
  const ac = new AbortController();
  const kinds: string[] = [];
  const sender = new HeartbeatSender({ host: "127.0.0.1", port: fake.address().port, intervalMs: 40, misses: 3, keepGoing: true, id: "stubborn", signal: ac.signal });
  sender.on("event", (e) => {
    if (e.kind === "down" || e.kind === "up" || e.kind === "reply") kinds.push(e.kind);
    if (e.kind === "reply" && e.seq >= 9) ac.abort();
  });
  const r = await sender.run();
  assert.equal(kinds[0], "down");
  assert.equal(kinds[1], "up");
  assert.ok(kinds.slice(2).every((k) => k === "reply"));
  assert.equal(r.down, false);
  assert.equal(r.downEvents, 1);
});

test("the sender reads replies asynchronously: a slow reply delays no heartbeat, and foreign or bogus datagrams are ignored", { timeout: 60_000 }, async () => {
  const fake = await udpClient(); // the monitor
  const stranger = await udpClient(); // someone else on the network
  let held: { seq: string; port: number; address: string } | undefined;
  fake.on("message", (msg, rinfo) => {
    const seq = msg.toString("latin1").split(" ")[0] ?? "0";
    // Each datagram only after the previous one is in the kernel (loopback delivers inside
    // sendto), so the sender sees them in this order even across the two sockets.
    const send = (sock: Socket, text: string, then?: () => void): void => {
      sock.send(text, rinfo.port, rinfo.address, () => then?.());
    };
    send(stranger, `${seq} 0.000100`, () => // right format, wrong source
      send(fake, "garbage", () =>
        send(fake, "999 0.000100", () => { // a seq never sent
          if (seq === "2") held = { seq, port: rinfo.port, address: rinfo.address }; // answered only after seq 4
          else send(fake, `${seq} 0.000100`);
          if (seq === "4" && held !== undefined) fake.send(`${held.seq} 0.000100`, held.port, held.address);
        })));
  });
  const order: string[] = [];
  const ignored: string[] = [];
  const sender = new HeartbeatSender({ host: "127.0.0.1", port: fake.address().port, intervalMs: 20, timeoutMs: 30_000, count: 6, misses: 100, id: "patient" });
  sender.on("event", (e) => {
    if (e.kind === "sent" || e.kind === "reply") order.push(`${e.kind} ${e.seq}`);
    if (e.kind === "ignored") ignored.push(e.reason);
  });
  const r = await sender.run();
  assert.equal(r.totals.transmitted, 6);
  assert.equal(r.totals.received, 6, order.join(", "));
  assert.equal(r.down, false);
  // Heartbeats 3 and 4 left while seq 2 was still unanswered, and its reply then matched seq 2.
  assert.ok(order.indexOf("sent 4") < order.indexOf("reply 2"), order.join(", "));
  assert.ok(order.indexOf("reply 3") < order.indexOf("reply 2"), order.join(", "));
  assert.equal(ignored.filter((x) => x === "not from the monitor").length, 6, ignored.join("; "));
  assert.equal(ignored.filter((x) => /^reply: bad/.test(x)).length, 6, ignored.join("; "));
  assert.equal(ignored.filter((x) => x === "reply for seq 999, which was never sent").length, 6, ignored.join("; "));
});

test("the monitor's receive buffer is the 8 MiB it asks for, above net.core.rmem_max when it has CAP_NET_ADMIN", async (t) => {
  const m = await monitor({ batch: true });
  if (m.transport !== "batch") return t.skip("no addon: node:dgram's socket");
  const ss = spawnSync("ss", ["-uamn", `sport = :${m.port}`], { encoding: "utf8" });
  const rb = /\brb(\d+)/.exec(ss.stdout ?? "")?.[1];
  if (ss.status !== 0 || rb === undefined) return t.skip("ss (iproute2) is not there to read the socket's buffer");
  const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
  const capEff = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0"}`);
  const netAdmin = (capEff & (1n << 12n)) !== 0n;
  // The kernel doubles what it grants (for its bookkeeping) and reports the doubled figure.
  assert.equal(Number(rb), 2 * (netAdmin ? 8 << 20 : Math.min(8 << 20, rmemMax)));
});

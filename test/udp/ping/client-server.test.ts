import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { createUdpPingServer, type UdpPingServer, type UdpPingServerEvent } from "../../../src/udp/ping/server.js";
import { udpPing, type UdpPingEvent } from "../../../src/udp/ping/client.js";
import { createRandom } from "../../../src/core/random.js";
import { upperCaseAscii, decodePing } from "../../../src/udp/ping/protocol.js";
import { isWirekitError } from "../../../src/core/errors.js";

const servers: Array<UdpPingServer | Socket> = [];
after(async () => {
  for (const s of servers) {
    if ("totals" in s) await s.close();
    else s.close();
  }
});

async function server(loss: number, seed?: number): Promise<UdpPingServer> {
  const s = await createUdpPingServer({ host: "127.0.0.1", port: 0, loss, seed });
  servers.push(s);
  return s;
}

/** A scripted UDP peer: `onPing(seq, reply)` decides what to send back and when. */
async function scriptedServer(onPing: (seq: number, msg: Buffer, reply: (buf: Buffer) => void) => void): Promise<number> {
  const sock = createSocket("udp4");
  servers.push(sock);
  sock.on("message", (msg, rinfo) => {
    const d = decodePing(msg);
    if (!d.ok) return;
    onPing(d.value.seq, msg, (buf) => sock.send(buf, rinfo.port, rinfo.address));
  });
  sock.bind(0, "127.0.0.1");
  await once(sock, "listening");
  return sock.address().port;
}

test("the server echoes each datagram with ASCII letters upper-cased", async () => {
  const s = await server(0);
  const c = createSocket("udp4");
  c.bind(0, "127.0.0.1");
  await once(c, "listening");
  const payload = Buffer.concat([Buffer.from("Ping 1 hello é"), Buffer.from([0, 0xff])]);
  c.send(payload, s.port, "127.0.0.1");
  const [msg] = (await once(c, "message")) as [Buffer];
  c.close();
  assert.deepEqual(msg, upperCaseAscii(payload));
  assert.deepEqual(s.totals(), { received: 1, replied: 1, dropped: 0, bytes: payload.length });
});

test("with loss 0 every ping is answered and RTTs are recorded", async () => {
  const s = await server(0);
  const events: UdpPingEvent[] = [];
  const r = await udpPing({ host: "127.0.0.1", port: s.port, count: 5, intervalMs: 10, timeoutMs: 5000 }, (e) => events.push(e));
  assert.equal(r.totals.transmitted, 5);
  assert.equal(r.totals.received, 5);
  assert.equal(r.rtt.count, 5);
  assert.deepEqual(r.pings.map((p) => p.status), ["reply", "reply", "reply", "reply", "reply"]);
  const replies = events.filter((e) => e.kind === "reply");
  assert.equal(replies.length, 5);
  for (const e of replies) if (e.kind === "reply") assert.match(e.message, /^PING \d+ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
});

test("with loss 1 nothing is answered and every ping times out", async () => {
  const s = await server(1);
  const r = await udpPing({ host: "127.0.0.1", port: s.port, count: 3, intervalMs: 10, timeoutMs: 200 });
  assert.equal(r.totals.received, 0);
  assert.deepEqual(r.pings.map((p) => p.status), ["timeout", "timeout", "timeout"]);
  assert.equal(s.totals().dropped, 3);
});

test("a fixed seed drops exactly the sequence numbers the PRNG predicts", async () => {
  const seed = 20261123;
  const predict = createRandom(seed);
  const expectedLost: number[] = [];
  for (let seq = 1; seq <= 20; seq++) if (predict.next() < 0.3) expectedLost.push(seq);
  assert.ok(expectedLost.length > 0 && expectedLost.length < 20);
  const s = await server(0.3, seed);
  const events: UdpPingServerEvent[] = [];
  s.on("event", (e) => void events.push(e));
  // One ping at a time (interval longer than a loopback round trip) so arrival order is send order.
  // The run ends one timeout after the last lost ping; a loopback reply comes back in well under 1 s.
  const r = await udpPing({ host: "127.0.0.1", port: s.port, count: 20, intervalMs: 15, timeoutMs: 1000 });
  const lost = r.pings.filter((p) => p.status !== "reply").map((p) => p.seq);
  assert.deepEqual(lost, expectedLost);
  assert.equal(r.totals.received, 20 - expectedLost.length);
  // One "datagram" event per ping, in order, saying which were dropped and when they came.
  assert.deepEqual(events.map((e) => e.kind), Array<string>(20).fill("datagram"));
  assert.deepEqual(events.flatMap((e, i) => (e.dropped ? [i + 1] : [])), expectedLost);
  assert.ok(events.every((e) => e.impairment === (e.dropped ? "dropped" : undefined) && e.from.address === "127.0.0.1" && Math.abs(e.at - Date.now()) < 60_000));
  const first = decodePing(events[0]?.message ?? Buffer.alloc(0));
  assert.ok(first.ok && first.value.seq === 1);
});

test("a datagram from a foreign socket is ignored and counted", async () => {
  let clientPort = 0;
  const forger = createSocket("udp4");
  servers.push(forger);
  forger.bind(0, "127.0.0.1");
  await once(forger, "listening");
  const port = await scriptedServer((seq, msg, reply) => {
    if (seq === 1) {
      // A third party answers first with a perfect-looking reply; only then does the server answer.
      forger.send(upperCaseAscii(msg), clientPort, "127.0.0.1", () => setTimeout(() => reply(upperCaseAscii(msg)), 20));
    } else reply(upperCaseAscii(msg));
  });
  const events: UdpPingEvent[] = [];
  const r = await udpPing({ host: "127.0.0.1", port, count: 2, intervalMs: 50, timeoutMs: 5000 }, (e) => {
    if (e.kind === "start") clientPort = e.local.port;
    events.push(e);
  });
  assert.equal(r.foreign, 1);
  const foreign = events.find((e) => e.kind === "foreign");
  assert.ok(foreign && foreign.kind === "foreign" && foreign.from.port === forger.address().port);
  assert.equal(r.totals.received, 2);
  assert.equal(r.totals.duplicates, 0);
});

test("duplicate replies are flagged and not counted twice", async () => {
  const port = await scriptedServer((_seq, msg, reply) => {
    reply(upperCaseAscii(msg));
    reply(upperCaseAscii(msg));
  });
  const events: UdpPingEvent[] = [];
  const r = await udpPing({ host: "127.0.0.1", port, count: 3, intervalMs: 100, timeoutMs: 5000 }, (e) => events.push(e));
  // Wait for the last duplicate: the run ends when the last reply arrives, the duplicate may be in flight.
  assert.equal(r.totals.received, 3);
  assert.ok(r.totals.duplicates >= 2, String(r.totals.duplicates));
  assert.ok(events.some((e) => e.kind === "duplicate"));
});

test("several pings in flight at once (interval shorter than timeout) are all matched", async () => {
  const pending: Array<() => void> = [];
  const port = await scriptedServer((seq, msg, reply) => {
    // Answer in reverse order of arrival, three at a time.
    pending.push(() => reply(upperCaseAscii(msg)));
    if (seq % 3 === 0) while (pending.length > 0) pending.pop()?.();
  });
  const r = await udpPing({ host: "127.0.0.1", port, count: 9, intervalMs: 20, timeoutMs: 5000 });
  assert.equal(r.totals.received, 9);
  assert.equal(r.totals.duplicates + r.totals.late, 0);
  assert.deepEqual(r.pings.map((p) => p.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test("garbage, empty and maximum-size datagrams do not hurt the server", async () => {
  const s = await server(0);
  const c = createSocket("udp4");
  c.bind(0, "127.0.0.1");
  await once(c, "listening");
  const junk = [Buffer.alloc(0), Buffer.from([0, 1, 2, 0xff]), createRandom(5).bytes(1400), Buffer.alloc(65507, 0x61)];
  let replies = 0;
  let maxLen = 0;
  const got = new Promise<void>((resolve) =>
    c.on("message", (m) => {
      replies++;
      maxLen = Math.max(maxLen, m.length);
      if (replies === junk.length) resolve();
    }),
  );
  for (const j of junk) c.send(j, s.port, "127.0.0.1");
  await got;
  c.close();
  assert.equal(maxLen, 65507);
  const r = await udpPing({ host: "127.0.0.1", port: s.port, count: 1, timeoutMs: 5000 });
  assert.equal(r.totals.received, 1);
  assert.equal(s.totals().received, junk.length + 1);
});

test("binding a port that is in use fails with ERR_LOCAL, never moves to another port", async () => {
  const s = await server(0);
  await assert.rejects(createUdpPingServer({ host: "127.0.0.1", port: s.port }), (e) => isWirekitError(e, "ERR_LOCAL"));
});

test("the server serves IPv6 clients on ::1", async () => {
  const s = await createUdpPingServer({ host: "::1", port: 0, loss: 0 });
  servers.push(s);
  const r = await udpPing({ host: "::1", port: s.port, count: 2, intervalMs: 10, timeoutMs: 5000 });
  assert.equal(r.totals.received, 2);
});

test("an abort stops the run early and still returns statistics", async () => {
  const s = await server(0);
  const ac = new AbortController();
  let replies = 0;
  const r = await udpPing({ host: "127.0.0.1", port: s.port, count: 0, intervalMs: 20, timeoutMs: 5000, signal: ac.signal }, (e) => {
    if (e.kind === "reply" && ++replies === 3) ac.abort();
  });
  assert.ok(r.totals.transmitted >= 3);
  assert.ok(r.totals.received >= 3);
});

test("a forged datagram from source port 0 (raw socket) is not answered and does not crash the server", async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip("needs root to send from a raw socket");
    return;
  }
  const s = await server(0);
  const seen = new Promise<number>((resolve) => s.on("event", (d) => resolve(d.from.port)));
  // UDP header by hand: source port 0, checksum 0 (none, allowed over IPv4 by RFC 768).
  const script = [
    "import socket, struct, sys",
    "port = int(sys.argv[1]); payload = b'Ping 1 from port zero'",
    "udp = struct.pack('!HHHH', 0, port, 8 + len(payload), 0) + payload",
    "socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP).sendto(udp, ('127.0.0.1', 0))",
  ].join("\n");
  const { spawnSync } = await import("node:child_process");
  const py = spawnSync("python3", ["-c", script, String(s.port)], { encoding: "utf8" });
  assert.equal(py.status, 0, py.stderr);
  assert.equal(await seen, 0);
  assert.equal(s.totals().replied, 0);
  const r = await udpPing({ host: "127.0.0.1", port: s.port, count: 1, timeoutMs: 5000 });
  assert.equal(r.totals.received, 1);
});

test("a server bound to :: serves IPv4 and IPv6 clients on one socket", async () => {
  const s = await createUdpPingServer({ host: "::", port: 0, loss: 0 });
  servers.push(s);
  const v4 = await udpPing({ host: "127.0.0.1", port: s.port, count: 2, intervalMs: 10, timeoutMs: 5000 });
  assert.equal(v4.totals.received, 2);
  const v6 = await udpPing({ host: "::1", port: s.port, count: 2, intervalMs: 10, timeoutMs: 5000 });
  assert.equal(v6.totals.received, 2);
});

test("both transports (batched recvmmsg/sendmmsg and node:dgram) echo the same bytes, the same seeded drops", async () => {
  const results: Array<{ transport: string; replies: string[]; dropped: number }> = [];
  for (const batch of [true, false]) {
    const s = await createUdpPingServer({ host: "127.0.0.1", port: 0, loss: 0.3, seed: 42, batch });
    servers.push(s);
    const c = createSocket("udp4");
    await new Promise<void>((r) => c.bind(0, "127.0.0.1", r));
    const replies: string[] = [];
    c.on("message", (m) => replies.push(m.toString("latin1")));
    // Sent back to back, so the batch transport gets several per wakeup.
    for (let i = 0; i < 40; i++) c.send(Buffer.from(`Ping ${i} abc\u00e9xyz`, "latin1"), s.port, "127.0.0.1");
    for (let i = 0; i < 200 && s.totals().received < 40; i++) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 200 && replies.length < s.totals().replied; i++) await new Promise((r) => setTimeout(r, 10));
    c.close();
    results.push({ transport: s.transport, replies: replies.sort(), dropped: s.totals().dropped });
  }
  const [fast, plain] = results;
  assert.ok(fast && plain);
  assert.equal(plain.transport, "dgram");
  assert.deepEqual(fast.replies, plain.replies, "same replies, same drops, from the same seed");
  assert.equal(fast.dropped, plain.dropped);
  assert.ok(fast.replies.every((r) => /^PING \d+ ABC\u00e9XYZ$/.test(r)), "ASCII letters upper-cased, other bytes kept");
  assert.equal(fast.replies.length + fast.dropped, 40);
});

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { udpEcho, type UdpEchoClientEvent } from "../../../src/udp/echo/client.js";
import { createUdpEchoServer, type UdpEchoServer, type UdpEchoServerEvent } from "../../../src/udp/echo/server.js";
import { encodeTextReply, decodeRequest } from "../../../src/udp/echo/protocol.js";

const ID = "0123456789abcdef";
const servers: UdpEchoServer[] = [];
const sockets: Socket[] = [];

async function server(options: Parameters<typeof createUdpEchoServer>[0] = {}): Promise<UdpEchoServer> {
  const s = await createUdpEchoServer({ host: "127.0.0.1", port: 0, ...options });
  servers.push(s);
  return s;
}

async function udp(): Promise<Socket> {
  const s = createSocket("udp4");
  sockets.push(s);
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  return s;
}

function nextEvent(s: UdpEchoServer, pred: (e: UdpEchoServerEvent) => boolean): Promise<UdpEchoServerEvent> {
  return new Promise((resolve) => {
    const l = (e: UdpEchoServerEvent): void => {
      if (pred(e)) {
        s.off("event", l);
        resolve(e);
      }
    };
    s.on("event", l);
  });
}

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const s of sockets) s.close();
});

test("the reply counts the UTF-8 bytes of the message, and the client shows the OS-assigned local address", async () => {
  const s = await server();
  const seen = nextEvent(s, (e) => e.kind === "datagram");
  const events: UdpEchoClientEvent[] = [];
  const r = await udpEcho({ host: "127.0.0.1", port: s.port, message: "héllo wörld", timeoutMs: 200, maxTimeoutMs: 3200 }, (e) => events.push(e));
  assert.equal(r.status, "reply");
  assert.equal(r.reply?.text, "I received from you a message of 13 bytes");
  assert.equal(r.reply?.bytes, 13);
  assert.ok(r.reply?.fromServer && r.reply.idMatches);
  const start = events.find((e) => e.kind === "start");
  assert.ok(start?.kind === "start" && start.local.address === "127.0.0.1" && start.local.port > 0);
  const d = await seen;
  assert.ok(d.kind === "datagram");
  assert.equal(d.id, r.requestId);
  assert.equal(d.from.port, r.local.port, "the server sees the client's address and port");
  assert.equal(d.message.toString(), "héllo wörld");
});

test("without -m the client sends the current time", async () => {
  const s = await server();
  const seen = nextEvent(s, (e) => e.kind === "datagram");
  const r = await udpEcho({ host: "127.0.0.1", port: s.port, timeoutMs: 200, maxTimeoutMs: 3200 });
  assert.equal(r.status, "reply");
  const d = await seen;
  assert.ok(d.kind === "datagram");
  assert.match(d.message.toString(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
});

test("a server bound to 127.0.0.1 does not answer datagrams sent to 127.0.0.2, another local address", async () => {
  const s = await server();
  const r = await udpEcho({ host: "127.0.0.2", port: s.port, timeoutMs: 20, maxTimeoutMs: 80 });
  assert.equal(r.status, "gave-up");
  assert.equal(r.attempts, 3);
  assert.equal(s.totals().received, 0, "the datagrams never reached the server's socket");
});

test("a server bound to 0.0.0.0 hears 127.0.0.2, but replies from 127.0.0.1, which a checking client rejects", async () => {
  // An unconnected wildcard socket's reply takes the source address routing picks for the
  // client (127.0.0.1), not the address the request was sent to: the multihoming trap.
  const s = await server({ host: "0.0.0.0" });
  const ignored: string[] = [];
  const r = await udpEcho({ host: "127.0.0.2", port: s.port, message: "x", timeoutMs: 20, maxTimeoutMs: 40 }, (e) => {
    if (e.kind === "ignored") ignored.push(`${e.from.address}: ${e.reason}`);
  });
  assert.equal(r.status, "gave-up");
  assert.ok(s.totals().received >= 1);
  assert.ok(ignored.length >= 1);
  assert.ok(ignored.every((x) => x === "127.0.0.1: not the server"), ignored.join("; "));
  const loose = await udpEcho({ host: "127.0.0.2", port: s.port, message: "x", timeoutMs: 200, maxTimeoutMs: 3200, verify: false });
  assert.equal(loose.status, "reply");
  assert.equal(loose.reply?.from.address, "127.0.0.1");
});

test("against a server that drops everything, the real timer runs the whole backoff with one request id, then gives up", async () => {
  const s = await server({ loss: 1, seed: 1 });
  const ids = new Set<string>();
  s.on("event", (e) => e.kind === "datagram" && e.id !== undefined && ids.add(e.id));
  const timeouts: number[] = [];
  const r = await udpEcho({ host: "127.0.0.1", port: s.port, timeoutMs: 10, maxTimeoutMs: 80 }, (e) => {
    if (e.kind === "timeout") timeouts.push(e.waitedMs);
  });
  assert.equal(r.status, "gave-up");
  assert.equal(r.attempts, 4);
  assert.deepEqual(timeouts, [10, 20, 40, 80]);
  // 10 + 20 + 40 + 80 ms of timers. libuv rounds each timer to its millisecond loop clock, so one
  // may fire up to 1 ms before performance.now() says it is due (CI saw 149.86): allow 1 ms each.
  assert.ok(r.elapsedMs >= 146, `${r.elapsedMs}`);
  // The last copy may still be in the server's queue when the client's last timer fires.
  for (let i = 0; i < 500 && s.totals().received < 4; i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(s.totals().received, 4);
  assert.equal(ids.size, 1);
});

test("a reply delayed past the first timeout still counts when it arrives during a retry", async () => {
  const s = await server({ delayMs: 250 });
  const r = await udpEcho({ host: "127.0.0.1", port: s.port, message: "slow", timeoutMs: 100, maxTimeoutMs: 6400 });
  assert.equal(r.status, "reply");
  assert.ok(r.attempts >= 2, `attempts ${r.attempts}`);
  assert.equal(r.reply?.text, "I received from you a message of 4 bytes");
});

/** Forge a reply from a third socket as soon as the client has sent its request. */
async function forgeryRun(verify: boolean, forgedId: string) {
  const s = await server({ delayMs: 300 }); // the real reply comes late: the forgery wins the race
  const attacker = await udp();
  const ignored: string[] = [];
  const r = await udpEcho({ host: "127.0.0.1", port: s.port, message: "hello", requestId: ID, timeoutMs: 2000, maxTimeoutMs: 2000, verify }, (e) => {
    if (e.kind === "start") attacker.send(encodeTextReply(forgedId, "I received from you a message of 5 bytes"), e.local.port, e.local.address);
    if (e.kind === "ignored") ignored.push(`${e.from.port === attacker.address().port ? "attacker" : "server"}: ${e.reason}`);
  });
  return { r, ignored, attackerPort: attacker.address().port };
}

test("a forged reply with the right content from a third socket is ignored: not the server", async () => {
  const { r, ignored } = await forgeryRun(true, ID);
  assert.equal(r.status, "reply");
  assert.deepEqual(ignored, ["attacker: not the server"]);
  assert.ok(r.reply?.fromServer);
});

test("a forged reply with a wrong id from a third socket is ignored too", async () => {
  const { r, ignored } = await forgeryRun(true, "ffffffffffffffff");
  assert.equal(r.status, "reply");
  assert.equal(ignored.length, 1);
  assert.ok(r.reply?.fromServer);
});

test("with verification off (--no-verify) the forged reply is accepted", async () => {
  const { r, attackerPort } = await forgeryRun(false, ID);
  assert.equal(r.status, "reply");
  assert.equal(r.reply?.from.port, attackerPort);
  assert.equal(r.reply?.fromServer, false);
  assert.equal(r.ignored, 0);
});

test("a reply from the server's own address and port with another request id is ignored", async () => {
  // A fake server that first answers with a stale id (as after a retransmitted earlier request), then correctly.
  const fake = await udp();
  fake.on("message", (msg, rinfo) => {
    const req = decodeRequest(msg);
    fake.send(encodeTextReply("aaaaaaaaaaaaaaaa", "I received from you a message of 1 bytes"), rinfo.port, rinfo.address);
    fake.send(encodeTextReply(req.id, "I received from you a message of 1 bytes"), rinfo.port, rinfo.address);
  });
  const reasons: string[] = [];
  const r = await udpEcho({ host: "127.0.0.1", port: fake.address().port, message: "x", timeoutMs: 2000, maxTimeoutMs: 2000 }, (e) => {
    if (e.kind === "ignored") reasons.push(e.reason);
  });
  assert.equal(r.status, "reply");
  assert.deepEqual(reasons, ["wrong request id"]);
  assert.equal(r.reply?.id, r.requestId);
});

test("the server survives garbage and answers plain datagrams without an id", async () => {
  const s = await server();
  const c = await udp();
  for (const g of [Buffer.alloc(0), Buffer.from([0x57, 0x4b, 0x50, 0x01, 9]), Buffer.from([0xff, 0xfe, 0]), Buffer.alloc(65507, 0x41)]) {
    c.send(g, s.port, "127.0.0.1");
  }
  c.send("hello", s.port, "127.0.0.1");
  const replies: string[] = [];
  await new Promise<void>((resolve) => {
    c.on("message", (m) => {
      replies.push(m.toString());
      if (m.toString().endsWith("of 5 bytes")) resolve();
    });
  });
  assert.ok(replies.includes("I received from you a message of 0 bytes"));
  assert.ok(replies.includes("I received from you a message of 65507 bytes"));
  assert.equal(s.totals().garbage, 1);
});

test("the library refuses port 0 or out-of-range ports with a usage error, not an internal one", async () => {
  const { sendBig } = await import("../../../src/udp/echo/bigsend.js");
  const { isWirekitError } = await import("../../../src/core/errors.js");
  for (const port of [0, -1, 65536, 1.5]) {
    await assert.rejects(async () => udpEcho({ host: "127.0.0.1", port }), (e) => isWirekitError(e, "ERR_USAGE"), `udpEcho ${port}`);
    await assert.rejects(() => sendBig({ host: "127.0.0.1", port }), (e) => isWirekitError(e, "ERR_USAGE"), `sendBig ${port}`);
  }
});

test("a server bound to :: answers IPv4 clients too (echo and reassembled parts), and IPv6 clients", async (t) => {
  let s: UdpEchoServer;
  try {
    s = await server({ host: "::" });
  } catch {
    t.skip("no IPv6 on this machine");
    return;
  }
  // The server reports IPv4 clients as "127.0.0.1"; it must still reply to them through its
  // udp6 socket (where the bare IPv4 form is EINVAL and the reply would silently vanish).
  const v4 = await udpEcho({ host: "127.0.0.1", port: s.port, message: "four", timeoutMs: 200, maxTimeoutMs: 3200 });
  assert.equal(v4.status, "reply");
  assert.equal(v4.reply?.text, "I received from you a message of 4 bytes");
  assert.equal(v4.reply?.from.address, "127.0.0.1");
  const { sendBig } = await import("../../../src/udp/echo/bigsend.js");
  const big = await sendBig({ host: "127.0.0.1", port: s.port, size: 8000, parts: 4, waitMs: 10_000 });
  assert.equal(big.confirmation, "complete");
  assert.equal(big.confirmationText, "I received from you a message of 8000 bytes in 4 parts");
  const v6 = await udpEcho({ host: "::1", port: s.port, message: "six", timeoutMs: 200, maxTimeoutMs: 3200 });
  assert.equal(v6.status, "reply");
  assert.equal(v6.reply?.from.address, "::1");
});

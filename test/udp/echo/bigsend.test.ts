import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { isWirekitError } from "../../../src/core/errors.js";
import { createRandom } from "../../../src/core/random.js";
import { checkSendBig, sendBig, type SendBigEvent } from "../../../src/udp/echo/bigsend.js";
import { decodeReply, encodeParts } from "../../../src/udp/echo/protocol.js";
import { formatPartRanges } from "../../../src/udp/echo/reassembly.js";
import { createUdpEchoServer, type UdpEchoServer, type UdpEchoServerEvent } from "../../../src/udp/echo/server.js";

const servers: UdpEchoServer[] = [];
const sockets: Socket[] = [];

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const s of sockets) s.close();
});

async function server(options: Parameters<typeof createUdpEchoServer>[0] = {}): Promise<UdpEchoServer> {
  const s = await createUdpEchoServer({ host: "127.0.0.1", port: 0, ...options });
  servers.push(s);
  return s;
}

function collect(s: UdpEchoServer): UdpEchoServerEvent[] {
  const out: UdpEchoServerEvent[] = [];
  s.on("event", (e) => out.push(e));
  return out;
}

function v6Available(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket("udp6");
    s.once("error", () => resolve(false));
    s.bind(0, "::1", () => {
      s.close();
      resolve(true);
    });
  });
}

test("80,000 bytes in one datagram is refused by the OS (EMSGSIZE > 65507); in 16 parts it is reassembled", async () => {
  const s = await server();
  const seen = collect(s);
  const events: SendBigEvent[] = [];
  const r = await sendBig({ host: "127.0.0.1", port: s.port, waitMs: 10_000 }, (e) => events.push(e));
  assert.equal(r.single, "too-big");
  assert.equal(r.limit, 65507);
  assert.equal(r.confirmation, "complete");
  assert.equal(r.confirmationText, "I received from you a message of 80000 bytes in 16 parts");
  assert.deepEqual(events.find((e) => e.kind === "single"), { kind: "single", status: "too-big", bytes: 80000, limit: 65507, family: 4 });
  assert.deepEqual(events.find((e) => e.kind === "parts-sent"), { kind: "parts-sent", count: 16, partBytes: 5000, lastPartBytes: 5000, headerBytes: 20, failed: 0 });
  const done = seen.find((e) => e.kind === "reassembled");
  assert.ok(done?.kind === "reassembled");
  assert.equal(done.bytes, 80000);
  assert.equal(done.parts, 16);
  assert.equal(s.totals().reassembled, 1);
  assert.equal(s.reassembling().bytes, 0);
});

test("a datagram that fits is sent as is (and answered), then split as well", async () => {
  const s = await server();
  const events: SendBigEvent[] = [];
  const r = await sendBig({ host: "127.0.0.1", port: s.port, size: 20000, parts: 3, fill: "z", waitMs: 10_000 }, (e) => events.push(e));
  assert.equal(r.single, "sent");
  assert.equal(r.confirmation, "complete");
  const replies = events.flatMap((e) => (e.kind === "reply" ? [e.text] : []));
  assert.ok(replies.includes("I received from you a message of 20000 bytes"));
  assert.ok(replies.includes("I received from you a message of 20000 bytes in 3 parts"));
});

test("over IPv6 the limit is 65527 bytes (the payload length does not count the 40-byte header)", async (t) => {
  if (!(await v6Available())) {
    t.skip("::1 is not available on this machine");
    return;
  }
  const s = await server({ host: "::1" });
  const r = await sendBig({ host: "::1", port: s.port, waitMs: 10_000 });
  assert.equal(r.single, "too-big");
  assert.equal(r.limit, 65527);
  assert.equal(r.confirmation, "complete");
});

test("missing parts are reported by the server after its reassembly timeout, to its log and to the sender", async () => {
  const s = await server({ reassembly: { timeoutMs: 100 } });
  const incomplete = new Promise<UdpEchoServerEvent>((resolve) => s.on("event", (e) => e.kind === "incomplete" && resolve(e)));
  const c = createSocket("udp4");
  sockets.push(c);
  c.bind(0, "127.0.0.1");
  await once(c, "listening");
  const id = "00000000000abcde";
  const parts = encodeParts(id, Buffer.alloc(80000, "a"), 16);
  parts.forEach((p, i) => i !== 2 && i !== 8 && c.send(p, s.port, "127.0.0.1"));
  const [reply] = (await once(c, "message")) as [Buffer];
  const e = await incomplete;
  assert.ok(e.kind === "incomplete");
  assert.deepEqual(e.message.missing, [3, 9]);
  assert.equal(e.message.received, 14);
  const d = decodeReply(reply);
  assert.equal(d.id, id);
  assert.equal(d.text, "incomplete message: 14 of 16 parts (70000 of 80000 bytes) arrived, missing parts 3, 9");
  assert.equal(s.totals().incomplete, 1);
});

test("send-big against a lossy server (seeded) reports exactly the parts the server dropped", async () => {
  // Find a seed whose first 16 draws drop between 1 and 4 parts at 20% loss.
  let seed = 1;
  let dropped: number[] = [];
  for (; seed < 1000; seed++) {
    const r = createRandom(seed);
    dropped = [];
    for (let n = 1; n <= 16; n++) if (r.next() < 0.2) dropped.push(n);
    if (dropped.length >= 1 && dropped.length <= 4) break;
  }
  const s = await server({ loss: 0.2, seed, reassembly: { timeoutMs: 150 } });
  const r = await sendBig({ host: "127.0.0.1", port: s.port, waitMs: 10_000 });
  assert.equal(r.confirmation, "incomplete");
  assert.ok(r.confirmationText?.endsWith(`missing parts ${formatPartRanges(dropped)}`), r.confirmationText);
});

test("nothing in reply (no server) ends with no confirmation after the wait", async () => {
  const s = await server();
  const port = s.port;
  await s.close();
  const r = await sendBig({ host: "127.0.0.1", port, waitMs: 100 });
  assert.equal(r.confirmation, "none");
});

test("impossible splits and fills are usage errors before anything is sent", () => {
  const usage = (e: unknown): boolean => isWirekitError(e, "ERR_USAGE");
  assert.throws(() => checkSendBig(80000, 1, 4, "a"), usage); // one part of 80,020 bytes
  assert.throws(() => checkSendBig(80000, 0, 4, "a"), usage);
  assert.throws(() => checkSendBig(10, 6, 4, "a"), usage); // last part would be empty
  assert.throws(() => checkSendBig(100, 2, 4, "ab"), usage);
  assert.throws(() => checkSendBig(100, 2, 4, "é"), usage);
  assert.throws(() => checkSendBig(-1, 1, 4, "a"), usage);
  assert.doesNotThrow(() => checkSendBig(80000, 2, 4, "a"));
  assert.doesNotThrow(() => checkSendBig(0, 1, 4, "a"));
});

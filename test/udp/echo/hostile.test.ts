import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { networkInterfaces } from "node:os";
import { createRandom } from "../../../src/core/random.js";
import { PART_MAGIC } from "../../../src/udp/echo/protocol.js";
import { createUdpEchoServer, type UdpEchoServer } from "../../../src/udp/echo/server.js";
import { describeServerEvent, printableMessage } from "../../../src/render/udp-echo-server.js";
import { runCliCapture } from "../../helpers/cli.js";

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

async function udp(): Promise<Socket> {
  const s = createSocket("udp4");
  sockets.push(s);
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  return s;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

/** A forged first part: "part 1 of 65535" of a 655,350-byte message, carrying its 10 bytes. */
function forgedFirstPart(i: number): Buffer {
  const d = Buffer.alloc(30);
  PART_MAGIC.copy(d, 0);
  d.writeBigUInt64BE(BigInt(i), 4);
  d.writeUInt16BE(1, 12);
  d.writeUInt16BE(65535, 14);
  d.writeUInt32BE(65535 * 10, 16);
  return d;
}

test("fragment flood: 2,000 forged first parts keep one source's share (16 messages) and get no reply (no amplification)", async () => {
  const s = await server();
  const attacker = await udp();
  let replies = 0;
  attacker.on("message", () => replies++);
  // In batches, so that a small default socket buffer (CI's rmem_max) cannot drop any of it.
  for (let batch = 0; batch < 20; batch++) {
    for (let i = 0; i < 100; i++) attacker.send(forgedFirstPart(batch * 100 + i), s.port, "127.0.0.1");
    await until(() => s.totals().received === (batch + 1) * 100, `batch ${batch + 1} to arrive`);
  }
  assert.equal(s.totals().parts, 2000);
  assert.equal(s.reassembling().messages, 16, "one source keeps at most 16 messages");
  assert.equal(s.reassembling().bytes, 160);
  assert.equal(s.totals().incomplete, 2000 - 16, "each eviction is reported in the log");
  assert.equal(s.totals().replied, 0, "but never answered: a 30-byte part must not buy a 100-byte report");
  // The server still serves everyone else.
  const c = await udp();
  c.send("still there?", s.port, "127.0.0.1");
  const [reply] = (await once(c, "message")) as [Buffer];
  assert.equal(reply.toString(), "I received from you a message of 12 bytes");
  assert.equal(replies, 0);
});

test("random garbage, with and without the part magic, never stops the server", async () => {
  const s = await server();
  const c = await udp();
  const ok = new Promise<void>((resolve) => {
    c.on("message", (m) => m.toString() === "00000000000000aa I received from you a message of 2 bytes" && resolve());
  });
  const r = createRandom(99);
  for (let i = 0; i < 500; i++) {
    const g = r.bytes(r.int(200));
    if (i % 2 === 0 && g.length >= 4) PART_MAGIC.copy(g, 0);
    c.send(g, s.port, "127.0.0.1");
    if (i % 100 === 99) await until(() => s.totals().received === i + 1, `${i + 1} datagrams`);
  }
  c.send("00000000000000aa ok", s.port, "127.0.0.1");
  await ok;
  assert.equal(s.totals().received, 501);
  assert.ok(s.totals().garbage > 0);
});

test("an interface name such as lo binds that interface's address", async (t) => {
  const lo = networkInterfaces().lo?.find((n) => n.family === "IPv4");
  if (lo === undefined) {
    t.skip("no IPv4 'lo' interface on this machine");
    return;
  }
  const s = await server({ host: "lo" });
  assert.equal(s.address, lo.address);
});

test("Ctrl-C while the client waits prints what happened and exits 1", async () => {
  const s = await server({ loss: 1 });
  const ac = new AbortController();
  const r = await runCliCapture(["udp-echo", "127.0.0.1", String(s.port), "--timeout", "1s", "--max-timeout", "8s"], {
    signal: ac.signal,
    onStdout: (out) => {
      if (out.startsWith("local ")) setImmediate(() => ac.abort());
    },
  });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /\ninterrupted after 1 attempt \(0\.\d s\), no reply\n$/);
});

test("log lines escape control characters (no terminal escape injection) and cut long messages", () => {
  assert.equal(printableMessage(Buffer.from("a\x1b[31mred\n\\")), "a\\x1b[31mred\\n\\\\");
  assert.equal(printableMessage(Buffer.from("héllo 🙂")), "héllo 🙂");
  assert.equal(printableMessage(Buffer.alloc(500, "x"), 10), "xxxxxxxxxx...");
  assert.equal(printableMessage(Buffer.from([0xff, 0x41])), "\ufffdA");
  const line = describeServerEvent({ kind: "datagram", at: 0, from: { address: "::1", port: 5 }, message: Buffer.from("hi\r\n"), dropped: true });
  assert.equal(line, "[::1]:5: hi\\r\\n (4 bytes) dropped");
});

test("a forged datagram from source port 0 (raw socket) is logged and not answered, and the server lives on", async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip("needs root to send from a raw socket");
    return;
  }
  const s = await server();
  const seen = new Promise<string>((resolve) => s.on("event", (e) => e.kind === "datagram" && resolve(`${e.from.port} ${e.message.toString()}`)));
  // UDP header by hand: source port 0, checksum 0 (none, allowed over IPv4 by RFC 768).
  const script = [
    "import socket, struct, sys",
    "port = int(sys.argv[1]); payload = b'from port zero'",
    "udp = struct.pack('!HHHH', 0, port, 8 + len(payload), 0) + payload",
    "socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP).sendto(udp, ('127.0.0.1', 0))",
  ].join("\n");
  const { spawnSync } = await import("node:child_process");
  const py = spawnSync("python3", ["-c", script, String(s.port)], { encoding: "utf8" });
  if (py.error !== undefined) {
    t.skip("python3 is not installed");
    return;
  }
  assert.equal(py.status, 0, py.stderr);
  assert.equal(await seen, "0 from port zero");
  assert.equal(s.totals().replied, 0);
  const c = await udp();
  c.send("alive?", s.port, "127.0.0.1");
  const [reply] = (await once(c, "message")) as [Buffer];
  assert.equal(reply.toString(), "I received from you a message of 6 bytes");
});

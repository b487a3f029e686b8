import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type AddressInfo, type Server } from "node:net";
import { dropAllFilter, encodeFilter, portFilter, runFilter } from "../../src/icmp/socket-filter.js";
import { RawIpSocket } from "../../src/icmp/raw-ip.js";

const isRoot = process.getuid?.() === 0;
const rootOnly = isRoot ? {} : { skip: "needs root (raw TCP sockets)" };

/** An IPv4 packet with `optionWords` 32-bit words of options, then a transport header src -> dst. */
function ipv4(src: number, dst: number, optionWords = 0): Buffer {
  const ihl = 5 + optionWords;
  const b = Buffer.alloc(ihl * 4 + 20);
  b[0] = 0x40 | ihl;
  b[9] = 6;
  b.writeUInt16BE(src, ihl * 4);
  b.writeUInt16BE(dst, ihl * 4 + 2);
  return b;
}

/** What an IPv6 raw socket gets: the transport header first. */
function transport(src: number, dst: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(src, 0);
  b.writeUInt16BE(dst, 2);
  return b;
}

describe("socket filters, pure", () => {
  it("encodes struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, in the given byte order", () => {
    assert.deepEqual([...encodeFilter([[0x15, 1, 2, 0x01020304]], true)], [0x15, 0, 1, 2, 4, 3, 2, 1]);
    assert.deepEqual([...encodeFilter([[0x15, 1, 2, 0x01020304]], false)], [0, 0x15, 1, 2, 1, 2, 3, 4]);
  });

  it("an IPv4 port filter keeps src -> dst only, wherever the IP options end the header", () => {
    const f = portFilter(4, 80, 40123);
    for (const opts of [0, 1, 10]) {
      assert.ok((runFilter(f, ipv4(80, 40123, opts)) ?? 0) > 0, `kept with ${opts} option words`);
      assert.equal(runFilter(f, ipv4(40123, 80, opts)), 0, "the other direction");
      assert.equal(runFilter(f, ipv4(80, 40124, opts)), 0, "another destination port");
      assert.equal(runFilter(f, ipv4(81, 40123, opts)), 0, "another source port");
    }
    assert.equal(runFilter(f, ipv4(80, 40123)), 40, "the whole packet is kept");
    assert.equal(runFilter(f, ipv4(80, 40123).subarray(0, 21)), 0, "a packet cut inside the ports is dropped");
  });

  it("an IPv6 port filter reads the ports at the start (no IPv6 header reaches a raw socket)", () => {
    const f = portFilter(6, 443, 33000);
    assert.equal(runFilter(f, transport(443, 33000)), 20);
    assert.equal(runFilter(f, transport(33000, 443)), 0);
    assert.equal(runFilter(f, transport(443, 33001)), 0);
  });

  it("the drop-all filter keeps nothing", () => {
    assert.equal(runFilter(dropAllFilter(), ipv4(1, 2)), 0);
  });
});

describe("socket filters on a real raw TCP socket (the kernel runs them)", rootOnly, () => {
  for (const [family, host] of [[4, "127.0.0.1"], [6, "::1"]] as const) {
    it(`IPv${family}: only the server's segments to the chosen client port reach the socket`, async () => {
      const server: Server = createServer((s) => s.end("hello"));
      await new Promise<void>((r) => server.listen(0, host, () => r()));
      const serverPort = (server.address() as AddressInfo).port;
      const clientPort = await freePort(host);
      const seen: string[] = [];
      const raw = new RawIpSocket(family, "tcp", (buf) => {
        const at = family === 4 ? 4 * ((buf[0] ?? 0) & 0xf) : 0;
        seen.push(`${buf.readUInt16BE(at)}>${buf.readUInt16BE(at + 2)}`);
      });
      try {
        raw.keepOnly(serverPort, clientPort);
        // One connection from the chosen port, one from any other: both exchange segments.
        await Promise.all([talk(host, serverPort, clientPort), talk(host, serverPort, undefined)]);
        await new Promise((r) => setTimeout(r, 50)); // the socket's last reads
        assert.ok(seen.length >= 2, `the chosen connection's segments came (${seen.length})`);
        assert.deepEqual([...new Set(seen)], [`${serverPort}>${clientPort}`]);
      } finally {
        raw.close();
        server.close();
      }
    });
  }
});

function talk(host: string, port: number, localPort: number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect({ host, port, ...(localPort === undefined ? {} : { localPort }) });
    c.on("error", reject);
    c.resume();
    c.on("end", () => {
      c.end();
      resolve();
    });
  });
}

async function freePort(host: string): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

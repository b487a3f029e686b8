/** The pure parts of traceroute's probe methods and of mtr's table, without a network. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeIcmp, encodeEchoRequest, internetChecksum } from "../../src/icmp/message/index.js";
import { parisCompensation, parisEchoData } from "../../src/icmp/trace-probes.js";
import { decodeTcpHeader, encodeSyn, tcpPseudoHeaderSum, TCP_FLAGS } from "../../src/icmp/tcp-segment.js";
import { encodeUdp, encodeUdpWithChecksum } from "../../src/icmp/udp-datagram.js";
import { pseudoHeaderSum } from "../../src/icmp/tcp-segment.js";
import { PathStats } from "../../src/icmp/mtr-stats.js";
import { renderMtrTable } from "../../src/render/mtr-table.js";

test("a Paris echo request keeps its checksum whatever the sequence, and stays valid", () => {
  const sums = new Set<number>();
  for (const seq of [0, 1, 2, 0x7fff, 0xfffe, 0xffff, 12345]) {
    const b = encodeEchoRequest({ family: 4, id: 0xbeef, seq, data: parisEchoData(32, seq) });
    sums.add(b.readUInt16BE(2));
    assert.equal(internetChecksum(b), 0, `seq ${seq} checksum valid`);
    const m = decodeIcmp(4, b);
    assert.ok(m.ok && m.value.kind === "echo-request" && m.value.seq === seq);
  }
  assert.equal(sums.size, 1);
  assert.equal(parisCompensation(7), 0xfff8);
});

test("a SYN carries a checksum valid over the IPv4 and the IPv6 pseudo-header", () => {
  const v4 = encodeSyn({ src: "10.77.0.2", dst: "10.77.1.2", srcPort: 40000, dstPort: 80, seq: 0xdeadbeef });
  assert.equal(internetChecksum(v4, tcpPseudoHeaderSum("10.77.0.2", "10.77.1.2", v4.length)), 0);
  assert.deepEqual(decodeTcpHeader(v4), { srcPort: 40000, dstPort: 80, seq: 0xdeadbeef, ack: 0, flags: TCP_FLAGS.SYN });
  const v6 = encodeSyn({ src: "fd77::2", dst: "fd77:1::2", srcPort: 40001, dstPort: 443, seq: 1 });
  assert.equal(internetChecksum(v6, tcpPseudoHeaderSum("fd77::2", "fd77:1::2", v6.length)), 0);
  assert.equal(decodeTcpHeader(v6.subarray(0, 19)), undefined);
});

test("a Paris UDP datagram's checksum is the probe's number, and still verifies; a classic one verifies too", () => {
  for (const [src, dst] of [["10.77.0.2", "10.77.1.2"], ["fd77::2", "fd77:1::2"]] as const) {
    for (const want of [1, 2, 0x1234, 0x8000, 0xfffd]) {
      const b = encodeUdpWithChecksum({ src, dst, srcPort: 40000, dstPort: 33434, size: 32 }, want);
      assert.equal(b.length, 40);
      assert.equal(b.readUInt16BE(6), want);
      assert.equal(b.readUInt16BE(10), want, "the payload carries it too");
      assert.equal(internetChecksum(b, pseudoHeaderSum(src, dst, 17, b.length)), 0, `${src} ${want}`);
    }
    const c = encodeUdp({ src, dst, srcPort: 40000, dstPort: 33435, payload: Buffer.alloc(32, 7) });
    assert.equal(internetChecksum(c, pseudoHeaderSum(src, dst, 17, c.length)), 0);
  }
});

function timeExceededQuoting(protocol: number, transport: number[]): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + transport.length, 2);
  ip[8] = 1;
  ip[9] = protocol;
  ip.set([10, 77, 0, 2], 12);
  ip.set([10, 77, 1, 2], 16);
  const b = Buffer.concat([Buffer.from([11, 0, 0, 0, 0, 0, 0, 0]), ip, Buffer.from(transport)]);
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

test("an ICMP error's quote gives the UDP ports, length and checksum, or the TCP ports and sequence", () => {
  const u = decodeIcmp(4, timeExceededQuoting(17, [0x9c, 0x40, 0x82, 0x9a, 0, 40, 0x12, 0x34]));
  assert.ok(u.ok && u.value.kind === "time-exceeded");
  assert.deepEqual(u.value.original.transport, { protocol: "udp", srcPort: 40000, dstPort: 33434, length: 40, checksum: 0x1234 });
  const t = decodeIcmp(4, timeExceededQuoting(6, [0x9c, 0x41, 0, 80, 0xde, 0xad, 0xbe, 0xef]));
  assert.ok(t.ok && t.value.kind === "time-exceeded");
  assert.deepEqual(t.value.original.transport, { protocol: "tcp", srcPort: 40001, dstPort: 80, seq: 0xdeadbeef });
  const short = decodeIcmp(4, timeExceededQuoting(17, [0x9c, 0x40, 0x82]));
  assert.ok(short.ok && short.value.kind === "time-exceeded" && short.value.original.transport === undefined);
});

test("PathStats: loss, RTTs, several hosts at one TTL, and nothing beyond the destination", () => {
  const p = new PathStats({ firstTtl: 1, maxHops: 30 });
  p.answered(1, "10.0.0.1", 1, "", false);
  p.answered(1, "10.0.0.1", 3, "", false);
  p.answered(2, "10.0.1.1", 2, "", false);
  p.answered(2, "10.0.9.1", 4, "", false); // a load balancer's other path
  p.lost(2);
  p.lost(2);
  p.answered(3, "10.0.2.2", 5, "", true, true);
  p.answered(4, "10.0.2.2", 5, "", true, true); // the first cycle's probes past the destination
  assert.equal(p.lastHop, 3);
  assert.equal(p.reached, true);
  const rows = p.rows(new Map([["10.0.0.1", "gw.test"]]));
  assert.deepEqual(rows.map((r) => [r.hop, r.hosts.map((h) => h.address), r.sent, r.received, r.lossPercent]), [
    [1, ["10.0.0.1"], 2, 2, 0],
    [2, ["10.0.1.1", "10.0.9.1"], 4, 2, 50],
    [3, ["10.0.2.2"], 1, 1, 0],
  ]);
  assert.equal(rows[0]?.hosts[0]?.name, "gw.test");
  const r1 = rows[0];
  assert.deepEqual([r1?.lastMs, r1?.avgMs, r1?.bestMs, r1?.worstMs, r1?.stdevMs], [3, 2, 1, 3, 1]);
  const text = renderMtrTable(rows);
  assert.equal(
    text,
    [
      " Hop  Host                     Loss%    Snt   Last    Avg   Best   Wrst  StDev",
      "   1  10.0.0.1                  0.0%      2   3.00   2.00   1.00   3.00   1.00",
      "   2  10.0.1.1                 50.0%      4   4.00   3.00   2.00   4.00   1.00",
      "      10.0.9.1",
      "   3  10.0.2.2                  0.0%      1   5.00   5.00   5.00   5.00   0.00",
      "",
    ].join("\n"),
  );
  assert.match(renderMtrTable(rows, false), /^ {3}1 {2}gw\.test \(10\.0\.0\.1\) /m);
});

test("a hop nobody answered is ??? with 100% loss", () => {
  const p = new PathStats({ firstTtl: 1, maxHops: 5 });
  p.lost(1);
  p.answered(2, "10.0.2.2", 1, "!H", true);
  const text = renderMtrTable(p.rows());
  assert.match(text, /^ {3}1 {2}\?\?\? +100\.0% +1 +- +- +- +- +-$/m);
  assert.match(text, /^ {3}2 {2}10\.0\.2\.2 !H /m);
  assert.equal(p.reached, false);
});

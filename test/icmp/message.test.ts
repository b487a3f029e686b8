import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeIcmp,
  decodeIpv4Icmp,
  decodeQueuedError,
  destUnreachableText,
  echoPayload,
  echoPayloadTime,
  encodeEchoRequest,
  firstDataMismatch,
  internetChecksum,
  icmpv6PseudoHeaderSum,
  ipv6Text,
  type IcmpMessage,
} from "../../src/icmp/message/index.js";
import { createRandom } from "../../src/core/random.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** Fill in the ICMP checksum at `off`+2 (test fixtures are written with 0000 there). */
function withChecksum(b: Buffer, off = 0): Buffer {
  b.writeUInt16BE(0, off + 2);
  b.writeUInt16BE(internetChecksum(b.subarray(off)), off + 2);
  return b;
}

test("the checksum matches RFC 1071's worked example", () => {
  assert.equal(internetChecksum(hex("0001 f203 f4f5 f6f7")), 0x220d);
});

test("an odd final byte is padded with zero on the right", () => {
  assert.equal(internetChecksum(hex("01")), 0xfeff);
  assert.equal(internetChecksum(hex("0001 f203 f4f5 f6")), internetChecksum(hex("0001 f203 f4f5 f600")));
});

test("carries are folded back into the sum", () => {
  assert.equal(internetChecksum(hex("ffff ffff")), 0x0000);
  assert.equal(internetChecksum(hex("ffff 0001")), 0xfffe);
  assert.equal(internetChecksum(Buffer.alloc(70000, 0xff)), 0x0000);
});

test("an echo request with a known checksum is encoded byte for byte", () => {
  const b = encodeEchoRequest({ family: 4, id: 0xbeef, seq: 1, data: Buffer.alloc(56) });
  assert.equal(b.length, 64);
  assert.equal(b.subarray(0, 8).toString("hex"), "0800390fbeef0001");
});

test("an ICMPv6 echo request leaves the checksum to the kernel", () => {
  const b = encodeEchoRequest({ family: 6, id: 0xbeef, seq: 7, data: Buffer.alloc(4) });
  assert.equal(b.subarray(0, 8).toString("hex"), "80000000beef0007");
});

test("the ICMPv6 pseudo-header sum verifies a captured echo request", () => {
  // ::1 -> ::1 echo request id 0xbeef seq 1, 56 zero bytes; the kernel wrote checksum c092.
  const src = Buffer.alloc(16);
  src[15] = 1;
  const msg = hex("8000c092beef0001" + "00".repeat(56));
  assert.equal(internetChecksum(msg, icmpv6PseudoHeaderSum(src, src, msg.length)), 0);
});

test("echo requests round-trip through the decoder", () => {
  for (const family of [4, 6] as const) {
    const data = echoPayload(56, 1_795_457_849_849_893_416n);
    const r = decodeIcmp(family, encodeEchoRequest({ family, id: 4242, seq: 65535, data }), { verifyChecksum: family === 4 });
    assert.ok(r.ok);
    assert.equal(r.value.kind, "echo-request");
    if (r.value.kind !== "echo-request") return;
    assert.equal(r.value.id, 4242);
    assert.equal(r.value.seq, 65535);
    assert.deepEqual(r.value.data, data);
    assert.equal(echoPayloadTime(r.value.data), 1_795_457_849_849_893_416n);
  }
});

test("the first differing echo data byte is found, and a shorter reply that agrees is no mismatch", () => {
  assert.deepEqual(firstDataMismatch(Buffer.from([1, 2, 3, 4]), Buffer.from([1, 2, 9, 8])), { index: 2, expected: 3, actual: 9 });
  assert.equal(firstDataMismatch(Buffer.from([1, 2, 3]), Buffer.from([1, 2])), undefined);
  assert.equal(firstDataMismatch(Buffer.from([1, 2, 3]), Buffer.from([1, 2, 3])), undefined);
});

test("an echo reply with a bad checksum is rejected, not decoded", () => {
  const b = withChecksum(hex("0000 0000 beef 0001 0102 0304"));
  assert.ok(decodeIcmp(4, b).ok);
  b.writeUInt8((b[9] ?? 0) ^ 0x40, 9);
  const r = decodeIcmp(4, b);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error.offset, 2);
});

// Captured on the namespace topology (client 10.77.0.2, router 10.77.0.1): the full packet a raw
// socket returns for an echo to 198.51.100.7 rejected with host unreachable.
const UNREACH_V4 = hex(`
  45c0 0070 1d2f 0000 4001 4a1a 0a4d 0001 0a4d 0002
  0301 0000 0000 0000
  4500 0054 5e0c 4000 3f01 9b35 0a4d 0002 c633 6407
  0800 0000 beef 0007 ${"00".repeat(56)}`);

test("a destination host unreachable is decoded with the echo it quotes", () => {
  withChecksum(UNREACH_V4, 20);
  const r = decodeIpv4Icmp(UNREACH_V4);
  assert.ok(r.ok);
  assert.equal(r.value.ip.src, "10.77.0.1");
  assert.equal(r.value.ip.ttl, 64);
  const m = r.value.message;
  assert.equal(m.kind, "dest-unreachable");
  if (m.kind !== "dest-unreachable") return;
  assert.equal(m.text, "Destination host unreachable.");
  assert.equal(m.annotation, "!H");
  assert.equal(m.original.ip?.dst, "198.51.100.7");
  assert.deepEqual(m.original.icmp, { type: 8, code: 0, id: 0xbeef, seq: 7 });
});

test("every destination unreachable code 0-15 has its own text", () => {
  const texts = new Set<string>();
  for (let code = 0; code <= 15; code++) {
    const b = withChecksum(hex(`03${code.toString(16).padStart(2, "0")} 0000 0000 05dc`));
    const r = decodeIcmp(4, b);
    assert.ok(r.ok);
    assert.equal(r.value.kind, "dest-unreachable");
    if (r.value.kind === "dest-unreachable") texts.add(r.value.text);
  }
  assert.equal(texts.size, 16);
  assert.equal(destUnreachableText(4, 13).text, "Communication administratively prohibited.");
  assert.equal(destUnreachableText(4, 15).text, "Precedence cutoff in effect.");
});

test("fragmentation needed carries the next-hop MTU (RFC 1191)", () => {
  const r = decodeIcmp(4, withChecksum(hex("0304 0000 0000 0578")));
  assert.ok(r.ok);
  assert.equal(r.value.kind, "dest-unreachable");
  if (r.value.kind !== "dest-unreachable") return;
  assert.equal(r.value.nextHopMtu, 1400);
  assert.equal(r.value.annotation, "!F-1400");
  assert.match(r.value.text, /1400/);
});

const cases: Array<{ name: string; family: 4 | 6; bytes: Buffer; check: (m: IcmpMessage) => void }> = [
  {
    name: "time exceeded in transit",
    family: 4,
    bytes: withChecksum(hex(`0b00 0000 0000 0000 4500 0054 0000 4000 0101 0000 0a4d 0002 0a4d 0102 0800 0000 beef 0002`)),
    check: (m) => {
      assert.equal(m.kind, "time-exceeded");
      if (m.kind === "time-exceeded") {
        assert.equal(m.text, "TTL expired in transit.");
        assert.equal(m.original.ip?.ttl, 1);
        assert.equal(m.original.icmp?.seq, 2);
      }
    },
  },
  {
    name: "fragment reassembly time exceeded",
    family: 4,
    bytes: withChecksum(hex("0b01 0000 0000 0000")),
    check: (m) => assert.equal(m.kind === "time-exceeded" && m.text, "Fragment reassembly time exceeded."),
  },
  {
    name: "parameter problem with its pointer",
    family: 4,
    bytes: withChecksum(hex("0c00 0000 0900 0000 4500 0054 0000 4000 4001 0000 0a4d 0002 0a4d 0102 0800 0000 beef 0003")),
    check: (m) => {
      assert.equal(m.kind, "param-problem");
      if (m.kind === "param-problem") assert.equal(m.pointer, 9);
    },
  },
  {
    name: "redirect with the new gateway",
    family: 4,
    bytes: withChecksum(hex("0501 0000 0a4d 00fe 4500 0054 0000 4000 4001 0000 0a4d 0002 0a4d 0102 0800 0000 beef 0004")),
    check: (m) => {
      assert.equal(m.kind, "redirect");
      if (m.kind === "redirect") assert.equal(m.gateway, "10.77.0.254");
    },
  },
  {
    name: "source quench",
    family: 4,
    bytes: withChecksum(hex("0400 0000 0000 0000")),
    check: (m) => assert.equal(m.kind, "source-quench"),
  },
  {
    name: "ICMPv6 no route, quoting the IPv6 header and the echo",
    family: 6,
    bytes: hex(`0100 0000 0000 0000 6000 0000 0040 3a40 fd77 0000 0000 0000 0000 0000 0000 0002
                2001 0db8 dead 0000 0000 0000 0000 0007 8000 c599 beef 0007`),
    check: (m) => {
      assert.equal(m.kind, "dest-unreachable");
      if (m.kind === "dest-unreachable") {
        assert.equal(m.annotation, "!N");
        assert.equal(m.original.ip?.dst, "2001:db8:dead::7");
        assert.deepEqual(m.original.icmp, { type: 128, code: 0, id: 0xbeef, seq: 7 });
      }
    },
  },
  {
    name: "ICMPv6 hop limit exceeded",
    family: 6,
    bytes: hex("0300 0000 0000 0000"),
    check: (m) => assert.equal(m.kind === "time-exceeded" && m.text, "Hop limit exceeded in transit."),
  },
  {
    name: "ICMPv6 packet too big",
    family: 6,
    bytes: hex("0200 0000 0000 0500"),
    check: (m) => assert.equal(m.kind === "packet-too-big" && m.mtu, 1280),
  },
  {
    name: "ICMPv6 parameter problem",
    family: 6,
    bytes: hex("0401 0000 0000 0028"),
    check: (m) => assert.equal(m.kind === "param-problem" && m.pointer, 40),
  },
  {
    name: "an unknown type as 'other'",
    family: 4,
    bytes: withChecksum(hex("0d00 0000 0000 0000")),
    check: (m) => assert.equal(m.kind === "other" && m.text, "Timestamp (code 0)."),
  },
];

for (const c of cases) {
  test(`decodes ${c.name}`, () => {
    const r = decodeIcmp(c.family, c.bytes);
    assert.ok(r.ok, r.ok ? "" : r.error.reason);
    c.check(r.value);
  });
}

test("an error-queue entry decodes like the packet a raw socket would see", () => {
  const sent = encodeEchoRequest({ family: 4, id: 27032, seq: 0, data: Buffer.alloc(56) });
  const m = decodeQueuedError(4, { origin: 2, type: 3, code: 1, info: 0 }, sent);
  assert.equal(m?.kind, "dest-unreachable");
  assert.equal(m?.text, "Destination host unreachable.");
  assert.deepEqual(m?.original.icmp, { type: 8, code: 0, id: 27032, seq: 0 });
  const frag = decodeQueuedError(4, { origin: 2, type: 3, code: 4, info: 1400 }, sent);
  assert.equal(frag?.kind === "dest-unreachable" && frag.nextHopMtu, 1400);
  assert.equal(decodeQueuedError(4, { origin: 1, type: 0, code: 0, info: 0 }, sent), undefined);
  const v6 = decodeQueuedError(6, { origin: 3, type: 3, code: 0, info: 0 }, sent);
  assert.equal(v6?.kind, "time-exceeded");
});

test("truncated packets are rejected with how many bytes were needed", () => {
  const r = decodeIcmp(4, hex("0800 f7ff"));
  assert.equal(r.ok, false);
  if (!r.ok) assert.deepEqual([r.error.needed, r.error.got], [8, 4]);
  assert.equal(decodeIpv4Icmp(hex("4500 0054")).ok, false);
  assert.equal(decodeIpv4Icmp(hex("4f00 0054" + "00".repeat(20))).ok, false, "IHL beyond the data");
  assert.equal(decodeIpv4Icmp(hex("4500 0014 0000 0000 4006 0000 7f00 0001 7f00 0001")).ok, false, "TCP is not ICMP");
});

test("an error that quotes too little still decodes, without a quoted echo", () => {
  const r = decodeIcmp(4, withChecksum(hex("0b00 0000 0000 0000 4500 0054")));
  assert.ok(r.ok);
  assert.equal(r.value.kind === "time-exceeded" && r.value.original.icmp, undefined);
});

test("no decoder throws on random bytes", () => {
  const rnd = createRandom(8);
  for (let i = 0; i < 5000; i++) {
    const b = rnd.bytes(rnd.int(120));
    if (i % 3 === 0 && b.length > 0) b[0] = 0x45;
    if (i % 5 === 0 && b.length > 28) b[20] = [3, 11, 12, 5, 0][i % 5] ?? 3;
    assert.doesNotThrow(() => {
      decodeIpv4Icmp(b);
      decodeIcmp(4, b, { verifyChecksum: false });
      decodeIcmp(6, b);
    });
  }
});

test("IPv6 addresses print in RFC 5952 form", () => {
  assert.equal(ipv6Text(hex("20010db8000000000000000000000001"), 0), "2001:db8::1");
  assert.equal(ipv6Text(hex("00000000000000000000000000000001"), 0), "::1");
  assert.equal(ipv6Text(hex("20010db8000100000001000000000001"), 0), "2001:db8:1:0:1::1");
});

/**
 * `--pcap FILE`: the pcapng codec and the packets around UDP payloads (pure), then the files the
 * UDP tools write on loopback, read back by tshark (the oracle: a reader no one here wrote):
 * packet counts match what the tools reported, checksums are valid, the decisions are the
 * packet comments, and the file is closed on every way out, startup errors included.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readlinkSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeEnhancedPacket, encodeInterfaceDescription, encodeSectionHeader, splitBlocks, LINKTYPE_RAW } from "../../src/core/pcapng.js";
import { encodeUdpPacket } from "../../src/icmp/ip-packet.js";
import { internetChecksum } from "../../src/icmp/message/checksum.js";
import { pseudoHeaderSum } from "../../src/icmp/tcp-segment.js";
import { FakeClock } from "../../src/core/clock.js";
import { runCliCapture, spawnCli, type CliRun } from "../helpers/cli.js";
import { noTshark, rawStream, readCapture } from "../helpers/tshark.js";
import { mkdir, writeFile } from "node:fs/promises";
import { PASSWORD, USER, startSmtpPeer, testCert } from "../smtp/peer.js";

const rootOnly = process.getuid?.() === 0 ? {} : { skip: "needs root (raw ICMP sockets)" };

type Packet = { src: string; dst: string; udp: string; ip: string; comment: string };
const PACKET_FIELDS = ["ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "udp.checksum.status", "ip.checksum.status", "frame.comment"];

function toPackets(fields: string): Packet[] {
  return fields.split("\n").filter((l) => l !== "").map((l) => {
    const [s4 = "", s6 = "", d4 = "", d6 = "", udp = "", ip = "", comment = ""] = l.split("|");
    return { src: s4 || s6, dst: d4 || d6, udp, ip, comment };
  });
}

/** Every packet of `file`: addresses, UDP and IP checksum verdicts, comment; `follow` blocks read in the same tshark run. */
async function tshark(file: string, follow: string[] = []): Promise<{ packets: Packet[]; follow: (arg: string) => string }> {
  const cap = await readCapture(file, { prefs: ["udp.check_checksum:TRUE", "ip.check_checksum:TRUE"], fields: PACKET_FIELDS, follow });
  return { packets: toPackets(cap.fields), follow: cap.follow };
}

/** The per-packet lines of `fields` in `file`, with checksum checks `prefs` on. */
async function fieldsOf(file: string, prefs: string[], fields: string[]): Promise<string> {
  return (await readCapture(file, { prefs, fields })).fields;
}

/** Start a server in this process; resolves with its port and a stop function. */
async function serve(argv: string[]): Promise<{ port: number; stop: () => Promise<CliRun> }> {
  const ac = new AbortController();
  let listening: (port: number) => void = () => {};
  const port = new Promise<number>((r) => (listening = r));
  const done = runCliCapture(argv, { signal: ac.signal, onStdout: (s) => {
    const m = /listening on \S+:(\d+)/.exec(s);
    if (m) listening(Number(m[1]));
  } });
  const p = await Promise.race([port, done.then((r) => Promise.reject(new Error(`server ended: ${r.stderr}`)))]);
  return { port: p, stop: async () => { ac.abort(); return done; } };
}

/** Descriptors of this process open on `file`. */
function openOn(file: string): number {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

/**
 * Move fake time in 10 ms steps until `done` settles, letting the event loop poll the sockets
 * between steps. The clock stands still while nothing waits on it (the CLI still loading its
 * modules and opening sockets, which takes real time), so a slow start cannot use up the run's time.
 */
async function driveWhileWaiting<T>(clock: FakeClock, done: Promise<T>, maxTurns = 100_000): Promise<T> {
  let settled = false;
  void done.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < maxTurns && !settled; i++) {
    await new Promise((r) => (clock.pending > 0 ? setImmediate(r) : setTimeout(r, 1)));
    if (clock.pending > 0) clock.advance(10);
  }
  return done;
}

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "wirekit-pcap-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("pcapng codec", () => {
  it("writes blocks a reader can split, with the comment as opt_comment", () => {
    const file = Buffer.concat([encodeSectionHeader("wirekit"), encodeInterfaceDescription(LINKTYPE_RAW, "lo"), encodeEnhancedPacket({ timestampUs: 1_700_000_000_123_456n, data: Buffer.alloc(29, 1), comment: "late reply for seq 3" })]);
    const blocks = splitBlocks(file);
    assert.deepEqual(blocks.map((b) => b.type), [0x0a0d0d0a, 1, 6]);
    const epb = blocks[2]!.body;
    assert.equal((BigInt(epb.readUInt32LE(4)) << 32n) | BigInt(epb.readUInt32LE(8)), 1_700_000_000_123_456n);
    assert.equal(epb.readUInt32LE(12), 29);
    const opt = epb.subarray(20 + 32);
    assert.equal(opt.readUInt16LE(0), 1);
    assert.equal(opt.subarray(4, 4 + opt.readUInt16LE(2)).toString(), "late reply for seq 3");
    assert.equal(blocks[1]!.body.readUInt16LE(0), 101);
  });

  it("builds IPv4 and IPv6 UDP packets whose checksums verify", () => {
    const v4 = encodeUdpPacket({ address: "127.0.0.1", port: 40000 }, { address: "127.0.0.2", port: 12000 }, Buffer.from("PING 1"), 7);
    assert.equal(v4.length, 20 + 8 + 6);
    assert.equal(internetChecksum(v4.subarray(0, 20)), 0);
    assert.equal(internetChecksum(v4.subarray(20), pseudoHeaderSum("127.0.0.1", "127.0.0.2", 17, 14)), 0);
    const v6 = encodeUdpPacket({ address: "::1", port: 40000 }, { address: "fe80::2", port: 12000 }, Buffer.from("x"));
    assert.equal(v6.length, 40 + 9);
    assert.equal(v6[0]! >> 4, 6);
    assert.equal(internetChecksum(v6.subarray(40), pseudoHeaderSum("::1", "fe80::2", 17, 9)), 0);
  });
});

// Concurrent: most of the time is tshark starting (0.3 s a run); the cases share nothing.
describe("--pcap on every tool, read by tshark", { ...noTshark, concurrency: true }, () => {
  it("udp-ping: client and server files hold every datagram with valid checksums, and the drops and timeouts as comments", async () => {
    const sfile = join(dir, "ping-serve.pcapng");
    const cfile = join(dir, "ping.pcapng");
    const srv = await serve(["udp-ping", "serve", "--host", "127.0.0.1", "-p", "0", "--loss", "0.5", "--seed", "7", "-q", "--pcap", sfile]);
    const r = await runCliCapture(["udp-ping", "127.0.0.1", String(srv.port), "-c", "6", "-i", "20ms", "-W", "1s", "-q", "--pcap", cfile]);
    const s = await srv.stop();
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    const [sent, got] = [Number(m?.[1]), Number(m?.[2])];
    assert.ok(sent === 6 && got > 0 && got < 6, r.stdout);
    assert.equal(openOn(cfile) + openOn(sfile), 0, "both files closed");
    const client = (await tshark(cfile)).packets;
    assert.equal(client.length, sent + got);
    assert.ok(client.every((p) => p.udp === "1" && p.ip === "1" && p.src === "127.0.0.1" && p.dst === "127.0.0.1"), JSON.stringify(client));
    assert.equal(client.filter((p) => /^no reply within 1 s: seq \d+ counted lost$/.test(p.comment)).length, sent - got);
    const server = (await tshark(sfile)).packets;
    const dropped = Number(/(\d+) dropped/.exec(s.stdout)?.[1]);
    assert.equal(server.length, sent + got);
    assert.equal(server.filter((p) => p.comment === "dropped (simulated, seed 7)").length, dropped);
    assert.match(s.stderr, new RegExp(`pcap written to ${sfile} \\(${sent + got} packets\\)`));
  });

  it("udp-echo: the retransmission carries its backoff, the dropped first copy its impairment", async () => {
    const sfile = join(dir, "echo-serve.pcapng");
    const cfile = join(dir, "echo.pcapng");
    // Seed 3 drops the first datagram and lets the second through (50% loss).
    const srv = await serve(["udp-echo", "serve", "--host", "127.0.0.1", "-p", "0", "--loss", "0.5", "--seed", "3", "-q", "--pcap", sfile]);
    const r = await runCliCapture(["udp-echo", "127.0.0.1", String(srv.port), "-m", "hi", "--timeout", "500ms", "--pcap", cfile]);
    await srv.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await tshark(cfile)).packets.map((p) => p.comment), ["no reply within 500 ms: retransmit, next timeout 1 s", "retransmission 1, timeout 1 s", ""]);
    assert.deepEqual((await tshark(sfile)).packets.map((p) => p.comment), ["dropped (simulated, seed 3)", "", ""]);
  });

  it("udp-echo send-big: every part and the verdict, checksums valid; the refusal of the big datagram and each part the verdict names missing are comments", async () => {
    const file = join(dir, "big.pcapng");
    // Seed 7 with 30% loss drops some of the 16 parts (and lets the verdict through). The server
    // gives its verdict 2 s after the last part it got; the client ends as soon as the verdict
    // arrives, so the long --wait costs nothing and a slow machine cannot outlast it.
    const srv = await serve(["udp-echo", "serve", "--host", "127.0.0.1", "-p", "0", "--loss", "0.3", "--seed", "7", "-q"]);
    const r = await runCliCapture(["udp-echo", "send-big", "127.0.0.1", String(srv.port), "--size", "80000", "--parts", "16", "--wait", "60s", "--pcap", file]);
    await srv.stop();
    assert.equal(openOn(file), 0);
    const verdict = /^server: (incomplete message: .*missing parts (.*))$/m.exec(r.stdout);
    assert.ok(verdict !== null, r.stdout);
    const missing = (verdict[2] ?? "").split(", ").flatMap((x) => {
      const [a = 0, b = a] = x.split("-").map(Number);
      return Array.from({ length: b - a + 1 }, (_, i) => a + i);
    });
    assert.ok(missing.length > 0 && missing.length < 16, r.stdout);
    const packets = (await tshark(file)).packets;
    assert.equal(packets.length, 17, "16 parts and the verdict; the refused 80000-byte datagram never left");
    assert.ok(packets.every((p) => p.udp === "1" && p.ip === "1"), JSON.stringify(packets));
    const parts = packets.slice(0, 16);
    parts.forEach((p, i) => assert.match(p.comment, new RegExp(`^part ${i + 1}/16(;|$)`)));
    assert.match(parts[0]?.comment ?? "", /the 80000-byte datagram was refused by the OS \(EMSGSIZE, above 65507 over IPv4\): sent in parts instead/);
    assert.deepEqual(parts.flatMap((p, i) => (p.comment.endsWith("; reported missing in the server's verdict") ? [i + 1] : [])), missing);
    assert.equal(packets[16]?.comment, "the server's verdict on the split send: incomplete");
    assert.match(r.stderr, /pcap written to .*big\.pcapng \(17 packets\)/);
  });

  it("heartbeat: the monitor's file names the new client on its first heartbeat; the sender's holds each heartbeat and ack", async () => {
    const sfile = join(dir, "hb-serve.pcapng");
    const cfile = join(dir, "hb.pcapng");
    const srv = await serve(["heartbeat", "serve", "--host", "127.0.0.1", "-p", "0", "--pcap", sfile]);
    const r = await runCliCapture(["heartbeat", "127.0.0.1", String(srv.port), "-c", "3", "-i", "20ms", "-W", "2s", "--id", "lab-pc", "-q", "--pcap", cfile]);
    await srv.stop();
    assert.equal(r.code, 0, r.stderr);
    const client = (await tshark(cfile)).packets;
    assert.equal(client.length, 6);
    assert.ok(client.every((p) => p.udp === "1"));
    const server = (await tshark(sfile)).packets;
    assert.equal(server.length, 6);
    assert.match(server[0]?.comment ?? "", /^new client lab-pc \(127\.0\.0\.1:\d+\), first seq 1$/);
  });

  it("closes the file on startup errors: a bad --webhook, a port in use; the error stays one line", async () => {
    const file = join(dir, "bad.pcapng");
    const bad = await runCliCapture(["heartbeat", "serve", "-p", "0", "--webhook", "ftp://x", "--pcap", file]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.split("\n").filter(Boolean).length, 1, bad.stderr);
    assert.equal(openOn(file), 0);
    const srv = await serve(["udp-ping", "serve", "--host", "127.0.0.1", "-p", "0", "-q"]);
    const busy = await runCliCapture(["udp-ping", "serve", "--host", "127.0.0.1", "-p", String(srv.port), "--pcap", file]);
    await srv.stop();
    assert.equal(busy.code, 2);
    assert.equal(busy.stderr.split("\n").filter(Boolean).length, 1, busy.stderr);
    assert.equal(openOn(file), 0);
    // What is left is a valid, empty capture.
    assert.deepEqual(splitBlocks(await readFile(file)).map((b) => b.type), [0x0a0d0d0a, 1]);
    const unwritable = await runCliCapture(["udp-ping", "127.0.0.1", "9", "--pcap", join(dir, "no", "such", "dir.pcapng")]);
    assert.equal(unwritable.code, 2);
    assert.match(unwritable.stderr, /^wirekit: --pcap: cannot write '.*dir\.pcapng': ENOENT\n$/);
  });

  it("http get: one TCP connection with handshake and close, valid checksums, the stream reassembles, the response carries the decision", async () => {
    const root = join(dir, "site");
    await mkdir(root);
    await writeFile(join(root, "a.txt"), "hello\n".repeat(20_000));
    const web = spawnCli(["http", "serve", root, "-p", "0", "--quiet"]);
    try {
      const port = Number(/listening on \S+:(\d+)/.exec(await web.waitFor(/listening on \S+:\d+/))?.[1]);
      const file = join(dir, "get.pcapng");
      const r = await runCliCapture(["http", "get", `http://127.0.0.1:${port}/a.txt`, "-s", "-o", join(dir, "out.txt"), "-H", "Accept-Encoding: identity", "--pcap", file]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(openOn(file), 0);
      const cap = await readCapture(file, { prefs: ["tcp.check_checksum:TRUE", "ip.check_checksum:TRUE"], fields: ["tcp.flags.str", "tcp.checksum.status", "ip.checksum.status", "tcp.analysis.flags"], follow: ["tcp,raw,0"] });
      const fields = cap.fields;
      const rows = fields.trim().split("\n").map((l) => l.split("|"));
      assert.ok(rows.length >= 8, fields);
      assert.ok(rows.every(([, tcp, ip, analysis]) => tcp === "1" && ip === "1" && (analysis ?? "") === ""), `checksums good, no TCP analysis warnings:\n${fields}`);
      assert.match(rows[0]?.[0] ?? "", /S/);
      assert.ok(rows.some(([f]) => /F/.test(f ?? "")));
      const stream = rawStream(cap.follow("tcp,raw,0"));
      assert.match(stream, /^GET \/a\.txt HTTP\/1\.1\r\n/);
      assert.ok(stream.endsWith("hello\n".repeat(20_000)), "the whole 120 kB body reassembles");
    } finally {
      web.kill("SIGTERM");
      await web.done;
    }
    const https = await runCliCapture(["http", "get", "https://127.0.0.1:9/", "--pcap", join(dir, "tls.pcapng")]);
    assert.equal(https.code, 2);
    assert.equal(https.stderr, "wirekit: --pcap: an https exchange is encrypted on the wire; only http:// can be captured\n");
  });

  it("mail: the plaintext session reassembles with the AUTH secret overwritten; a STARTTLS session is captured up to the upgrade", async () => {
    const plain = await startSmtpPeer({ disabledCommands: ["STARTTLS"], allowInsecureAuth: true });
    const tls = await startSmtpPeer();
    const ca = join(dir, "ca.pem");
    await writeFile(ca, (await testCert()).cert);
    try {
      const env = { WIREKIT_SMTP_PASSWORD: PASSWORD };
      const file = join(dir, "mail.pcapng");
      const base = ["mail", "--from", "a@lab.test", "--to", "b@lab.test", "--subject", "Lab", "--text", "hi", "--user", USER, "-q"];
      const r = await runCliCapture([...base, "--server", `127.0.0.1:${plain.port}`, "--no-tls", "--allow-plain-auth", "--pcap", file], { env });
      assert.equal(r.code, 0, r.stderr);
      const bytes = await readFile(file);
      const plainB64 = Buffer.from(`\0${USER}\0${PASSWORD}`).toString("base64");
      for (const secret of [PASSWORD, plainB64, plainB64.replace(/=+$/, "")]) assert.equal(bytes.indexOf(Buffer.from(secret)), -1, "no form of the secret in the file");
      const cap = await tshark(file, ["tcp,raw,0"]);
      const stream = rawStream(cap.follow("tcp,raw,0"));
      assert.match(stream, /^220 /);
      assert.match(stream, /\r\nAUTH PLAIN \*+\r\n/);
      assert.match(stream, /\r\nDATA\r\n/);
      assert.match(stream, /\r\nQUIT\r\n/);
      const comments = cap.packets.map((p) => p.comment).filter(Boolean);
      assert.deepEqual(comments, [`AUTH secret redacted (${plainB64.length} bytes overwritten with *)`]);
      const sfile = join(dir, "starttls.pcapng");
      const t = await runCliCapture([...base, "--server", `127.0.0.1:${tls.port}`, "--ca", ca, "--pcap", sfile], { env });
      assert.equal(t.code, 0, t.stderr);
      const scap = await tshark(sfile, ["tcp,ascii,0"]);
      const packets = scap.packets;
      assert.ok(packets.every((p) => p.udp === ""), "TCP only");
      assert.ok(packets.some((p) => p.comment.startsWith("TLS starts after this reply (STARTTLS)")), JSON.stringify(packets));
      const sstream = scap.follow("tcp,ascii,0");
      assert.match(sstream, /STARTTLS/);
      assert.doesNotMatch(sstream, /^(AUTH PLAIN|MAIL FROM)/m, "nothing after the upgrade");
      const implicit = await runCliCapture([...base, "--server", "127.0.0.1:9", "--tls", "--pcap", sfile], { env });
      assert.equal(implicit.code, 2);
    } finally {
      await plain.close();
      await tls.close();
    }
  });

  it("ping: each echo request and its reply, checksums valid, paired by Wireshark; several targets are refused", rootOnly, async () => {
    for (const [target, family] of [["127.0.0.1", 4], ["::1", 6]] as const) {
      const file = join(dir, `ping${family}.pcapng`);
      const r = await runCliCapture(["ping", target, "-n", "2", "-i", "0.05", "-W", "5s", "--pcap", file]);
      assert.equal(r.code, 0, r.stderr);
      const v = family === 4 ? "icmp" : "icmpv6";
      const out = await fieldsOf(file, ["ip.check_checksum:TRUE"], [`${v}.type`, `${v}.checksum.status`, family === 4 ? "ip.checksum.status" : "ipv6.src", `${v}.resp_to`]);
      const rows = out.trim().split("\n").map((l) => l.split("|"));
      // Packets are written as the tool handles them: on a loaded machine the second request can
      // leave before the first reply is read, so the order may be request, request, reply, reply.
      const [req, rep] = family === 4 ? ["8", "0"] : ["128", "129"];
      assert.deepEqual(rows.map((x) => x[0]).sort(), [req, req, rep, rep].sort(), out);
      assert.equal(rows[0]?.[0], req, "the first packet is a request");
      assert.ok(rows.every((x) => x[1] === "1" && (family === 6 || x[2] === "1")), `checksums good: ${out}`);
      const pairedTo = rows.filter((x) => x[0] === rep).map((x) => Number(x[3]));
      assert.equal(new Set(pairedTo).size, 2, `each reply is matched to its own request: ${out}`);
      assert.ok(pairedTo.every((n) => rows[n - 1]?.[0] === req), `Wireshark pairs each reply with a request frame: ${out}`);
    }
    const many = await runCliCapture(["ping", "127.0.0.1", "127.0.0.2", "--pcap", join(dir, "x.pcapng")]);
    assert.equal(many.code, 2);
    assert.equal(many.stderr, "wirekit: --pcap takes one target\n");
  });

  it("mtr: each probe with its TTL and cycle and the answer about it, checksums valid, written as the run goes", rootOnly, async () => {
    for (const method of [[], ["-U"]]) {
      const file = join(dir, `mtr${method.join("")}.pcapng`);
      // On fake time: a cycle leaves only when the test moves the clock, and between two moves
      // the event loop polls the sockets, where loopback has put the answers by the time the
      // probe's send returns. So cycle 2 knows where the path ends however slow the machine is
      // (on the real clock a stalled loop could fire cycle 2's timer before reading cycle 1's answers).
      const clock = new FakeClock();
      const r = await driveWhileWaiting(clock, runCliCapture(["mtr", "127.0.0.1", "-n", "--report", "-c", "3", "-i", "0.05", "-m", "2", "-w", "5s", ...method, "--pcap", file], { clock }));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(openOn(file), 0);
      const out = await fieldsOf(file, ["ip.check_checksum:TRUE", "udp.check_checksum:TRUE"], ["ip.ttl", "frame.comment", "ip.checksum.status", "icmp.checksum.status", "udp.checksum.status"]);
      const rows = out.trim().split("\n").map((l) => l.split("|"));
      // Cycle 1 probes TTL 1 and 2 (the end of the path is not known yet), cycles 2 and 3 TTL 1 only.
      const probes = rows.filter((x) => /^probe TTL=\d; cycle \d$/.test(x[1] ?? "")).map((x) => x[1]);
      assert.deepEqual(probes, ["probe TTL=1; cycle 1", "probe TTL=2; cycle 1", "probe TTL=1; cycle 2", "probe TTL=1; cycle 3"], out);
      assert.ok(rows.filter((x) => /^probe/.test(x[1] ?? "")).every((x) => (x[1] ?? "").startsWith(`probe TTL=${x[0]};`)), `each probe left with the TTL it names: ${out}`);
      const answers = rows.filter((x) => /^answers cycle \d, TTL \d$/.test(x[1] ?? "")).map((x) => x[1]);
      assert.deepEqual(answers.sort(), ["answers cycle 1, TTL 1", "answers cycle 1, TTL 2", "answers cycle 2, TTL 1", "answers cycle 3, TTL 1"], out);
      assert.ok(rows.every((x) => x.slice(2).every((c) => c === "" || /^1(,1)*$/.test(c))), `checksums good: ${out}`);
    }
  });

  it("traceroute: each probe with its TTL and the answer about it, for ICMP, UDP and TCP probes, checksums valid", rootOnly, async () => {
    for (const method of [[], ["-U"], ["-T"]]) {
      const file = join(dir, `trace${method.join("")}.pcapng`);
      const r = await runCliCapture(["traceroute", "127.0.0.1", "-n", "-q", "1", "-m", "2", "-w", "5s", ...method, "--pcap", file]);
      assert.equal(r.code, 0, r.stderr);
      const out = await fieldsOf(file, ["ip.check_checksum:TRUE", "udp.check_checksum:TRUE", "tcp.check_checksum:TRUE"], ["ip.ttl", "frame.comment", "ip.checksum.status", "icmp.checksum.status", "udp.checksum.status", "tcp.checksum.status"]);
      const rows = out.trim().split("\n").map((l) => l.split("|"));
      const probes = rows.filter((x) => /^probe TTL=\d$/.test(x[1] ?? ""));
      assert.ok(probes.length >= 1 && probes.every((x) => x[1] === `probe TTL=${x[0]}`), out);
      assert.ok(rows.length > probes.length, `an answer is there: ${out}`);
      assert.ok(rows.every((x) => x.slice(2).every((c) => c === "" || /^1(,1)*$/.test(c))), `checksums good: ${out}`);
    }
  });
});

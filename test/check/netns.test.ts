/**
 * `wirekit check --netns`: the student's program in a namespace of its own, reaching the
 * counterpart on 127.0.0.1 and nothing else, and the namespace gone afterwards. Needs root and
 * nft; skipped with the reason otherwise.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { join } from "node:path";
import { runCliCapture, type CliRun } from "../helpers/cli.js";
import { PYTHON, STUDENTS } from "./fixtures.js";
import { createStudentNamespace, studentNamespaceUnavailable } from "../../src/check/netns.js";

const why = studentNamespaceUnavailable();
const skip = why === undefined ? false : why;

// The checks start at once (each builds its own namespace) and each test awaits its own.
const cli = (argv: string[]): Promise<CliRun> => (skip === false ? runCliCapture(argv) : Promise.resolve({ code: -1, stdout: "", stderr: "" }));
const clientRun = cli(["check", "http-client", "--netns", "--dir", join(STUDENTS, "http-client", "correct"), "--seed", "1", "--", PYTHON, "client.py", "{host}", "{port}", "{file}"]);
const hangingRun = cli(["check", "udp-echo-client", "--netns", "--timeout", "1500ms", "--dir", join(STUDENTS, "udp-echo-client", "blocks-forever"), "--seed", "1", "--", PYTHON, "udp_client.py", "{host}", "{port}"]);
const pingServerRun = cli(["check", "udp-ping-server", "--netns", "--dir", join(STUDENTS, "udp-ping-server", "correct"), "--seed", "1", "--", PYTHON, "UDPPingerServer.py", "{port}"]);
const echoServerRun = cli(["check", "udp-echo-server", "--netns", "--dir", join(STUDENTS, "udp-echo-server", "correct"), "--seed", "1", "--", PYTHON, "udp_server.py", "{host}", "{port}"]);

const leftovers = (): string => `${execFileSync("ip", ["netns", "list"], { encoding: "utf8" })}${execFileSync("nft", ["list", "tables"], { encoding: "utf8" })}`;

const PROBE = `
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
u.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
data, addr = u.recvfrom(100)
print("udp", data.decode(), addr[0], addr[1])
t = socket.socket()
t.settimeout(0.5)
try:
    t.connect(("127.0.0.1", int(sys.argv[2])))
    print("tcp reached")
except OSError as e:
    print("tcp blocked", type(e).__name__)
`;

test("--netns: the program reaches the allowed port on 127.0.0.1, replies come from there, and another listening port is out of reach", { skip }, async () => {
  const udp = createSocket("udp4");
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
  udp.on("message", (m, from) => udp.send(Buffer.from(m.toString().toUpperCase()), from.port, from.address));
  const tcp = createServer((s) => s.end("hello\n"));
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", () => r()));
  const tcpPort = (tcp.address() as { port: number }).port;
  const ns = await createStudentNamespace();
  try {
    await ns.allow(udp.address().port);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(ns.prefix[0] ?? "ip", [...ns.prefix.slice(1), PYTHON, "-c", PROBE, String(udp.address().port), String(tcpPort)], { timeout: 10_000 }, (err, stdout, stderr) => (err === null ? resolve(stdout) : reject(new Error(stderr || err.message))));
    });
    assert.match(out, new RegExp(`^udp PING 127\\.0\\.0\\.1 ${udp.address().port}$`, "m"));
    assert.match(out, /^tcp blocked /m);
  } finally {
    await ns.destroy();
    udp.close();
    tcp.close();
  }
  assert.doesNotMatch(leftovers(), new RegExp(`${ns.name}`));
});

test("--netns: a check runs the client lab inside the namespace, and removes it afterwards", { skip }, async () => {
  const r = await clientRun;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const ns = /^ {2}ran: ip netns exec (wkc-\d+-\d+-n) .*client\.py 127\.0\.0\.1 \d+ hello\.html$/m.exec(r.stdout)?.[1];
  assert.ok(ns !== undefined, r.stdout);
  assert.match(r.stdout, /^PASS: required 3\/3/m);
  assert.doesNotMatch(leftovers(), new RegExp(`${ns}`));
});

test("--netns: a client that hangs is killed at its time limit, with no process or namespace left", { skip }, async () => {
  const r = await hangingRun;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /killed at the time limit/);
  const ran = [...r.stdout.matchAll(/^ {2}ran: ip netns exec (\S+) .*(udp_client\.py 127\.0\.0\.1 \d+)$/gm)];
  assert.equal(ran.length, 3, r.stdout);
  const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
  for (const m of ran) assert.ok(!ps.includes(m[2] ?? "?"), `left running: ${m[2] ?? ""}`);
  assert.doesNotMatch(leftovers(), new RegExp(`${ran[0]?.[1] ?? "?"}`));
});

test("--netns: the student's server runs in the namespace and the check reaches it, whether it binds every address or 127.0.0.1 only", { skip }, async () => {
  const [ping, echo] = await Promise.all([pingServerRun, echoServerRun]);
  // The pinger server binds ('', port), the echo server (sys.argv[1], port) = 127.0.0.1.
  for (const r of [ping, echo]) {
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ {2}ran: ip netns exec wkc-\d+-\d+-n /m);
  }
  assert.match(ping.stdout, /✓ required {2}replies to a ping with its text upper-cased/);
  assert.match(echo.stdout, /— 16 datagrams of 1000 bytes/);
});

test("--netns: once every check is done, no namespace or nft table of this process is left", { skip }, async () => {
  await Promise.all([clientRun, hangingRun, pingServerRun, echoServerRun]);
  assert.doesNotMatch(leftovers(), new RegExp(`wkc-${process.pid % 100000}-|wirekit-check-`));
});

test("--netns on icmp-ping (whose counterpart is the host's kernel) is a usage error", async () => {
  const r = await runCliCapture(["check", "icmp-ping", "--netns", "--", "python3", "x.py", "{host}"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^wirekit: --netns: not for icmp-ping /);
});

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createUdpPingServer, type UdpPingServer } from "../../../src/udp/ping/server.js";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { decodePing, upperCaseAscii } from "../../../src/udp/ping/protocol.js";
import { runCliCapture, spawnCli } from "../../helpers/cli.js";

const servers: UdpPingServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});
async function server(loss: number): Promise<UdpPingServer> {
  const s = await createUdpPingServer({ host: "127.0.0.1", port: 0, loss });
  servers.push(s);
  return s;
}

test("wirekit udp-ping prints a Reply line per ping and ping's statistics block, exit 0", async () => {
  const s = await server(0);
  const r = await runCliCapture(["udp-ping", "127.0.0.1", String(s.port), "-c", "3", "-i", "20ms", "-W", "5s"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.match(lines[0] ?? "", /^UDP-PING 127\.0\.0\.1 \(127\.0\.0\.1:\d+\) from local 0\.0\.0\.0:\d+$/);
  for (let i = 1; i <= 3; i++) {
    assert.match(lines[i] ?? "", new RegExp(`^Reply from 127\\.0\\.0\\.1: PING ${i} \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}, RTT=\\d+\\.\\d{3} ms$`));
  }
  assert.match(r.stdout, /\n--- 127\.0\.0\.1 udp-ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time \d+ms\nrtt min\/avg\/max\/mdev = \d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3} ms\n$/);
});

test("wirekit udp-ping exits 1 and prints timeouts when the server drops everything", async () => {
  const s = await server(1);
  const r = await runCliCapture(["udp-ping", "127.0.0.1", String(s.port), "-c", "2", "-i", "0.01", "-W", "100ms"]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Request timed out \(seq 1\)\nRequest timed out \(seq 2\)\n/);
  assert.match(r.stdout, /2 packets transmitted, 0 received, 100% packet loss/);
  assert.doesNotMatch(r.stdout, /rtt min/);
});

test("wirekit udp-ping --json prints one JSON document with every ping and the summary", async () => {
  const s = await server(0);
  const r = await runCliCapture(["udp-ping", "127.0.0.1", String(s.port), "-c", "2", "-i", "10ms", "--json"]);
  assert.equal(r.code, 0);
  const doc = JSON.parse(r.stdout) as { pings: Array<{ seq: number; status: string; rtt_ms: number }>; summary: { transmitted: number; received: number; loss_percent: number } };
  assert.deepEqual(doc.pings.map((p) => [p.seq, p.status]), [[1, "reply"], [2, "reply"]]);
  assert.ok(doc.pings.every((p) => p.rtt_ms >= 0));
  assert.deepEqual([doc.summary.transmitted, doc.summary.received, doc.summary.loss_percent], [2, 2, 0]);
});

test("usage errors exit 2 with one clear line", async () => {
  const rows: Array<[string[], RegExp]> = [
    [["udp-ping"], /^wirekit: missing server_address and server_port \(see --help\)\n$/],
    [["udp-ping", "127.0.0.1"], /^wirekit: missing server_port/],
    [["udp-ping", "127.0.0.1", "99999"], /^wirekit: invalid server_port '99999'/],
    [["udp-ping", "127.0.0.1", "1", "-c", "ten"], /^wirekit: invalid count 'ten'/],
    [["udp-ping", "127.0.0.1", "1", "-i", "fast"], /^wirekit: invalid interval 'fast'/],
    [["udp-ping", "127.0.0.1", "1", "--bogus"], /^wirekit: unknown option '--bogus'/],
    [["udp-ping", "127.0.0.1", "1", "-i", "-1"], /^wirekit: option '-i' needs a value; to give one starting with '-', write -i-VALUE\n$/],
    [["udp-ping", "serve", "--port", "-1"], /^wirekit: option '--port' needs a value; to give one starting with '-', write --port=-VALUE\n$/],
    [["udp-ping", "no-such-host.invalid", "1"], /^wirekit: cannot resolve 'no-such-host\.invalid': host not found\n$/],
    [["udp-ping", "serve", "--loss", "1.5"], /^wirekit: invalid loss '1\.5'/],
    [["udp-ping", "serve", "--port", "http"], /^wirekit: invalid port 'http'/],
    [["no-such-tool"], /^wirekit: unknown tool 'no-such-tool'/],
  ];
  for (const [argv, re] of rows) {
    const r = await runCliCapture(argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, re, argv.join(" "));
    assert.equal(r.stderr.split("\n").length, 2, `one line for ${argv.join(" ")}`);
  }
});

test("a port in use is a one-line error with exit 2", async () => {
  const s = await server(0);
  const r = await runCliCapture(["udp-ping", "serve", "--host", "127.0.0.1", "--port", String(s.port)]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `wirekit: bind 127.0.0.1:${s.port}: address already in use\n`);
});

test("--help shows usage with an example, and --version the version", async () => {
  const h = await runCliCapture(["udp-ping", "--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Examples?:\n\s+wirekit udp-ping/);
  const top = await runCliCapture(["--help"]);
  assert.match(top.stdout, /udp-ping/);
  const v = await runCliCapture(["--version"]);
  assert.match(v.stdout, /^wirekit \d+\.\d+\.\d+\n$/);
});

test("the server logs each datagram (dropped ones marked) and prints totals on SIGINT, exit 0", async () => {
  const srv = spawnCli(["udp-ping", "serve", "--host", "127.0.0.1", "--port", "0", "--loss", "1"]);
  const out = await srv.waitFor(/listening on 127\.0\.0\.1:(\d+) \(impair: loss 100%, seed \d+\)\n/);
  const port = Number(/:(\d+) /.exec(out)?.[1]);
  const cli = await runCliCapture(["udp-ping", "127.0.0.1", String(port), "-c", "2", "-i", "10ms", "-W", "100ms"]);
  assert.equal(cli.code, 1);
  await srv.waitFor(/Ping 2 .* {2}dropped\n/);
  srv.kill("SIGINT");
  const r = await srv.done;
  assert.equal(r.code, 0);
  assert.match(r.stdout, /127\.0\.0\.1:\d+ Ping 1 \d{4}-\d\d-\d\d [\d:.]+ {2}dropped\n/);
  assert.match(r.stdout, /\n2 received, 0 replied, 2 dropped\nimpairments: 2 lost\n$/);
});

test("Ctrl-C on the client prints the statistics block and exits 0 after replies", async () => {
  const s = await server(0);
  const cli = spawnCli(["udp-ping", "127.0.0.1", String(s.port), "-c", "0", "-i", "50ms"]);
  await cli.waitFor(/Reply from .*PING 2 /);
  cli.kill("SIGINT");
  const r = await cli.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n--- 127\.0\.0\.1 udp-ping statistics ---\n\d+ packets transmitted, \d+ received, .*% packet loss, time \d+ms\nrtt min\/avg\/max\/mdev = /);
  assert.equal(r.stderr, "");
});

test("the client prints late replies, (DUP!) and, with -v, foreign datagrams; -s pads each ping", async () => {
  const open = async (): Promise<Socket> => {
    const s = createSocket("udp4");
    s.bind(0, "127.0.0.1");
    await once(s, "listening");
    return s;
  };
  const scripted = await open();
  const forger = await open();
  const sizes: number[] = [];
  let held: (() => void) | undefined;
  scripted.on("message", (msg, rinfo) => {
    sizes.push(msg.length);
    const d = decodePing(msg);
    if (!d.ok) return;
    const reply = (): void => void scripted.send(upperCaseAscii(msg), rinfo.port, rinfo.address);
    if (d.value.seq === 1) held = reply; // answered only once ping 1 has timed out
    else if (d.value.seq === 2) {
      held?.();
      reply();
      reply();
      forger.send(upperCaseAscii(msg), rinfo.port, "127.0.0.1");
    } else reply();
  });
  try {
    const r = await runCliCapture(["udp-ping", "127.0.0.1", String(scripted.address().port), "-c", "3", "-i", "400ms", "-W", "250ms", "-s", "100", "-v"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(sizes, [100, 100, 100]);
    const lines = r.stdout.split("\n");
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    assert.ok(at(/^Request timed out \(seq 1\)$/) >= 0, r.stdout);
    assert.ok(at(/^Late reply for seq 1 \(RTT=\d+\.\d{3} ms\)$/) > at(/^Request timed out \(seq 1\)$/), r.stdout);
    assert.ok(at(/^Reply from 127\.0\.0\.1: PING 2 .*, RTT=\d+\.\d{3} ms$/) >= 0, r.stdout);
    assert.ok(at(/^Reply from 127\.0\.0\.1: seq 2, RTT=\d+\.\d{3} ms \(DUP!\)$/) > at(/^Reply from 127\.0\.0\.1: PING 2 /), r.stdout);
    assert.ok(at(new RegExp(`^ignored 100 bytes from 127\\.0\\.0\\.1:${forger.address().port}: not the server$`)) >= 0, r.stdout);
    assert.ok(at(/^Reply from 127\.0\.0\.1: PING 3 /) >= 0, r.stdout);
    // The late reply and the duplicate are not received pings: 2 of 3 came back in time.
    assert.match(r.stdout, /\n3 packets transmitted, 2 received, \+1 duplicates, \+1 late, 33\.3333% packet loss, time \d+ms\n/);
  } finally {
    scripted.close();
    forger.close();
  }
});

test("the server's log line escapes non-printable bytes of the datagram", async () => {
  const ac = new AbortController();
  let port = 0;
  let sawLog: () => void = () => {};
  const logged = new Promise<void>((resolve) => (sawLog = resolve));
  const running = runCliCapture(["udp-ping", "serve", "--host", "127.0.0.1", "--port", "0", "--loss", "0"], {
    signal: ac.signal,
    onStdout: (out) => {
      port ||= Number(/listening on 127\.0\.0\.1:(\d+) /.exec(out)?.[1] ?? 0);
      if (/Ping 1/.test(out)) sawLog();
    },
  });
  while (port === 0) await new Promise((r) => setTimeout(r, 5));
  const c = createSocket("udp4");
  c.bind(0, "127.0.0.1");
  await once(c, "listening");
  c.send(Buffer.concat([Buffer.from("Ping 1 \x00\n\x1b[31m\\ "), Buffer.from("é")]), port, "127.0.0.1");
  await logged;
  c.close();
  ac.abort();
  const r = await running;
  assert.equal(r.code, 0);
  assert.match(r.stdout, /\n127\.0\.0\.1:\d+ Ping 1 \\x00\\n\\x1b\[31m\\\\ \\xc3\\xa9\n/);
  assert.match(r.stdout, /\n1 received, 1 replied, 0 dropped\n$/);
});

test("--quiet on the server prints only the listening line and the totals; -q on the client only the statistics", async () => {
  const ac = new AbortController();
  let port = 0;
  const running = runCliCapture(["udp-ping", "serve", "--host", "127.0.0.1", "--port", "0", "--loss", "0", "--quiet"], {
    signal: ac.signal,
    onStdout: (out) => (port ||= Number(/listening on 127\.0\.0\.1:(\d+) /.exec(out)?.[1] ?? 0)),
  });
  while (port === 0) await new Promise((r) => setTimeout(r, 5));
  const c = await runCliCapture(["udp-ping", "127.0.0.1", String(port), "-c", "2", "-i", "10ms", "-W", "5s", "-q"]);
  assert.equal(c.code, 0);
  assert.match(c.stdout, /^\n--- 127\.0\.0\.1 udp-ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time \d+ms\nrtt min\/avg\/max\/mdev = [\d./]+ ms\n$/);
  ac.abort();
  const s = await running;
  assert.equal(s.code, 0);
  assert.match(s.stdout, /^listening on 127\.0\.0\.1:\d+ \(no impairment\)\n\n2 received, 2 replied, 0 dropped\n$/);
});

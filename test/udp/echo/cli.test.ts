import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { FakeClock } from "../../../src/core/clock.js";
import { runCliCapture, spawnCli, type CliRun } from "../../helpers/cli.js";

const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.close();
});

interface RunningServe {
  port: number;
  output(): string;
  stop(): Promise<CliRun>;
}

/** `wirekit udp-echo serve 127.0.0.1 0 ...` in-process; resolves once it is listening. */
async function serve(...extra: string[]): Promise<RunningServe> {
  const ac = new AbortController();
  let out = "";
  let listening: (port: number) => void = () => {};
  const ready = new Promise<number>((resolve) => (listening = resolve));
  const done = runCliCapture(["udp-echo", "serve", "127.0.0.1", "0", ...extra], {
    signal: ac.signal,
    onStdout: (s) => {
      out = s;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(s);
      if (m) listening(Number(m[1]));
    },
  });
  const port = await Promise.race([ready, done.then((r) => Promise.reject(new Error(`serve exited: ${r.stderr}`)))]);
  return {
    port,
    output: () => out,
    stop: async () => {
      ac.abort();
      return done;
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

test("client and server print the lab's lines: local address, the client's address:port and message, the reply", async () => {
  const s = await serve();
  const r = await runCliCapture(["udp-echo", "127.0.0.1", String(s.port), "-m", "hello", "--timeout", "1s", "--max-timeout", "8s"]);
  assert.equal(r.code, 0, r.stderr);
  const m = /^local 127\.0\.0\.1:(\d+)\nreply from 127\.0\.0\.1:(\d+) in [\d.]+ ms: I received from you a message of 5 bytes\n$/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(Number(m[2]), s.port);
  await until(() => s.output().includes("hello"), "the server's line");
  const stopped = await s.stop();
  assert.equal(stopped.code, 0);
  assert.match(stopped.stdout, new RegExp(`127\\.0\\.0\\.1:${m[1]}: hello \\(5 bytes, id [0-9a-f]{16}\\)\\n`));
  assert.match(stopped.stdout, /\n1 received, 1 replied, 22 bytes, 0 reassembled\n$/);
});

test("the backoff prints each attempt and gives up with the lab's schedule (fake clock: 0.1 … 1.6 s, 3.1 s)", async () => {
  const s = await serve("--loss", "1");
  const clock = new FakeClock();
  const r = await runCliCapture(["udp-echo", "127.0.0.1", String(s.port)], {
    clock,
    onStdout: (out) => {
      if (out.startsWith("local ") && !out.includes("attempt")) setImmediate(() => clock.advance(10_000));
    },
  });
  await s.stop();
  assert.equal(r.code, 1);
  assert.equal(r.stdout.replace(/^local [^\n]+\n/, ""), [
    "attempt 1: no reply in 100 ms, retrying with 200 ms",
    "attempt 2: no reply in 200 ms, retrying with 400 ms",
    "attempt 3: no reply in 400 ms, retrying with 800 ms",
    "attempt 4: no reply in 800 ms, retrying with 1600 ms",
    "attempt 5: no reply in 1600 ms",
    "gave up after 5 attempts (3.1 s): server down or network dropping everything",
    "",
  ].join("\n"));
});

test("on the real clock a dead server costs the whole schedule and exit status 1", async () => {
  const s = await serve("--loss", "1");
  const r = await runCliCapture(["udp-echo", "127.0.0.1", String(s.port), "--timeout", "10ms", "--max-timeout", "40ms"]);
  await s.stop();
  assert.equal(r.code, 1);
  assert.match(r.stdout, /attempt 1: no reply in 10 ms, retrying with 20 ms\nattempt 2: no reply in 20 ms, retrying with 40 ms\nattempt 3: no reply in 40 ms\ngave up after 3 attempts \(\d+\.\d s\): server down or network dropping everything\n$/);
});

async function attacker(): Promise<Socket> {
  const a = createSocket("udp4");
  sockets.push(a);
  a.bind(0, "127.0.0.1");
  await once(a, "listening");
  return a;
}

/** Run the client against a slow server while a third socket sends it a fake reply. */
async function attack(noVerify: boolean): Promise<{ r: CliRun; attackerPort: number }> {
  const s = await serve("--delay", "300");
  const a = await attacker();
  const fake = "I received from you a message of 5 bytes";
  let sent = false;
  const r = await runCliCapture(["udp-echo", "127.0.0.1", String(s.port), "-m", "hello", "--timeout", "2s", "--max-timeout", "2s", ...(noVerify ? ["--no-verify"] : [])], {
    onStdout: (out) => {
      const m = /^local 127\.0\.0\.1:(\d+)/.exec(out);
      if (m && !sent) {
        sent = true;
        a.send(fake, Number(m[1]), "127.0.0.1");
      }
    },
  });
  await s.stop();
  return { r, attackerPort: a.address().port };
}

test("a fake reply from a third socket is ignored and reported; the real one is printed", async () => {
  const { r, attackerPort } = await attack(false);
  assert.equal(r.code, 0);
  assert.match(r.stdout, new RegExp(`\\nignored 40 bytes from 127\\.0\\.0\\.1:${attackerPort}: not the server\\nreply from 127\\.0\\.0\\.1:\\d+ in`));
});

test("with --no-verify the fake reply is taken for the server's, and flagged", async () => {
  const { r, attackerPort } = await attack(true);
  assert.equal(r.code, 0);
  assert.match(r.stdout, new RegExp(`\\nreply from 127\\.0\\.0\\.1:${attackerPort} in [\\d.]+ ms \\(UNVERIFIED: not the server, accepted because of --no-verify\\): I received from you a message of 5 bytes\\n$`));
});

test("send-big prints the EMSGSIZE line, the split send and the server's verdict; the server prints the reassembly", async () => {
  const s = await serve();
  const r = await runCliCapture(["udp-echo", "send-big", "127.0.0.1", String(s.port), "--size", "80000", "--parts", "16", "--wait", "10s"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    "packet too big, cannot send: 80000 bytes > 65507, the largest UDP payload over IPv4",
    "sent 16 datagrams of 5000 bytes",
    "server: I received from you a message of 80000 bytes in 16 parts",
    "",
  ].join("\n"));
  const stopped = await s.stop();
  assert.match(stopped.stdout, /\nreceived message [0-9a-f]{16}: 80000 bytes in 16 parts from 127\.0\.0\.1:\d+\n/);
  assert.match(stopped.stdout, /16 received, 1 replied, 80320 bytes, 1 reassembled\n$/);
});

test("send-big --json prints one document with the verdict", async () => {
  const s = await serve();
  const r = await runCliCapture(["udp-echo", "send-big", "127.0.0.1", String(s.port), "--json", "--wait", "10s"]);
  await s.stop();
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(doc.single, "too-big");
  assert.equal(doc.limit, 65507);
  assert.equal(doc.parts, 16);
  assert.equal(doc.part_bytes, 5000);
  assert.equal(doc.confirmation, "complete");
  assert.equal(doc.confirmation_text, "I received from you a message of 80000 bytes in 16 parts");
});

test("send-big exits 1 and says so when nobody answers", async () => {
  const s = await serve();
  const port = s.port;
  await s.stop();
  const r = await runCliCapture(["udp-echo", "send-big", "127.0.0.1", String(port), "--wait", "50ms"]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /no verdict from the server in 0\.05 s/);
});

test("--json prints one document with the request id, the attempts and the reply", async () => {
  const s = await serve();
  const r = await runCliCapture(["udp-echo", "127.0.0.1", String(s.port), "-m", "hé", "--json", "--timeout", "1s", "--max-timeout", "8s"]);
  await s.stop();
  assert.equal(r.code, 0);
  const doc = JSON.parse(r.stdout) as { status: string; request_id: string; reply: { text: string; bytes: number; id: string; from_server: boolean } };
  assert.equal(doc.status, "reply");
  assert.equal(doc.reply.text, "I received from you a message of 3 bytes");
  assert.equal(doc.reply.bytes, 3);
  assert.equal(doc.reply.id, doc.request_id);
  assert.equal(doc.reply.from_server, true);
});

test("bad command lines are one-line usage errors with exit status 2", async () => {
  const cases: string[][] = [
    ["udp-echo"],
    ["udp-echo", "127.0.0.1"],
    ["udp-echo", "127.0.0.1", "0"],
    ["udp-echo", "127.0.0.1", "70000"],
    ["udp-echo", "127.0.0.1", "9", "--timeout", "1s", "--max-timeout", "0.5s"],
    ["udp-echo", "127.0.0.1", "9", "--timeout", "abc"],
    ["udp-echo", "127.0.0.1", "9", "-4", "-6"],
    ["udp-echo", "127.0.0.1", "9", "-m", "x".repeat(65500)],
    ["udp-echo", "serve", "127.0.0.1"],
    ["udp-echo", "serve", "127.0.0.1", "0", "--loss", "2"],
    ["udp-echo", "serve", "127.0.0.1", "0", "--delay", "-5"],
    ["udp-echo", "serve", "192.0.2.1", "0"],
    ["udp-echo", "send-big", "127.0.0.1", "9", "--parts", "1"],
    ["udp-echo", "send-big", "127.0.0.1", "9", "--size", "10", "--parts", "6"],
    ["udp-echo", "send-big", "127.0.0.1", "9", "--char", "ab"],
    ["udp-echo", "send-big", "127.0.0.1", "9", "--bogus"],
  ];
  for (const argv of cases) {
    const r = await runCliCapture(argv);
    assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^wirekit: [^\n]+\n$/, argv.join(" "));
  }
});

test("a port already taken is a clear error, never a silent move to another port", async () => {
  const s = await serve();
  const r = await runCliCapture(["udp-echo", "serve", "127.0.0.1", String(s.port)]);
  await s.stop();
  assert.equal(r.code, 2);
  assert.match(r.stderr, /address already in use/);
});

test("--delay takes bare milliseconds (as the lab writes it) or a duration with a unit", async () => {
  for (const [arg, shown] of [["300", "impair: delay 300ms"], ["0.3s", "impair: delay 300ms"], ["1.5ms", "impair: delay 1.5ms"]] as const) {
    const s = await serve("--delay", arg);
    const out = s.output();
    await s.stop();
    assert.match(out, new RegExp(`^listening on 127\\.0\\.0\\.1:\\d+ \\(${shown}\\)\n`), arg);
  }
});

test("--help shows the three forms with examples", async () => {
  const r = await runCliCapture(["udp-echo", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /udp-echo serve <interface> <port>/);
  assert.match(r.stdout, /udp-echo send-big <host> <port>/);
  assert.match(r.stdout, /Examples:/);
});

test("the real binary serves until SIGINT, then prints its totals and exits 0", async () => {
  const p = spawnCli(["udp-echo", "serve", "127.0.0.1", "0"]);
  const out = await p.waitFor(/listening on 127\.0\.0\.1:\d+\n/);
  const port = Number(/:(\d+)\n/.exec(out)?.[1]);
  const c = await attacker();
  c.send("ping", port, "127.0.0.1");
  await once(c, "message");
  p.kill("SIGINT");
  const r = await p.done;
  assert.equal(r.code, 0);
  assert.match(r.stdout, /: ping \(4 bytes\)\n\n1 received, 1 replied, 4 bytes, 0 reassembled\n$/);
});

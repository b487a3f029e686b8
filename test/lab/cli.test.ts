import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { runCliCapture, spawnCli } from "../helpers/cli.js";

/** Run `fn` while something else holds a loopback TCP port. */
async function withBusyPort(fn: (addr: { port: number }) => Promise<void>): Promise<void> {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
  const addr = busy.address();
  assert.ok(addr && typeof addr === "object");
  try {
    await fn(addr);
  } finally {
    await new Promise((r) => busy.close(r));
  }
}

test("wirekit lab --demo prints the table, the dashboard URL, one demo line per service and, on Ctrl-C, the totals", async () => {
  const ac = new AbortController();
  const r = await runCliCapture(["lab", "--random-ports", "--demo"], {
    signal: ac.signal,
    onStdout: (s) => {
      if (s.includes("Press Ctrl-C to stop.")) ac.abort();
    },
  });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.match(lines[0] ?? "", /^service\s+listening on\s+try$/);
  assert.match(r.stdout, /^udp-ping\s+udp 127\.0\.0\.1:(\d+)\s+wirekit udp-ping 127\.0\.0\.1 \1$/m);
  assert.match(r.stdout, /^mail\s+tcp 127\.0\.0\.1:(\d+)\s+wirekit mail --server 127\.0\.0\.1:\1 /m);
  const dash = /^dashboard\s+http 127\.0\.0\.1:(\d+)\s+open http:\/\/127\.0\.0\.1:\1\/ in a browser$/m.exec(r.stdout);
  assert.ok(dash, r.stdout);
  assert.match(r.stdout, /^Dashboard: http:\/\/127\.0\.0\.1:\d+\/ {2}\(Prometheus metrics: http:\/\/127\.0\.0\.1:\d+\/metrics\)$/m);
  assert.match(r.stdout, /^Demo: each client once against its server\nservice\s+result\n/m);
  const demo = /^udp-ping\s+5 packets transmitted, (\d) received, (\d+)% packet loss(, rtt min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms)?$/m.exec(r.stdout);
  assert.ok(demo, r.stdout);
  assert.equal(Number(demo[2]), ((5 - Number(demo[1])) * 100) / 5);
  assert.match(r.stdout, /^mail\s+message accepted: 250 /m);
  assert.match(r.stdout, /^heartbeat\s+5 heartbeats as client "lab-demo", 5 answered, rtt avg [\d.]+ ms$/m);
  assert.match(r.stdout, /^udp-echo\s+I received from you a message of \d+ bytes \(attempt 1, RTT [\d.]+ ms, request id checked\)$/m);
  assert.match(r.stdout, /^http\s+GET \/index\.html: HTTP\/1\.1 200 OK, \d+ bytes in [\d.]+ ms$/m);
  assert.match(r.stdout, /^proxy\s+GET http:\/\/127\.0\.0\.1:\d+\/index\.html twice: 200 \(wirekit; fwd=uri-miss; fwd-status=200; stored\), then 200 \(wirekit; hit; ttl=\d+\)$/m);
  const httpPort = /^http\s+tcp 127\.0\.0\.1:(\d+)\s/m.exec(r.stdout)?.[1];
  assert.ok(httpPort, r.stdout);
  assert.match(r.stdout, new RegExp(`^proxy\\s+tcp 127\\.0\\.0\\.1:(\\d+)\\s+curl -x http://127\\.0\\.0\\.1:\\1 http://127\\.0\\.0\\.1:${httpPort}/$`, "m"), "the proxy's command names the lab's web server");
  for (const name of ["heartbeat", "udp-echo", "http", "proxy"]) assert.match(r.stdout, new RegExp(`^${name}\\s+(udp|tcp) 127\\.0\\.0\\.1:\\d+\\s+\\S`, "m"), `${name} is in the table`);
  const totals = /^udp-ping: (\d+) received, (\d+) replied, (\d+) dropped, (\d+) bytes$/m.exec(r.stdout);
  assert.ok(totals, r.stdout);
  assert.equal(Number(totals[1]), 5, "the server saw the demo's five pings");
  assert.equal(Number(totals[2]), Number(demo[1]));
  assert.match(r.stdout, /^mail: 1 connection, 1 message, 0 rejected, \d+ bytes, 1 stored$/m);
  assert.match(r.stdout, /^heartbeat: 5 heartbeats, 1 client, 0 lost, 0 malformed$/m);
  assert.match(r.stdout, /^udp-echo: 1 received, 1 replied, \d+ bytes, 0 reassembled$/m);
  assert.match(r.stdout, /^http: 2 requests, \d+ bytes, 0 client errors, 0 errors$/m, "the demo GET and the proxy's miss");
  assert.match(r.stdout, /^proxy: 2 requests, 1 hit, 1 miss, 0 revalidations, (\d+) bytes from cache, \1 bytes from origin$/m);
});

test("--no-<service> leaves a service out and --no-dashboard the dashboard", async () => {
  const ac = new AbortController();
  const r = await runCliCapture(["lab", "--random-ports", "--no-mail", "--no-dashboard"], {
    signal: ac.signal,
    onStdout: (s) => {
      if (s.includes("Press Ctrl-C")) ac.abort();
    },
  });
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.stdout, /^mail/m);
  assert.doesNotMatch(r.stdout, /dashboard|Dashboard/);
  assert.match(r.stdout, /^udp-ping\s+udp /m);
});

test("a bad --dashboard-port is a usage error (exit 2, one line)", async () => {
  const r = await runCliCapture(["lab", "--dashboard-port", "70000"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^wirekit: invalid dashboard port '70000'/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

test("the real binary stops on SIGINT with exit 0 and prints the totals", async () => {
  const p = spawnCli(["lab", "--random-ports"]);
  await p.waitFor(/Press Ctrl-C to stop\./);
  p.kill("SIGINT");
  const r = await p.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^udp-ping: 0 received, 0 replied, 0 dropped, 0 bytes$/m);
});

test("a dashboard port in use is reported and the services still run", async () => {
  await withBusyPort(async (addr) => {
    const ac = new AbortController();
    const r = await runCliCapture(["lab", "--random-ports", "--dashboard-port", String(addr.port)], {
      signal: ac.signal,
      onStdout: (s) => {
        if (s.includes("Press Ctrl-C")) ac.abort();
      },
    });
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^dashboard\\s+FAILED\\s+dashboard: bind 127\\.0\\.0\\.1:${addr.port}: address already in use$`, "m"));
    assert.match(r.stderr, new RegExp(`^wirekit: dashboard: bind 127\\.0\\.0\\.1:${addr.port}: address already in use$`, "m"));
    assert.match(r.stdout, /^udp-ping\s+udp 127\.0\.0\.1:\d+/m);
    assert.match(r.stdout, /^mail\s+tcp 127\.0\.0\.1:\d+/m);
  });
});

test("--port-<service> moves one service, and a service that cannot start is listed in the demo table with its reason", async () => {
  await withBusyPort(async (addr) => {
    const ac = new AbortController();
    const r = await runCliCapture(["lab", "--random-ports", "--no-dashboard", "--demo", "--port-mail", String(addr.port)], {
      signal: ac.signal,
      onStdout: (s) => {
        if (s.includes("Press Ctrl-C")) ac.abort();
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^mail\\s+FAILED\\s+bind 127\\.0\\.0\\.1:${addr.port}: address already in use$`, "m"), "--port-mail took effect");
    assert.match(r.stdout, new RegExp(`^mail\\s+NOT STARTED: bind 127\\.0\\.0\\.1:${addr.port}: address already in use$`, "m"), "the demo table names it");
    assert.match(r.stdout, /^udp-ping\s+5 packets transmitted/m);
  });
});

test("a bad --port-<service> is one usage line", async () => {
  const r = await runCliCapture(["lab", "--port-udp-ping", "http"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^wirekit: invalid --port-udp-ping 'http'/);
});

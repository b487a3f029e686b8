/** Both back ends of DatagramPort, on real sockets: echo, bursts, dual stack, oversize, errors. */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { batchUnavailableReason, openDatagramPort, BATCH_MAX_DATAGRAM, type DatagramPort } from "../../src/core/datagram-port.js";
import { isWirekitError } from "../../src/core/errors.js";

const open: Array<DatagramPort | Socket> = [];
after(async () => {
  for (const o of open) {
    if ("kind" in o) await o.close();
    else o.close();
  }
});

const batchSkip = batchUnavailableReason() ?? false;

async function echoServer(fast: boolean, host = "127.0.0.1"): Promise<DatagramPort> {
  const port = await openDatagramPort({ host, port: 0, fast });
  open.push(port);
  port.onMessage((msg, address, p, truncated) => port.send(Buffer.concat([Buffer.from(truncated ? "T:" : "E:"), msg.subarray(0, 16)]), p, address));
  return port;
}

function client(type: "udp4" | "udp6" = "udp4"): Socket {
  const s = createSocket(type);
  open.push(s);
  return s;
}

/**
 * Send `n` datagrams in waves of 25 sent back to back (so they queue up and arrive as batches),
 * each wave after the previous one's replies, so no socket buffer overflows; bounded wait.
 */
async function burst(server: DatagramPort, n: number, host = "127.0.0.1", type: "udp4" | "udp6" = "udp4"): Promise<string[]> {
  const c = client(type);
  const got: string[] = [];
  let want = 0;
  let wake = (): void => {};
  c.on("message", (m) => {
    got.push(m.toString());
    if (got.length >= want) wake();
  });
  await new Promise<void>((r) => c.bind(0, r));
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + 25);
    want = end;
    const arrived = new Promise<void>((r) => (wake = r));
    for (; i < end; i++) c.send(`msg ${i}`, server.port, host);
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref());
    if ((await Promise.race([arrived.then(() => true), timeout])) === false) break;
  }
  return got;
}

for (const fast of [true, false]) {
  const name = fast ? "batch" : "dgram";
  const skip = fast ? batchSkip : false;

  test(`${name}: a burst of 500 datagrams is answered datagram for datagram, replies to the right sender`, { skip }, async () => {
    const server = await echoServer(fast);
    assert.equal(server.kind, name);
    const [a, b] = await Promise.all([burst(server, 250), burst(server, 250)]);
    assert.equal(a.length, 250);
    assert.equal(b.length, 250);
    assert.deepEqual(new Set(a), new Set(Array.from({ length: 250 }, (_, i) => `E:msg ${i}`)));
  });

  test(`${name}: the handler sees the sender's address and port as node:dgram reports them`, { skip }, async () => {
    const server = await openDatagramPort({ host: "127.0.0.1", port: 0, fast });
    open.push(server);
    const seen = once_(server);
    const c = client();
    await new Promise<void>((r) => c.bind(0, "127.0.0.1", r));
    c.send("hello", server.port, "127.0.0.1");
    const [msg, address, port] = await seen;
    assert.equal(msg.toString(), "hello");
    assert.equal(address, "127.0.0.1");
    assert.equal(port, c.address().port);
  });

  test(`${name}: '::' serves IPv4 and IPv6 clients`, { skip }, async () => {
    const server = await echoServer(fast, "::");
    assert.equal(server.family, 6);
    assert.deepEqual(await burst(server, 3, "127.0.0.1", "udp4"), ["E:msg 0", "E:msg 1", "E:msg 2"]);
    assert.deepEqual(await burst(server, 3, "::1", "udp6"), ["E:msg 0", "E:msg 1", "E:msg 2"]);
  });

  test(`${name}: a port in use is ERR_LOCAL 'address already in use', never another port`, { skip }, async () => {
    const first = await openDatagramPort({ host: "127.0.0.1", port: 0, fast });
    open.push(first);
    await assert.rejects(openDatagramPort({ host: "127.0.0.1", port: first.port, fast }), (err: unknown) => isWirekitError(err, "ERR_LOCAL") && /address already in use/.test(String(err)));
  });
}

test("batch: a datagram longer than the slot arrives cut, marked truncated; empty ones arrive empty", { skip: batchSkip }, async () => {
  const server = await openDatagramPort({ host: "127.0.0.1", port: 0 });
  open.push(server);
  const seen: Array<[number, boolean]> = [];
  const two = new Promise<void>((resolve) =>
    server.onMessage((msg, _a, _p, truncated) => {
      seen.push([msg.length, truncated]);
      if (seen.length === 2) resolve();
    }),
  );
  const c = client();
  c.send(Buffer.alloc(60_000, 0x41), server.port, "127.0.0.1");
  c.send(Buffer.alloc(0), server.port, "127.0.0.1");
  await two;
  assert.deepEqual(seen, [[BATCH_MAX_DATAGRAM, true], [0, false]]);
});

test("batch ports copy what they send (a sender may reuse its buffer), node:dgram ones do not say so", { skip: batchSkip, timeout: 10_000 }, async () => {
  const batch = await echoServer(true);
  const dgram = await echoServer(false);
  assert.equal(batch.sendCopies, true);
  assert.equal(dgram.sendCopies, false);
  // Sent from one reused buffer, rewritten at once after each send: each reply keeps its own bytes.
  const c = client();
  await new Promise<void>((r) => c.bind(0, r));
  const got: string[] = [];
  const all = new Promise<void>((r) => c.on("message", (m) => got.push(m.toString()) === 3 && r()));
  const scratch = Buffer.alloc(1);
  batch.onMessage((msg, address, p) => {
    for (const ch of "abc") {
      scratch.write(ch);
      batch.send(scratch, p, address);
    }
    scratch.write("z");
  });
  c.send("go", batch.port, "127.0.0.1");
  await all;
  assert.deepEqual(got.sort(), ["a", "b", "c"]);
});

test("a send after close is a no-op, and close twice is fine", { skip: batchSkip }, async () => {
  const server = await openDatagramPort({ host: "127.0.0.1", port: 0 });
  await server.close();
  server.send(Buffer.from("x"), 9, "127.0.0.1");
  await server.close();
});

function once_(port: DatagramPort): Promise<[Buffer, string, number]> {
  return new Promise((resolve) => port.onMessage((m, a, p) => resolve([Buffer.from(m), a, p])));
}

test("without the addon, servers fall back to node:dgram and still answer", async () => {
  const { cpSync, mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join, resolve } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const { execFile } = await import("node:child_process");
  const dist = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
  const dir = mkdtempSync(join(tmpdir(), "wirekit-noaddon-udp-"));
  try {
    // Only the compiled sources, without their .d.ts and .map files: the copy is what this test waits on.
    cpSync(join(dist, "src"), join(dir, "dist/src"), { recursive: true, filter: (p) => !p.endsWith(".map") && !p.endsWith(".d.ts") });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const script = `
      const { openDatagramPort, batchUnavailableReason } = await import(${JSON.stringify(join(dir, "dist/src/core/datagram-port.js"))});
      const { createUdpPingServer } = await import(${JSON.stringify(join(dir, "dist/src/udp/ping/server.js"))});
      const { udpPing } = await import(${JSON.stringify(join(dir, "dist/src/udp/ping/client.js"))});
      const port = await openDatagramPort({ host: "127.0.0.1", port: 0 });
      const s = await createUdpPingServer({ host: "127.0.0.1", port: 0, loss: 0 });
      const r = await udpPing({ host: "127.0.0.1", port: s.port, count: 2, intervalMs: 10, timeoutMs: 2000 });
      console.log(JSON.stringify({ kind: port.kind, transport: s.transport, received: r.totals.received, reason: batchUnavailableReason() }));
      await port.close(); await s.close();`;
    const out = await new Promise<string>((res, rej) =>
      execFile(process.execPath, ["--input-type=module", "-e", script], { cwd: dir }, (err, stdout, stderr) => (err ? rej(new Error(stderr)) : res(stdout))),
    );
    const r = JSON.parse(out) as { kind: string; transport: string; received: number; reason: string };
    assert.equal(r.kind, "dgram");
    assert.equal(r.transport, "dgram");
    assert.equal(r.received, 2);
    assert.match(r.reason, /addon is missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

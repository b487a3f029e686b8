import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { LAB_SERVICES } from "../../../src/lab/services.js";
import type { LabEvent } from "../../../src/lab/service.js";
import { encodeParts } from "../../../src/udp/echo/protocol.js";

test("the lab's udp-echo service counts, keeps recent datagrams and streams the CLI's lines", async () => {
  const entry = LAB_SERVICES.find((s) => s.name === "udp-echo");
  assert.ok(entry);
  assert.equal(entry.defaultPort, 12002);
  assert.equal(entry.description, "UDP echo server (request ids, reassembly)");
  const svc = await entry.start({ host: "127.0.0.1", port: 0 });
  const c = createSocket("udp4");
  try {
    assert.equal(svc.clientCommand, `wirekit udp-echo 127.0.0.1 ${svc.port}`);
    const events: LabEvent[] = [];
    const unsubscribe = svc.subscribe?.((e) => events.push(e));
    c.bind(0, "127.0.0.1");
    await once(c, "listening");
    c.send("0123456789abcdef héllo", svc.port, "127.0.0.1");
    await once(c, "message");
    for (const p of encodeParts("00000000000000aa", Buffer.alloc(3000, "q"), 3)) c.send(p, svc.port, "127.0.0.1");
    await once(c, "message");
    assert.deepEqual(svc.totals(), { received: 4, replied: 2, bytes: 23 + 3 * 1020, reassembled: 1 });
    const snap = svc.snapshot?.() as { recent: Array<{ at: number; from: string; bytes: number; message: string }> };
    assert.equal(snap.recent.length, 1);
    assert.equal(snap.recent[0]?.from, `127.0.0.1:${c.address().port}`);
    assert.equal(snap.recent[0]?.bytes, 6);
    assert.equal(snap.recent[0]?.message, "héllo");
    assert.deepEqual(events.map((e) => e.kind), ["datagram", "reassembled"]);
    assert.equal(events[0]?.service, "udp-echo");
    assert.equal(events[0]?.text, `127.0.0.1:${c.address().port}: héllo (6 bytes, id 0123456789abcdef)`);
    assert.equal(events[1]?.text, `received message 00000000000000aa: 3000 bytes in 3 parts from 127.0.0.1:${c.address().port}`);
    unsubscribe?.();
    JSON.stringify(snap); // serializable for the dashboard
  } finally {
    c.close();
    await svc.close();
  }
});

test("the lab keeps only the last 50 datagrams", async () => {
  const entry = LAB_SERVICES.find((s) => s.name === "udp-echo");
  assert.ok(entry);
  const svc = await entry.start({ host: "127.0.0.1", port: 0 });
  const c = createSocket("udp4");
  try {
    c.bind(0, "127.0.0.1");
    await once(c, "listening");
    let replies = 0;
    const all = new Promise<void>((resolve) => c.on("message", () => ++replies === 60 && resolve()));
    for (let i = 0; i < 60; i++) c.send(`m${i}`, svc.port, "127.0.0.1");
    await all;
    const snap = svc.snapshot?.() as { recent: Array<{ message: string }> };
    assert.equal(snap.recent.length, 50);
    assert.equal(snap.recent[0]?.message, "m10");
    assert.equal(snap.recent[49]?.message, "m59");
  } finally {
    c.close();
    await svc.close();
  }
});

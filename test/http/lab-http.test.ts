/** The `http` service of `wirekit lab`: the bundled sample site, totals, snapshot and events. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { startLab } from "../../src/lab/lab.js";
import { LAB_SERVICES } from "../../src/lab/services.js";
import type { LabEvent } from "../../src/lab/service.js";

function get(port: number, path: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body: Buffer.concat(chunks) }));
    })
      .on("error", reject)
      .end();
  });
}

test("the lab's web server serves the sample site and reports each request", async () => {
  const entry = LAB_SERVICES.find((s) => s.name === "http");
  assert.ok(entry);
  assert.equal(entry.defaultPort, 8080);
  const lab = await startLab({ services: [entry], ports: { http: 0 } });
  try {
    const svc = lab.running()[0]?.running;
    assert.ok(svc);
    assert.equal(svc.transport, "tcp");
    assert.equal(svc.clientCommand, `wirekit http get 127.0.0.1 ${svc.port} index.html`);
    const events: LabEvent[] = [];
    const unsubscribe = svc.subscribe?.((e) => events.push(e));
    const index = await get(svc.port, "/");
    assert.equal(index.status, 200);
    assert.match(index.body.toString(), /<a href="hello\.txt">/);
    const png = await get(svc.port, "/images/plasma.png");
    assert.equal(png.type, "image/png");
    assert.ok(png.body.length > 4096);
    assert.deepEqual([...png.body.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal((await get(svc.port, "/style.css")).type, "text/css; charset=utf-8");
    assert.equal((await get(svc.port, "/missing.html")).status, 404);
    unsubscribe?.();
    assert.deepEqual(svc.totals(), { requests: 4, bytes: svc.totals().bytes, clientErrors: 1, errors: 0 }, "a 404 is a client error, not an error");
    assert.ok((svc.totals().bytes ?? 0) > png.body.length);
    const recent = (svc.snapshot?.() as { recent: Array<{ path: string; status: number; method: string }> }).recent;
    assert.deepEqual(recent.map((r) => [r.method, r.path, r.status]), [["GET", "/", 200], ["GET", "/images/plasma.png", 200], ["GET", "/style.css", 200], ["GET", "/missing.html", 404]]);
    assert.equal(events.length, 4);
    assert.equal(events[0]?.kind, "request");
    assert.equal(events[0]?.service, "http");
    assert.match(events[3]?.text ?? "", /"GET \/missing\.html HTTP\/1\.1" 404 \d+ [\d.]+ms$/);
  } finally {
    await lab.close();
  }
});

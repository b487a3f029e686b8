import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { FakeClock } from "../../../src/core/clock.js";
import { HeartbeatMonitor } from "../../../src/udp/heartbeat/monitor.js";
import { createHeartbeatMetrics } from "../../../src/udp/heartbeat/metrics.js";
import { serveMetricsFromWorker, startHeartbeatMetrics } from "../../../src/udp/heartbeat/metrics-endpoint.js";
import { encodeHeartbeat } from "../../../src/udp/heartbeat/protocol.js";

function monitorWith(ids: string[]): { monitor: HeartbeatMonitor; clock: FakeClock } {
  const clock = new FakeClock(Date.UTC(2026, 11, 4, 4), 0);
  const monitor = new HeartbeatMonitor({ clock, deadAfterMs: 3000 });
  monitor.start();
  for (const id of ids) monitor.ingest(encodeHeartbeat({ seq: 1, timestamp: (clock.now() - 2) / 1000, id }), "127.0.0.1", 40000);
  clock.advance(250);
  return { monitor, clock };
}

for (const worker of [true, false]) {
  const where = worker ? "from its worker thread" : "on the monitor's thread";
  test(`the endpoint ${where}: GET /metrics is the monitor's text, HEAD its length, 404 elsewhere, 405 for POST`, async () => {
    const { monitor, clock } = monitorWith(["web-1", 'q"uote', "café"]);
    const ep = await startHeartbeatMetrics(monitor, { port: 0, worker });
    try {
      const url = `http://127.0.0.1:${ep.port}`;
      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const text = await res.text();
      assert.equal(text, await createHeartbeatMetrics(monitor).metrics());
      const head = await fetch(`${url}/metrics`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers.get("content-length")), Buffer.byteLength(text));
      assert.equal((await fetch(`${url}/other`)).status, 404);
      const post = await fetch(`${url}/metrics`, { method: "POST", body: "x" });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
      // The numbers are taken when a scrape asks: a heartbeat in between shows in the next one.
      monitor.ingest(encodeHeartbeat({ seq: 2, timestamp: (clock.now() - 2) / 1000, id: "web-1" }), "127.0.0.1", 40000);
      assert.match(await (await fetch(`${url}/metrics`)).text(), /wirekit_heartbeat_client_received_total\{client="web-1"\} 2\n/);
    } finally {
      await ep.close();
      await monitor.close();
    }
  });

  test(`a busy port is ERR_LOCAL ${where}, and nothing is left listening`, async () => {
    const { monitor } = monitorWith([]);
    const busy = createServer().listen(0, "127.0.0.1");
    await once(busy, "listening");
    const port = (busy.address() as { port: number }).port;
    try {
      await assert.rejects(startHeartbeatMetrics(monitor, { port, worker }), (err: { code?: string; message?: string }) => err.code === "ERR_LOCAL" && /address already in use/.test(err.message ?? ""));
      busy.close();
      await once(busy, "close");
      // The port is free again: the failed endpoint holds nothing.
      const again = createServer().listen(port, "127.0.0.1");
      await once(again, "listening");
      again.close();
    } finally {
      busy.close();
      await monitor.close();
    }
  });
}

test("if its worker stops, the endpoint goes on on the monitor's thread, on the same port", async () => {
  const { monitor } = monitorWith(["web-1"]);
  const w = new Worker(new URL("../../../src/udp/heartbeat/metrics-worker.js", import.meta.url));
  const ep = await serveMetricsFromWorker(w, monitor, "127.0.0.1", 0);
  try {
    const want = await createHeartbeatMetrics(monitor).metrics();
    assert.equal(await (await fetch(`http://127.0.0.1:${ep.port}/metrics`)).text(), want);
    await w.terminate();
    // The port is bound again on this thread as soon as the worker's server is gone.
    let text = "";
    for (let i = 0; i < 100 && text === ""; i++) {
      text = await fetch(`http://127.0.0.1:${ep.port}/metrics`).then(
        (r) => r.text(),
        () => new Promise<string>((r) => setTimeout(() => r(""), 20)),
      );
    }
    assert.equal(text, want);
  } finally {
    await ep.close();
    await monitor.close();
  }
});

test("if its worker stops and the port cannot be bound again here, the endpoint says so once", async () => {
  const { monitor } = monitorWith(["web-1"]);
  const w = new Worker(new URL("../../../src/udp/heartbeat/metrics-worker.js", import.meta.url));
  const lines: string[] = [];
  let told: () => void = () => {};
  const toldOnce = new Promise<void>((resolve) => (told = resolve));
  const refused = (): Promise<never> => Promise.reject(new Error("listen EADDRINUSE: address already in use"));
  const ep = await serveMetricsFromWorker(w, monitor, "127.0.0.1", 0, (line) => {
    lines.push(line);
    told();
  }, refused);
  try {
    await w.terminate();
    await toldOnce;
    assert.deepEqual(lines, [`metrics: the worker stopped and 127.0.0.1:${ep.port} could not be bound again (listen EADDRINUSE: address already in use); /metrics is no longer served`]);
  } finally {
    await ep.close();
    await monitor.close();
  }
});

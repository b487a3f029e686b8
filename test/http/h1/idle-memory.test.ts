/** Many idle keep-alive connections cost little memory (no per-connection timers, no bodies). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { createH1Server } from "../../../src/http/h1/server.js";
import { RawClient, eventually } from "./raw.js";

test("1,000 idle keep-alive connections stay under 50 MiB of RSS growth (both ends in this process)", async () => {
  const srv = createH1Server({ handler: () => ({ status: 200, headers: [], body: "ok" }), clock: new FakeClock() });
  const port = await srv.listen(0);
  const clients: RawClient[] = [];
  try {
    global.gc?.();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) {
      const c = new RawClient(port);
      c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      clients.push(c);
      if (i % 100 === 99) await Promise.all(clients.slice(-100).map((x) => x.responses(1)));
    }
    await eventually(() => srv.totals().connections === 1000);
    global.gc?.();
    const growth = process.memoryUsage().rss - before;
    console.log(`# rss growth for 1000 idle keep-alive connections: ${(growth / 1048576).toFixed(1)} MiB`);
    assert.ok(growth < 50 * 1024 * 1024, `grew ${growth}`);
  } finally {
    for (const c of clients) c.close();
    await srv.close();
  }
});

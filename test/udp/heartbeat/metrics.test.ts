import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { HeartbeatMonitor } from "../../../src/udp/heartbeat/monitor.js";
import { collectMetrics, createHeartbeatMetrics, metricsColumns, renderMetrics } from "../../../src/udp/heartbeat/metrics.js";
import { startHeartbeatMetrics } from "../../../src/udp/heartbeat/metrics-endpoint.js";
import { encodeHeartbeat } from "../../../src/udp/heartbeat/protocol.js";
import type { ClientSnapshot } from "../../../src/udp/heartbeat/events.js";
import { spawnCli } from "../../helpers/cli.js";
import { createSocket } from "node:dgram";
import { once } from "node:events";

/** Prometheus text → { "name{labels}": value }, failing on any line that is not the text format. */
function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(m, `not Prometheus text: ${line}`);
    out.set(m[1] ?? "", Number(m[2]));
  }
  return out;
}

test("per-client metrics: status, phi, silence, counters; the monitor's totals", async () => {
  const clock = new FakeClock(Date.UTC(2026, 11, 2, 12), 0);
  const monitor = new HeartbeatMonitor({ clock, deadAfterMs: 3000 });
  monitor.start();
  const beat = (id: string, seq: number, timestamp = (clock.now() - 2) / 1000) => monitor.ingest(encodeHeartbeat({ seq, timestamp, id }), "127.0.0.1", 40000);
  for (const seq of [1, 2, 5]) {
    beat("web-1", seq);
    clock.advance(100);
  }
  beat("web-1", 5, (clock.now() - 102) / 1000); // the same datagram again: a duplicate
  beat("db-1", 1);
  clock.advance(5000);
  const m = parseExposition(await createHeartbeatMetrics(monitor).metrics());
  assert.equal(m.get('wirekit_heartbeat_client_status{client="web-1",status="stopped"}'), 1);
  assert.equal(m.get('wirekit_heartbeat_client_status{client="db-1",status="stopped"}'), 1);
  assert.equal(m.get('wirekit_heartbeat_client_lost_total{client="web-1"}'), 2);
  assert.equal(m.get('wirekit_heartbeat_client_duplicates_total{client="web-1"}'), 1);
  assert.equal(m.get('wirekit_heartbeat_client_received_total{client="db-1"}'), 1);
  assert.equal(m.get('wirekit_heartbeat_client_seconds_since_last_heartbeat{client="db-1"}'), 5);
  assert.ok((m.get('wirekit_heartbeat_client_phi{client="web-1"}') ?? 0) > 8);
  assert.equal(m.get('wirekit_heartbeat_monitor{total="clients"}'), 2);
  assert.equal(m.get('wirekit_heartbeat_monitor{total="lost"}'), 2);
  await monitor.close();
});

test("the client label is bounded by --max-clients: only tracked clients are exported", async () => {
  const clock = new FakeClock(Date.UTC(2026, 11, 2, 12), 0);
  const monitor = new HeartbeatMonitor({ clock, maxClients: 3 });
  monitor.start();
  for (let i = 0; i < 10; i++) {
    monitor.ingest(encodeHeartbeat({ seq: 1, timestamp: clock.now() / 1000, id: `c${i}` }), "127.0.0.1", 40000 + i);
    clock.advance(10);
  }
  const m = parseExposition(await createHeartbeatMetrics(monitor).metrics());
  const clients = new Set([...m.keys()].map((k) => /client="([^"]+)"/.exec(k)?.[1]).filter((c) => c !== undefined));
  assert.equal(clients.size, 3);
  await monitor.close();
});

test("the endpoint serves /metrics, 404 elsewhere, and binds loopback by default", async () => {
  const clock = new FakeClock(Date.UTC(2026, 11, 2, 12), 0);
  const monitor = new HeartbeatMonitor({ clock });
  monitor.start();
  const ep = await startHeartbeatMetrics(monitor, { port: 0 });
  try {
    assert.equal(ep.address, "127.0.0.1");
    const ok = await fetch(`http://127.0.0.1:${ep.port}/metrics`);
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    parseExposition(await ok.text());
    assert.equal((await fetch(`http://127.0.0.1:${ep.port}/`)).status, 404);
  } finally {
    await ep.close();
    await monitor.close();
  }
});

test("wirekit heartbeat serve --metrics PORT: a scrape sees the client a real heartbeat created", { timeout: 60_000 }, async () => {
  const child = spawnCli(["heartbeat", "serve", "--host", "127.0.0.1", "-p", "0", "--metrics", "127.0.0.1:0"]);
  const out = await child.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/);
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  const metricsPort = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(out)?.[1]);
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  s.send(`1 ${Date.now() / 1000} id=web-1`, port, "127.0.0.1");
  await once(s, "message");
  s.close();
  const m = parseExposition(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
  assert.equal(m.get('wirekit_heartbeat_client_status{client="web-1",status="alive"}'), 1);
  assert.equal(m.get('wirekit_heartbeat_client_received_total{client="web-1"}'), 1);
  child.kill("SIGINT");
  assert.equal((await child.done).code, 0);
});

test("the text matches prom-client's rendering of the same gauges (the oracle), hostile client ids included", async () => {
  const { Gauge, Registry } = await import("prom-client");
  const clock = new FakeClock(Date.UTC(2026, 11, 2, 12), 0);
  const monitor = new HeartbeatMonitor({ clock, deadAfterMs: 3000 });
  monitor.start();
  for (const id of ["web-1", 'q"uote', "back\\slash", "café"]) {
    for (const seq of [1, 2, 4]) {
      monitor.ingest(encodeHeartbeat({ seq, timestamp: (clock.now() - 3) / 1000, id }), "127.0.0.1", 40000);
      clock.advance(100);
    }
  }
  clock.advance(1000);
  const ours = await createHeartbeatMetrics(monitor).metrics();
  // The same families through prom-client: one labelled gauge set per sample of ours.
  const registry = new Registry();
  const families = new Map<string, { help: string; gauge: InstanceType<typeof Gauge> }>();
  let help = new Map<string, string>();
  for (const line of ours.split("\n")) {
    const h = /^# HELP (\S+) (.*)$/.exec(line);
    if (h) help.set(h[1] ?? "", h[2] ?? "");
  }
  // Every family, also those without a sample now (prom-client writes their HELP and TYPE too).
  for (const [name, text] of help) {
    const labelNames = name.endsWith("_status") ? ["client", "status"] : name === "wirekit_heartbeat_monitor" ? ["total"] : ["client"];
    families.set(name, { help: text, gauge: new Gauge({ name, help: text, labelNames, registers: [registry] }) });
  }
  const samples = ours.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  for (const line of samples) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    assert.ok(m, line);
    const [, name = "", labelText = "", value = ""] = m;
    const labels: Record<string, string> = {};
    for (const lm of labelText.matchAll(/([a-z]+)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1] ?? ""] = (lm[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    let f = families.get(name);
    if (f === undefined) {
      f = { help: help.get(name) ?? "", gauge: new Gauge({ name, help: help.get(name) ?? "", labelNames: Object.keys(labels), registers: [registry] }) };
      families.set(name, f);
    }
    f.gauge.set(labels, Number(value));
  }
  help = new Map();
  const norm = (t: string): string[] => t.split("\n").filter((l) => l !== "").sort();
  assert.deepEqual(norm(ours), norm(await registry.metrics()));
  assert.match(ours, /client="q\\"uote"/);
  assert.match(ours, /client="back\\\\slash"/);
  await monitor.close();
});

test("the endpoint renders on a worker thread the same text the monitor's thread would", async () => {
  const clock = new FakeClock(Date.UTC(2026, 11, 2, 12), 0);
  const monitor = new HeartbeatMonitor({ clock, deadAfterMs: 3000 });
  monitor.start();
  for (const id of ["web-1", 'q"uote']) monitor.ingest(encodeHeartbeat({ seq: 1, timestamp: (clock.now() - 2) / 1000, id }), "127.0.0.1", 40000);
  clock.advance(500);
  const ep = await startHeartbeatMetrics(monitor, { port: 0 });
  try {
    const res = await fetch(`http://127.0.0.1:${ep.port}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    assert.equal(text, await createHeartbeatMetrics(monitor).metrics());
    assert.match(text, /client="q\\"uote",status="alive"/);
    // Concurrent scrapes share one rendering and all get the whole text.
    const many = await Promise.all(Array.from({ length: 4 }, async () => (await fetch(`http://127.0.0.1:${ep.port}/metrics`)).text()));
    assert.ok(many.every((t) => t === text));
  } finally {
    await ep.close();
    await monitor.close();
  }
});

test("sample values are written as Number() reads them back: integers exactly, others to 6 decimals", async () => {
  const base: ClientSnapshot = {
    id: "x", address: "127.0.0.1:1", status: "alive", phi: 0, received: 0, lost: 0, lossPercent: 0, reordered: 0, duplicates: 0, restarts: 0, lastSeq: 1, run: null,
    firstSeen: 0, lastSeen: 0, delayMs: null, intervalMs: null, announcedIntervalMs: null, deadAfterMs: 3000, reportedStatus: null, reportedMessage: null, jobMs: null, failed: false,
  };
  const delays = [0, 0.0004, -0.0004, 0.5, -1234.5678, 80.2375, 1e-7, 123456789.123, 2 ** 40 + 0.5, 1e15, -1e300];
  const phis = [0, 1, 7.999999, 8.0000004, 123.456789, 2 ** 53 - 1, Infinity, 1e21];
  const clients = delays.map((d, i): ClientSnapshot => ({
    ...base, id: `c${i}`, delayMs: { min: d, avg: d, max: d, mdev: 0 }, phi: phis[i % phis.length] ?? 0, received: [0, 9, 10, 99, 100, 4294967296, 2 ** 53 - 1][i % 7] ?? 0, jobMs: i % 2 === 0 ? null : i * 1.5,
  }));
  const text = createHeartbeatMetrics({ clients: () => clients, totals: () => ({ heartbeats: 0, clients: clients.length, lost: 0, reordered: 0, duplicates: 0, restarts: 0, malformed: 0, dropped: 0, forgotten: 0, evicted: 0, refused: 0, neverSeen: 0 }), wallNow: () => 0 })
    .render()
    .toString("utf8");
  const samples = parseExposition(text);
  for (const [i, c] of clients.entries()) {
    const want: Array<[string, number]> = [
      ["delay_seconds_avg", (c.delayMs?.avg ?? 0) / 1000],
      ["phi", Number.isFinite(c.phi) ? c.phi : 1e9],
      ["received_total", c.received],
      ["job_duration_seconds", c.jobMs === null ? Number.NaN : c.jobMs / 1000],
    ];
    for (const [name, v] of want) {
      const key = `wirekit_heartbeat_client_${name}{client="c${i}"}`;
      if (Number.isNaN(v)) {
        assert.equal(samples.has(key), false, key);
        continue;
      }
      const line = text.split("\n").find((l) => l.startsWith(`${key} `)) ?? "";
      const written = line.slice(key.length + 1);
      assert.equal(String(Number(written)), written, `${key} written as ${written}`);
      if (Number.isInteger(v) || Math.abs(v) >= 1e9) assert.equal(Number(written), v, key);
      else assert.ok(Math.abs(Number(written) - v) <= 5e-7 + 1e-12, `${key}: ${written} for ${v}`);
    }
  }
});

test("a non-ASCII client id (from a state file) and a growing fleet: the endpoint's reused buffers give the same text as this thread", async () => {
  const clock = new FakeClock(Date.UTC(2026, 11, 2, 12), 0);
  const monitor = new HeartbeatMonitor({ clock, deadAfterMs: 3000 });
  monitor.start();
  const restored = new HeartbeatMonitor({ clock });
  restored.ingest(encodeHeartbeat({ seq: 1, timestamp: clock.now() / 1000, id: "cafe" }), "127.0.0.1", 40000);
  const st = restored.exportState();
  await restored.close();
  st.clients = st.clients.map((c) => ({ ...c, id: "café", reportedStatus: "ok" }));
  monitor.importState(st);
  const ep = await startHeartbeatMetrics(monitor, { port: 0 });
  try {
    for (const count of [1, 50, 3000, 10]) {
      for (let i = 0; i < count; i++) monitor.ingest(encodeHeartbeat({ seq: count, timestamp: (clock.now() - 1.5) / 1000, id: `n${i}`, status: i % 3 === 0 ? "fail" : "ok" }), "127.0.0.1", 40000);
      clock.advance(250);
      const text = await (await fetch(`http://127.0.0.1:${ep.port}/metrics`)).text();
      assert.equal(text, await createHeartbeatMetrics(monitor).metrics());
      assert.match(text, /wirekit_heartbeat_client_status\{client="café",status="alive"\} 1\n/);
      assert.match(text, /wirekit_heartbeat_client_last_status\{client="café",status="ok"\} 1\n/);
      parseExposition(text);
    }
  } finally {
    await ep.close();
    await monitor.close();
  }
});

test("reused label columns grow for long ids and ids that need escaping, and the text is the same as from fresh ones", () => {
  const columns = metricsColumns(4, true);
  const ids = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? `n\n${i}"\\é` : `${"long-id-".repeat(12)}${i}`));
  const clients = ids.map((id, i): ClientSnapshot => ({
    id, address: "127.0.0.1:1", status: "alive", phi: i / 3, received: i, lost: 0, lossPercent: 0, reordered: 0, duplicates: 0, restarts: 0, lastSeq: 1, run: null,
    firstSeen: 0, lastSeen: 0, delayMs: null, intervalMs: null, announcedIntervalMs: null, deadAfterMs: 3000, reportedStatus: i % 2 === 0 ? "ok" : null, reportedMessage: null, jobMs: null, failed: false,
  }));
  let shown = 4;
  const source = { clients: () => clients.slice(0, shown), totals: () => ({ heartbeats: 0, clients: shown, lost: 0, reordered: 0, duplicates: 0, restarts: 0, malformed: 0, dropped: 0, forgotten: 0, evicted: 0, refused: 0, neverSeen: 0 }), wallNow: () => 0 };
  let cols = columns;
  for (shown of [4, 40, 7]) {
    const d = collectMetrics(source, cols);
    cols = { values: d.values, status: d.status, reported: d.reported, labels: d.labels, starts: d.starts };
    assert.ok(d.labels.buffer instanceof SharedArrayBuffer);
    const text = renderMetrics(d).toString("utf8");
    assert.equal(text, createHeartbeatMetrics(source).render().toString("utf8"));
    assert.equal((text.match(/^wirekit_heartbeat_client_status\{/gm) ?? []).length, shown);
    assert.match(text, /client="n\\n0\\"\\\\é",status="alive"/);
  }
  assert.ok(cols.labels.length > columns.labels.length);
});

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { startLab, type Lab } from "../../src/lab/lab.js";
import { startDashboard, type Dashboard } from "../../src/lab/dashboard/server.js";
import { LAB_SERVICES } from "../../src/lab/services.js";
import { udpPing } from "../../src/udp/ping/client.js";
import { fakeService, hbClient, type FakeHandle } from "./fakes.js";
import { readSse, type SseReader } from "./sse-reader.js";

let lab: Lab;
let dash: Dashboard;
let hb: FakeHandle;
const readers: SseReader[] = [];
const ALL = ["udp-ping", "heartbeat", "udp-echo", "http", "proxy", "mail"];

before(async () => {
  const heartbeat = fakeService("heartbeat", "fake heartbeat monitor", { clients: [hbClient("c1", "alive", 10, 0)] }, { heartbeats: 10, clients: 1 });
  hb = heartbeat.handle;
  // The real services, with the heartbeat monitor replaced by a fake the test drives event by event.
  lab = await startLab({ host: "127.0.0.1", services: LAB_SERVICES.map((s) => (s.name === "heartbeat" ? heartbeat.service : s)), defaultPort: 0 });
  dash = await startDashboard(lab, { port: 0, flushMs: 50, stateMs: 100 });
});
after(async () => {
  for (const r of readers) r.close();
  await dash.close();
  await lab.close();
});

async function fetchText(path: string, method = "GET"): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, dash.url), { method }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function sse(path = "/events"): Promise<SseReader> {
  const r = await readSse(new URL(path, dash.url).href);
  readers.push(r);
  return r;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict parser of the Prometheus text exposition format 0.0.4: every line is a HELP,
 * a TYPE, a blank line or a sample; a sample's family must have had its TYPE first; names,
 * label syntax and values are checked; no sample may repeat.
 */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  assert.ok(text.endsWith("\n"), "exposition ends with a newline");
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${name}) (.*)$`).exec(line))) continue;
    if ((m = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      assert.ok(!types.has(m[1] ?? ""), `TYPE for ${m[1]} given twice`);
      types.set(m[1] ?? "", m[2] ?? "");
      continue;
    }
    assert.ok(!line.startsWith("#"), `line ${i + 1}: unknown comment ${line}`);
    m = new RegExp(`^(${name})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\["\\\\n])*",?)*)\\})? (\\S+)(?: -?\\d+)?$`).exec(line);
    assert.ok(m, `line ${i + 1} is not a valid sample: ${line}`);
    const [, metric = "", labelText = "", valueText = ""] = m;
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : Number(valueText);
    assert.ok(valueText === "NaN" || !Number.isNaN(value), `line ${i + 1}: bad value ${valueText}`);
    const family = [...types.keys()].find((t) => metric === t || metric.startsWith(`${t}_`));
    assert.ok(family, `line ${i + 1}: sample ${metric} before its TYPE`);
    const labels: Record<string, string> = {};
    for (const lm of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1] ?? ""] = lm[2] ?? "";
    const key = `${metric}${JSON.stringify(labels)}`;
    assert.ok(!seen.has(key), `sample ${key} repeated`);
    seen.add(key);
    samples.push({ name: metric, labels, value });
  }
  return { types, samples };
}

test("/metrics is Prometheus text with a counter per service total and gauges where the service says so", async () => {
  const ping = lab.running().find((r) => r.name === "udp-ping")?.running;
  assert.ok(ping);
  await udpPing({ host: "127.0.0.1", port: ping.port, count: 5, intervalMs: 10, timeoutMs: 1000 });
  const res = await fetchText("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.type, /^text\/plain; version=0\.0\.4/);
  const { types, samples } = parsePrometheus(res.body);
  const value = (n: string, labels: Record<string, string> = {}) => samples.find((s) => s.name === n && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
  assert.equal(types.get("wirekit_udp_ping_received_total"), "counter");
  assert.equal(value("wirekit_udp_ping_received_total"), ping.totals().received);
  assert.equal(value("wirekit_udp_ping_received_total"), 5);
  assert.equal(types.get("wirekit_mail_stored"), "gauge");
  assert.equal(types.get("wirekit_heartbeat_clients_total"), "counter");
  assert.equal(value("wirekit_lab_service_up", { service: "mail" }), 1);
  assert.equal(value("wirekit_lab_service_up", { service: "heartbeat" }), 1);
});

test("the event stream says hello with every service, then delivers events and state changes", async () => {
  const r = await sse();
  const hello = await r.waitFor((m) => m.event === "hello");
  const h = hello.data as { services: Array<{ name: string; status: string; port: number }>; state: { services: Record<string, unknown> } };
  assert.deepEqual(h.services.map((s) => s.name), ALL);
  assert.ok(h.services.every((s) => s.status === "running" && s.port > 0));
  assert.ok(h.state.services.heartbeat);
  hb.emit({ kind: "stopped", text: "c1 stopped", data: { client: "c1" } });
  const ev = await r.waitFor((m) => m.event === "events" && (m.data as { events: Array<{ kind: string }> }).events.some((e) => e.kind === "stopped"));
  assert.equal((ev.data as { events: Array<{ service: string }> }).events[0]?.service, "heartbeat");
  hb.snapshot = { clients: [hbClient("c1", "dead", 10, 3)] };
  const st = await r.waitFor((m) => m.event === "state" && JSON.stringify(m.data).includes('"status":"dead"'));
  assert.ok(st);
  // While nothing changes, only small ticks with the totals keep the rate charts moving.
  const tick = await r.waitFor((m) => m.event === "tick" && r.messages.indexOf(m) > r.messages.indexOf(st));
  assert.deepEqual(Object.keys((tick.data as { totals: Record<string, unknown> }).totals), ALL);
});

test("a flood of events reaches a page as a few capped batches, not a storm", async () => {
  const r = await sse();
  await r.waitFor((m) => m.event === "hello");
  for (let i = 0; i < 5000; i++) hb.emit({ kind: "lost", text: `lost ${i}`, data: { client: "c1", i } });
  const last = await r.waitFor((m) => m.event === "events" && (m.data as { events: Array<{ text: string }> }).events.some((e) => e.text === "lost 4999"));
  const batches = r.messages.filter((m) => m.event === "events");
  assert.ok(batches.length < 20, `${batches.length} messages for 5000 events`);
  const d = last.data as { events: unknown[]; skipped: number };
  assert.ok(d.events.length <= 50);
  const delivered = batches.reduce((n, m) => n + (m.data as { events: unknown[] }).events.length, 0);
  const skipped = batches.reduce((n, m) => n + (m.data as { skipped: number }).skipped, 0);
  assert.ok(delivered + skipped >= 5000, "every event is either delivered or counted as skipped");
});

test("heartbeat samples go only to the page that focuses on that client, with its history", async () => {
  hb.emit({ kind: "heartbeat", text: "", data: { client: "c7", seq: 1, delayMs: 0.5 } });
  const focused = await sse("/events?focus=c7");
  const other = await sse("/events");
  const hello = await focused.waitFor((m) => m.event === "hello");
  assert.deepEqual((hello.data as { focus: { client: string; samples: Array<{ seq: number }> } }).focus.samples.map((s) => s.seq), [1]);
  await other.waitFor((m) => m.event === "hello");
  hb.emit({ kind: "heartbeat", text: "", data: { client: "c8", seq: 1, delayMs: 0.1 } });
  hb.emit({ kind: "heartbeat", text: "", data: { client: "c7", seq: 4, delayMs: 0.7 } });
  hb.emit({ kind: "stopped", text: "marker", data: {} });
  const s = await focused.waitFor((m) => m.event === "samples");
  assert.deepEqual(s.data, { client: "c7", samples: [{ at: (s.data as { samples: Array<{ at: number }> }).samples[0]?.at, seq: 4, delayMs: 0.7 }] });
  await other.waitFor((m) => m.event === "events" && JSON.stringify(m.data).includes("marker"));
  assert.equal(other.messages.filter((m) => m.event === "samples").length, 0);
});

test("the page, its assets and a service route are served; anything else is 404 or 405", async () => {
  const page = await fetchText("/");
  assert.equal(page.status, 200);
  assert.match(page.body, /<script type="module" src="\/assets\/app\.js"/);
  assert.match(String(page.headers["content-security-policy"]), /default-src 'self'/);
  const uplot = await fetchText("/assets/uplot.js");
  assert.equal(uplot.status, 200);
  assert.match(uplot.body, /uPlot/);
  assert.equal((await fetchText("/service/mail/messages/12345")).status, 404);
  assert.equal((await fetchText("/service/nope/x")).status, 404);
  assert.equal((await fetchText("/assets/../../package.json")).status, 404);
  assert.equal((await fetchText("/", "POST")).status, 405);
  const state = JSON.parse((await fetchText("/api/state")).body) as { services: Array<{ name: string }> };
  assert.deepEqual(state.services.map((s) => s.name), ALL);
});

async function rawRequest(head: string): Promise<string> {
  const { connect } = await import("node:net");
  return new Promise((resolve, reject) => {
    const sock = connect(dash.port, "127.0.0.1");
    let out = "";
    sock.setEncoding("latin1").on("data", (d: string) => {
      out += d;
      // The SSE stream would never end: the first chunk is enough to see its status.
      if (out.includes("\r\n\r\n")) sock.destroy();
    });
    sock.on("close", () => resolve(out));
    sock.on("error", reject);
    sock.write(head);
  });
}

test("DNS rebinding: a Host naming attacker.example gets 421 on every lab endpoint, without the state", async () => {
  for (const path of ["/api/state", "/events", "/metrics", "/", "/service/mail/messages/1", "/assets/app.js", "/ladder/udp-ping.svg"]) {
    const answer = await rawRequest(`GET ${path} HTTP/1.1\r\nHost: attacker.example:${dash.port}\r\nConnection: close\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 421 /, path);
    assert.doesNotMatch(answer, /services|attacker/, path);
  }
  const noHost = await rawRequest(`GET /api/state HTTP/1.1\r\nConnection: close\r\n\r\n`);
  assert.match(noHost, /^HTTP\/1\.1 421 /);
  const good = await rawRequest(`GET /api/state HTTP/1.1\r\nHost: localhost:${dash.port}\r\nConnection: close\r\n\r\n`);
  assert.match(good, /^HTTP\/1\.1 200 /);
});

test("a name given with allowedHosts (--dashboard-host) is served, others still get 421", async () => {
  const extra = await startDashboard(lab, { port: 0, allowedHosts: ["lab.example"] });
  try {
    const ask = async (host: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port: extra.port, path: "/api/state", headers: { Host: host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
    assert.equal(await ask(`lab.example:${extra.port}`), 200);
    assert.equal(await ask(`evil.example:${extra.port}`), 421);
  } finally {
    await extra.close();
  }
});

test("/ladder/SERVICE.svg draws the service's last exchanges with the --diagram renderer; an unknown service is 404", async () => {
  const ping = lab.running().find((x) => x.name === "udp-ping")?.running;
  assert.ok(ping !== undefined);
  await udpPing({ host: "127.0.0.1", port: ping.port, count: 6, intervalMs: 5, timeoutMs: 300 });
  const deadline = Date.now() + 5000;
  let svg = await fetchText("/ladder/udp-ping.svg");
  while (!svg.body.includes("bytes") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    svg = await fetchText("/ladder/udp-ping.svg");
  }
  assert.equal(svg.status, 200);
  assert.match(svg.type, /^image\/svg\+xml/);
  assert.match(String(svg.headers["content-security-policy"]), /default-src 'none'/);
  assert.match(svg.body, /^(<\?xml[^>]*>\n)?<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg.body, /udp-ping: the last \d+ exchanges/);
  assert.match(svg.body, /echo, upper-cased|dropped by simulated loss/);
  assert.equal((await fetchText("/ladder/nope.svg")).status, 404);
  assert.equal((await fetchText("/ladder/../api/state.svg")).status, 404);
});

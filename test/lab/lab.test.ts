import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { startLab, type Lab, type LabRunEvent } from "../../src/lab/lab.js";
import { udpPing } from "../../src/udp/ping/client.js";
import { sendHeartbeats } from "../../src/udp/heartbeat/sender.js";
import { udpEcho } from "../../src/udp/echo/client.js";
import { httpGet } from "../../src/http/client/client.js";
import { headerValue } from "../../src/http/client/response.js";
import { LAB_SERVICES } from "../../src/lab/services.js";
import { runDemos } from "../../src/lab/demo.js";
import { createMailSink, type MailSinkEvent } from "../../src/lab/mail/sink.js";
import { renderMailSinkEvent } from "../../src/render/mail-sink.js";
import { isWirekitError } from "../../src/core/errors.js";
import { mailWithAttachment, sendRawMail } from "./smtp-raw.js";

const labs: Lab[] = [];
const servers: Server[] = [];
after(async () => {
  await Promise.all(labs.map((l) => l.close()));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

async function lab(ports: Record<string, number> = { "udp-ping": 0, mail: 0 }): Promise<Lab> {
  const l = await startLab({ host: "127.0.0.1", ports, defaultPort: 0 });
  labs.push(l);
  return l;
}

function running(l: Lab, name: string) {
  const s = l.running().find((r) => r.name === name);
  assert.ok(s, `${name} is running`);
  return s.running;
}

test("the lab starts every service, each answers its client, and close() returns their totals", async () => {
  const l = await lab({});
  assert.deepEqual(
    l.services.map((s) => [s.name, s.status]),
    LAB_SERVICES.map((s) => [s.name, "running"]),
  );
  assert.deepEqual(LAB_SERVICES.map((s) => s.name), ["udp-ping", "heartbeat", "udp-echo", "http", "proxy", "mail"]);
  for (const { name, running: r } of l.running()) {
    assert.equal(r.address, "127.0.0.1", `${name} binds loopback`);
    assert.ok(r.port > 0 && r.port < 65536, `${name} has a port`);
    assert.ok(r.clientCommand.includes(String(r.port)), `${name}'s client command names its port: ${r.clientCommand}`);
  }

  // UDP ping server: 30% loss by default, so some but (very likely) not all come back.
  const ping = running(l, "udp-ping");
  const r = await udpPing({ host: "127.0.0.1", port: ping.port, count: 8, intervalMs: 20, timeoutMs: 500 });
  assert.equal(r.totals.transmitted, 8);
  assert.ok(r.totals.received > 0, "some pings come back through 30% loss");

  // Heartbeat monitor: a sender with one skipped heartbeat; the monitor answers the others and finds the gap.
  const hb = running(l, "heartbeat");
  const sent = await sendHeartbeats({ host: "127.0.0.1", port: hb.port, count: 5, intervalMs: 20, timeoutMs: 2000, id: "lab-test", skip: (seq) => seq === 3 });
  assert.equal(sent.totals.received, 4, "every heartbeat sent is answered");
  const hbSnap = hb.snapshot?.() as { clients: Array<{ id: string; received: number; lost: number; status: string }> };
  assert.deepEqual(hbSnap.clients.map((c) => [c.id, c.received, c.lost]), [["lab-test", 4, 1]]);

  // UDP echo server: the reply carries our request id and counts our bytes.
  const echo = running(l, "udp-echo");
  const e = await udpEcho({ host: "127.0.0.1", port: echo.port, message: "hello lab" });
  assert.equal(e.status, "reply");
  assert.match(e.reply?.text ?? "", /^I received from you a message of \d+ bytes$/);

  // Web server: the bundled sample site, and a 404 for what it does not have.
  const http = running(l, "http");
  const page = await httpGet({ url: new URL(`http://127.0.0.1:${http.port}/index.html`), timeoutMs: 10_000 });
  assert.equal(page.head.status, 200);
  assert.ok(page.bodyBytes > 0);
  const missing = await httpGet({ url: new URL(`http://127.0.0.1:${http.port}/no-such-page.html`), timeoutMs: 10_000 });
  assert.equal(missing.head.status, 404);

  // Caching proxy, in front of the lab's web server: a miss, then a hit.
  const proxy = running(l, "proxy");
  const viaProxy = async () => {
    const ex = await httpGet({ url: new URL(`http://127.0.0.1:${http.port}/index.html`), proxy: new URL(`http://127.0.0.1:${proxy.port}`), timeoutMs: 10_000 });
    assert.equal(ex.head.status, 200);
    return headerValue(ex.head, "cache-status") ?? "";
  };
  assert.match(await viaProxy(), /^wirekit; fwd=/);
  assert.match(await viaProxy(), /^wirekit; hit/);

  // Mail sink: a message is accepted and kept.
  const mail = running(l, "mail");
  const replies = await sendRawMail("127.0.0.1", mail.port, { from: "a@lab.test", to: "b@lab.test", data: "Subject: hello\r\n\r\nbody\r\n" });
  assert.match(replies[0] ?? "", /^220 /);
  assert.match(replies[5] ?? "", /^250 /, "DATA is accepted");

  const closed: LabRunEvent[] = [];
  l.on("event", (e) => void closed.push(e));
  const totals = await l.close();
  labs.splice(labs.indexOf(l), 1);
  assert.deepEqual(closed, [{ kind: "closed", totals }], "the lab's own event: closed, with the totals close() returns");
  assert.deepEqual(Object.keys(totals).sort(), LAB_SERVICES.map((s) => s.name).sort());
  assert.equal(totals["udp-ping"]?.received, 8);
  assert.equal(totals["udp-ping"]?.replied, r.totals.received);
  assert.equal(totals.heartbeat?.heartbeats, 4);
  assert.equal(totals.heartbeat?.lost, 1);
  assert.equal(totals["udp-echo"]?.received, 1);
  assert.equal(totals["udp-echo"]?.replied, 1);
  assert.equal(totals.http?.requests, 3, "two direct requests and one miss through the proxy");
  assert.equal(totals.proxy?.requests, 2);
  assert.equal(totals.proxy?.hits, 1);
  assert.equal(totals.proxy?.misses, 1);
  assert.equal(totals.mail?.messages, 1);
});

test("--demo: every service's own client runs once against it and succeeds", async () => {
  const l = await lab({});
  const results = await runDemos(l);
  assert.deepEqual(results.map((d) => [d.name, d.outcome]), LAB_SERVICES.map((s) => [s.name, "ok"]));
  const text = (name: string) => results.find((d) => d.name === name)?.text ?? "";
  assert.match(text("udp-ping"), /^5 packets transmitted, \d received, \d+% packet loss/);
  assert.match(text("heartbeat"), /^5 heartbeats as client "lab-demo", 5 answered/);
  assert.match(text("udp-echo"), /^I received from you a message of \d+ bytes \(attempt \d/);
  assert.match(text("http"), /^GET \/index\.html: HTTP\/1\.1 200 OK/);
  assert.match(text("proxy"), /twice: 200 \(wirekit; fwd=uri-miss.*\), then 200 \(wirekit; hit/);
  assert.match(text("mail"), /^message accepted: 250 /);
});

test("the mail sink keeps a message with its attachment and serves both on its routes", async () => {
  const l = await lab();
  const mail = running(l, "mail");
  const content = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
  const data = mailWithAttachment("Lab report", "Hello from the test.\r\n.a line starting with a dot", "report.bin", content);
  const replies = await sendRawMail("127.0.0.1", mail.port, { from: "ada@lab.test", to: "bob@lab.test", data });
  assert.match(replies[5] ?? "", /^250 /);
  const snap = mail.snapshot?.() as { messages: Array<{ id: string; from: string; to: string; subject: string; attachments: Array<{ filename: string; size: number; contentType: string }> }> };
  const m = snap.messages[0];
  assert.ok(m);
  assert.equal(m.subject, "Lab report");
  assert.match(m.from, /ada@lab\.test/);
  assert.match(m.to, /bob@lab\.test/);
  assert.deepEqual(m.attachments, [{ filename: "report.bin", contentType: "application/octet-stream", size: 3000 }]);
  const detail = mail.route?.(`messages/${m.id}`);
  assert.equal(detail?.status, 200);
  const parsed = JSON.parse(String(detail?.body)) as { text: string };
  assert.match(parsed.text, /Hello from the test\.\n\.a line starting with a dot/, "dot-stuffing is undone");
  const file = mail.route?.(`messages/${m.id}/attachments/0`);
  assert.ok(file);
  assert.deepEqual(Buffer.from(file.body), content);
  assert.match(file.headers?.["Content-Disposition"] ?? "", /^attachment; filename="report\.bin"/);
  assert.equal(mail.route?.(`messages/${m.id}/attachments/1`), undefined);
  assert.equal(mail.route?.("messages/999"), undefined);
  assert.equal(mail.route?.("../etc/passwd"), undefined);
});

test("a port in use: that service reports the error and the others still start", async () => {
  const busy = createServer();
  servers.push(busy);
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
  const addr = busy.address();
  assert.ok(addr && typeof addr === "object");
  const l = await lab({ "udp-ping": 0, mail: addr.port });
  const mail = l.services.find((s) => s.name === "mail");
  assert.equal(mail?.status, "failed");
  assert.ok(mail?.status === "failed" && isWirekitError(mail.error, "ERR_LOCAL"));
  assert.equal(l.services.find((s) => s.name === "udp-ping")?.status, "running");
});

test("the mail sink refuses a 2 MB message over its 1000-byte limit with 552 and keeps nothing", async () => {
  const sink = await createMailSink({ host: "127.0.0.1", port: 0, maxMessageBytes: 1000 });
  const events: MailSinkEvent[] = [];
  sink.on("event", (e) => void events.push(e));
  try {
    const replies = await sendRawMail("127.0.0.1", sink.port, { from: "a@lab.test", to: "b@lab.test", data: `Subject: big\r\n\r\n${`${"x".repeat(70)}\r\n`.repeat(30000)}` });
    assert.match(replies[5] ?? "", /^552 /);
    assert.equal(sink.totals().rejected, 1);
    assert.equal(sink.store.size, 0);
    assert.equal(events.length, 1);
    const e = events[0];
    assert.ok(e?.kind === "rejected" && e.reason === "message too big" && e.from === "a@lab.test" && typeof e.at === "number");
    assert.equal(renderMailSinkEvent(e), "rejected from a@lab.test: message too big");
    // A message that fits is one event of kind "message", carrying its summary.
    const ok = await sendRawMail("127.0.0.1", sink.port, { from: "a@lab.test", to: "b@lab.test", data: "Subject: small\x1b[2J\r\n\r\nhi\r\n" });
    assert.match(ok[5] ?? "", /^250 /);
    const m = events[1];
    assert.ok(m?.kind === "message" && m.message.subject.startsWith("small"));
    assert.equal(renderMailSinkEvent(m), "from a@lab.test to b@lab.test: small\\x1b[2J");
  } finally {
    await sink.close();
  }
});

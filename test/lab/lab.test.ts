import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { startLab, type Lab } from "../../src/lab/lab.js";
import { udpPing } from "../../src/udp/ping/client.js";
import { createMailSink } from "../../src/lab/mail/sink.js";
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
  const l = await startLab({ host: "127.0.0.1", ports: { "udp-ping": 0, mail: 0 }, defaultPort: 0 });
  assert.deepEqual(l.services.map((s) => [s.name, s.status]), [["udp-ping", "running"], ["mail", "running"]]);
  const ping = running(l, "udp-ping");
  const r = await udpPing({ host: "127.0.0.1", port: ping.port, count: 8, intervalMs: 20, timeoutMs: 2000 });
  assert.equal(r.totals.transmitted, 8);
  assert.ok(r.totals.received > 0, "some pings come back through 30% loss");
  const mail = running(l, "mail");
  const replies = await sendRawMail("127.0.0.1", mail.port, { from: "a@lab.test", to: "b@lab.test", data: "Subject: hello\r\n\r\nbody\r\n" });
  assert.match(replies[0] ?? "", /^220 /);
  assert.match(replies[5] ?? "", /^250 /, "DATA is accepted");
  const totals = await l.close();
  assert.equal(totals["udp-ping"]?.received, 8);
  assert.equal(totals["udp-ping"]?.replied, r.totals.received);
  assert.equal(totals.mail?.messages, 1);
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
  try {
    const replies = await sendRawMail("127.0.0.1", sink.port, { from: "a@lab.test", to: "b@lab.test", data: `Subject: big\r\n\r\n${`${"x".repeat(70)}\r\n`.repeat(30000)}` });
    assert.match(replies[5] ?? "", /^552 /);
    assert.equal(sink.totals().rejected, 1);
    assert.equal(sink.store.size, 0);
  } finally {
    await sink.close();
  }
});

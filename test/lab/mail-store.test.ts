import { test } from "node:test";
import assert from "node:assert/strict";
import { MailStore, summarize } from "../../src/lab/mail/store.js";

function msg(subject: string, bytes = 10) {
  return { at: 1, from: "a@x", to: "b@y", subject, text: "t".repeat(bytes), html: "", attachments: [], envelope: { mailFrom: "a@x", rcptTo: ["b@y"] }, size: bytes };
}

test("the store keeps the newest messages up to its count bound", () => {
  const s = new MailStore({ keep: 3 });
  for (let i = 1; i <= 5; i++) s.add(msg(`m${i}`));
  assert.deepEqual(s.list().map((m) => m.subject), ["m5", "m4", "m3"]);
  assert.equal(s.accepted, 5);
  assert.equal(s.evicted, 2);
  assert.equal(s.get("1"), undefined, "evicted messages no longer open");
  assert.equal(s.get("5")?.subject, "m5");
});

test("the store drops the oldest messages to stay within its byte bound but keeps the newest", () => {
  const s = new MailStore({ keep: 100, maxBytes: 250 });
  for (let i = 1; i <= 4; i++) s.add(msg(`m${i}`, 100));
  assert.deepEqual(s.list().map((m) => m.subject), ["m4", "m3"]);
  assert.ok(s.bytes <= 250);
  s.add(msg("huge", 1000));
  assert.deepEqual(s.list().map((m) => m.subject), ["huge"], "a single oversized message is still shown");
});

test("a summary carries no bodies", () => {
  const s = new MailStore();
  const m = s.add({ ...msg("x"), attachments: [{ filename: "f", contentType: "text/plain", size: 2, content: new Uint8Array([1, 2]) }] });
  assert.deepEqual(summarize(m), { id: m.id, at: 1, from: "a@x", to: "b@y", subject: "x", attachments: [{ filename: "f", contentType: "text/plain", size: 2 }] });
});

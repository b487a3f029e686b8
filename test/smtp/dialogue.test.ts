import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SmtpDialogue, type DialogueAction, type DialogueOptions } from "../../src/smtp/dialogue.js";
import type { SmtpReply } from "../../src/smtp/reply.js";

const R = (code: number, ...lines: string[]): SmtpReply => ({ code, lines: lines.length ? lines : [""], raw: [] });
const EHLO_TLS = R(250, "mx.test", "STARTTLS", "AUTH PLAIN LOGIN", "SIZE 1000");
const EHLO_SECURE = R(250, "mx.test", "AUTH PLAIN LOGIN", "SIZE 1000");

function dialogue(o: Partial<DialogueOptions> = {}) {
  return new SmtpDialogue({ clientName: "me.test", tls: "auto", from: "a@x.test", recipients: ["b@x.test"], messageSize: 100, ...o });
}

/** Feed replies; returns the actions (sent lines shown by their display text). */
function run(d: SmtpDialogue, replies: SmtpReply[]): string[] {
  const out: string[] = [];
  const show = (a: DialogueAction): void => {
    out.push(a.kind === "send" ? a.display : `<${a.kind}>`);
  };
  for (const r of replies) {
    let a = d.onReply(r);
    show(a);
    if (a.kind === "upgrade-tls") {
      a = d.onTlsEstablished();
      show(a);
    }
    if (a.kind === "send-message") d.onMessageSent();
  }
  return out;
}

describe("SMTP dialogue (pure)", () => {
  it("walks greeting, EHLO, STARTTLS, EHLO, AUTH PLAIN, MAIL, RCPT, DATA, message, QUIT", () => {
    const d = dialogue({ auth: { user: "u", password: "p" } });
    const shown = run(d, [R(220, "hi"), EHLO_TLS, R(220, "go"), EHLO_SECURE, R(235, "ok"), R(250), R(250), R(354), R(250, "2.0.0 queued"), R(221)]);
    assert.deepEqual(shown, ["EHLO me.test", "STARTTLS", "<upgrade-tls>", "EHLO me.test", "AUTH PLAIN ********", "MAIL FROM:<a@x.test> SIZE=100", "RCPT TO:<b@x.test>", "DATA", "<send-message>", "QUIT", "<close>"]);
    assert.equal(d.outcome?.status, "accepted");
    assert.equal(d.outcome?.tls, true);
  });

  it("masks the AUTH LOGIN password and never shows the PLAIN token", () => {
    const d = dialogue({ tls: "implicit", auth: { user: "user", password: "hunter2", mechanism: "LOGIN" } });
    const sent: DialogueAction[] = [];
    for (const r of [R(220), EHLO_SECURE, R(334, "VXNlcm5hbWU6"), R(334, "UGFzc3dvcmQ6"), R(235)]) sent.push(d.onReply(r));
    const lines = sent.map((a) => (a.kind === "send" ? a : undefined));
    assert.equal(lines[3]?.line, Buffer.from("hunter2").toString("base64"));
    assert.equal(lines[3]?.display, "********");
    assert.equal(lines[2]?.display, Buffer.from("user").toString("base64"));
    const plain = dialogue({ tls: "implicit", auth: { user: "user", password: "hunter2" } });
    plain.onReply(R(220));
    const a = plain.onReply(EHLO_SECURE);
    assert.ok(a.kind === "send" && a.line.startsWith("AUTH PLAIN ") && !a.display.includes(a.line.slice(11)));
  });

  it("falls back to HELO when EHLO gets a 5xx, without extensions afterwards", () => {
    const d = dialogue();
    assert.deepEqual(run(d, [R(220), R(502, "5.5.2 no"), R(250, "old.test")]), ["EHLO me.test", "HELO me.test", "MAIL FROM:<a@x.test>"]);
  });

  it("refuses to continue without STARTTLS when it is required, and QUITs", () => {
    const d = dialogue({ tls: "starttls" });
    assert.deepEqual(run(d, [R(220), EHLO_SECURE, R(221)]), ["EHLO me.test", "QUIT", "<close>"]);
    assert.equal(d.outcome?.error?.code, "ERR_TLS");
  });

  it("ends the session when STARTTLS is offered but refused, never falling back to plaintext", () => {
    const d = dialogue({ auth: { user: "u", password: "p" } });
    assert.deepEqual(run(d, [R(220), EHLO_TLS, R(454, "4.7.0 TLS not available"), R(221)]), ["EHLO me.test", "STARTTLS", "QUIT", "<close>"]);
    assert.equal(d.outcome?.error?.code, "ERR_TLS");
    assert.equal(d.outcome?.status, "temporary-failure");
  });

  it("refuses AUTH without TLS unless allowed", () => {
    const d = dialogue({ tls: "none", auth: { user: "u", password: "p" } });
    assert.deepEqual(run(d, [R(220), EHLO_TLS]), ["EHLO me.test", "QUIT"]);
    const ok = dialogue({ tls: "none", auth: { user: "u", password: "p" }, allowPlainAuth: true });
    assert.deepEqual(run(ok, [R(220), EHLO_TLS]), ["EHLO me.test", "AUTH PLAIN ********"]);
  });

  it("fails when the chosen mechanism is not offered", () => {
    const d = dialogue({ tls: "implicit", auth: { user: "u", password: "p", mechanism: "LOGIN" } });
    run(d, [R(220), R(250, "mx", "AUTH PLAIN"), R(221)]);
    assert.equal(d.outcome?.error?.code, "ERR_AUTH");
  });

  it("sends to the remaining recipients after a refusal and fails only when all are refused", () => {
    const d = dialogue({ tls: "none", recipients: ["a@t", "b@t", "c@t"] });
    const shown = run(d, [R(220), R(250, "mx"), R(250), R(250), R(550, "5.1.1 no"), R(251), R(354), R(250), R(221)]);
    assert.deepEqual(shown.slice(2, 6), ["RCPT TO:<a@t>", "RCPT TO:<b@t>", "RCPT TO:<c@t>", "DATA"]);
    assert.deepEqual(d.outcome?.recipients.map((r) => r.accepted), [true, false, true]);
    const all = dialogue({ tls: "none", recipients: ["a@t", "b@t"] });
    run(all, [R(220), R(250, "mx"), R(250), R(550), R(450, "4.2.0 busy"), R(221)]);
    assert.equal(all.outcome?.status, "temporary-failure");
  });

  it("does not send QUIT after 421 and records a temporary failure", () => {
    const d = dialogue();
    assert.deepEqual(run(d, [R(220), R(421, "4.3.2 closing")]), ["EHLO me.test", "<close>"]);
    assert.equal(d.outcome?.status, "temporary-failure");
  });

  it("checks the message against SIZE before MAIL FROM", () => {
    const d = dialogue({ tls: "none", messageSize: 5000 });
    assert.deepEqual(run(d, [R(220), EHLO_TLS]), ["EHLO me.test", "QUIT"]);
    const outcome = () => d.outcome;
    assert.equal(outcome(), undefined);
    d.onReply(R(221));
    assert.equal(outcome()?.status, "permanent-failure");
  });

  it("counts a lost connection after QUIT as success once the message was accepted", () => {
    const d = dialogue({ tls: "none" });
    run(d, [R(220), R(250, "mx"), R(250), R(250), R(354), R(250)]);
    assert.equal(d.onConnectionLost("ERR_CONNECT", "closed").status, "accepted");
  });

  it("pipelines MAIL, RCPT and DATA in one batch when asked and offered (RFC 2920)", () => {
    const d = dialogue({ tls: "none", pipelining: true, recipients: ["a@t", "b@t"] });
    d.onReply(R(220));
    const batch = d.onReply(R(250, "mx", "PIPELINING"));
    assert.deepEqual(batch.kind === "send-batch" ? batch.lines.map((l) => l.line) : batch, ["MAIL FROM:<a@x.test>", "RCPT TO:<a@t>", "RCPT TO:<b@t>", "DATA"]);
    assert.deepEqual([R(250), R(550), R(250), R(354)].map((r) => d.onReply(r).kind), ["wait", "wait", "wait", "send-message"]);
    const plain = dialogue({ tls: "none", pipelining: true });
    plain.onReply(R(220));
    assert.equal(plain.onReply(R(250, "mx")).kind, "send");
  });

  it("reads every pipelined reply after a refused MAIL FROM, then QUITs with the MAIL refusal", () => {
    const d = dialogue({ tls: "none", pipelining: true });
    d.onReply(R(220));
    d.onReply(R(250, "mx", "PIPELINING"));
    assert.equal(d.onReply(R(553, "5.7.1 sender refused")).kind, "wait");
    assert.equal(d.onReply(R(503, "5.5.1 need MAIL")).kind, "wait");
    const a = d.onReply(R(503, "5.5.1 no valid recipients"));
    assert.ok(a.kind === "send" && a.line === "QUIT");
    d.onReply(R(221));
    assert.equal(d.outcome?.phase, "MAIL FROM");
    assert.equal(d.outcome?.reply?.code, 553);
  });

  it("hangs up without sending anything when a broken server says 354 after every recipient was refused", () => {
    const d = dialogue({ tls: "none", pipelining: true });
    d.onReply(R(220));
    d.onReply(R(250, "mx", "PIPELINING"));
    d.onReply(R(250));
    d.onReply(R(550));
    assert.equal(d.onReply(R(354)).kind, "close");
    assert.equal(d.outcome?.status, "permanent-failure");
  });
});

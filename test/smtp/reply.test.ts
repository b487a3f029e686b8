import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ReplyReader, decodeReplyLine, formatReply, parseEnhancedStatus, replyClass, type SmtpReply } from "../../src/smtp/reply.js";
import { parseCapabilities, authMechanisms, sizeLimit, hasCapability } from "../../src/smtp/capabilities.js";
import { createRandom } from "../../src/core/random.js";

function replies(chunks: string[]): SmtpReply[] {
  const r = new ReplyReader();
  return chunks.flatMap((c) => r.push(Buffer.from(c, "utf8"))).map((e) => {
    assert.equal(e.kind, "reply", JSON.stringify(e));
    return (e as { reply: SmtpReply }).reply;
  });
}

describe("SMTP reply parser", () => {
  it("joins continuation lines into one multi-line reply", () => {
    const [r] = replies(["250-mx.test Hello\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"]);
    assert.deepEqual(r?.lines, ["mx.test Hello", "SIZE 1000", "8BITMIME"]);
    assert.deepEqual(r?.raw, ["250-mx.test Hello", "250-SIZE 1000", "250 8BITMIME"]);
    assert.equal(r?.code, 250);
  });

  it("gives the same replies whatever the chunk boundaries, even byte by byte", () => {
    const text = "220-héllo\r\n220 ready\r\n250 2.1.0 Ok\n354 go\r\n";
    const whole = replies([text]);
    const bytes = Buffer.from(text, "utf8");
    const r = new ReplyReader();
    const split = [...bytes].flatMap((b) => r.push(Buffer.from([b])));
    assert.deepEqual(split.map((e) => (e.kind === "reply" ? e.reply : e)), whole);
    const rnd = createRandom(5);
    for (let t = 0; t < 50; t++) {
      const rr = new ReplyReader();
      const out = [];
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + rnd.int(7);
        out.push(...rr.push(bytes.subarray(i, i + n)));
        i += n;
      }
      assert.deepEqual(out.map((e) => (e.kind === "reply" ? e.reply : e)), whole);
    }
  });

  it("reads enhanced status codes only when the class matches the reply code", () => {
    const [a, b, c] = replies(["250 2.1.5 Ok\r\n", "550 5.1.1 <x>: no such user\r\n", "250 5.1.1 odd\r\n"]);
    assert.deepEqual(a?.enhanced, { class: 2, subject: 1, detail: 5 });
    assert.deepEqual(b?.enhanced, { class: 5, subject: 1, detail: 1 });
    assert.equal(c?.enhanced, undefined);
    assert.deepEqual(parseEnhancedStatus("2.0.0 Ok"), { class: 2, subject: 0, detail: 0 });
    assert.equal(parseEnhancedStatus("2.0.0x"), undefined);
    assert.equal(formatReply(b as SmtpReply), "550 5.1.1 <x>: no such user");
  });

  it("classifies replies by their first digit", () => {
    assert.deepEqual([250, 354, 451, 554].map((code) => replyClass({ code, lines: [], raw: [] })), ["positive", "intermediate", "temporary", "permanent"]);
  });

  it("accepts a bare code line and rejects lines that are not replies", () => {
    assert.deepEqual(decodeReplyLine("250"), { ok: true, value: { code: 250, continued: false, text: "" } });
    for (const bad of ["", "25", "hello", "650 x", "250x", "HTTP/1.1 200 OK"]) assert.equal(decodeReplyLine(bad).ok, false, bad);
  });

  it("reports a code change inside a multi-line reply as an error and stops", () => {
    const r = new ReplyReader();
    const ev = r.push(Buffer.from("250-a\r\n550 b\r\n250 c\r\n"));
    assert.deepEqual(ev.map((e) => e.kind), ["error"]);
    assert.deepEqual(r.push(Buffer.from("250 d\r\n")), []);
  });

  it("reports an endless line as an error instead of buffering forever", () => {
    const r = new ReplyReader();
    const ev = r.push(Buffer.alloc(20_000, 0x41));
    assert.equal(ev[0]?.kind, "error");
  });

  it("never throws on random bytes", () => {
    const rnd = createRandom(11);
    for (let i = 0; i < 200; i++) new ReplyReader().push(rnd.bytes(1 + rnd.int(300)));
  });

  it("discards buffered bytes and reports how many", () => {
    const r = new ReplyReader();
    r.push(Buffer.from("250-partial\r\n250 inc"));
    assert.equal(r.discard(), "250-partial".length + 2 + "250 inc".length);
    assert.deepEqual(r.push(Buffer.from("220 fresh\r\n")).map((e) => e.kind), ["reply"]);
  });
});

describe("EHLO capabilities", () => {
  const caps = parseCapabilities({
    code: 250,
    lines: ["mx.test greets you, STARTTLS AUTH here are fake", "size 35882577", "AUTH LOGIN PLAIN XOAUTH2", "AUTH=LOGIN", "8BITMIME", "ENHANCEDSTATUSCODES", "PIPELINING", "SMTPUTF8"],
    raw: [],
  });

  it("parses each line into keyword and parameters, case-insensitively", () => {
    assert.equal(caps.domain, "mx.test");
    assert.equal(sizeLimit(caps), 35882577);
    assert.deepEqual(authMechanisms(caps), ["LOGIN", "PLAIN", "XOAUTH2"]);
    for (const k of ["8BITMIME", "ENHANCEDSTATUSCODES", "PIPELINING", "SMTPUTF8", "smtputf8"]) assert.ok(hasCapability(caps, k), k);
  });

  it("does not find STARTTLS in the greeting text of the first line", () => {
    assert.equal(hasCapability(caps, "STARTTLS"), false);
  });

  it("treats a bare SIZE as no fixed limit and a missing SIZE as unknown", () => {
    assert.equal(sizeLimit(parseCapabilities({ code: 250, lines: ["x", "SIZE"], raw: [] })), 0);
    assert.equal(sizeLimit(parseCapabilities({ code: 250, lines: ["x"], raw: [] })), undefined);
  });

  it("uses the old AUTH= line when there is no AUTH line", () => {
    assert.deepEqual(authMechanisms(parseCapabilities({ code: 250, lines: ["x", "AUTH=LOGIN PLAIN"], raw: [] })), ["LOGIN", "PLAIN"]);
  });
});

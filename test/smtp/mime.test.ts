import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { simpleParser } from "mailparser";
import { createRandom } from "../../src/core/random.js";
import { assertHeaderValue, encodeBase64Wrapped, encodeParameter, encodeQuotedPrintable, encodeUnstructured, encodeWords, foldHeader } from "../../src/smtp/mime/encode.js";
import { buildMessage, formatRfc5322Date } from "../../src/smtp/mime/message.js";
import { formatMailbox, parseMailbox } from "../../src/smtp/mime/address.js";

function qpDecode(s: string): Buffer {
  const joined = s.replace(/=\r\n/g, "");
  const out: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] === "=") {
      out.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(joined.charCodeAt(i));
  }
  return Buffer.from(out);
}

const base = { from: { address: "a@lab.test" }, to: [{ address: "b@lab.test" }], date: Date.UTC(2026, 0, 1), random: createRandom(1) };

describe("MIME encodings", () => {
  it("wraps base64 at exactly 76 characters and decodes back to the same bytes", () => {
    const rnd = createRandom(9);
    for (const n of [0, 1, 56, 57, 58, 1000, 4096]) {
      const data = rnd.bytes(n);
      const enc = encodeBase64Wrapped(data);
      const lines = enc.split("\r\n");
      assert.ok(lines.slice(0, -1).every((l) => l.length === 76), `n=${n}`);
      assert.ok((lines.at(-1)?.length ?? 0) <= 76);
      assert.deepEqual(Buffer.from(enc.replace(/\r\n/g, ""), "base64"), data);
    }
  });

  it("encodes quoted-printable with lines of at most 76 characters that decode to the input", () => {
    const rnd = createRandom(4);
    const samples = ["café = ok", "trailing space ", "tab\t", "x".repeat(200), "ünï".repeat(40), "a=b\r\nline two \r\n"];
    for (let i = 0; i < 100; i++) samples.push(rnd.bytes(rnd.int(300)).toString("latin1").replace(/[\r\n]/g, ""));
    for (const s of samples) {
      const data = Buffer.from(s, "utf8");
      const enc = encodeQuotedPrintable(data);
      assert.ok(enc.split("\r\n").every((l) => l.length <= 76 && !/[ \t]$/.test(l)), JSON.stringify(enc));
      assert.ok(/^[\t\x20-\x7e\r\n]*$/.test(enc));
      assert.deepEqual(qpDecode(enc), Buffer.from(s.replace(/\r?\n/g, "\r\n"), "utf8"));
    }
    assert.equal(encodeQuotedPrintable(Buffer.from("café = ok")), "caf=C3=A9 =3D ok");
  });

  it("encodes non-ASCII header text as RFC 2047 words no longer than 75 characters", () => {
    const words = encodeWords("Grüße aus Köln — 実験レポート ".repeat(3)).split(" ");
    assert.ok(words.length > 1);
    for (const w of words) {
      assert.match(w, /^=\?UTF-8\?[BQ]\?[^? ]+\?=$/);
      assert.ok(w.length <= 75);
    }
    assert.equal(encodeUnstructured("plain ASCII subject"), "plain ASCII subject");
    assert.match(encodeUnstructured("looks like =?utf-8?q?x?="), /^=\?UTF-8\?/);
  });

  it("folds header lines under 78 characters at spaces, and unfolding gives the value back", () => {
    const value = "word ".repeat(60).trim();
    const folded = foldHeader("Subject", value);
    assert.ok(folded.split("\r\n").every((l) => l.length < 78));
    assert.equal(folded.replace(/\r\n /g, " "), `Subject: ${value}`);
    const enc = foldHeader("Subject", encodeUnstructured("Ünïcödé ".repeat(30)));
    assert.ok(enc.split("\r\n").every((l) => l.length < 78), enc);
  });

  it("writes non-ASCII and long file names as RFC 2231 parameters with continuations", () => {
    assert.deepEqual(encodeParameter("filename", "plot.png"), ["filename=plot.png"]);
    assert.deepEqual(encodeParameter("filename", "my plot.png"), ['filename="my plot.png"']);
    assert.deepEqual(encodeParameter("filename", "résumé.pdf"), ["filename*=utf-8''r%C3%A9sum%C3%A9.pdf"]);
    const long = encodeParameter("filename", "データ分析の結果とグラフ一覧_最終版.csv");
    assert.ok(long.length > 1);
    assert.match(long[0] ?? "", /^filename\*0\*=utf-8''/);
    assert.match(long[1] ?? "", /^filename\*1\*=/);
  });

  it("formats mailboxes, quoting or encoding display names", () => {
    assert.equal(formatMailbox(parseMailbox("Ana <ana@x.test>", "--to")), "Ana <ana@x.test>");
    assert.equal(formatMailbox(parseMailbox('"Doe, Jane" <j@x.test>', "--to")), '"Doe, Jane" <j@x.test>');
    assert.match(formatMailbox(parseMailbox("Zoë <z@x.test>", "--to")), /^=\?UTF-8\?.+\?= <z@x\.test>$/);
    assert.equal(parseMailbox("u@bücher.example", "--to").address, "u@xn--bcher-kva.example");
    for (const bad of ["nobody", "a b@x.test", "<a@x.test", "a@", "ü@x.test", "a@x.test>"]) assert.throws(() => parseMailbox(bad, "--to"), { code: "ERR_USAGE" }, bad);
  });

  it("formats the Date header per RFC 5322 from the injected clock", () => {
    assert.equal(formatRfc5322Date(Date.UTC(2026, 10, 23, 18, 5, 9)), "Mon, 23 Nov 2026 18:05:09 +0000");
  });
});

describe("header injection", () => {
  for (const [what, fn] of [
    ["a Subject with CRLF", () => buildMessage({ ...base, subject: "hi\r\nBcc: victim@evil.test" })],
    ["a Subject with a bare LF", () => buildMessage({ ...base, subject: "hi\nX-Evil: 1" })],
    ["an attachment name with CR", () => buildMessage({ ...base, attachments: [{ filename: "a\r.txt", content: Buffer.from("x") }] })],
    ["an address with CRLF", () => parseMailbox("a@x.test\r\nRCPT TO:<victim@evil.test>", "--to")],
    ["a display name with LF", () => parseMailbox("Eve\nBcc: x@y.test <e@x.test>", "--from")],
    ["an extra header value with CRLF", () => buildMessage({ ...base, headers: [["X-Tag", "a\r\nBcc: v@evil.test"]] })],
    ["a NUL in a header", () => assertHeaderValue("Subject", "a\0b")],
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(fn, { code: "ERR_USAGE" });
    });
  }
});

describe("buildMessage", () => {
  it("gives the same bytes for the same clock and seed", () => {
    const a = buildMessage({ ...base, random: createRandom(5), subject: "x", attachments: [{ filename: "f.bin", content: Buffer.from([1, 2, 3]) }] });
    const b = buildMessage({ ...base, random: createRandom(5), subject: "x", attachments: [{ filename: "f.bin", content: Buffer.from([1, 2, 3]) }] });
    assert.deepEqual(a.bytes, b.bytes);
    assert.equal(a.messageId, b.messageId);
  });

  it("never writes Bcc, uses CRLF everywhere and keeps every line under 78 characters", () => {
    const m = buildMessage({
      ...base,
      cc: [{ name: "Çarol", address: "c@lab.test" }],
      subject: "Ünïcödé ".repeat(20),
      text: "a long line ".repeat(30),
      html: "<p>x</p>",
      attachments: [{ filename: "ä".repeat(40) + ".txt", content: Buffer.alloc(3000, 7) }],
    }).bytes.toString("latin1");
    assert.ok(!/^bcc:/im.test(m));
    assert.ok(!/[^\r]\n/.test(m));
    assert.ok(m.split("\r\n").every((l) => l.length < 78), m.split("\r\n").find((l) => l.length >= 78));
  });

  it("builds multipart/related for inline images that mailparser ties to the HTML by Content-ID", async () => {
    const img = createRandom(2).bytes(100);
    const m = buildMessage({ ...base, text: "t", html: '<img src="cid:logo.png">', inline: [{ filename: "logo.png", content: img, contentType: "image/png" }] });
    const raw = m.bytes.toString("latin1");
    assert.match(raw, /multipart\/related/);
    assert.match(raw, /Content-ID: <logo\.png>/);
    const parsed = await simpleParser(m.bytes);
    assert.equal(parsed.attachments[0]?.cid, "logo.png");
    assert.equal(parsed.attachments[0]?.contentDisposition, "inline");
    assert.deepEqual(parsed.attachments[0]?.content, img);
  });

  it("keeps a 5000-character HTML line under 998 octets on the wire by switching to quoted-printable", async () => {
    const html = `<p>${"word ".repeat(1000)}</p>`;
    const m = buildMessage({ ...base, text: "t", html });
    const raw = m.bytes.toString("latin1");
    assert.ok(raw.split("\r\n").every((l) => l.length <= 76), "every line at most 76");
    assert.equal((await simpleParser(m.bytes)).html, html);
  });

  it("keeps a body's final line break inside a multipart (the CRLF before a boundary belongs to the delimiter)", async () => {
    const att = [{ filename: "a.bin", content: Buffer.from([1]) }];
    for (const text of ["ends with a newline\n", "ünïcödé, quoted-printable\n", "two\n\n", "none"]) {
      const parsed = await simpleParser(buildMessage({ ...base, text, attachments: att }).bytes);
      assert.equal(parsed.text?.replace(/\r\n/g, "\n"), text, JSON.stringify(text));
    }
  });

  it("writes extra headers and refuses bad header names", () => {
    const m = buildMessage({ ...base, headers: [["X-Course", "Networks 101"]] }).bytes.toString("latin1");
    assert.match(m, /\r\nX-Course: Networks 101\r\n/);
    assert.throws(() => buildMessage({ ...base, headers: [["Bad Name", "x"]] }), { code: "ERR_USAGE" });
  });

  it("refuses inline images without an HTML body", () => {
    assert.throws(() => buildMessage({ ...base, inline: [{ filename: "a.png", content: Buffer.alloc(1) }] }), { code: "ERR_USAGE" });
  });
});

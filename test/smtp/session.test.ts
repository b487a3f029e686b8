/**
 * The session against a real, independent SMTP server (smtp-server) on loopback, with what it
 * received parsed by an independent parser (mailparser).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRandom } from "../../src/core/random.js";
import { buildMessage, type BuildMessageOptions } from "../../src/smtp/mime/message.js";
import { rootCertificates } from "node:tls";
import { generate } from "selfsigned";
import { sendMail, trustedCertificates, type SendMailOptions } from "../../src/smtp/session.js";
import { transcriptLines } from "../../src/smtp/transcript.js";
import { PASSWORD, USER, startSmtpPeer, testCert, type SmtpPeer } from "./peer.js";

const DATE = Date.UTC(2026, 10, 23, 12, 0, 0);

function message(extra: Partial<BuildMessageOptions> = {}): Buffer {
  return buildMessage({
    from: { name: "Student", address: "student@lab.test" },
    to: [{ address: "teacher@lab.test" }],
    subject: "Lab report",
    text: "Hello from wirekit.\n",
    date: DATE,
    random: createRandom(7),
    ...extra,
  }).bytes;
}

async function send(peer: SmtpPeer, ca: string, o: Partial<SendMailOptions> = {}) {
  return sendMail({
    host: "127.0.0.1",
    port: peer.port,
    from: "student@lab.test",
    recipients: ["teacher@lab.test"],
    message: message(),
    ca,
    timeoutMs: 20_000,
    ...o,
  });
}

function secretsAbsent(text: string): void {
  const plainToken = Buffer.from(`\0${USER}\0${PASSWORD}`).toString("base64");
  for (const s of [PASSWORD, Buffer.from(PASSWORD).toString("base64"), plainToken]) assert.ok(!text.includes(s), `secret leaked: ${s}`);
}

describe("sendMail against smtp-server", () => {
  let ca = "";
  const peers: SmtpPeer[] = [];
  const peer = async (o: Parameters<typeof startSmtpPeer>[0] = {}) => {
    const p = await startSmtpPeer(o);
    peers.push(p);
    return p;
  };
  before(async () => {
    ca = (await testCert()).cert;
  });
  after(async () => {
    await Promise.all(peers.map((p) => p.close()));
  });

  it("upgrades with STARTTLS, logs in with AUTH PLAIN and delivers text, HTML and attachments byte for byte", async () => {
    const p = await peer();
    const png = createRandom(1).bytes(5000);
    const pdf = createRandom(2).bytes(777);
    const body = "Line one\n.\n..two dots\n.starts with a dot\nlast";
    const r = await send(p, ca, {
      auth: { user: USER, password: PASSWORD },
      message: message({
        text: body,
        html: "<p>Hello <b>HTML</b></p>",
        attachments: [
          { filename: "plot.png", content: png, contentType: "image/png" },
          { filename: "report.pdf", content: pdf, contentType: "application/pdf" },
        ],
      }),
    });
    assert.equal(r.outcome.status, "accepted", r.error?.message);
    assert.equal(r.outcome.tls, true);
    assert.equal(r.outcome.authMechanism, "PLAIN");
    assert.equal(r.outcome.reply?.code, 250);
    assert.equal(p.received[0]?.secure, true);
    assert.equal(p.received[0]?.user, USER);
    const m = await p.parsed();
    assert.equal(m.subject, "Lab report");
    assert.equal(m.text?.replace(/\r\n/g, "\n").trimEnd(), body);
    assert.equal(m.html, "<p>Hello <b>HTML</b></p>");
    assert.equal(m.attachments.length, 2);
    assert.equal(m.attachments[0]?.filename, "plot.png");
    assert.equal(m.attachments[0]?.contentType, "image/png");
    assert.deepEqual(m.attachments[0]?.content, png);
    assert.deepEqual(m.attachments[1]?.content, pdf);
    const text = r.transcript.flatMap(transcriptLines).join("\n");
    assert.match(text, /^C: STARTTLS$/m);
    assert.match(text, /^\* TLS established: TLSv1\.[23] .*verified$/m);
    assert.match(text, /^C: AUTH PLAIN \*+$/m);
    secretsAbsent(text);
    secretsAbsent(JSON.stringify(r));
    // EHLO is sent again after TLS (RFC 3207 §4.2).
    assert.equal(r.transcript.filter((e) => e.kind === "client" && e.text.startsWith("EHLO")).length, 2);
  });

  it("uses TLS from the first byte with --tls and logs in with AUTH LOGIN", async () => {
    const p = await peer({ secure: true });
    const r = await send(p, ca, { tls: "implicit", auth: { user: USER, password: PASSWORD, mechanism: "LOGIN" } });
    assert.equal(r.outcome.status, "accepted", r.error?.message);
    assert.equal(r.outcome.authMechanism, "LOGIN");
    assert.equal(p.received[0]?.user, USER);
    assert.equal(r.transcript[1]?.kind, "tls");
    const text = r.transcript.flatMap(transcriptLines).join("\n");
    assert.match(text, /^C: AUTH LOGIN$/m);
    assert.match(text, new RegExp(`^C: ${Buffer.from(USER).toString("base64")}$`, "m"));
    assert.match(text, /^S: 334 /m);
    secretsAbsent(text);
  });

  for (const mechanism of ["PLAIN", "LOGIN"] as const) {
    it(`reports a wrong password with AUTH ${mechanism} as ERR_AUTH and sends nothing`, async () => {
      const p = await peer();
      const wrong = "not-the-password";
      const r = await send(p, ca, { auth: { user: USER, password: wrong, mechanism } });
      assert.equal(r.outcome.status, "permanent-failure");
      assert.equal(r.error?.code, "ERR_AUTH");
      assert.equal(r.outcome.reply?.code, 535);
      assert.equal(p.received.length, 0);
      const text = r.transcript.flatMap(transcriptLines).join("\n");
      assert.ok(!text.includes(wrong) && !text.includes(Buffer.from(wrong).toString("base64")));
      assert.match(text, /^C: QUIT$/m);
    });
  }

  it("delivers to the accepted recipients when one is refused, and reports the refusal", async () => {
    const p = await peer({
      onRcptTo(addr, _s, cb) {
        if (addr.address.startsWith("nobody")) cb(Object.assign(new Error("5.1.1 No such user"), { responseCode: 550 }));
        else cb();
      },
    });
    const r = await send(p, ca, { recipients: ["a@lab.test", "nobody@lab.test", "b@lab.test"] });
    assert.equal(r.outcome.status, "accepted");
    assert.deepEqual(
      r.outcome.recipients.map((x) => [x.address, x.accepted, x.reply?.code]),
      [["a@lab.test", true, 250], ["nobody@lab.test", false, 550], ["b@lab.test", true, 250]],
    );
    assert.deepEqual(p.received[0]?.to, ["a@lab.test", "b@lab.test"]);
  });

  it("pipelines MAIL, RCPT and DATA with --pipelining and still reports each recipient", async () => {
    const p = await peer({
      onRcptTo(addr, _s, cb) {
        if (addr.address.startsWith("nobody")) cb(Object.assign(new Error("No such user"), { responseCode: 550 }));
        else cb();
      },
    });
    const r = await send(p, ca, { pipelining: true, recipients: ["a@lab.test", "nobody@lab.test"] });
    assert.equal(r.outcome.status, "accepted", r.error?.message);
    assert.deepEqual(r.outcome.recipients.map((x) => x.accepted), [true, false]);
    const kinds = r.transcript.map((e) => (e.kind === "client" ? `C ${e.text.split(/[ :]/)[0]}` : e.kind === "server" ? `S ${e.code}` : e.kind));
    const i = kinds.indexOf("C MAIL");
    assert.deepEqual(kinds.slice(i, i + 8), ["C MAIL", "C RCPT", "C RCPT", "C DATA", "S 250", "S 250", "S 550", "S 354"]);
    assert.deepEqual(p.received[0]?.to, ["a@lab.test"]);
    const all = await send(p, ca, { pipelining: true, recipients: ["nobody@lab.test"] });
    assert.equal(all.outcome.status, "permanent-failure");
    assert.equal(p.received.length, 1);
  });

  it("fails permanently when every recipient is refused, without sending DATA", async () => {
    const p = await peer({ onRcptTo: (_a, _s, cb) => cb(Object.assign(new Error("Relay denied"), { responseCode: 554 })) });
    const r = await send(p, ca, { recipients: ["x@elsewhere.test", "y@elsewhere.test"] });
    assert.equal(r.outcome.status, "permanent-failure");
    assert.equal(r.error?.code, "ERR_REJECTED");
    assert.ok(!r.transcript.some((e) => e.kind === "client" && e.text === "DATA"));
  });

  it("reports a 4xx after the message as a temporary failure with the server's text", async () => {
    const p = await peer({
      onData(stream, _s, cb) {
        stream.resume();
        stream.on("end", () => cb(Object.assign(new Error("Greylisted, try again later"), { responseCode: 451 })));
      },
    });
    const r = await send(p, ca);
    assert.equal(r.outcome.status, "temporary-failure");
    assert.equal(r.outcome.reply?.code, 451);
    assert.equal(r.outcome.phase, "end of data");
    assert.match(r.error?.message ?? "", /^temporary failure after end of data: 451 .*Greylisted/);
  });

  it("reports a server that requires AUTH (530) as ERR_AUTH", async () => {
    const p = await peer({ authOptional: false });
    const r = await send(p, ca);
    assert.equal(r.error?.code, "ERR_AUTH");
    assert.equal(r.outcome.reply?.code, 530);
  });

  it("reports a 5xx to MAIL FROM as a permanent failure", async () => {
    const p = await peer({ onMailFrom: (_a, _s, cb) => cb(Object.assign(new Error("Sender blocked"), { responseCode: 553 })) });
    const r = await send(p, ca);
    assert.equal(r.outcome.status, "permanent-failure");
    assert.equal(r.outcome.phase, "MAIL FROM");
    assert.equal(r.error?.code, "ERR_REJECTED");
  });

  it("parses the multi-line EHLO reply and sends SIZE= when the server offers SIZE", async () => {
    const p = await peer({ size: 50_000_000, hideENHANCEDSTATUSCODES: false });
    const r = await send(p, ca);
    const caps = r.outcome.capabilities;
    assert.ok(caps !== undefined);
    for (const k of ["SIZE", "8BITMIME", "SMTPUTF8", "PIPELINING", "ENHANCEDSTATUSCODES", "AUTH"]) assert.ok(caps.keywords.has(k), k);
    assert.deepEqual(caps.keywords.get("SIZE"), ["50000000"]);
    assert.ok(r.transcript.some((e) => e.kind === "client" && /^MAIL FROM:<student@lab\.test> SIZE=\d+$/.test(e.text)));
    assert.ok(r.outcome.reply?.enhanced !== undefined);
  });

  it("refuses a message larger than the server's SIZE before MAIL FROM", async () => {
    const p = await peer({ size: 1000 });
    const r = await send(p, ca, { message: message({ text: `${"x".repeat(60)}\n`.repeat(30) }) });
    assert.equal(r.outcome.status, "permanent-failure");
    assert.equal(r.error?.code, "ERR_REJECTED");
    assert.ok(!r.transcript.some((e) => e.kind === "client" && e.text.startsWith("MAIL")));
  });

  it("refuses to go on with --starttls when the server offers no STARTTLS", async () => {
    const p = await peer({ hideSTARTTLS: true });
    const r = await send(p, ca, { tls: "starttls" });
    assert.equal(r.error?.code, "ERR_TLS");
    assert.equal(p.received.length, 0);
  });

  it("sends in plaintext when the server offers no TLS, but refuses AUTH there unless allowed", async () => {
    const p = await peer({ hideSTARTTLS: true, allowInsecureAuth: true });
    const plain = await send(p, ca);
    assert.equal(plain.outcome.status, "accepted");
    assert.equal(plain.outcome.tls, false);
    const refused = await send(p, ca, { auth: { user: USER, password: PASSWORD } });
    assert.equal(refused.error?.code, "ERR_AUTH");
    assert.ok(!refused.transcript.some((e) => e.kind === "client" && e.text.startsWith("AUTH")));
    const allowed = await send(p, ca, { auth: { user: USER, password: PASSWORD }, allowPlainAuth: true });
    assert.equal(allowed.outcome.status, "accepted", allowed.error?.message);
    assert.equal(p.received.length, 2);
  });

  it("never uses TLS with --no-tls even when STARTTLS is offered", async () => {
    const p = await peer();
    const r = await send(p, ca, { tls: "none" });
    assert.equal(r.outcome.status, "accepted");
    assert.ok(!r.transcript.some((e) => e.kind === "client" && e.text === "STARTTLS"));
  });

  it("rejects a certificate it cannot verify with ERR_TLS", async () => {
    const p = await peer();
    const r = await sendMail({ host: "127.0.0.1", port: p.port, from: "a@lab.test", recipients: ["b@lab.test"], message: message(), timeoutMs: 20_000 });
    assert.equal(r.error?.code, "ERR_TLS");
    assert.equal(p.received.length, 0);
  });

  it("trusts --ca in addition to the bundled store, and still refuses a certificate no trusted CA signed", async () => {
    assert.deepEqual(trustedCertificates(ca), [...rootCertificates, ca]);
    const p = await peer();
    const other = (await generate([{ name: "commonName", value: "unrelated CA" }], { keyType: "ec", extensions: [{ name: "basicConstraints", cA: true }] })).cert;
    const wrong = await send(p, other);
    assert.equal(wrong.error?.code, "ERR_TLS");
    const bundle = await send(p, `${other}\n${ca}`);
    assert.equal(bundle.outcome.status, "accepted", bundle.error?.message);
    assert.equal(p.received.length, 1);
  });

  it("round-trips a non-ASCII subject, display name and attachment file names", async () => {
    const p = await peer();
    const subject = "Grüße aus Köln — 実験レポート, a subject long enough to need several encoded words";
    const r = await send(p, ca, {
      message: message({
        from: { name: "Zoë Ünal", address: "zoe@lab.test" },
        subject,
        text: "Ça marche très bien — ünïcödé text with a very long line ".repeat(4),
        attachments: [
          { filename: "résumé 2026.pdf", content: Buffer.from("pdf"), contentType: "application/pdf" },
          { filename: "データ分析の結果とグラフ一覧_最終版_提出用.csv", content: Buffer.from("a,b\n1,2\n"), contentType: "text/csv" },
        ],
      }),
    });
    assert.equal(r.outcome.status, "accepted", r.error?.message);
    const m = await p.parsed();
    assert.equal(m.subject, subject);
    assert.equal(m.from?.value[0]?.name, "Zoë Ünal");
    assert.equal(m.text?.trimEnd(), "Ça marche très bien — ünïcödé text with a very long line ".repeat(4).trimEnd());
    assert.deepEqual(m.attachments.map((a) => a.filename), ["résumé 2026.pdf", "データ分析の結果とグラフ一覧_最終版_提出用.csv"]);
    assert.deepEqual(m.attachments[1]?.content, Buffer.from("a,b\n1,2\n"));
    const raw = p.received[0]?.raw.toString("latin1") ?? "";
    assert.ok(raw.split("\r\n").every((l) => l.length <= 998));
  });

  it("delivers a 10 MB attachment intact", async () => {
    const p = await peer({ size: 20 * 1024 * 1024 });
    const big = createRandom(99).bytes(10 * 1024 * 1024);
    const r = await send(p, ca, { message: message({ attachments: [{ filename: "big.bin", content: big }] }) });
    assert.equal(r.outcome.status, "accepted", r.error?.message);
    const m = await p.parsed();
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    assert.equal(m.attachments[0]?.size, big.length);
    assert.equal(sha(m.attachments[0]?.content ?? Buffer.alloc(0)), sha(big));
  });
});

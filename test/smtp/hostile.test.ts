/**
 * Scripted servers doing what no well-behaved server does: injecting plaintext after the 220 to
 * STARTTLS (RFC 3207 §6), refusing EHLO, never greeting, hanging up mid-dialogue, speaking garbage.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { TLSSocket } from "node:tls";
import type { Socket } from "node:net";
import { sendMail } from "../../src/smtp/session.js";
import { transcriptLines } from "../../src/smtp/transcript.js";
import { startScriptedPeer, testCert, type ScriptedPeer } from "./peer.js";

const MESSAGE = Buffer.from("Subject: t\r\n\r\nhello\r\n.dot\r\n");

/** A minimal SMTP server: `answer(line)` returns the reply text for each command. */
function smtpScript(socket: Socket, greeting: string, answer: (line: string, s: Socket) => string | undefined | "upgrade") {
  let buf = "";
  let inData = false;
  let data = "";
  const onData = (d: Buffer): void => {
    buf += d.toString("latin1");
    let i: number;
    while ((i = buf.indexOf("\r\n")) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (inData) {
        if (line === ".") {
          inData = false;
          socket.write(`250 2.0.0 Ok: queued as SCRIPT (${data.length})\r\n`);
          data = "";
        } else data += `${line}\n`;
        continue;
      }
      const reply = answer(line, socket);
      if (reply === "upgrade") {
        socket.off("data", onData);
        return;
      }
      if (reply === undefined) continue;
      if (reply.startsWith("354")) inData = true;
      socket.write(reply);
    }
  };
  socket.on("data", onData);
  if (greeting !== "") socket.write(greeting);
}

function basic(line: string): string | undefined {
  const cmd = line.split(/[ :]/)[0]?.toUpperCase();
  switch (cmd) {
    case "EHLO":
      return "250-script.test\r\n250 SIZE 100000\r\n";
    case "HELO":
      return "250 script.test\r\n";
    case "MAIL":
    case "RCPT":
      return "250 2.1.0 Ok\r\n";
    case "DATA":
      return "354 End data with <CR><LF>.<CR><LF>\r\n";
    case "QUIT":
      return "221 2.0.0 Bye\r\n";
    default:
      return "502 5.5.2 Error: command not recognized\r\n";
  }
}

describe("sendMail against hostile scripted servers", () => {
  const peers: ScriptedPeer[] = [];
  after(async () => {
    await Promise.all(peers.map((p) => p.close()));
  });
  const start = async (fn: (s: Socket) => void) => {
    const p = await startScriptedPeer(fn);
    peers.push(p);
    return p;
  };

  it("discards replies injected in plaintext after the 220 to STARTTLS (STARTTLS command injection, RFC 3207 §6)", async () => {
    const { key, cert } = await testCert();
    const p = await start((socket) => {
      smtpScript(socket, "220 hostile.test ESMTP\r\n", (line, s) => {
        if (line.startsWith("EHLO")) return "250-hostile.test\r\n250 STARTTLS\r\n";
        if (line === "STARTTLS") {
          // The attacker's payload rides in the same segment as the 220.
          s.write("220 2.0.0 Ready to start TLS\r\n250-injected.test\r\n250-AUTH PLAIN\r\n250 XINJECTED\r\n354 go ahead\r\n");
          const secure = new TLSSocket(s, { isServer: true, key, cert });
          secure.on("error", () => {});
          smtpScript(secure, "", (l2) => (l2.startsWith("EHLO") ? "250-real.test\r\n250 SIZE 100000\r\n" : basic(l2)));
          return "upgrade";
        }
        return basic(line);
      });
    });
    const r = await sendMail({ host: "127.0.0.1", port: p.port, from: "a@x.test", recipients: ["b@x.test"], message: MESSAGE, ca: cert, timeoutMs: 20_000 });
    assert.equal(r.outcome.status, "accepted", r.error?.message);
    assert.equal(r.outcome.tls, true);
    assert.equal(r.outcome.capabilities?.domain, "real.test");
    assert.ok(!r.outcome.capabilities?.keywords.has("XINJECTED"));
    const text = r.transcript.flatMap(transcriptLines).join("\n");
    assert.ok(!text.includes("injected.test"), text);
    assert.match(text, /^\* discarded \d+ bytes received in plaintext after the 220 to STARTTLS/m);
  });

  it("falls back to HELO when EHLO is refused, and reads a multi-line greeting sent byte by byte", async () => {
    const p = await start((socket) => {
      socket.setNoDelay(true);
      const greeting = "220-old.test first line\r\n220-second line\r\n220 ready\r\n";
      for (const ch of greeting) socket.write(ch);
      smtpScript(socket, "", (line) => (line.startsWith("EHLO") ? "500 5.5.1 What?\r\n" : basic(line)));
    });
    const r = await sendMail({ host: "127.0.0.1", port: p.port, from: "a@x.test", recipients: ["b@x.test"], message: MESSAGE, timeoutMs: 20_000 });
    assert.equal(r.outcome.status, "accepted", r.error?.message);
    assert.equal(r.outcome.tls, false);
    const first = r.transcript.find((e) => e.kind === "server");
    assert.deepEqual(first?.kind === "server" ? first.lines : [], ["220-old.test first line", "220-second line", "220 ready"]);
    assert.ok(r.transcript.some((e) => e.kind === "client" && e.text.startsWith("HELO ")));
    // No SIZE= without EHLO: HELO servers know no extensions.
    assert.ok(r.transcript.some((e) => e.kind === "client" && e.text === "MAIL FROM:<a@x.test>"));
  });

  it("times out with ERR_TIMEOUT naming the greeting when the server never speaks", async () => {
    const p = await start(() => {});
    const r = await sendMail({ host: "127.0.0.1", port: p.port, from: "a@x.test", recipients: ["b@x.test"], message: MESSAGE, timeoutMs: 300, connectTimeoutMs: 20_000 });
    assert.equal(r.error?.code, "ERR_TIMEOUT");
    assert.match(r.error?.message ?? "", /waiting for the greeting/);
    assert.equal(r.outcome.phase, "greeting");
  });

  it("reports a server that hangs up during RCPT TO as ERR_CONNECT", async () => {
    const p = await start((socket) => smtpScript(socket, "220 x\r\n", (line, s) => (line.startsWith("RCPT") ? (s.destroy(), undefined) : basic(line))));
    const r = await sendMail({ host: "127.0.0.1", port: p.port, tls: "none", from: "a@x.test", recipients: ["b@x.test"], message: MESSAGE, timeoutMs: 20_000 });
    assert.equal(r.error?.code, "ERR_CONNECT");
    assert.equal(r.outcome.phase, "RCPT TO");
    assert.equal(r.outcome.status, "failed");
  });

  it("stops at a 421 greeting without sending QUIT and calls it temporary", async () => {
    const p = await start((socket) => smtpScript(socket, "421 4.3.2 Too busy, try later\r\n", basic));
    const r = await sendMail({ host: "127.0.0.1", port: p.port, from: "a@x.test", recipients: ["b@x.test"], message: MESSAGE, timeoutMs: 20_000 });
    assert.equal(r.outcome.status, "temporary-failure");
    assert.ok(!r.transcript.some((e) => e.kind === "client"));
  });

  it("reports garbage instead of a reply as ERR_PROTOCOL", async () => {
    const p = await start((socket) => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n"));
    const r = await sendMail({ host: "127.0.0.1", port: p.port, from: "a@x.test", recipients: ["b@x.test"], message: MESSAGE, timeoutMs: 20_000 });
    assert.equal(r.error?.code, "ERR_PROTOCOL");
  });

  it("reads the server's refusal when it answers and hangs up in the middle of a large message", async () => {
    const p = await start((socket) => {
      let inData = false;
      let got = 0;
      smtpScript(socket, "220 x\r\n", (line, s) => {
        if (line.startsWith("EHLO")) return "250 x\r\n"; // no SIZE: the server finds out itself
        if (line !== "DATA") return basic(line);
        inData = true;
        s.write("354 go\r\n");
        s.on("data", (d: Buffer) => {
          got += d.length;
          if (inData && got > 100_000) {
            inData = false;
            s.end("552 5.3.4 Message size exceeds fixed limit\r\n", () => s.destroy());
          }
        });
        return "upgrade";
      });
    });
    const big = Buffer.from(`Subject: big\r\n\r\n${`${"x".repeat(70)}\r\n`.repeat(200_000)}`);
    const r = await sendMail({ host: "127.0.0.1", port: p.port, tls: "none", from: "a@x.test", recipients: ["b@x.test"], message: big, timeoutMs: 20_000 });
    assert.equal(r.outcome.status, "permanent-failure", r.error?.message);
    assert.equal(r.outcome.reply?.code, 552);
    assert.equal(r.outcome.phase, "end of data");
  });

  it("reports a refused connection as ERR_CONNECT", async () => {
    const p = await start(() => {});
    const port = p.port;
    await p.close();
    peers.splice(peers.indexOf(p), 1);
    const r = await sendMail({ host: "127.0.0.1", port, from: "a@x.test", recipients: ["b@x.test"], message: MESSAGE, timeoutMs: 20_000 });
    assert.equal(r.error?.code, "ERR_CONNECT");
  });
});

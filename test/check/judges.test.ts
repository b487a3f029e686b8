/** The pure parts of the graders: HTTP and SMTP readings, ping output, bounds, ports, escaping. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { firstDifference, parseHttpMessage, responseProblems, statusOf } from "../../src/check/http-message.js";
import { isBase64, parseDialogue } from "../../src/check/smtp-transcript.js";
import { pingLines, readRtt, readStatistics } from "../../src/check/ping-output.js";
import { binomialBounds } from "../../src/check/binomial.js";
import { portsInTable } from "../../src/check/ports.js";
import { substitute } from "../../src/check/runner.js";
import { judgeAll, allRequiredPass, pass, type Requirement } from "../../src/check/requirement.js";
import type { TapChunk } from "../../src/check/tap.js";
import { escapeText } from "../../src/render/text.js";

test("a response with bare LF line ends and a short body is described, not refused", () => {
  const m = parseHttpMessage(Buffer.from("HTTP/1.1 200 OK\nContent-Length: 10\n\nabc"));
  assert.ok(m !== undefined);
  assert.equal(statusOf(m), 200);
  assert.deepEqual(responseProblems(m), ["lines end with a bare LF instead of CRLF", "Content-Length says 10 but 3 body bytes came"]);
  assert.equal(parseHttpMessage(Buffer.alloc(0)), undefined);
  assert.equal(statusOf(parseHttpMessage(Buffer.from("hello\r\n\r\n"))), undefined);
});

test("firstDifference says whether bytes are missing, extra or different", () => {
  assert.equal(firstDifference(Buffer.from("abc"), Buffer.from("abc")), undefined);
  assert.match(firstDifference(Buffer.from("ab"), Buffer.from("abc")) ?? "", /2 of 3 bytes came/);
  assert.match(firstDifference(Buffer.from("abcd"), Buffer.from("abc")) ?? "", /1 bytes more/);
  assert.match(firstDifference(Buffer.from("axc"), Buffer.from("abc")) ?? "", /at byte 1/);
});

const chunk = (dir: "c2s" | "s2c", at: number, text: string): TapChunk => ({ dir, at, data: Buffer.from(text) });

test("the SMTP dialogue counts the replies a client had before each command, and reads DATA up to the dot", () => {
  const d = parseDialogue([
    chunk("s2c", 1, "220 hi\r\n"),
    chunk("c2s", 2, "EHLO me\r\n"),
    chunk("s2c", 3, "250-hi\r\n250 AUTH LOGIN\r\n"),
    chunk("c2s", 4, "AUTH LOGIN\r\n"),
    chunk("s2c", 5, "334 VXNlcm5hbWU6\r\n"),
    chunk("c2s", 6, "dXNlcg==\r\ncGFzcw==\r\n"),
    chunk("s2c", 7, "334 UGFzc3dvcmQ6\r\n"),
    chunk("s2c", 8, "235 ok\r\n"),
    chunk("c2s", 9, "DATA\r\n"),
    chunk("s2c", 10, "354 go\r\n"),
    chunk("c2s", 11, "Subject: x\r\n\r\nQUIT\r\n.\r\nQUIT\r\n"),
  ]);
  assert.deepEqual(d.commands.map((c) => [c.verb, c.repliesBefore]), [["EHLO", 1], ["AUTH", 2], ["", 3], ["", 3], ["DATA", 5], [".", 6], ["QUIT", 6]]);
  assert.equal(d.replies.length, 6);
  assert.deepEqual(d.replies[1]?.lines, ["250-hi", "250 AUTH LOGIN"]);
  assert.equal(d.dataEnded, true);
  assert.equal(d.data, "Subject: x\r\n\r\nQUIT");
  assert.equal(d.dataBefore354, false);
  assert.equal(isBase64("dXNlcg=="), true);
  assert.equal(isBase64("user"), true);
  assert.equal(isBase64("us er"), false);
  assert.equal(isBase64("abc"), false);
});

test("RTTs are read with their unit, and without one both readings are kept", () => {
  assert.deepEqual(readRtt("Reply from 127.0.0.1: PING 1, RTT=0.42 ms")?.ms, [0.42]);
  assert.deepEqual(readRtt("RTT: 0.0005 seconds")?.ms, [0.5]);
  assert.deepEqual(readRtt("round trip time 3")?.ms, [3, 3000]);
  assert.equal(readRtt("no number here"), undefined);
});

test("ping lines: replies by their upper-case echo, timeouts, and the echoed time never taken for the RTT", () => {
  const out = "Ping 1 sent\nReply from 127.0.0.1: PING 1 2026-12-03 07:49:52, RTT=0.5 ms\nRequest timed out\n--- statistics ---\nmin/avg/max = 0.5/0.5/0.5 ms\n";
  const ls = pingLines(out, ["PING 1 2026-12-03 07:49:52"]);
  assert.deepEqual(ls.map((l) => [l.kind, l.seq, l.rtt?.ms]), [["reply", 1, [0.5]], ["timeout", undefined, undefined]]);
});

test("statistics in ping's slash form and as one keyword per line", () => {
  const a = readStatistics("10 packets transmitted, 8 received, 20% packet loss\nrtt min/avg/max/mdev = 0.1/0.2/0.3/0.05 ms\n");
  assert.deepEqual([a.min, a.avg, a.max, a.lossPercent, a.unitFactor], [0.1, 0.2, 0.3, 20, [1]]);
  const b = readStatistics("Minimum RTT: 0.0001 s\nMaximum RTT: 0.0003 s\nAverage RTT: 0.0002 s\nPacket loss rate: 30.0%\n");
  assert.deepEqual([b.min, b.avg, b.max, b.lossPercent, b.unitFactor], [0.0001, 0.0002, 0.0003, 30, [1000]]);
  assert.equal(readStatistics("Reply from x: PING 1 a\n").min, undefined);
});

test("the loss bounds over 200 pings accept the lab's 4/11 and refuse no loss at all", () => {
  const { low, high } = binomialBounds(200, 0.25, 0.4);
  assert.ok(low > 0 && low <= 35, `low ${low}`);
  assert.ok(high >= 73 && high < 200, `high ${high}`);
});

test("listening ports are read from /proc/net/tcp by state", () => {
  const table = "  sl  local_address rem_address   st\n   0: 00000000:1F90 00000000:0000 0A 00000000\n   1: 0100007F:1F91 0100007F:A000 01 00000000\n";
  assert.deepEqual([...portsInTable(table, "0A")], [8080]);
});

test("placeholders are substituted in every word; unknown ones stay", () => {
  assert.deepEqual(substitute(["python3", "c.py", "{host}:{port}", "{file}", "{other}"], { host: "127.0.0.1", port: "5", file: "f" }), ["python3", "c.py", "127.0.0.1:5", "f", "{other}"]);
});

test("a judge that throws fails its requirement instead of crashing the check", () => {
  const reqs: Requirement<number>[] = [
    { id: "a", text: "a", level: "required", judge: () => pass("fine") },
    { id: "b", text: "b", level: "optional", judge: () => { throw new Error("boom"); } },
  ];
  const out = judgeAll(reqs, 1);
  assert.equal(out[1]?.verdict.pass, false);
  assert.match(out[1]?.verdict.evidence ?? "", /boom/);
  assert.equal(allRequiredPass(out), true);
});

test("escape sequences a student program printed never reach the terminal", () => {
  assert.equal(escapeText("ok\x1b[2J\x07 \u202etxt 中文 ✓\\n"), "ok\\x1b[2J\\x07 \\u202etxt 中文 ✓\\n");
});

/** The dashboard's live ladders, built from the services' LabEvents (pure). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { labLadder, LAB_LADDER_EVENTS } from "../../src/render/lab-ladder.js";
import { renderLadderSvg, type MessageRow } from "../../src/render/ladder.js";
import type { LabEvent } from "../../src/lab/service.js";

const ev = (service: string, kind: string, at: number, data: Record<string, unknown>, text = `${kind} event`): LabEvent => ({ service, kind, at, text, data });
const messages = (rows: ReturnType<typeof labLadder>["rows"]): MessageRow[] => rows.filter((r): r is MessageRow => r.kind === "message");

test("udp-ping: an echoed datagram is a request and its answer; a dropped one ends in a cross, marked as simulated loss", () => {
  const l = labLadder("udp-ping", [
    ev("udp-ping", "datagram", 1000, { from: "127.0.0.1:5000", bytes: 40, dropped: false, impairment: "delayed 20 ms" }),
    ev("udp-ping", "datagram", 1200, { from: "127.0.0.1:5000", bytes: 40, dropped: true, impairment: null }),
  ]);
  const m = messages(l.rows);
  assert.deepEqual(m.map((r) => [r.from, r.to, r.fate ?? "delivered", r.at]), [[0, 1, "delivered", 0], [1, 0, "delivered", 0], [0, 1, "lost", 200]]);
  assert.equal(m[1]?.decision, "delayed 20 ms", "the impairment is written under the answer");
  assert.equal(m[2]?.decision, "dropped by simulated loss");
});

test("proxy: a miss draws the inferred origin fetch as a third lifeline, a hit does not; Cache-Status is the decision", () => {
  const l = labLadder("proxy", [
    ev("proxy", "request", 0, { method: "GET", url: "http://127.0.0.1:8080/", status: 200, cacheStatus: "MISS" }),
    ev("proxy", "request", 10, { method: "GET", url: "http://127.0.0.1:8080/", status: 200, cacheStatus: "HIT" }),
  ]);
  assert.equal(l.lifelines.length, 3);
  const m = messages(l.rows);
  assert.deepEqual(m.map((r) => `${r.from}>${r.to}${r.fate === "inferred" ? "?" : ""}`), ["0>1", "1>2?", "2>1?", "1>0", "0>1", "1>0"]);
  assert.equal(m[3]?.decision, "MISS");
  assert.equal(m[5]?.decision, "HIT");
});

test("heartbeat: heartbeats are arrows with their delay, losses and stops are warning notes", () => {
  const l = labLadder("heartbeat", [
    ev("heartbeat", "heartbeat", 0, { client: "web-1", seq: 4, delayMs: 0.8 }),
    ev("heartbeat", "lost", 5, {}, "lost seq 5-6 from web-1"),
  ]);
  assert.equal(messages(l.rows)[0]?.decision, "one-way delay 0.8 ms");
  assert.deepEqual(l.rows[1], { kind: "note", text: "lost seq 5-6 from web-1", tone: "warn", at: 5 });
});

test("only the last exchanges are drawn, and a peer's text cannot break the picture", () => {
  const many = Array.from({ length: 30 }, (_, i) => ev("http", "request", i, { method: "GET", path: `/p${i}`, status: 200, bytes: 1 }));
  const l = labLadder("http", many);
  assert.equal(messages(l.rows).length, 2 * LAB_LADDER_EVENTS);
  assert.match(messages(l.rows)[0]?.lines[0] ?? "", /\/p18$/);
  const hostile = labLadder("mail", [ev("mail", "message", 0, { from: "a@x", to: "b@y", subject: "<script>alert(1)</script>\u001b[31m" })]);
  const svg = renderLadderSvg(hostile);
  assert.doesNotMatch(svg, /<script>/);
  assert.ok(!svg.includes("\u001b"), "no raw escape character");
  assert.equal(labLadder("udp-echo", []).rows[0]?.kind, "note", "an empty ladder says how to fill it");
});

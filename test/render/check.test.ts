import { test } from "node:test";
import assert from "node:assert/strict";
import { renderCheckedLine, renderCsv, renderMarkdown, renderReport } from "../../src/render/check.js";
import type { CheckReport, Outcome } from "../../src/check/requirement.js";
import type { LabCheck } from "../../src/check/lab.js";

const outcomes: Outcome[] = [
  { id: "reply", text: "prints the reply", level: "required", verdict: { pass: true, evidence: "reply: hi" } },
  { id: "retry", text: "retransmits", level: "required", verdict: { pass: false, evidence: "one send\x1b[2J", hint: "back off" } },
  { id: "ipv6", text: "IPv6", level: "optional", verdict: { pass: false, evidence: "no browser", skipped: true } },
];
const report: CheckReport = {
  lab: "udp-echo-client", seed: 7, commands: ["python3 client.py"], ok: false, outcomes,
  runs: [{ exitCode: null, signal: "SIGKILL", killed: true, timedOut: true, durationMs: 5000 }],
};

test("check: one submission's report, the student's output escaped, and its line in a --batch run", () => {
  assert.equal(renderReport(report), [
    "wirekit check udp-echo-client (seed 7)",
    "  ran: python3 client.py",
    "  killed at the time limit after 5.0 s",
    "✓ required  prints the reply  — reply: hi",
    "✗ required  retransmits       — one send\\x1b[2J  hint: back off",
    "– optional  IPv6              — no browser",
    "FAIL: required 1/2, optional 0/1",
    "",
  ].join("\n"));
  assert.equal(renderCheckedLine({ student: "bob\r", report }), "checked bob\\r: required 1/2, optional 0/1\n");
});

test("check: the class table in Markdown and CSV, with the same scores as the report's total", () => {
  const lab = { name: "udp-echo-client", requirements: outcomes.map((o) => ({ id: o.id, level: o.level })) } as unknown as LabCheck;
  const rows = [{ student: "a|b", report }];
  assert.equal(renderMarkdown(lab, rows, 7), "udp-echo-client, seed 7\n\n| student | reply | retry | ipv6 (opt) | required | optional |\n|---|---|---|---|---|---|\n| a\\|b | ✓ | ✗ | – | 1/2 | 0/1 |\n");
  assert.equal(renderCsv(lab, rows), "student,reply,retry,ipv6,required,optional\r\na|b,1,0,,1/2,0/1\r\n");
});

/**
 * `wirekit check`'s output: the list of labs, the report on one submission (text and JSON), the
 * line per student of a --batch run and the class table (Markdown, CSV). Pure; the student's
 * command and output are escaped.
 */
import type { LabCheck } from "../check/lab.js";
import type { CheckReport, Outcome } from "../check/requirement.js";
import type { BatchRow } from "../check/session.js";
import { escapeText, seconds1, snakeKeys } from "./text.js";

/** `wirekit check --list`. */
export function renderList(labs: readonly LabCheck[]): string {
  return labs
    .map((l) => {
      const reqs = l.requirements.map((r) => `    ${r.level === "required" ? "required" : "optional"}  ${r.id.padEnd(16)} ${r.text}`).join("\n");
      return `${l.name} — ${l.summary}\n  the student writes the ${l.role}; time limit ${l.defaultTimeoutMs / 1000} s${l.netns ? "; --netns" : ""}\n  ${l.example}\n${reqs}\n`;
    })
    .join("\n");
}

function mark(o: Outcome): string {
  return o.verdict.pass ? "✓" : o.verdict.skipped === true ? "–" : "✗";
}

function score(outcomes: readonly Outcome[], level: "required" | "optional"): string {
  const of = outcomes.filter((o) => o.level === level);
  return `${of.filter((o) => o.verdict.pass).length}/${of.length}`;
}

function totalsText(outcomes: readonly Outcome[]): string {
  return `required ${score(outcomes, "required")}, optional ${score(outcomes, "optional")}`;
}

/** The line `--batch` prints as each submission is checked (with its newline): "checked alice: required 3/4, optional 1/2". */
export function renderCheckedLine(row: BatchRow): string {
  return `checked ${escapeText(row.student)}: ${totalsText(row.report.outcomes)}\n`;
}

/** The report on one submission: a line per requirement, then the total. */
export function renderReport(report: CheckReport): string {
  const lines = [`wirekit check ${report.lab} (seed ${report.seed})`];
  for (const c of report.commands) lines.push(`  ran: ${escapeText(c)}`);
  for (const r of report.runs) {
    if (r.spawnError !== undefined) lines.push(`  could not start: ${escapeText(r.spawnError)}`);
    else if (r.timedOut) lines.push(`  killed at the time limit after ${seconds1(r.durationMs)}`);
  }
  const width = Math.max(...report.outcomes.map((o) => o.text.length));
  for (const o of report.outcomes) {
    const v = o.verdict;
    const hint = !v.pass && v.hint !== undefined ? `  hint: ${v.hint}` : "";
    lines.push(`${mark(o)} ${o.level.padEnd(8)}  ${o.text.padEnd(width)}  — ${escapeText(v.evidence)}${hint}`);
  }
  lines.push(`${report.ok ? "PASS" : "FAIL"}: ${totalsText(report.outcomes)}`);
  return `${lines.join("\n")}\n`;
}

/** The JSON document of one submission. */
export function reportJson(report: CheckReport, student?: string): unknown {
  return snakeKeys({
    ...(student === undefined ? {} : { student }),
    lab: report.lab,
    seed: report.seed,
    ok: report.ok,
    commands: report.commands,
    runs: report.runs,
    requirements: report.outcomes.map((o) => ({ id: o.id, text: o.text, level: o.level, pass: o.verdict.pass, skipped: o.verdict.skipped === true, evidence: o.verdict.evidence, ...(o.verdict.hint === undefined || o.verdict.pass ? {} : { hint: o.verdict.hint }) })),
  });
}

/** The class table in Markdown: a row per student, a column per requirement (✓ ✗ –), the totals. */
export function renderMarkdown(lab: LabCheck, rows: readonly BatchRow[], seed: number): string {
  const cell = (s: string): string => escapeText(s).replace(/\|/g, "\\|");
  const head = ["student", ...lab.requirements.map((r) => (r.level === "optional" ? `${r.id} (opt)` : r.id)), "required", "optional"];
  const out = [`${lab.name}, seed ${seed}`, "", `| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const row of rows) {
    out.push(`| ${[cell(row.student), ...row.report.outcomes.map(mark), score(row.report.outcomes, "required"), score(row.report.outcomes, "optional")].join(" | ")} |`);
  }
  return `${out.join("\n")}\n`;
}

/** The class table as CSV (RFC 4180): 1 pass, 0 fail, empty when not checked. */
export function renderCsv(lab: LabCheck, rows: readonly BatchRow[]): string {
  const field = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const head = ["student", ...lab.requirements.map((r) => r.id), "required", "optional"];
  const lines = [head.join(",")];
  for (const row of rows) {
    const cells = row.report.outcomes.map((o) => (o.verdict.pass ? "1" : o.verdict.skipped === true ? "" : "0"));
    lines.push([field(escapeText(row.student)), ...cells, score(row.report.outcomes, "required"), score(row.report.outcomes, "optional")].join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

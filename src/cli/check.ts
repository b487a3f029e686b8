/** `wirekit check LAB -- COMMAND`: parse, run the grader, print the verdicts or the class table. */
import { randomInt } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { usageError } from "../core/errors.js";
import { createLabs } from "../check/labs/index.js";
import type { LabCheck } from "../check/lab.js";
import type { CheckReport, Outcome } from "../check/requirement.js";
import { checkBatch, checkSubmission, type BatchRow } from "../check/session.js";
import { parseForm } from "./spec.js";
import { checkForm, checkSpec } from "./specs/check.js";
import type { CliContext } from "./context.js";
import { closest } from "./suggest.js";
import { escapeText, snakeKeys } from "../render/text.js";
import { studentNamespaceUnavailable } from "../check/netns.js";

export const spec = checkSpec;

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  // The student's command comes after "--" only, so its own options never reach this parser.
  const dd = argv.indexOf("--");
  const { values, positionals } = parseForm(checkForm, dd === -1 ? argv : argv.slice(0, dd));
  if (positionals.length > 1) throw usageError(`unexpected argument '${positionals[1] ?? ""}': put the student's command after --`);
  const command = dd === -1 ? [] : argv.slice(dd + 1);
  const labs = createLabs({ browser: !values["no-browser"], starttls: values.starttls, ...(values.message === undefined ? {} : { message: values.message }) });
  if (values.list) {
    ctx.stdout.write(renderList(labs));
    return 0;
  }
  if (values.dir !== undefined && (!existsSync(values.dir) || !statSync(values.dir).isDirectory())) throw usageError(`--dir: '${values.dir}' is not a directory`);
  const name = positionals[0];
  if (name === undefined) throw usageError("missing lab (see wirekit check --list)");
  const lab = labs.find((l) => l.name === name);
  if (lab === undefined) {
    const near = closest(name, labs.map((l) => l.name));
    throw usageError(`unknown lab '${name}' (${near === undefined ? "see wirekit check --list" : `did you mean ${near}?`})`);
  }
  if (command.length === 0) throw usageError(`missing COMMAND: wirekit check ${lab.name} -- ${lab.example.split(" -- ")[1] ?? "COMMAND"}`);
  if (values.message !== undefined && !(values.message.includes("{seq}") && values.message.includes("{time}"))) throw usageError("--message needs {seq} and {time}: --message 'Heartbeat {seq} {time}'");
  if (values.csv && values.batch === undefined) throw usageError("--csv only makes sense with --batch");
  if (values.netns) {
    if (!lab.netns) throw usageError(`--netns: not for ${lab.name} (its counterpart is the host's own kernel; task 3 runs in a namespace of its own anyway)`);
    const why = studentNamespaceUnavailable();
    if (why !== undefined) throw usageError(`--netns ${why}`);
  }
  const timeoutMs = values.timeout ?? lab.defaultTimeoutMs;
  const seed = values.seed ?? randomInt(0, 2 ** 31);
  if (values.batch !== undefined) {
    const dir = values.batch;
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw usageError(`--batch: '${dir}' is not a directory`);
    if (values.dir !== undefined) throw usageError("--dir and --batch cannot be used together");
    const rows = await checkBatch(lab, dir, {
      command,
      timeoutMs,
      seed,
      netns: values.netns,
      jobs: values.jobs,
      onDone: (row) => {
        if (values.json) ctx.stdout.write(`${JSON.stringify(reportJson(row.report, row.student))}\n`);
        else ctx.stderr.write(`checked ${escapeText(row.student)}: ${totalsText(row.report.outcomes)}\n`);
      },
    });
    if (!values.json) ctx.stdout.write(values.csv ? renderCsv(lab, rows) : renderMarkdown(lab, rows, seed));
    return rows.every((r) => r.report.ok) ? 0 : 1;
  }
  const report = await checkSubmission(lab, { command, dir: values.dir ?? process.cwd(), copy: true, timeoutMs, seed, netns: values.netns });
  ctx.stdout.write(values.json ? `${JSON.stringify(reportJson(report), null, 2)}\n` : renderReport(report));
  return report.ok ? 0 : 1;
}

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

function totalsText(outcomes: readonly Outcome[]): string {
  const req = outcomes.filter((o) => o.level === "required");
  const opt = outcomes.filter((o) => o.level === "optional");
  return `required ${req.filter((o) => o.verdict.pass).length}/${req.length}, optional ${opt.filter((o) => o.verdict.pass).length}/${opt.length}`;
}

/** The report on one submission: a line per requirement, then the total. */
export function renderReport(report: CheckReport): string {
  const lines = [`wirekit check ${report.lab} (seed ${report.seed})`];
  for (const c of report.commands) lines.push(`  ran: ${escapeText(c)}`);
  for (const r of report.runs) {
    if (r.spawnError !== undefined) lines.push(`  could not start: ${escapeText(r.spawnError)}`);
    else if (r.timedOut) lines.push(`  killed at the time limit after ${(r.durationMs / 1000).toFixed(1)} s`);
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

function score(outcomes: readonly Outcome[], level: "required" | "optional"): string {
  const of = outcomes.filter((o) => o.level === level);
  return `${of.filter((o) => o.verdict.pass).length}/${of.length}`;
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

/** `wirekit check LAB -- COMMAND`: parse, run the grader, print the verdicts or the class table. */
import { randomInt } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { usageError } from "../core/errors.js";
import { createLabs } from "../check/labs/index.js";
import { checkBatch, checkSubmission } from "../check/session.js";
import { parseForm } from "./spec.js";
import { checkForm, checkSpec } from "./specs/check.js";
import type { CliContext } from "./context.js";
import { closest } from "./suggest.js";
import { renderCheckedLine, renderCsv, renderList, renderMarkdown, renderReport, reportJson } from "../render/check.js";
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
        else ctx.stderr.write(renderCheckedLine(row));
      },
    });
    if (!values.json) ctx.stdout.write(values.csv ? renderCsv(lab, rows) : renderMarkdown(lab, rows, seed));
    return rows.every((r) => r.report.ok) ? 0 : 1;
  }
  const report = await checkSubmission(lab, { command, dir: values.dir ?? process.cwd(), copy: true, timeoutMs, seed, netns: values.netns });
  ctx.stdout.write(values.json ? `${JSON.stringify(reportJson(report), null, 2)}\n` : renderReport(report));
  return report.ok ? 0 : 1;
}

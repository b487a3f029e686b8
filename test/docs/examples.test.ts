/**
 * The documentation's runnable examples, run for real on loopback.
 *
 * A fenced block in README.md or docs/*.md marked by the line `<!-- runnable -->` just above it
 * holds one or more `$ wirekit ...` commands, each followed by the output it printed. The marker
 * `<!-- runnable: lab -->` runs the block with `wirekit lab` (default ports) running beside it.
 * A command whose documented output ends with "Press Ctrl-C to stop." is stopped with SIGINT once
 * that line appears.
 *
 * The output is compared by shape, not byte for byte: numbers, times and addresses differ from run
 * to run (and the UDP pinger drops pings at random). Each line is reduced to its shape (digits
 * become '#'), and every line the command printed must have a shape the documentation shows, while
 * the first documented line must be the first printed. So a changed message, a new line or a
 * renamed field fails the test, and a different RTT does not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

interface Example {
  file: string;
  line: number;
  withLab: boolean;
  command: string;
  expected: string[];
}

/** Every runnable example of one Markdown file. */
export function extractExamples(file: string, text: string): Example[] {
  const lines = text.split("\n");
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!-- runnable(?:: (\w+))? -->$/.exec(lines[i] ?? "");
    if (!marker) continue;
    const withLab = marker[1] === "lab";
    let j = i + 1;
    if (!(lines[j] ?? "").startsWith("```")) throw new Error(`${file}:${i + 1}: a runnable marker must stand right above a code block`);
    j++;
    let current: Example | undefined;
    for (; j < lines.length && !(lines[j] ?? "").startsWith("```"); j++) {
      const l = lines[j] ?? "";
      if (l.startsWith("$ ")) {
        if (current) out.push(current);
        let command = l.slice(2);
        while (command.endsWith("\\") && j + 1 < lines.length) command = `${command.slice(0, -1).trimEnd()} ${(lines[++j] ?? "").trim()}`;
        current = { file, line: j + 1, withLab, command, expected: [] };
      } else if (current) current.expected.push(l);
    }
    if (current) out.push(current);
    i = j;
  }
  return out;
}

/**
 * "RTT=0.707 ms" and "RTT=13.686 ms" have one shape; so have "delay=0.152 ms" and "delay=-0.081 ms"
 * (a heartbeat's delay is a difference of two processes' clocks, which can come out below zero):
 * a minus sign that starts a number, after '=', '(' or a space, is part of the number.
 */
export function shape(line: string): string {
  return line
    .replace(/\b[0-9a-f]{8,}\b/g, "#")
    .replace(/(^|[=(\s])-(?=\d)/g, "$1")
    .replace(/\d+(?:[.:]\d+)*/g, "#")
    .replace(/\s+/g, " ")
    .trim();
}

/** Split a shell-ish command line into words (double and single quotes). */
function words(command: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(command); m; m = re.exec(command)) out.push(m[1] ?? m[2] ?? m[3] ?? "");
  return out;
}

function run(example: Example): Promise<string> {
  const argv = words(example.command);
  assert.equal(argv[0], "wirekit", `${example.file}:${example.line}: a runnable example starts with 'wirekit'`);
  const stopAt = example.expected.map((l) => l.trim()).includes("Press Ctrl-C to stop.") ? "Press Ctrl-C to stop." : undefined;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...argv.slice(1)], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (stopAt !== undefined && stdout.includes(stopAt)) child.kill("SIGINT");
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      if (stopAt !== undefined) stdout = stdout.slice(0, stdout.indexOf(stopAt) + stopAt.length);
      resolve(stdout + (stderr === "" ? "" : `\n[stderr] ${stderr}`));
    });
  });
}

function startLab(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "lab", "--no-dashboard"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("Press Ctrl-C to stop.")) resolve(child);
    });
    child.on("error", reject);
    child.on("close", (code) => reject(new Error(`wirekit lab exited with ${code}: ${out}`)));
  });
}

function docFiles(): string[] {
  return ["README.md", ...readdirSync(`${root}docs`).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
}

test("the example extractor reads commands, continuations and their output", () => {
  const md = "x\n<!-- runnable: lab -->\n```\n$ wirekit a \\\n    b\nout 1\n\n$ wirekit c\nout 2\n```\n";
  const ex = extractExamples("t.md", md);
  assert.deepEqual(
    ex.map((e) => [e.command, e.expected, e.withLab]),
    [
      ["wirekit a b", ["out 1", ""], true],
      ["wirekit c", ["out 2"], true],
    ],
  );
  assert.equal(shape("Reply from 127.0.0.1: PING 1 2026-12-02 20:31:53.590, RTT=1.337 ms"), "Reply from #: PING # #-#-# #, RTT=# ms");
  assert.equal(shape("seq=3 delay=-0.081 ms"), shape("seq=12 delay=0.152 ms"));
});

test("every runnable example in README.md and docs/ prints what the documentation shows", async (t) => {
  const examples = docFiles().flatMap((f) => extractExamples(f, readFileSync(`${root}${f}`, "utf8")));
  assert.ok(examples.length >= 4, "the README's quick start is runnable");
  // Examples that need no lab run first, so `wirekit lab --demo` has the default ports to itself.
  const alone = examples.filter((e) => !e.withLab);
  const withLab = examples.filter((e) => e.withLab);
  for (const e of alone) await t.test(`${e.file}:${e.line} ${e.command}`, () => check(e));
  if (withLab.length === 0) return;
  const lab = await startLab();
  try {
    for (const e of withLab) await t.test(`${e.file}:${e.line} ${e.command}`, () => check(e));
  } finally {
    lab.kill("SIGINT");
  }
});

async function check(e: Example): Promise<void> {
  const printed = (await run(e)).split("\n").filter((l) => l.trim() !== "");
  const documented = e.expected.filter((l) => l.trim() !== "");
  const shapes = new Set(documented.map(shape));
  assert.ok(printed.length > 0, `${e.command} printed nothing`);
  assert.equal(shape(printed[0] ?? ""), shape(documented[0] ?? ""), `first line of ${e.command}:\n${printed.join("\n")}`);
  for (const l of printed) assert.ok(shapes.has(shape(l)), `${e.file}:${e.line}: '${l}' has no line of its shape in the documented output of ${e.command}`);
}

/* global process, console, Buffer */
// `npm test`'s last step: run every compiled test file with node's test runner, the slowest first.
// The runner runs a few files at a time in the order it is given them; a slow file started last
// would run alone at the end, so the files listed in scripts/slow-tests.txt (slowest first) go
// first and every other file follows in path order. A listed file that no longer exists is skipped.
// Lint (eslint, about 11 s of CPU) runs beside the tests at a lower priority, so it fills the
// time the tests spend waiting on timers and namespaces instead of adding its own; its report
// prints after the tests', and a lint error fails the run as a failed test does.
// `node --test FILES` sorts its files, so this calls the runner's run() with the same settings as
// `node --test --test-concurrency=3 --test-timeout=180000 --test-reporter=spec`.
import { spawn } from "node:child_process";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Every *.test.js under dir, as paths relative to the project root. */
function testFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith(".test.js")) out.push(relative(root, p));
  }
  return out;
}

if (!existsSync(join(root, "dist/test"))) {
  console.error("scripts/test.mjs: no dist/test (run npm run build)");
  process.exit(1);
}
const all = testFiles(join(root, "dist/test")).sort();
const present = new Set(all);
const slow = readFileSync(join(root, "scripts/slow-tests.txt"), "utf8")
  .split("\n")
  .map((l) => l.replace(/#.*/, "").trim())
  .filter((l) => l !== "" && present.has(l));
const first = new Set(slow);
const files = [...slow, ...all.filter((f) => !first.has(f))];

const eslint = join(root, "node_modules/eslint/bin/eslint.js");
const lintOut = [];
const lint = new Promise((resolve) => {
  const p = spawn("nice", ["-n", "10", process.execPath, eslint, "."], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  p.stdout.on("data", (b) => lintOut.push(b));
  p.stderr.on("data", (b) => lintOut.push(b));
  p.on("error", (err) => resolve({ code: 1, text: `eslint did not start: ${err.message}\n` }));
  p.on("close", (code) => resolve({ code, text: Buffer.concat(lintOut).toString() }));
});

const stream = run({ files: files.map((f) => join(root, f)), concurrency: 3, timeout: 180_000 });
// Like node --test: any failed test (a todo excepted), or a file that failed to run, fails the run.
stream.on("test:fail", (data) => {
  if (!data.todo) process.exitCode = 1;
});
const out = stream.compose(spec);
out.pipe(process.stdout, { end: false });
out.on("end", async () => {
  const { code, text } = await lint;
  if (code !== 0) {
    process.stdout.write(`\nlint (eslint .) failed:\n${text}`);
    process.exitCode = 1;
  } else process.stdout.write("\nlint (eslint .): clean\n");
});

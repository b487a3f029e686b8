/* global process, console */
// `npm test`'s last step: run every compiled test file with node's test runner, the slowest first.
// The runner starts files in the order given, a few at a time; a slow file started last would run
// alone at the end, so the files listed in scripts/slow-tests.txt (slowest first) go first and
// every other file follows in path order. A listed file that no longer exists is skipped.
import { spawnSync } from "node:child_process";
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

const r = spawnSync(process.execPath, ["--test", "--test-concurrency=3", "--test-timeout=180000", "--test-reporter=spec", ...files], { cwd: root, stdio: "inherit" });
if (r.error) {
  console.error(`scripts/test.mjs: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);

/** `wirekit check` as a teacher runs it: --list, the report, --json, --batch tables, usage errors, the time limit. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCliCapture } from "../helpers/cli.js";
import { PYTHON, STUDENTS } from "./fixtures.js";
import { StudentProcess } from "../../src/check/runner.js";
import { createLabs } from "../../src/check/labs/index.js";
import { LAB_NAMES } from "../../src/cli/specs/check.js";

const batch = runCliCapture(["check", "proxy", "--batch", join(STUDENTS, "proxy"), "--jobs", "4", "--seed", "1", "--", PYTHON, "ProxyServer.py", "{port}"]);
const batchCsv = runCliCapture(["check", "http-client", "--batch", join(STUDENTS, "http-client"), "--csv", "--seed", "1", "--", PYTHON, "client.py", "{host}", "{port}", "{file}"]);
const single = runCliCapture(["check", "web-server", "--no-browser", "--dir", join(STUDENTS, "web-server", "correct"), "--seed", "5", "--", PYTHON, "WebServer.py", "{port}"]);
const json = runCliCapture(["check", "http-client", "--json", "--dir", join(STUDENTS, "http-client", "no-slash"), "--seed", "5", "--", PYTHON, "client.py", "{host}", "{port}", "{file}"]);

test("--batch prints the class table: a row per student, a column per requirement, the totals", async () => {
  const r = await batch;
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stdout,
    `proxy, seed 1

| student | fetch | cache | not-found | big (opt) | post (opt) | validate (opt) | https (opt) | required | optional |
|---|---|---|---|---|---|---|---|---|---|
| correct | ✓ | ✓ | ✓ | ✓ | ✓ | ✗ | ✗ | 3/3 | 2/4 |
| https | ✓ | ✓ | ✓ | ✓ | ✓ | ✗ | ✓ | 3/3 | 3/4 |
| never-caches | ✓ | ✗ | ✓ | ✓ | ✓ | ✗ | ✗ | 2/3 | 2/4 |
| one-shot-tunnel | ✓ | ✓ | ✓ | ✓ | ✓ | ✗ | ✗ | 3/3 | 2/4 |
| truncates | ✓ | ✓ | ✓ | ✗ | ✓ | ✗ | ✗ | 3/3 | 1/4 |
| validating | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ | ✗ | 3/3 | 3/4 |
`,
  );
  assert.match(r.stderr, /checked correct: required 3\/3, optional 2\/4/);
});

test("--batch --csv prints 1, 0 or nothing per requirement", async () => {
  const r = await batchCsv;
  assert.equal(r.stdout, "student,get-request,show-200,show-404,required,optional\r\ncorrect,1,1,1,3/3,0/0\r\nno-slash,0,0,0,0/3,0/0\r\n");
  assert.equal(r.code, 1);
});

test("one submission: a line per requirement with its evidence, then PASS and exit 0", async () => {
  const r = await single;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(lines[0] ?? "", /^wirekit check web-server \(seed 5\)$/);
  assert.match(r.stdout, /✓ required {2}listens on the given port .* — accepted a connection \d+ ms after the start/);
  assert.match(r.stdout, /✓ required {2}the response carries exactly the file's bytes +— \d+ bytes, identical to wirekit-check\.html/);
  assert.match(r.stdout, /– optional {2}the page loads in a real browser \(Chromium\) +— not asked \(--no-browser\)/);
  assert.match(lines.at(-1) ?? "", /^PASS: required 4\/4, optional 1\/2$/);
});

test("--json: one document with every requirement, its evidence and its hint", async () => {
  const r = await json;
  assert.equal(r.code, 1);
  const doc = JSON.parse(r.stdout) as { lab: string; seed: number; ok: boolean; requirements: Array<{ id: string; pass: boolean; hint?: string }> };
  assert.equal(doc.lab, "http-client");
  assert.equal(doc.seed, 5);
  assert.equal(doc.ok, false);
  assert.deepEqual(doc.requirements.map((q) => [q.id, q.pass]), [["get-request", false], ["show-200", false], ["show-404", false]]);
  assert.match(doc.requirements[0]?.hint ?? "", /starts with '\/'/);
});

test("--list shows every lab with its requirements", async () => {
  const r = await runCliCapture(["check", "--list"]);
  assert.equal(r.code, 0);
  assert.deepEqual(createLabs().map((l) => l.name), [...LAB_NAMES]);
  for (const lab of LAB_NAMES) assert.match(r.stdout, new RegExp(`^${lab} — `, "m"));
  assert.match(r.stdout, /optional {2}concurrent/);
});

test("usage errors exit 2 with one line", async () => {
  for (const argv of [["check"], ["check", "web-servr", "--", "x"], ["check", "web-server"], ["check", "web-server", "--csv", "--", "x"], ["check", "web-server", "--batch", "/nonexistent", "--", "x"], ["check", "web-server", "python3", "x.py"], ["check", "heartbeat-server", "--message", "hb", "--", "x"]]) {
    const r = await runCliCapture(argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, /^wirekit: .+\n$/);
  }
  assert.match((await runCliCapture(["check", "web-servr", "--", "x"])).stderr, /did you mean web-server\?/);
});

test("a program that hangs is killed at its time limit with everything it forked", async () => {
  const p = new StudentProcess({ command: ["sh", "-c", "sleep 60 & sleep 60 & echo started; wait"], vars: {}, cwd: STUDENTS, timeoutMs: 300, graceMs: 100 });
  const r = await p.done;
  assert.equal(r.timedOut, true);
  assert.equal(r.killed, true);
  assert.equal(r.stdout, "started\n");
  const pgid = r.pgid ?? 0;
  assert.ok(pgid > 0);
  assert.throws(() => process.kill(-pgid, 0), { code: "ESRCH" });
});

test("a program that ignores SIGTERM is killed with SIGKILL after the grace time", async () => {
  const p = new StudentProcess({ command: [PYTHON, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('x', flush=True); time.sleep(60)"], vars: {}, cwd: STUDENTS, timeoutMs: 400, graceMs: 100 });
  const r = await p.done;
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, "SIGKILL");
  assert.throws(() => process.kill(-(r.pgid ?? 0), 0), { code: "ESRCH" });
});

test("a lab run whose program cannot start says so", async () => {
  const r = await runCliCapture(["check", "udp-ping-client", "--dir", join(STUDENTS, "udp-ping-client", "correct"), "--timeout", "1s", "--seed", "1", "--", "/nonexistent/program", "{host}", "{port}"]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /could not start: \/nonexistent\/program: ENOENT/);
});

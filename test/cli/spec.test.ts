/** The option specs: help, man page, markdown and parser agree; examples parse; the friendly errors. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { COMMANDS } from "../../src/cli/commands.js";
import { flagsOf, parseForm, selectForm, splitHostPort, type FormSpec, type OptionDef } from "../../src/cli/spec.js";
import { renderMan, renderMarkdown } from "../../src/cli/spec-doc.js";
import { ALL_SPECS } from "../../src/cli/specs/index.js";
import { serveForm as echoServe, clientForm as echoClient } from "../../src/cli/specs/udp-echo.js";
import { senderForm } from "../../src/cli/specs/heartbeat.js";
import { clientForm as pingClient } from "../../src/cli/specs/udp-ping.js";
import { pingForm } from "../../src/cli/specs/ping.js";
import { editDistance } from "../../src/cli/suggest.js";
import { WirekitError } from "../../src/core/errors.js";
import { BIN, runCliCapture } from "../helpers/cli.js";

/** A value the option accepts. */
function sample(def: OptionDef): string {
  switch (def.type) {
    case "integer":
      return String(Math.min(Math.max(def.min ?? 0, 1), def.max ?? Infinity));
    case "float":
      return String(def.min ?? 0);
    case "duration":
      return "1s";
    case "size":
      return "1k";
    case "port":
      return "0";
    default:
      return "x";
  }
}

/** Split an example line like a shell: quotes, a trailing "# comment", leading VAR=value words. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(#.*$)|(\S+)/g;
  for (const m of line.matchAll(re)) {
    if (m[3] !== undefined) break;
    out.push(m[1] ?? m[2] ?? m[4] ?? "");
  }
  while (out[0] !== undefined && /^[A-Z_]+=/.test(out[0])) out.shift();
  return out;
}

function roffFlag(flag: string): string {
  return flag.replace(/-/g, "\\-");
}

test("every command in the table has a spec with the same summary, and every spec a command", () => {
  assert.deepEqual(ALL_SPECS.map((s) => s.name).sort(), Object.keys(COMMANDS).sort());
  for (const s of ALL_SPECS) assert.equal(COMMANDS[s.name]?.summary, s.summary, s.name);
});

test("every option the parser accepts appears in --help, the man page and the markdown reference", async () => {
  for (const spec of ALL_SPECS) {
    const help = (await runCliCapture([spec.name, "--help"])).stdout;
    const man = renderMan(spec, "0.0.0");
    const md = renderMarkdown(spec);
    for (const form of spec.forms) {
      if (form.external !== undefined) continue;
      for (const [name, def] of Object.entries(form.options)) {
        if (def.hidden === true) {
          assert.doesNotMatch(help, new RegExp(`--${name}\\b`), `${spec.name} --help hides --${name}`);
          continue;
        }
        for (const flag of flagsOf(name, def)) {
          const argv = def.type === "boolean" ? [flag] : [flag, sample(def)];
          const positionals = form.positionals.filter((p) => p.optional !== true).map((p) => (p.kind === "port" ? "1" : "h"));
          const parsed = parseForm(form, [...argv, ...positionals]);
          assert.ok(parsed.given.has(name), `${spec.name} ${form.name ?? ""} accepts ${flag}`);
          assert.match(help, new RegExp(`(^|[\\s,])${flag}\\b`), `${spec.name} --help shows ${flag}`);
          assert.ok(man.includes(`\\fB${roffFlag(flag)}\\fR`), `wirekit-${spec.name}.1 shows ${flag}`);
          assert.ok(md.includes(`\`${flag}\``), `the markdown reference shows ${flag} for ${spec.name}`);
        }
      }
      assert.throws(() => parseForm(form, ["--no-such-option"]), (e: unknown) => e instanceof WirekitError && e.code === "ERR_USAGE");
    }
  }
});

test("every example in the specs parses", () => {
  let checked = 0;
  for (const spec of ALL_SPECS) {
    assert.ok(spec.examples.length > 0, `${spec.name} has an example`);
    for (const line of spec.examples) {
      const w = words(line);
      if (w[0] !== "wirekit") continue;
      assert.equal(w[1], spec.name, line);
      const sel = selectForm(spec, w.slice(2));
      assert.ok(sel, line);
      if (sel.form.external !== undefined) continue;
      assert.doesNotThrow(() => parseForm(sel.form, sel.rest), line);
      checked++;
    }
  }
  assert.ok(checked >= 20, `${checked} examples parsed`);
});

test("each man page renders with groff -man (and man -l) without warnings", () => {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-man-"));
  const hasMan = spawnSync("sh", ["-c", "command -v man"]).status === 0;
  for (const spec of ALL_SPECS) {
    const file = join(dir, `wirekit-${spec.name}.1`);
    writeFileSync(file, renderMan(spec, "0.0.0"));
    const g = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-z", file], { encoding: "utf8" });
    assert.equal(g.error, undefined, "groff is installed");
    assert.equal(g.status, 0, spec.name);
    assert.equal(g.stderr, "", `groff warnings for ${spec.name}`);
    if (hasMan) {
      const m = spawnSync("man", ["-l", file], { encoding: "utf8", env: { ...process.env, MANPAGER: "cat", PAGER: "cat", MANWIDTH: "80" } });
      assert.equal(m.status, 0, `man -l ${spec.name}: ${m.stderr}`);
      assert.equal(m.stderr, "", `man -l warnings for ${spec.name}`);
      assert.match(m.stdout, new RegExp(`wirekit-${spec.name}`));
    }
  }
});

test("the bash completion script loads and completes options and subcommands", () => {
  const load = spawnSync("bash", ["-c", `source <("${process.execPath}" "${BIN}" completion bash) && complete -p wirekit`], { encoding: "utf8" });
  assert.equal(load.status, 0, load.stderr);
  assert.match(load.stdout, /_wirekit wirekit/);
  // The script is static (no call back into wirekit), so generate it once and source that copy
  // in a fresh bash for each completion, instead of starting node once per completion.
  const gen = spawnSync(process.execPath, [BIN, "completion", "bash"], { encoding: "utf8" });
  assert.equal(gen.status, 0, gen.stderr);
  const file = join(mkdtempSync(join(tmpdir(), "wirekit-completion-")), "wirekit.bash");
  writeFileSync(file, gen.stdout);
  const run = (words: string): string => {
    const script = `source "${file}"; COMP_WORDS=(${words}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _wirekit; echo "\${COMPREPLY[*]}"`;
    return spawnSync("bash", ["-c", script], { encoding: "utf8" }).stdout.trim();
  };
  assert.equal(run("wirekit udp-pi"), "udp-ping");
  assert.equal(run("wirekit udp-ping --cou"), "--count");
  assert.equal(run("wirekit udp-ping serve --po"), "--port");
  assert.equal(run("wirekit proxy s"), "serve");
  assert.equal(run("wirekit mail --auth p"), "plain");
});

test("zsh and fish completion scripts are generated for every command, parse, and complete", async (t) => {
  for (const shell of ["zsh", "fish"]) {
    const r = await runCliCapture(["completion", shell]);
    assert.equal(r.code, 0);
    for (const spec of ALL_SPECS) assert.ok(r.stdout.includes(spec.name), `${shell} completes ${spec.name}`);
    const has = spawnSync("sh", ["-c", `command -v ${shell}`]).status === 0;
    if (!has) {
      t.diagnostic(`${shell} is not installed: syntax and completions not checked`);
      continue;
    }
    const file = join(mkdtempSync(join(tmpdir(), "wirekit-completion-")), `wirekit.${shell}`);
    writeFileSync(file, r.stdout);
    const check = spawnSync(shell, ["-n", file], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
    if (shell === "fish") {
      // fish answers `complete -C LINE` with "word<TAB>description" lines, as its own prompt would.
      const run = (line: string): string[] =>
        spawnSync("fish", ["--no-config", "-c", `source '${file}'; complete -C '${line}'`], { encoding: "utf8" })
          .stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0] ?? "");
      assert.deepEqual(run("wirekit udp-pi"), ["udp-ping"]);
      assert.ok(run("wirekit udp-ping --cou").includes("--count"));
      assert.ok(run("wirekit udp-ping serve --po").includes("--port"));
      assert.ok(run("wirekit proxy s").includes("serve"));
    } else {
      // zsh's completion system needs a terminal; stand-ins for its builtins print what the
      // script offers, so the script's own logic (which tool, which form, which options) is judged.
      const run = (words: string): string[] => {
        const stubs = "compdef(){ :; }; _describe(){ print -rl -- ${(P)2}; }; _arguments(){ print -rl -- \"$@\"; }; compadd(){ print -rl -- \"$@\"; }";
        const n = words.split(" ").length;
        const script = `${stubs}; source '${file}'; words=(${words}); CURRENT=${n}; _wirekit`;
        return spawnSync("zsh", ["-f", "-c", script], { encoding: "utf8" }).stdout.split("\n");
      };
      assert.ok(run("wirekit udp-pi").some((l) => l.startsWith("udp-ping:")), "the tools are offered");
      assert.ok(run("wirekit udp-ping --cou").some((l) => l.includes("--count[")), "udp-ping's options");
      assert.ok(run("wirekit udp-ping serve --po").some((l) => l.includes("--port[")), "udp-ping serve's options");
      assert.ok(!run("wirekit udp-ping --cou").some((l) => l.includes("--loss[")), "the client form has no server options");
      assert.deepEqual(run("wirekit completion b").filter((l) => l !== ""), ["bash", "zsh", "fish"]);
    }
  }
  const bad = await runCliCapture(["completion", "tcsh"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "wirekit: unknown shell 'tcsh' (bash, zsh or fish)\n");
});

test("edit distance counts a swap of two neighbours as one typo", () => {
  assert.equal(editDistance("--verison", "--version"), 1);
  assert.equal(editDistance("pnig", "ping"), 1);
  assert.equal(editDistance("", "abc"), 3);
});

test("mistyped options and tools get one line naming the nearest one, exit 2", async () => {
  const rows: Array<[string[], string]> = [
    [["--versoin"], "wirekit: unknown option '--versoin' (did you mean --version?)\n"],
    [["pnig"], "wirekit: unknown tool 'pnig' (did you mean ping?)\n"],
    [["no-such-tool"], "wirekit: unknown tool 'no-such-tool' (try: wirekit --help)\n"],
    [["udp-ping", "127.0.0.1", "1", "--cuont", "3"], "wirekit: unknown option '--cuont' (did you mean --count?)\n"],
    [["heartbeat", "serve", "--dead-afer", "1s"], "wirekit: unknown option '--dead-afer' (did you mean --dead-after?)\n"],
    [["proxy", "--cache-dri", "/tmp"], "wirekit: unknown option '--cache-dri' (did you mean --cache-dir?)\n"],
    [["udp-ping", "127.0.0.1", "1", "--bogus"], "wirekit: unknown option '--bogus' (see --help)\n"],
  ];
  for (const [argv, stderr] of rows) {
    const r = await runCliCapture(argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.equal(r.stderr, stderr, argv.join(" "));
  }
});

test("a bare number where a directory or host goes says which option takes it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-spec-"));
  const rows: Array<[string[], string]> = [
    [["http", "serve", "8000"], "wirekit: '8000' is not a directory; to set the port use --port 8000\n"],
    [["udp-echo", "serve", "12002"], "wirekit: unexpected argument '12002'; to set the port use --port 12002\n"],
    [["udp-ping", "serve", "12000"], "wirekit: unexpected argument '12000'; to set the port use --port 12000\n"],
    [["heartbeat", "serve", "12001"], "wirekit: unexpected argument '12001'; to set the port use --port 12001\n"],
    [["proxy", "serve", "8888"], "wirekit: unexpected argument '8888'; to set the port use --port 8888\n"],
  ];
  for (const [argv, stderr] of rows) {
    const r = await runCliCapture(argv, { env: { HOME: dir } });
    assert.equal(r.code, 2, argv.join(" "));
    assert.equal(r.stderr, stderr, argv.join(" "));
  }
});

test("HOST:PORT is accepted wherever HOST PORT is", () => {
  assert.deepEqual(splitHostPort("127.0.0.1:12000"), ["127.0.0.1", "12000"]);
  assert.deepEqual(splitHostPort("[::1]:12000"), ["::1", "12000"]);
  assert.equal(splitHostPort("::1"), undefined);
  assert.equal(splitHostPort("localhost"), undefined);
  for (const form of [pingClient, senderForm, echoClient] as FormSpec[]) {
    assert.deepEqual(parseForm(form, ["localhost:12000"]).positionals, ["localhost", "12000"]);
    assert.deepEqual(parseForm(form, ["[::1]:9"]).positionals, ["::1", "9"]);
    assert.deepEqual(parseForm(form, ["localhost", "12000"]).positionals, ["localhost", "12000"]);
  }
});

test("-c and -n both mean count, -q is quiet, -p is the port on every server", () => {
  for (const form of [pingClient, senderForm, pingForm] as FormSpec[]) {
    assert.equal(parseForm(form, ["-c", "3", "h", "1"].slice(0, form === (pingForm as FormSpec) ? 3 : 4)).values.count, 3);
    assert.equal(parseForm(form, ["-n", "5", "h", "1"].slice(0, form === (pingForm as FormSpec) ? 3 : 4)).values.count, 5);
    assert.equal(parseForm(form, ["-q", "h", "1"].slice(0, form === (pingForm as FormSpec) ? 2 : 3)).values.quiet, true);
  }
  for (const spec of ALL_SPECS) {
    for (const form of spec.forms) {
      if (form.options.port === undefined) continue;
      assert.equal(form.options.port.short, "p", `${spec.name} ${form.name ?? ""}: -p is --port`);
    }
  }
  assert.equal(parseForm(echoServe, ["-p", "0", "--host", "127.0.0.1"]).values.port, 0);
});

test("<tool> serve selects the server form of every tool with a server, the proxy and lab included", () => {
  for (const name of ["udp-ping", "heartbeat", "udp-echo", "http", "proxy", "lab"]) {
    const spec = ALL_SPECS.find((s) => s.name === name);
    assert.ok(spec, name);
    const sel = selectForm(spec, ["serve", "-q"].slice(0, name === "lab" ? 1 : 2));
    assert.ok(sel, name);
    assert.ok(sel.form.name === "serve" || sel.form.aliases?.includes("serve"), name);
    assert.ok(sel.form.options.port !== undefined || name === "lab", `${name} serve has --port`);
  }
});

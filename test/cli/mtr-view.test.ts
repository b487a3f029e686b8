/** The mtr view on a terminal: redrawn every cycle, printed once more when Ctrl-C ends the run. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../../src/cli/main.js";
import type { CliContext } from "../../src/cli/context.js";
import { systemClock } from "../../src/core/clock.js";
import { runCliCapture } from "../helpers/cli.js";

const CLEAR = "\u001b[H\u001b[2J";

test("on a terminal the table is redrawn each cycle, and printed once more after Ctrl-C", async (t) => {
  const abort = new AbortController();
  let out = "";
  const ctx: CliContext = {
    stdout: {
      isTTY: true,
      write(s: string) {
        out += s;
        // Ctrl-C after the fourth redraw.
        if (out.split(CLEAR).length > 4) abort.abort();
        return true;
      },
    },
    stderr: { write: () => true },
    env: {},
    clock: systemClock,
    signal: abort.signal,
    debug: false,
    onStatusRequest: () => () => {},
  };
  const code = await runCli(["mtr", "-n", "-i", "0.01", "127.0.0.1"], ctx);
  if (code === 2 && !out.includes("Hop")) {
    t.skip("no ICMP socket here");
    return;
  }
  assert.equal(code, 0, out);
  const frames = out.split(CLEAR).slice(1);
  assert.ok(frames.length >= 4, out);
  for (const f of frames.slice(0, -1)) assert.match(f, /^mtr to 127\.0\.0\.1 \(127\.0\.0\.1\), icmp\n {1}Hop {2}Host/);
  // The last frame is the final table, printed after the last redraw (no clear of its own).
  const last = frames.at(-1) ?? "";
  const tables = last.match(/^ Hop {2}Host/gm) ?? [];
  assert.equal(tables.length, 2, last);
  assert.match(last, /^ {3}1 {2}127\.0\.0\.1 +0\.0% +\d+ /m);
});

test("mtr and traceroute --watch usage errors exit 2", async () => {
  for (const argv of [
    ["mtr"],
    ["mtr", "127.0.0.1", "-U", "-T"],
    ["mtr", "127.0.0.1", "-c", "-1"],
    ["traceroute", "127.0.0.1", "-c", "3"],
    ["traceroute", "127.0.0.1", "--watch", "-q", "2"],
    ["traceroute", "127.0.0.1", "-U", "-T"],
  ]) {
    const r = await runCliCapture(argv);
    assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^wirekit: [^\n]+\n$/);
  }
});

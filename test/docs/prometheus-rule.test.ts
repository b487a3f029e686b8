/**
 * The alert rule the README and docs/heartbeat.md give for several monitors, judged by promtool
 * (Prometheus's own rule tester; skipped when it is not installed): a client that one monitor
 * reports stopped while another still hears it raises no alert, and one that every monitor
 * reports stopped (or that only a stopped monitor knows) does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));

const promtool = ((): string | undefined => {
  try {
    execFileSync("promtool", ["--version"], { stdio: "ignore" });
    return "promtool";
  } catch {
    return undefined;
  }
})();

/** The expr of the HeartbeatClientStopped alert in the document's last block that has one over several monitors. */
function stoppedRule(file: string): string {
  const text = readFileSync(join(root, file), "utf8");
  const all = [...text.matchAll(/- alert: HeartbeatClientStopped\n\s+expr: (.+)\n/g)].map((m) => m[1] ?? "");
  const rule = all.find((e) => e.includes("by (client)"));
  assert.ok(rule !== undefined, `${file} has no HeartbeatClientStopped rule over several monitors`);
  return rule;
}

test("the README and docs/heartbeat.md give the same rule for several monitors", () => {
  assert.equal(stoppedRule("docs/heartbeat.md"), stoppedRule("README.md"));
});

test("the rule for several monitors alerts only on a client no monitor still hears (promtool)", { skip: promtool === undefined ? "promtool is not installed" : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-promtool-"));
  try {
    const series = (monitor: string, client: string, status: string): string => `      - series: 'wirekit_heartbeat_client_status{job="wirekit-heartbeat",instance="${monitor}:9101",client="${client}",status="${status}"}'\n        values: '1x10'\n`;
    writeFileSync(join(dir, "rules.yml"), `groups:\n  - name: heartbeat\n    rules:\n      - alert: HeartbeatClientStopped\n        expr: ${stoppedRule("README.md")}\n        for: 1m\n`);
    writeFileSync(
      join(dir, "test.yml"),
      "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n" +
        // web-1: mon-a lost it, mon-b still hears it. db-1: both lost it. batch-1: only mon-a knows it, stopped. api-1: suspect on one, stopped on the other. job-1: heard by mon-b, reporting a failure.
        series("mon-a", "web-1", "stopped") + series("mon-b", "web-1", "alive") +
        series("mon-a", "db-1", "stopped") + series("mon-b", "db-1", "stopped") +
        series("mon-a", "batch-1", "stopped") +
        series("mon-a", "api-1", "suspect") + series("mon-b", "api-1", "stopped") +
        series("mon-a", "job-1", "stopped") + series("mon-b", "job-1", "failed") +
        "    alert_rule_test:\n      - eval_time: 5m\n        alertname: HeartbeatClientStopped\n        exp_alerts:\n          - exp_labels: { client: db-1 }\n          - exp_labels: { client: batch-1 }\n",
    );
    const out = await new Promise<{ code: number; text: string }>((resolve) => {
      execFile("promtool", ["test", "rules", join(dir, "test.yml")], { timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, text: stdout + stderr }));
    });
    assert.equal(out.code, 0, out.text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

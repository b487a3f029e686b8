import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { systemClock } from "../../../src/core/clock.js";
import { AlertHooks, alertFor, alertEnv, type Alert } from "../../../src/udp/heartbeat/alerts.js";
import { spawnCli } from "../../helpers/cli.js";

const ALERT: Alert = { event: "stopped", client: "web-1", address: "127.0.0.1:4000", lastSeen: "2026-12-02T12:00:00.000Z", status: "stopped", message: "web-1 stopped", senderStatus: "", senderMessage: "" };

async function receiver(handle: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => handle(req, res, body));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const a = server.address();
  assert.ok(a && typeof a === "object");
  return { server, url: `http://127.0.0.1:${a.port}/hook` };
}

test("only state changes become alerts, with the client's address, last heartbeat and status", () => {
  const snap = { id: "web-1", address: "127.0.0.1:4000", status: "dead" as const, lastSeen: Date.UTC(2026, 11, 2, 12), phi: 20, received: 3, lost: 0, lossPercent: 0, reordered: 0, duplicates: 0, restarts: 0, lastSeq: 3, run: null, firstSeen: 0, delayMs: null, intervalMs: null, announcedIntervalMs: null, deadAfterMs: 3000, reportedStatus: "fail", reportedMessage: "disk\nfull", jobMs: null, failed: true };
  const a = alertFor({ kind: "stopped", client: "web-1", silentMs: 3000, lastSeq: 3 }, snap, "web-1 stopped");
  assert.deepEqual(a, { event: "stopped", client: "web-1", address: "127.0.0.1:4000", lastSeen: "2026-12-02T12:00:00.000Z", status: "stopped", message: "web-1 stopped", senderStatus: "fail", senderMessage: "disk\\nfull" });
  assert.equal(alertFor({ kind: "lost", client: "web-1", from: 1, to: 2, count: 2 }, snap, "x"), undefined);
  assert.equal(alertFor({ kind: "heartbeat", client: "web-1", address: "a", seq: 1, delayMs: 1 }, snap, "x"), undefined);
  assert.deepEqual(Object.keys(alertEnv(ALERT)), ["WIREKIT_EVENT", "WIREKIT_CLIENT", "WIREKIT_ADDRESS", "WIREKIT_LAST_SEEN", "WIREKIT_STATUS", "WIREKIT_MESSAGE", "WIREKIT_SENDER_STATUS", "WIREKIT_SENDER_MESSAGE"]);
});

test("a webhook that fails twice is retried with backoff and delivered on the third attempt", async () => {
  let calls = 0;
  const bodies: unknown[] = [];
  const { server, url } = await receiver((_req, res, body) => {
    calls++;
    bodies.push(JSON.parse(body));
    res.writeHead(calls <= 2 ? 503 : 204).end();
  });
  try {
    const errors: string[] = [];
    const hooks = new AlertHooks({ webhook: url, clock: systemClock, backoffMs: 5, onError: (l) => errors.push(l) });
    hooks.notify(ALERT);
    const t = await hooks.close();
    assert.equal(calls, 3);
    assert.deepEqual(t, { alerts: 1, delivered: 1, failed: 0, retried: 2, timedOut: 0, dropped: 0 });
    assert.deepEqual(bodies[2], { event: "stopped", client: "web-1", address: "127.0.0.1:4000", last_seen: "2026-12-02T12:00:00.000Z", status: "stopped", message: "web-1 stopped", sender_status: "", sender_message: "" });
    assert.deepEqual(errors, []);
  } finally {
    server.close();
  }
});

test("a webhook that never answers is bounded: notify returns at once, calls time out, the queue drops and counts", async () => {
  const { server, url } = await receiver(() => {
    /* never answer */
  });
  try {
    const errors: string[] = [];
    const hooks = new AlertHooks({ webhook: url, clock: systemClock, timeoutMs: 100, retries: 1, backoffMs: 5, concurrency: 1, maxQueue: 2, onError: (l) => errors.push(l) });
    for (let i = 0; i < 5; i++) assert.equal(hooks.notify({ ...ALERT, client: `c${i}` }), undefined, "notify does not wait");
    const t = await hooks.close();
    assert.equal(t.alerts, 5);
    assert.equal(t.dropped, 2, "one running, two queued, two dropped");
    assert.equal(t.failed, 3);
    assert.equal(t.timedOut, 6, "each of the three ran twice (one retry), each attempt timed out");
    assert.equal(errors.length, 3);
    assert.match(errors[0] ?? "", /^--webhook http:\/\/127\.0\.0\.1:\d+\/hook: stopped c0 not delivered after 2 attempts \(no answer in 100 ms\)$/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test("a hook command that hangs is killed at its timeout, with its children", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-hook-"));
  const hooks = new AlertHooks({ command: `sleep 30 & echo $! > ${dir}/child; wait`, clock: systemClock, timeoutMs: 200 });
  hooks.notify(ALERT);
  const t = await hooks.close();
  assert.equal(t.timedOut, 1);
  assert.equal(t.failed, 1);
  const pid = Number(readFileSync(join(dir, "child"), "utf8"));
  await new Promise((r) => setTimeout(r, 50));
  // Gone, or a zombie waiting for whoever inherited it: either way no longer running.
  const state = existsSync(`/proc/${pid}/stat`) ? (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").charAt(0) : "gone";
  assert.ok(state === "gone" || state === "Z", `the hook's child was killed with it (state ${state})`);
});

test("wirekit heartbeat serve --on-event runs the command with the event in its environment", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-hook-"));
  const log = join(dir, "events");
  const cmd = `printf '%s|%s|%s|%s|%s\\n' "$WIREKIT_EVENT" "$WIREKIT_CLIENT" "$WIREKIT_ADDRESS" "$WIREKIT_STATUS" "$WIREKIT_MESSAGE" >> ${log}`;
  const child = spawnCli(["heartbeat", "serve", "--host", "127.0.0.1", "-p", "0", "--dead-after", "0.3s", "--on-event", cmd]);
  const out = await child.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  const local = s.address().port;
  s.send(`1 ${Date.now() / 1000} id=web-1`, port, "127.0.0.1");
  await child.waitFor(/web-1 stopped/);
  s.close();
  for (let i = 0; i < 100 && !(existsSync(log) && readFileSync(log, "utf8").includes("stopped")); i++) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGINT");
  const r = await child.done;
  assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(log, "utf8").trim().split("\n");
  assert.equal(lines[0], `joined|web-1|127.0.0.1:${local}|alive|new client web-1 (127.0.0.1:${local}), first seq 1`);
  assert.match(lines.find((l) => l.startsWith("stopped|")) ?? "", new RegExp(`^stopped\\|web-1\\|127\\.0\\.0\\.1:${local}\\|stopped\\|web-1 stopped: no heartbeat for`));
  assert.match(r.stdout, /^hooks: \d+ alerts, \d+ delivered, 0 failed, 0 retried, 0 timed out, 0 dropped$/m);
});

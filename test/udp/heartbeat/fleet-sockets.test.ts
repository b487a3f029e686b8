/**
 * The fleet features end to end: real `wirekit heartbeat` senders on 127.0.0.1 against monitors
 * on port 0, and a real `wirekit heartbeat serve --state` killed with SIGKILL and restarted.
 * Waits are on events and output, bounded generously; nothing depends on the machine's speed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHeartbeatMonitor, type HeartbeatMonitor, type HeartbeatMonitorOptions } from "../../../src/udp/heartbeat/monitor.js";
import type { HeartbeatEvent } from "../../../src/udp/heartbeat/events.js";
import { runCliCapture, spawnCli, type Spawned } from "../../helpers/cli.js";

const monitors: HeartbeatMonitor[] = [];
const children: Spawned[] = [];
const dirs: string[] = [];
after(async () => {
  for (const c of children) c.kill("SIGKILL");
  await Promise.all(monitors.map((m) => m.close()));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function monitor(options: HeartbeatMonitorOptions = {}): Promise<{ m: HeartbeatMonitor; events: HeartbeatEvent[] }> {
  const m = await createHeartbeatMonitor({ host: "127.0.0.1", port: 0, ...options });
  monitors.push(m);
  const events: HeartbeatEvent[] = [];
  m.on("event", (e: HeartbeatEvent) => void events.push(e));
  return { m, events };
}

function sender(args: string[], env: Record<string, string> = {}): Spawned {
  const c = spawnCli(["heartbeat", ...args], env);
  children.push(c);
  return c;
}

function until(pred: () => boolean, what: string, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = (): void => {
      if (pred()) resolve();
      else if (Date.now() - started > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

test("--status fail then --status ok: the client is failed, then ok again; the message arrives escaped", { timeout: 120_000 }, async () => {
  const { m, events } = await monitor();
  const r1 = await sender(["127.0.0.1", String(m.port), "-c", "2", "-i", "50ms", "--id", "job", "--status", "fail", "--msg", "disk full\n\x07"]).done;
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(m.client("job")?.failed, true);
  assert.equal(m.client("job")?.reportedMessage, "disk full\n\x07");
  const r2 = await sender(["127.0.0.1", String(m.port), "-c", "1", "--id", "job", "--status", "ok"]).done;
  assert.equal(r2.code, 0);
  assert.equal(m.client("job")?.failed, false);
  const lines = events.filter((e) => e.kind === "failed" || e.kind === "recovered").map((e) => e.kind);
  assert.deepEqual(lines, ["failed", "recovered"]);
});

test("-- COMMAND: its exit code and run time are reported, and the sender exits with that code", { timeout: 120_000 }, async () => {
  const { m, events } = await monitor();
  const r = await sender(["127.0.0.1", String(m.port), "-i", "50ms", "--id", "cron", "--", "sh", "-c", "sleep 0.2; exit 3"]).done;
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /command: exit code 3, after \d+\.\d s; reported status=3/);
  const failed = events.find((e) => e.kind === "failed");
  assert.ok(failed?.kind === "failed", JSON.stringify(events.map((e) => e.kind)));
  assert.equal(failed.status, "3");
  assert.ok((failed.jobMs ?? 0) >= 200, `job took ${failed.jobMs} ms`);
  assert.ok((m.client("cron")?.received ?? 0) >= 2, "heartbeats while it ran, and the last one");
  assert.equal(m.client("cron")?.reportedMessage, null, "no msg= that only repeats the exit code");
  const killed = await sender(["127.0.0.1", String(m.port), "-i", "50ms", "--id", "killed", "--", "sh", "-c", "kill -TERM $$"]).done;
  assert.equal(killed.code, 143, "128 + SIGTERM, as a shell reports it");
  assert.equal(m.client("killed")?.reportedStatus, "143");
  assert.equal(m.client("killed")?.reportedMessage, "killed by SIGTERM");
});

test("two senders at 50 ms and 250 ms: per-client deadlines stop only the one that went silent", { timeout: 120_000 }, async () => {
  const { m, events } = await monitor({ deadAfterMs: 20_000, deadAfterBeats: 4 });
  const slow = sender(["127.0.0.1", String(m.port), "-i", "250ms", "--id", "slow"]);
  const fast = sender(["127.0.0.1", String(m.port), "-i", "50ms", "--id", "fast"]);
  await fast.waitFor(/reply seq=5 /);
  await slow.waitFor(/reply seq=2 /);
  fast.kill("SIGKILL");
  await fast.done;
  await until(() => events.some((e) => e.kind === "stopped"), "a stopped event");
  const stopped = events.filter((e) => e.kind === "stopped");
  assert.deepEqual(stopped.map((e) => e.client), ["fast"]);
  const s = stopped[0];
  assert.ok(s?.kind === "stopped" && s.silentMs >= 200 && s.silentMs < 20_000, `fast stopped after ${s?.kind === "stopped" ? s.silentMs : "?"} ms`);
  assert.equal(m.client("fast")?.deadAfterMs, 200);
  assert.equal(m.client("slow")?.deadAfterMs, 1000);
  assert.notEqual(m.client("slow")?.status, "dead");
  slow.kill("SIGKILL");
  await slow.done;
  await until(() => events.some((e) => e.kind === "stopped" && e.client === "slow"), "slow stopped at its own deadline, not the 20 s fallback");
});

test("keyed: the sender's key from WIREKIT_HEARTBEAT_KEY is accepted; a wrong key and no key are refused", { timeout: 120_000 }, async () => {
  const { m, events } = await monitor({ keys: new Map([["web-1", "right-secret-1"]]) });
  const ok = await sender(["127.0.0.1", String(m.port), "-c", "3", "-i", "50ms", "--id", "web-1"], { WIREKIT_HEARTBEAT_KEY: "right-secret-1" }).done;
  assert.equal(ok.code, 0, ok.stdout);
  assert.equal(m.client("web-1")?.received, 3);
  const wrong = await sender(["127.0.0.1", String(m.port), "-c", "2", "-i", "50ms", "-W", "300ms", "--id", "web-1", "--key", "wrong-secret"]).done;
  assert.equal(wrong.code, 1, "no replies to refused heartbeats");
  assert.doesNotMatch(wrong.stdout + wrong.stderr, /wrong-secret/);
  const none = await sender(["127.0.0.1", String(m.port), "-c", "1", "-W", "300ms", "--id", "web-1"]).done;
  assert.equal(none.code, 1);
  assert.equal(m.totals().refused, 3);
  assert.equal(m.client("web-1")?.received, 3);
  assert.ok(events.some((e) => e.kind === "refused" && e.reason === "bad-mac"));
});

test("two monitors fed by one sender get the same sequence numbers and run", { timeout: 120_000 }, async () => {
  const a = await monitor();
  const b = await monitor();
  const seqs = (events: HeartbeatEvent[]) => events.filter((e) => e.kind === "heartbeat" || e.kind === "client-joined").map((e) => ("seq" in e ? e.seq : -1));
  const r = await sender([`127.0.0.1:${a.m.port}`, `127.0.0.1:${b.m.port}`, "-c", "4", "-i", "50ms", "--id", "twin"]).done;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal((r.stdout.match(/heartbeat statistics ---\n4 packets transmitted, 4 received/g) ?? []).length, 2, r.stdout);
  assert.deepEqual(seqs(a.events), [1, 1, 2, 3, 4]);
  assert.deepEqual(seqs(b.events), [1, 1, 2, 3, 4]);
  assert.equal(a.m.client("twin")?.run, b.m.client("twin")?.run);
});

test("--keys with a malformed line: exit 2 at start, one line, the secret not shown", { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "wirekit-hb-"));
  dirs.push(dir);
  const keys = join(dir, "keys");
  await writeFile(keys, "# fleet\nweb-1 hunter2-is-long\nweb-2 hunter3-is-long extra\n");
  const r = await runCliCapture(["heartbeat", "serve", "--host", "127.0.0.1", "--port", "0", "--keys", keys]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^wirekit: --keys \S+ line 3: expected 'client-id secret' \(3 words\)\n$/);
  assert.doesNotMatch(r.stderr, /hunter/);
});

test("--state across SIGKILL: a restarted monitor still knows its clients, counters and expected list", { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "wirekit-hb-"));
  dirs.push(dir);
  const state = join(dir, "hb.json");
  const expect = join(dir, "expect");
  await writeFile(expect, "web-1\nghost 1h\n");
  const args = ["heartbeat", "serve", "--host", "127.0.0.1", "--port", "0", "--state", state, "--state-every", "100ms", "--expect", expect];
  const first = spawnCli(args);
  children.push(first);
  const out = await first.waitFor(/listening on 127\.0\.0\.1:\d+/);
  assert.match(out, /state in .* \(new\)/);
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  const s = await sender(["127.0.0.1", String(port), "-c", "3", "-i", "50ms", "--id", "web-1", "--status", "fail"]).done;
  assert.equal(s.code, 0);
  // Wait for a snapshot holding all three heartbeats, then kill without a chance to save at exit.
  let saved = "";
  await new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      readFile(state, "utf8").then(
        (t) => {
          saved = t;
          if (t.includes('"received":3')) resolve();
          else if (Date.now() - started > 60_000) reject(new Error(`no snapshot with 3 heartbeats: ${t}`));
          else setTimeout(poll, 20);
        },
        () => setTimeout(poll, 20),
      );
    };
    poll();
  });
  assert.doesNotThrow(() => JSON.parse(saved));
  first.kill("SIGKILL");
  await first.done;
  const second = spawnCli(args);
  children.push(second);
  const out2 = await second.waitFor(/state loaded from .*\n/);
  assert.match(out2, /state loaded from \S+: 1 client, 1 expected not seen yet/);
  second.kill("SIGINT");
  const r = await second.done;
  assert.equal(r.code, 0, r.stderr);
  // Failed (it sent status=fail) while within its 3 s, dead once the kill and restart took longer
  // on a loaded machine: the table's words (it never prints "stopped", the metrics' word).
  assert.match(r.stdout, /^web-1 +(dead|failed) +3 +0 /m);
  assert.match(r.stdout, /^ghost +expected +0 /m);
  assert.match(r.stdout, /3 heartbeats from 1 client/);
  const after = JSON.parse(await readFile(state, "utf8")) as { clients: Array<{ id: string; failed: boolean; received: number }> };
  assert.deepEqual(after.clients.map((c) => [c.id, c.received, c.failed]), [["web-1", 3, true]]);
});

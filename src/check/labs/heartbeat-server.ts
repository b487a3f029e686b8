/**
 * The UDP heartbeat server (the optional task 3 of the pinger lab): it reports the heartbeats
 * that were lost, the time difference of each (receive time minus the timestamp inside), and,
 * after a silence, that the client has stopped. The check is the client: it sends heartbeats
 * in the class's format (`--message`, default `Heartbeat {seq} {time}`, time in seconds since
 * the epoch), skips two sequence numbers chosen by the seed, stamps every heartbeat 250 ms in
 * the past so the time difference to report is known, and then stops.
 */
import { createSocket } from "node:dgram";
import { systemClock } from "../../core/clock.js";
import { createRandom } from "../../core/random.js";
import { clip, fail, pass, type Requirement, type Verdict } from "../requirement.js";
import { defineLab, type LabEnv } from "../lab.js";
import { startServer } from "../server-program.js";
import type { StudentResult } from "../runner.js";

export const BEATS = 12;
const INTERVAL_MS = 200;
/** Every heartbeat's timestamp is this far in the past: the difference the server must report. */
export const AGE_MS = 250;

export interface HeartbeatServerRecord {
  bound: boolean;
  /** The sequence numbers not sent. */
  skipped: number[];
  /** stdout before the check stopped sending, and after. */
  during: string;
  after: string;
  /** How long the check waited after stopping, ms. */
  waitedMs: number;
  run?: StudentResult;
}

const lines = (s: string): string[] => s.split(/\r?\n/).filter((l) => l.trim() !== "");

function notBound(r: HeartbeatServerRecord): Verdict | undefined {
  return r.bound ? undefined : fail(`nothing bound UDP port {port}${r.run?.stderr ? `; stderr: ${clip(r.run.stderr.trim().split("\n").at(-1) ?? "", 80)}` : ""}`, "bind the port given on the command line");
}

const requirements: Requirement<HeartbeatServerRecord>[] = [
  { id: "bind", text: "binds the given UDP port and keeps running", level: "required", judge: (r) => notBound(r) ?? pass("bound") },
  {
    id: "lost",
    text: "reports the heartbeats that were lost, by sequence number",
    level: "required",
    judge(r) {
      const early = notBound(r);
      if (early) return early;
      const out = lines(r.during + r.after);
      const found = r.skipped.map((n) => out.find((l) => /lost|miss|drop|丢/i.test(l) && new RegExp(`(^|\\D)${n}(\\D|$)`).test(l)));
      const missing = r.skipped.filter((_, i) => found[i] === undefined);
      if (missing.length > 0) return fail(`heartbeat ${missing.join(" and ")} never sent, not reported as lost (${out.length} lines printed)`, "remember the last sequence number; when one arrives more than one ahead, print the ones in between as lost");
      return pass(found.map((l) => `'${clip(l ?? "", 50)}'`).join(", "));
    },
  },
  {
    id: "delay",
    text: "reports each heartbeat's time difference (receive time minus its timestamp)",
    level: "required",
    judge(r) {
      const early = notBound(r);
      if (early) return early;
      // The difference is AGE_MS plus the trip (well under 100 ms here), in ms or s.
      const near = (v: number, unit: string): boolean => {
        const ms = /^s|^sec/i.test(unit) ? v * 1000 : unit === "" ? (v < 10 ? v * 1000 : v) : v;
        return ms >= AGE_MS - 10 && ms <= AGE_MS + 150;
      };
      const hit = lines(r.during).find((l) => [...l.matchAll(/(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|sec|seconds?)?/gi)].some((m) => near(Number(m[1]), m[2] ?? "")));
      return hit === undefined ? fail(`no line gives a difference of about ${AGE_MS} ms (the check stamps each heartbeat ${AGE_MS} ms in the past): '${clip(lines(r.during)[0] ?? "(nothing printed)", 60)}'`, "time difference = time.time() on arrival minus the timestamp in the heartbeat") : pass(`'${clip(hit, 70)}'`);
    },
  },
  {
    id: "stopped",
    text: "reports that the client has stopped after its heartbeats stay away",
    level: "required",
    judge(r) {
      const early = notBound(r);
      if (early) return early;
      const hit = lines(r.after).find((l) => /stop|dead|down|gone|died|inactive|offline|no heartbeat|not respond|timed? ?out|停/i.test(l));
      return hit === undefined ? fail(`nothing printed in the ${(r.waitedMs / 1000).toFixed(1)} s after the last heartbeat${lines(r.after)[0] === undefined ? "" : `: '${clip(lines(r.after)[0] ?? "", 50)}'`}`, "set a timeout on the socket (a few seconds) and print that the client has stopped when it expires") : pass(`'${clip(hit, 70)}'`);
    },
  },
];

export interface HeartbeatServerOptions {
  /** The heartbeat as the class's client sends it: {seq} and {time} (seconds since the epoch). @default "Heartbeat {seq} {time}" */
  message?: string;
}

export function createHeartbeatServerLab(options: HeartbeatServerOptions = {}) {
  const template = options.message ?? "Heartbeat {seq} {time}";
  return defineLab<HeartbeatServerRecord>({
    name: "heartbeat-server",
    summary: "UDP heartbeat server: lost sequence numbers, the time difference, a stopped client reported",
    role: "server",
    example: "wirekit check heartbeat-server -- python3 UDPHeartbeatServer.py {port}",
    defaultTimeoutMs: 15_000,
    netns: true,
    requirements,
    async collect(env: LabEnv) {
      const srv = await startServer(env, "udp");
      const random = createRandom(env.seed);
      const first = 3 + random.int(4);
      const skipped = [first, first + 2 + random.int(3)];
      const record: HeartbeatServerRecord = { bound: srv.listening, skipped, during: "", after: "", waitedMs: 0 };
      if (srv.listening) {
        const sock = createSocket("udp4");
        await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
        for (let seq = 1; seq <= BEATS; seq++) {
          if (!skipped.includes(seq)) {
            const time = (((env.clock ?? systemClock).now() - AGE_MS) / 1000).toFixed(6);
            sock.send(template.replace("{seq}", String(seq)).replace("{time}", time), srv.port, "127.0.0.1");
          }
          await new Promise((r) => setTimeout(r, INTERVAL_MS));
        }
        sock.close();
        record.during = srv.proc.stdoutText();
        // Then silence: wait for the "stopped" report, at most until the time limit.
        const stoppedAt = performance.now();
        const said = (): boolean => /stop|dead|down|gone|died|inactive|offline|no heartbeat|not respond|timed? ?out|停/i.test(srv.proc.stdoutText().slice(record.during.length));
        while (!said() && !srv.proc.exited && performance.now() < srv.deadline - 200) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 50));
        record.waitedMs = performance.now() - stoppedAt;
      }
      record.run = await srv.proc.stop();
      record.after = record.run.stdout.slice(record.during.length);
      return { record, runs: [record.run] };
    },
  });
}

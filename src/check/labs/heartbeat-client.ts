/**
 * The UDP heartbeat client (the optional task 3 of the pinger lab): each heartbeat carries a
 * sequence number and the current time, and the client keeps beating when the server goes away
 * for a while. The check is the server. It listens, then closes its port (the client's
 * heartbeats get ICMP port unreachable), then listens again. Each heartbeat is answered with
 * its text upper-cased, so a client built from the pinger that waits for a reply still works.
 * The student's message format is its own, so the sequence number is whichever integer field
 * goes up by one from each heartbeat to the next.
 */
import { createSocket, type Socket } from "node:dgram";
import { systemClock, type Clock } from "../../core/clock.js";
import { clip, fail, pass, type Requirement, type Verdict } from "../requirement.js";
import { defineLab, studentPrefix, type LabEnv } from "../lab.js";
import { freePort } from "../ports.js";
import { StudentProcess, type StudentResult } from "../runner.js";
import { timestampIn } from "../timestamp.js";

export interface Heartbeat {
  text: string;
  /** Wall-clock ms at arrival. */
  wallMs: number;
  at: number;
  phase: 1 | 3;
}

export interface HeartbeatClientRecord {
  beats: Heartbeat[];
  /** The program had exited by the end of the third phase. */
  exitedEarly: boolean;
  /** How long the port was closed, ms. */
  pausedMs: number;
  run: StudentResult;
}

/** The field index whose integers go up by one from each heartbeat to the next, and those values. */
export function sequenceField(texts: readonly string[]): { field: number; values: number[] } | undefined {
  const fields = texts.map((t) => t.split(/[\s,;:=|]+/).filter((f) => f !== ""));
  const width = Math.min(...fields.map((f) => f.length));
  for (let j = 0; j < width; j++) {
    const values = fields.map((f) => Number(f[j]));
    if (values.every((v) => Number.isInteger(v)) && values.every((v, i) => i === 0 || v === (values[i - 1] ?? 0) + 1)) return { field: j, values };
  }
  return undefined;
}

function started(r: HeartbeatClientRecord): Verdict | undefined {
  if (r.run.spawnError !== undefined) return fail(`could not start: ${r.run.spawnError}`, "check the command line");
  const first = r.beats.filter((b) => b.phase === 1);
  if (first.length < 2) return fail(`${first.length} heartbeat(s) arrived${r.run.stderr ? `; stderr: ${clip(r.run.stderr.trim().split("\n").at(-1) ?? "", 80)}` : ""}`, "send a heartbeat to {host} {port} every second or so, in a loop");
  return undefined;
}

const requirements: Requirement<HeartbeatClientRecord>[] = [
  {
    id: "beat",
    text: "sends heartbeats to the server, one after another",
    level: "required",
    judge: (r) => started(r) ?? pass(`${r.beats.filter((b) => b.phase === 1).length} heartbeats, e.g. '${clip(r.beats[0]?.text ?? "", 50)}'`),
  },
  {
    id: "sequence",
    text: "each heartbeat carries a sequence number, one more than the last",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const seq = sequenceField(r.beats.filter((b) => b.phase === 1).map((b) => b.text));
      return seq === undefined ? fail(`no field counts up by one: '${clip(r.beats[0]?.text ?? "", 40)}', '${clip(r.beats[1]?.text ?? "", 40)}'`, "put a sequence number in each heartbeat and add one each time") : pass(`field ${seq.field + 1}: ${seq.values.slice(0, 5).join(", ")}${seq.values.length > 5 ? ", …" : ""}`);
    },
  },
  {
    id: "timestamp",
    text: "each heartbeat carries the time it was sent",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const without = r.beats.find((b) => timestampIn(b.text, b.wallMs) === undefined);
      if (without !== undefined) return fail(`'${clip(without.text, 50)}' holds no current time`, "send time.time() with each heartbeat, so the server can compute the delay");
      return pass(`'${clip(r.beats[0]?.text ?? "", 50)}': ${timestampIn(r.beats[0]?.text ?? "", r.beats[0]?.wallMs ?? 0) ?? ""}`);
    },
  },
  {
    id: "outlives-server",
    text: "keeps beating, with its sequence going on, after the server was gone for a while",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const after = r.beats.filter((b) => b.phase === 3);
      if (after.length === 0) return fail(`no heartbeat after the port was closed for ${r.pausedMs} ms${r.exitedEarly ? `; the program exited${r.run.stderr ? `: ${clip(r.run.stderr.trim().split("\n").at(-1) ?? "", 70)}` : ""}` : ""}`, "a heartbeat client never gives up: catch the error (ConnectionRefusedError after ICMP port unreachable) and keep sending");
      const seq = sequenceField(r.beats.filter((b) => b.phase === 1).map((b) => b.text));
      const last = seq?.values.at(-1);
      const next = seq === undefined ? undefined : Number((after[0]?.text ?? "").split(/[\s,;:=|]+/).filter((f) => f !== "")[seq.field]);
      if (last !== undefined && next !== undefined && !(next > last)) return fail(`the sequence restarted: ${last} before the pause, ${next} after`, "keep the sequence number going: the server counts the missing ones as lost");
      return pass(`${after.length} heartbeats after a ${r.pausedMs} ms pause${last !== undefined && next !== undefined ? `, the sequence going on from ${last} to ${next}` : ""}`);
    },
  },
];

function listen(port: number, phase: 1 | 3, beats: Heartbeat[], clock: Clock): Promise<Socket> {
  const sock = createSocket("udp4");
  sock.on("message", (m: Buffer, from) => {
    beats.push({ text: m.toString("latin1"), wallMs: clock.now(), at: clock.monotonic(), phase });
    sock.send(Buffer.from(m.toString("latin1").replace(/[a-z]/g, (c) => c.toUpperCase()), "latin1"), from.port, from.address);
  });
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, "127.0.0.1", () => resolve(sock));
  });
}

async function until(cond: () => boolean, ms: number, gone: () => boolean): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond() && !gone() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

export const heartbeatClientLab = defineLab<HeartbeatClientRecord>({
  name: "heartbeat-client",
  summary: "UDP heartbeat client: a sequence number and timestamp in each heartbeat, beating on after the server stopped",
  role: "client",
  example: "wirekit check heartbeat-client -- python3 UDPHeartbeatClient.py {host} {port}",
  defaultTimeoutMs: 15_000,
  netns: true,
  requirements,
  async collect(env: LabEnv) {
    const port = await freePort("udp");
    const beats: Heartbeat[] = [];
    let sock = await listen(port, 1, beats, env.clock ?? systemClock);
    const proc = new StudentProcess({ command: env.command, prefix: await studentPrefix(env, port), vars: { host: "127.0.0.1", port: String(port), dir: env.dir }, cwd: env.workdir, timeoutMs: env.timeoutMs });
    const gone = (): boolean => proc.exited;
    // Phase 1: four heartbeats (or 5 s); the interval they show paces the rest.
    await until(() => beats.length >= 4, Math.min(5000, env.timeoutMs / 3), gone);
    const gaps = beats.slice(1).map((b, i) => b.at - (beats[i]?.at ?? 0)).sort((a, b) => a - b);
    const interval = gaps[Math.floor(gaps.length / 2)] ?? 1000;
    // Phase 2: the server is gone for three intervals.
    const pausedMs = Math.round(Math.max(300, 3 * interval));
    await new Promise<void>((r) => sock.close(() => r()));
    await new Promise((r) => setTimeout(r, pausedMs));
    // Phase 3: back, until two more heartbeats or five intervals.
    sock = await listen(port, 3, beats, env.clock ?? systemClock);
    await until(() => beats.filter((b) => b.phase === 3).length >= 2, 5 * interval + 500, gone);
    const exitedEarly = proc.exited;
    sock.close();
    const run = await proc.stop();
    return { record: { beats, exitedEarly, pausedMs, run }, runs: [run] };
  },
});

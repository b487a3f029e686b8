/**
 * The UDP client/server lab's client (tasks 1 and 2, and the "unsafe for the client" part): it
 * sends the server a datagram holding the current time, prints the server's reply ("I received
 * from you a message of N bytes") and its own address, retransmits with a doubling timeout when
 * no reply comes, and gives up once the timeout has grown to about 2 s. The check is the server,
 * in three runs of the program:
 *
 * 1. a live server that answers every datagram (the reply from wirekit's echo protocol);
 * 2. a dead one: the port stays bound and never answers (the lab's suspended server), and every
 *    datagram's arrival time is kept, so the timeouts between them can be measured;
 * 3. a live server whose reply comes 200 ms late, with a forged "I'm fake" sent first from
 *    another port of the same host: a client that checks where a reply came from prints the
 *    real reply (optional, as the lab leaves the defence to the student).
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { systemClock } from "../../core/clock.js";
import { decodeRequest, encodeReply, replyText } from "../../udp/echo/protocol.js";
import { clip, fail, pass, type Requirement, type Verdict } from "../requirement.js";
import { defineLab, studentPrefix, type LabEnv } from "../lab.js";
import { StudentProcess, type StudentResult } from "../runner.js";
import { timestampIn } from "../timestamp.js";

/** What the forger sends, as in the assignment's own demonstration. */
export const FORGED = "I'm fake";
/** How long run 3's real reply waits behind the forged one. */
export const REAL_AFTER_MS = 200;
/** The timeouts must grow by a factor in this range from one to the next ("double"). */
export const RATIO_LOW = 1.5;
export const RATIO_HIGH = 2.7;
/** Slack on top of the ratio, ms: a loaded machine wakes a 100 ms timer late. */
export const RATIO_SLACK_MS = 60;
/** The largest timeout before giving up must be "about 2 s". */
export const GIVE_UP_LOW_MS = 900;
export const GIVE_UP_HIGH_MS = 4500;

export interface EchoDatagram {
  data: Buffer;
  /** performance.now() at arrival. */
  at: number;
  /** Wall-clock ms at arrival. */
  wallMs: number;
  from: { address: string; port: number };
}

/** One run of the program against one kind of server. */
export interface EchoRun {
  datagrams: EchoDatagram[];
  /** performance.now() when the program was started. */
  startedAt: number;
  run: StudentResult;
}

export interface UdpEchoClientRecord {
  live: EchoRun;
  dead: EchoRun;
  forged: EchoRun;
  /** Run 3: the real reply was sent (the program was still running to receive it). */
  realSent: boolean;
}

/** The reply the server sends to a datagram (the lab's sentence). */
const replyFor = (d: Buffer): string => replyText(decodeRequest(d).message.length);

const lastLine = (s: string): string => s.trim().split("\n").at(-1) ?? "";

function started(r: EchoRun): Verdict | undefined {
  if (r.run.spawnError !== undefined) return fail(`could not start: ${r.run.spawnError}`, "check the command line");
  if (r.datagrams.length === 0) return fail(`no datagram reached the server${r.run.stderr ? `; stderr: ${clip(lastLine(r.run.stderr), 80)}` : ""}`, "send to the IP address and port given on the command line: sock.sendto(data, (sys.argv[1], int(sys.argv[2])))");
  return undefined;
}

/** The timeouts the dead-server run shows: the gaps between datagrams, then (when it exited by itself) the wait before exiting. */
export function timeouts(r: EchoRun): { gaps: number[]; final?: number } {
  const at = r.datagrams.map((d) => d.at);
  const gaps = at.slice(1).map((t, i) => t - (at[i] ?? 0));
  const last = at.at(-1);
  if (r.run.killed || r.run.timedOut || last === undefined) return { gaps };
  return { gaps, final: Math.max(0, r.startedAt + r.run.durationMs - last) };
}

const secs = (ms: number): string => (ms / 1000).toFixed(2);

export const requirements: Requirement<UdpEchoClientRecord>[] = [
  {
    id: "send",
    text: "sends the server a datagram holding the current time",
    level: "required",
    judge(r) {
      const early = started(r.live);
      if (early) return early;
      const d = r.live.datagrams[0];
      const text = d?.data.toString("latin1") ?? "";
      const ts = timestampIn(text, d?.wallMs ?? 0);
      if (ts === undefined) return fail(`'${clip(text, 60)}' holds no current time`, "send the time: sock.sendto(str(time.time()).encode(), server)");
      return pass(`'${clip(text, 60)}'`);
    },
  },
  {
    id: "reply",
    text: "prints the server's reply",
    level: "required",
    judge(r) {
      const early = started(r.live);
      if (early) return early;
      const want = replyFor(r.live.datagrams[0]?.data ?? Buffer.alloc(0));
      const line = r.live.run.stdout.split("\n").find((l) => l.includes(want));
      if (line === undefined) return fail(`the server replied '${want}'; printed: '${clip(lastLine(r.live.run.stdout) || "(nothing)", 60)}'`, "receive the reply (sock.recvfrom(2048)) and print it decoded");
      return pass(`'${clip(line.trim(), 80)}'`);
    },
  },
  {
    id: "own-address",
    text: "prints its own address: the port the OS assigned to it",
    level: "required",
    judge(r) {
      const early = started(r.live);
      if (early) return early;
      const port = String(r.live.datagrams[0]?.from.port ?? "");
      const line = r.live.run.stdout.split("\n").find((l) => new RegExp(`(^|\\D)${port}(\\D|$)`).test(l));
      if (line === undefined) return fail(`its datagrams came from port ${port}, which it never printed`, "after the first sendto, print sock.getsockname(): before it the OS has assigned no port yet");
      return pass(`port ${port}: '${clip(line.trim(), 70)}'`);
    },
  },
  {
    id: "retransmit",
    text: "retransmits the request when no reply comes (a dead server), instead of waiting forever",
    level: "required",
    judge(r) {
      const early = started(r.dead);
      if (early) return early;
      const n = r.dead.datagrams.length;
      if (n < 2) return fail(`one datagram, then nothing${r.dead.run.timedOut ? ` until killed at the time limit (${secs(r.dead.run.durationMs)} s)` : ""}`, "set a timeout (sock.settimeout(delay)), catch socket.timeout and send again");
      return pass(`${n} datagrams to the dead server`);
    },
  },
  {
    id: "backoff",
    text: "doubles the timeout each time it runs out (checked against the datagrams' times)",
    level: "required",
    judge(r) {
      const early = started(r.dead);
      if (early) return early;
      const { gaps, final } = timeouts(r.dead);
      const all = final === undefined ? gaps : [...gaps, final];
      if (all.length < 2) return fail(`${all.length === 0 ? "no timeout" : `one timeout (${secs(all[0] ?? 0)} s)`} to compare`, "retransmit more than once before giving up, doubling the delay each time");
      const shown = all.map(secs).join(", ");
      const bad = all.slice(1).findIndex((t, i) => {
        const before = all[i] ?? 0;
        return t < RATIO_LOW * before - RATIO_SLACK_MS || t > RATIO_HIGH * before + RATIO_SLACK_MS;
      });
      const same = all.every((t) => Math.abs(t - (all[0] ?? 0)) < Math.max(RATIO_SLACK_MS, 0.2 * (all[0] ?? 1)));
      const hint = same ? "the timeout stays the same: double it (delay *= 2) after every socket.timeout" : "double the delay after every timeout, nothing else";
      if (bad !== -1) return fail(`timeouts ${shown} s: ${secs(all[bad] ?? 0)} s, then ${secs(all[bad + 1] ?? 0)} s`, hint);
      // The slack lets short timeouts (0.1 s) wobble; over the whole series they must still grow as doubling does.
      const growth = (all.at(-1) ?? 0) / Math.max(1, all[0] ?? 1);
      if (growth < 0.5 * RATIO_LOW ** (all.length - 1)) return fail(`timeouts ${shown} s: ${growth.toFixed(1)}x from the first to the last, doubling gives ${2 ** (all.length - 1)}x`, hint);
      return pass(`timeouts ${shown} s${final === undefined ? "" : " (the last one before it gave up)"}`);
    },
  },
  {
    id: "give-up",
    text: "gives up once the timeout has grown to about 2 s",
    level: "required",
    judge(r) {
      const early = started(r.dead);
      if (early) return early;
      const { gaps, final } = timeouts(r.dead);
      if (final === undefined) return fail(`still running after ${r.dead.datagrams.length} datagrams in ${secs(r.dead.run.durationMs)} s; killed at the time limit`, r.dead.datagrams.length < 2 ? "without a timeout recvfrom blocks forever: sock.settimeout(delay)" : "stop retransmitting (break) once the delay exceeds 2 seconds");
      const largest = Math.max(final, ...gaps);
      const total = final + gaps.reduce((a, b) => a + b, 0);
      const evidence = `largest timeout ${secs(largest)} s; gave up ${secs(total)} s after the first datagram, ${r.dead.datagrams.length} sent`;
      if (largest < GIVE_UP_LOW_MS) return fail(evidence, "keep doubling until the timeout reaches about 2 s before giving up");
      if (largest > GIVE_UP_HIGH_MS) return fail(evidence, "give up when the doubled delay would exceed 2 s");
      return pass(evidence);
    },
  },
  {
    id: "spoof",
    text: "ignores a forged reply from another port and prints the real one",
    level: "optional",
    judge(r) {
      const early = started(r.forged);
      if (early) return early;
      const want = replyFor(r.forged.datagrams[0]?.data ?? Buffer.alloc(0));
      const out = r.forged.run.stdout;
      if (out.includes(want) && r.realSent) return pass(`'${FORGED}' from another port ignored; printed '${clip(want, 60)}'`);
      const fake = out.split("\n").find((l) => l.includes(FORGED));
      return fail(fake === undefined ? `the real reply came ${REAL_AFTER_MS} ms after a forged one; printed: '${clip(lastLine(out) || "(nothing)", 60)}'` : `took the forged datagram for the reply: '${clip(fake.trim(), 60)}'`, "compare the address recvfrom returns with (server_ip, server_port), port included, and keep waiting when they differ");
    },
  },
];

function bind(sock: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, "127.0.0.1", () => resolve(sock.address().port));
  });
}

type Mode = "live" | "dead" | "forged";

/** Run the program once against a server of the given kind. */
async function runAgainst(env: LabEnv, mode: Mode, timeoutMs: number): Promise<{ run: EchoRun; realSent: boolean }> {
  const clock = env.clock ?? systemClock;
  const server = createSocket("udp4");
  const forger = createSocket("udp4");
  const timers = new Set<NodeJS.Timeout>();
  const datagrams: EchoDatagram[] = [];
  let realSent = false;
  const port = await bind(server);
  await bind(forger);
  server.on("message", (m: Buffer, from: RemoteInfo) => {
    datagrams.push({ data: Buffer.from(m), at: performance.now(), wallMs: clock.now(), from: { address: from.address, port: from.port } });
    if (mode === "dead") return;
    const reply = encodeReply(decodeRequest(m));
    if (mode === "live") {
      server.send(reply, from.port, from.address);
      return;
    }
    if (datagrams.length > 1) return;
    forger.send(Buffer.from(FORGED, "latin1"), from.port, from.address);
    const t = setTimeout(() => {
      timers.delete(t);
      realSent = true;
      server.send(reply, from.port, from.address);
    }, REAL_AFTER_MS);
    timers.add(t);
  });
  try {
    const startedAt = performance.now();
    const proc = new StudentProcess({ command: env.command, prefix: await studentPrefix(env, port), vars: { host: "127.0.0.1", port: String(port), dir: env.dir }, cwd: env.workdir, timeoutMs });
    const run = await proc.done;
    return { run: { datagrams, startedAt, run }, realSent };
  } finally {
    for (const t of timers) clearTimeout(t);
    server.close();
    forger.close();
  }
}

export const udpEchoClientLab = defineLab<UdpEchoClientRecord>({
  name: "udp-echo-client",
  summary: "UDP client/server lab, the client: the reply and its own port, retransmission with a doubling timeout, giving up at about 2 s, forged replies",
  role: "client",
  example: "wirekit check udp-echo-client -- python3 udp_client.py {host} {port}",
  defaultTimeoutMs: 12_000,
  netns: true,
  requirements,
  async collect(env: LabEnv) {
    // The live and forged runs end in well under a second; the dead one takes the whole backoff (3.1 s for 0.1 s doubled to 1.6 s).
    const quick = Math.min(env.timeoutMs, 5000);
    const live = await runAgainst(env, "live", quick);
    const dead = await runAgainst(env, "dead", env.timeoutMs);
    const forged = await runAgainst(env, "forged", quick);
    return { record: { live: live.run, dead: dead.run, forged: forged.run, realSent: forged.realSent }, runs: [live.run.run, dead.run.run, forged.run.run] };
  },
});

/**
 * The UDP pinger client (assignment 2-2, task 2, and the English lab): 10 pings `Ping <seq>
 * <time>`, at most about a second's wait for each, every reply printed with its RTT, "Request
 * timed out" for every loss, and min/avg/max RTT with the loss rate at the end. The check is the
 * server: wirekit's UDP ping server with seeded loss (30%), behind a relay that also holds one
 * reply back past a second, and the reply after it 600 ms, so a client that takes the late
 * reply for the next ping's shows.
 */
import { createSocket, type RemoteInfo } from "node:dgram";
import { createUdpPingServer } from "../../udp/ping/server.js";
import { clip, fail, pass, type Requirement, type Verdict } from "../requirement.js";
import { defineLab, studentPrefix, type LabEnv } from "../lab.js";
import { pingLines, readStatistics, type PingLine } from "../ping-output.js";
import { StudentProcess, type StudentResult } from "../runner.js";

export const COUNT = 10;
export const LOSS = 0.3;
/**
 * The reply held back past the client's 1 s wait (counted from the ping's arrival), and the one
 * after it. Late comes 0.5 s into the next ping's wait, the next reply 0.1 s after that (node's
 * timers keep that order however loaded the machine is) and 0.4 s before its own second is over.
 */
export const LATE_MS = 1500;
export const NEXT_MS = 600;

export interface SentPing {
  text: string;
  at: number;
  /** The server dropped it (seeded). */
  dropped: boolean;
  /** When its reply was passed on to the client. */
  repliedAt?: number;
  /** How long the relay held the reply back. */
  heldMs: number;
}

export interface UdpPingClientRecord {
  pings: SentPing[];
  /** Index of the ping whose reply came late (after LATE_MS), if any. */
  late?: number;
  stdout: string;
  run: StudentResult;
}

/** Whether ping i counts as lost for the client: dropped, or its reply came after the 1 s wait. */
export const isLost = (r: UdpPingClientRecord, i: number): boolean => r.pings[i]?.dropped === true || i === r.late;

function lines(r: UdpPingClientRecord): PingLine[] {
  return pingLines(r.stdout, r.pings.map((p) => p.text.replace(/[a-z]/g, (c) => c.toUpperCase())));
}

function started(r: UdpPingClientRecord): Verdict | undefined {
  if (r.run.spawnError !== undefined) return fail(`could not start: ${r.run.spawnError}`, "check the command line");
  if (r.pings.length === 0) return fail(`no ping reached the server${r.run.stderr ? `; stderr: ${clip(r.run.stderr.trim().split("\n").at(-1) ?? "", 80)}` : ""}`, "send to the server_address and server_port given on the command line");
  return undefined;
}

const seqOf = (text: string): number | undefined => {
  const m = /^ping (\d+) \S/i.exec(text);
  return m === null ? undefined : Number(m[1]);
};

/** The RTT the relay saw for ping i (ms), or undefined when it got no reply. */
const relayRtt = (p: SentPing | undefined): number | undefined => (p?.repliedAt === undefined ? undefined : p.repliedAt - p.at);

const requirements: Requirement<UdpPingClientRecord>[] = [
  {
    id: "send",
    text: `sends ${COUNT} pings 'Ping <seq> <time>', seq 1 to ${COUNT}`,
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const bad = r.pings.findIndex((p, i) => seqOf(p.text) !== i + 1);
      if (bad !== -1) return fail(`ping ${bad + 1} was '${clip(r.pings[bad]?.text ?? "", 50)}'`, "the message is 'Ping <sequence_number> <send_time>', sequence numbers from 1");
      if (r.pings.length !== COUNT) return fail(`${r.pings.length} pings sent${r.run.timedOut ? ", then killed at the time limit" : ""}`, r.pings.length < COUNT ? "send all 10, whatever happens to each" : "send exactly 10");
      return pass(`'${clip(r.pings[0]?.text ?? "", 40)}' … '${clip(r.pings.at(-1)?.text ?? "", 40)}'`);
    },
  },
  {
    id: "wait",
    text: "waits at most about one second for each reply",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const lastSent = r.pings.length - 1;
      if (r.run.timedOut && lastSent < COUNT - 1 && isLost(r, lastSent)) return fail(`ping ${lastSent + 1} was lost and the program waited for it until killed at the time limit`, "set a timeout on the socket (clientSocket.settimeout(1)) and catch socket.timeout");
      // Time the client idles between a reply and the next ping (an interval it sleeps), to subtract.
      const idles = r.pings.slice(0, -1).flatMap((p, i) => (p.repliedAt !== undefined && !isLost(r, i) ? [(r.pings[i + 1]?.at ?? 0) - p.repliedAt] : []));
      const idle = idles.length === 0 ? 0 : (idles.sort((a, b) => a - b)[Math.floor(idles.length / 2)] ?? 0);
      const waits = r.pings.slice(0, -1).flatMap((p, i) => (isLost(r, i) ? [{ i, ms: (r.pings[i + 1]?.at ?? 0) - p.at - idle }] : []));
      const long = waits.find((w) => w.ms > 1600);
      if (long !== undefined) return fail(`after the lost ping ${long.i + 1} it waited ${(long.ms / 1000).toFixed(2)} s`, "wait at most 1 second: clientSocket.settimeout(1)");
      // Giving up early shows as a "timed out" line printed before the second was over (a stale reply taken instead is judged by "late").
      const ls = lines(r);
      const short = waits.find((w) => w.ms < 600 && ls[w.i]?.kind === "timeout");
      if (short !== undefined) return fail(`after ping ${short.i + 1} it gave up after ${Math.round(short.ms)} ms`, "wait the whole second before declaring a loss");
      if (waits.length === 0) return pass("no ping was lost before the last one");
      return pass(`waited ${waits.map((w) => (w.ms / 1000).toFixed(2)).join(", ")} s for the lost pings`);
    },
  },
  {
    id: "reply",
    text: "prints each reply and its RTT",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const ls = lines(r);
      for (let i = 0; i < r.pings.length; i++) {
        if (isLost(r, i)) continue;
        const l = ls[i];
        if (l === undefined || l.kind !== "reply") return fail(`ping ${i + 1} got a reply, but the line printed for it is '${clip(l?.line ?? "(none)", 60)}'`, "print the reply message and its RTT: 'Reply from ADDR: MESSAGE, RTT=x ms'");
        if (l.rtt === undefined) return fail(`'${clip(l.line, 70)}' has no RTT`, "print the RTT with its unit: RTT=0.52 ms");
      }
      const first = ls.find((l) => l.kind === "reply");
      return pass(first === undefined ? "no reply to print" : `'${clip(first.line, 80)}'`);
    },
  },
  {
    id: "rtt",
    text: "the RTT is the time measured from send to reply (not the time in the echoed text)",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const ls = lines(r);
      const checked: string[] = [];
      for (let i = 0; i < r.pings.length; i++) {
        const l = ls[i];
        const real = relayRtt(r.pings[i]);
        // A line showing another ping's reply is the late-reply requirement's business, not this one's.
        if (isLost(r, i) || l?.rtt === undefined || real === undefined || l.kind !== "reply" || (l.seq !== undefined && l.seq !== i + 1)) continue;
        // The relay's own timestamps lag under load, so only the lower bound is tight; the upper one is
        // tight only for the reply held back NEXT_MS, whose round trip is known by construction.
        const held = (r.pings[i]?.heldMs ?? 0) > 0;
        const fits = l.rtt.ms.some((v) => v >= real - 5 && v <= (held ? real + 350 : 1000));
        if (!fits) return fail(`ping ${i + 1}: printed ${l.rtt.text}, the reply took ${real.toFixed(1)} ms${held ? ` (held back ${r.pings[i]?.heldMs} ms by the check)` : ""}`, "take time.time() just before sendto and just after recvfrom, and print the difference");
        if (r.pings[i]?.heldMs !== 0) checked.push(`ping ${i + 1} held ${r.pings[i]?.heldMs} ms: ${l.rtt.text}`);
      }
      return pass(checked.length > 0 ? checked.join("; ") : "every printed RTT matches the round trip");
    },
  },
  {
    id: "timed-out",
    text: "prints 'Request timed out' for each lost ping (the seeded drops)",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const ls = lines(r);
      const lost = r.pings.map((_, i) => i).filter((i) => isLost(r, i));
      for (const i of lost) {
        const l = ls[i];
        if (l === undefined || !/request timed out/i.test(l.line)) {
          return fail(`ping ${i + 1} was ${i === r.late ? `answered only after ${LATE_MS} ms` : "dropped"}; printed: '${clip(l?.line ?? "(nothing)", 60)}'`, i === r.late ? "a reply after the 1 s wait is a loss: print Request timed out" : "on socket.timeout print exactly 'Request timed out'");
        }
      }
      const wrong = ls.findIndex((l, i) => l.kind === "timeout" && i < r.pings.length && !isLost(r, i));
      if (wrong !== -1) return fail(`ping ${wrong + 1} was answered in ${relayRtt(r.pings[wrong])?.toFixed(0) ?? "?"} ms but printed '${clip(ls[wrong]?.line ?? "", 40)}'`, "wait a full second before declaring the ping lost");
      return pass(`${lost.map((i) => i + 1).join(", ") || "none"} lost, each printed as Request timed out`);
    },
  },
  {
    id: "late",
    text: "a reply that comes after its second is not taken as the next ping's reply",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      if (r.late === undefined) return pass("no reply was held back in this run");
      const k = r.late;
      const l = lines(r)[k + 1];
      if (l === undefined) return fail(`nothing was printed for ping ${k + 2}`, "print one line per ping");
      if (l.kind === "reply" && l.seq === k + 1) return fail(`ping ${k + 2}'s line shows ping ${k + 1}'s late reply: '${clip(l.line, 60)}'`, "check the sequence number in the reply; discard replies to earlier pings and keep waiting");
      return pass(`ping ${k + 1}'s reply came after ${LATE_MS} ms; ping ${k + 2}: '${clip(l.line, 60)}'`);
    },
  },
  {
    id: "statistics",
    text: "reports min/avg/max RTT and the loss rate, matching the replies it printed",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const st = readStatistics(r.stdout);
      const missing = (["min", "avg", "max"] as const).filter((k) => st[k] === undefined);
      if (st.lossPercent === undefined) missing.push("loss rate (%)" as "min");
      if (missing.length === 4) return fail("no statistics printed", "after the 10 pings print the minimum, maximum and average RTT and the packet loss rate in %");
      if (missing.length > 0) return fail(`statistics without ${missing.join(", ")}: '${clip(st.lines.join(" | "), 80)}'`, "print min, avg and max RTT and the loss rate in %");
      const ls = lines(r).slice(0, COUNT);
      const replies = ls.filter((l) => l.kind === "reply");
      const lossWant = (100 * (COUNT - replies.length)) / COUNT;
      if (Math.abs((st.lossPercent ?? 0) - lossWant) > 0.6) return fail(`loss ${st.lossPercent ?? "?"}%, but ${replies.length} of ${COUNT} pings were answered (${lossWant}%)`, "loss rate = (sent - received) / sent × 100");
      const rtts = replies.map((l) => l.rtt?.ms ?? []);
      if (rtts.length > 0 && rtts.every((c) => c.length > 0)) {
        // The same unit for the per-ping lines and the statistics: try each reading of each.
        const fitsSome = [0, 1].some((u) => {
          const values = rtts.map((c) => c[Math.min(u, c.length - 1)] ?? 0);
          const want = { min: Math.min(...values), max: Math.max(...values), avg: values.reduce((a, b) => a + b, 0) / values.length };
          return st.unitFactor.some((f) => (["min", "avg", "max"] as const).every((k) => Math.abs((st[k] ?? 0) * f - want[k]) <= Math.max(0.1, 0.03 * want[k])));
        });
        if (!fitsSome) return fail(`min/avg/max ${st.min}/${st.avg}/${st.max} do not match the RTTs printed above`, "compute the statistics from the RTTs of the replies received (lost pings count in neither)");
      }
      return pass(`min/avg/max ${st.min}/${st.avg}/${st.max}, loss ${st.lossPercent}%`);
    },
  },
];

export const udpPingClientLab = defineLab<UdpPingClientRecord>({
  name: "udp-ping-client",
  summary: "UDP pinger client: 10 pings, 1 s timeout, replies with RTT, Request timed out, statistics, late reply",
  role: "client",
  example: "wirekit check udp-ping-client --seed 7 -- python3 UDPPingerClient.py {host} {port}",
  defaultTimeoutMs: 30_000,
  netns: true,
  requirements,
  async collect(env: LabEnv) {
    const server = await createUdpPingServer({ host: "127.0.0.1", port: 0, loss: LOSS, seed: env.seed, batch: false });
    const front = createSocket("udp4");
    const back = createSocket("udp4");
    await Promise.all([new Promise<void>((r) => front.bind(0, "127.0.0.1", () => r())), new Promise<void>((r) => back.bind(0, "127.0.0.1", () => r()))]);
    const pings: SentPing[] = [];
    let late: number | undefined;
    let client: RemoteInfo | undefined;
    const timers = new Set<NodeJS.Timeout>();
    server.on("event", (d) => {
      const p = pings.find((x) => x.text === d.message.toString("latin1") && !x.dropped && x.repliedAt === undefined);
      if (p !== undefined && d.dropped) p.dropped = true;
    });
    front.on("message", (msg: Buffer, from: RemoteInfo) => {
      client = from;
      pings.push({ text: msg.toString("latin1"), at: performance.now(), dropped: false, heldMs: 0 });
      back.send(msg, server.port, "127.0.0.1");
    });
    back.on("message", (msg: Buffer) => {
      const text = msg.toString("latin1");
      const i = pings.findIndex((p) => p.text.replace(/[a-z]/g, (c) => c.toUpperCase()) === text && p.repliedAt === undefined && p.heldMs === 0);
      const p = pings[i];
      const to = client;
      if (p === undefined || to === undefined) return;
      // The first answered ping from the second on is held past the client's second; the next one NEXT_MS.
      let hold = 0;
      if (late === undefined && i >= 1) {
        late = i;
        hold = LATE_MS;
      } else if (late !== undefined && i === late + 1) {
        // After the late reply, whatever the clocks of a loaded machine say: that order is the test.
        const lateDue = (pings[late]?.at ?? 0) + LATE_MS;
        hold = Math.round(Math.max(NEXT_MS, lateDue + 100 - p.at));
      }
      p.heldMs = hold;
      const deliver = (): void => {
        p.repliedAt = performance.now();
        front.send(msg, to.port, to.address);
      };
      if (hold === 0) deliver();
      else {
        const t = setTimeout(() => {
          timers.delete(t);
          deliver();
        }, Math.max(0, p.at + hold - performance.now()));
        timers.add(t);
      }
    });
    try {
      const addr = front.address();
      const run = await new StudentProcess({ command: env.command, prefix: await studentPrefix(env, addr.port), vars: { host: "127.0.0.1", port: String(addr.port), dir: env.dir }, cwd: env.workdir, timeoutMs: env.timeoutMs }).done;
      return { record: { pings, ...(late === undefined ? {} : { late }), stdout: run.stdout, run }, runs: [run] };
    } finally {
      for (const t of timers) clearTimeout(t);
      front.close();
      back.close();
      await server.close();
    }
  },
});

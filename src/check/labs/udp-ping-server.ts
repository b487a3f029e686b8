/**
 * The UDP pinger server (assignment 2-2, task 1, and the English lab's server): it echoes each
 * datagram upper-cased and drops about 30% of them to simulate loss, and never crashes on what
 * arrives. The check is the client: 200 pings, then garbage, then more pings.
 */
import { createSocket, type Socket } from "node:dgram";
import { createRandom } from "../../core/random.js";
import { clip, fail, pass, type Requirement } from "../requirement.js";
import { defineLab, type LabEnv } from "../lab.js";
import { binomialBounds } from "../binomial.js";
import { startServer } from "../server-program.js";
import type { StudentResult } from "../runner.js";

export const PINGS = 200;
const AFTER = 30;
/** The lab's server drops when randint(0, 10) < 4, i.e. 4/11 ≈ 36%; the text says 30%. */
const P_LOW = 0.25;
const P_HIGH = 0.4;

export interface PingExchange {
  sent: string;
  reply?: Buffer;
}

export interface UdpPingServerRecord {
  bound: boolean;
  pings: PingExchange[];
  /** Replies that matched no ping. */
  strays: Buffer[];
  /** The garbage sent, described. */
  garbage: string[];
  /** Replies to the pings after the garbage. */
  repliesAfter: number;
  /** The program had exited by the end of the pings after the garbage. */
  exitedAfterGarbage: boolean;
  run?: StudentResult;
}

const upper = (s: string): string => s.replace(/[a-z]/g, (c) => c.toUpperCase());

const notBound = (r: UdpPingServerRecord) =>
  r.bound ? undefined : fail(`nothing bound UDP port {port}${r.run?.stderr ? `; stderr: ${clip(r.run.stderr.trim(), 100)}` : ""}`, "bind the port given on the command line: serverSocket.bind(('', int(sys.argv[1])))");

const requirements: Requirement<UdpPingServerRecord>[] = [
  { id: "bind", text: "binds the given UDP port", level: "required", judge: (r) => notBound(r) ?? pass("bound") },
  {
    id: "upper-case",
    text: "replies to a ping with its text upper-cased",
    level: "required",
    judge(r) {
      const early = notBound(r);
      if (early) return early;
      const replied = r.pings.filter((p) => p.reply !== undefined);
      const wrong = replied.find((p) => p.reply?.toString("latin1") !== upper(p.sent));
      if (replied.length === 0) return fail(r.strays[0] === undefined ? `no reply to ${r.pings.length} pings` : `only replies matching no ping, e.g. '${clip(r.strays[0].toString("latin1"), 60)}'`, "send the reply back to the address recvfrom returned: serverSocket.sendto(message.upper(), address)");
      if (wrong !== undefined) return fail(`'${clip(wrong.sent, 40)}' came back as '${clip(wrong.reply?.toString("latin1") ?? "", 40)}'`, "reply with message.upper(), nothing else");
      const first = replied[0];
      return pass(`${replied.length} replies, e.g. '${clip(first?.reply?.toString("latin1") ?? "", 50)}'`);
    },
  },
  {
    id: "loss",
    text: `drops about 30% of the pings (binomial bounds over ${PINGS} pings)`,
    level: "required",
    judge(r) {
      const early = notBound(r);
      if (early) return early;
      const n = r.pings.length;
      const dropped = r.pings.filter((p) => p.reply === undefined).length;
      const { low, high } = binomialBounds(n, P_LOW, P_HIGH);
      const evidence = `${dropped} of ${n} dropped (${((100 * dropped) / Math.max(1, n)).toFixed(1)}%; accepted ${low}-${high}, a loss rate between ${P_LOW * 100}% and ${P_HIGH * 100}%)`;
      if (dropped < low) return fail(evidence, dropped === 0 ? "the server must simulate loss: skip the reply when random.randint(0, 10) < 4" : "too few drops: compare the random number as the lab does (rand < 4 out of 0..10)");
      if (dropped > high) return fail(evidence, "too many drops: reply whenever the random number is 4 or more");
      return pass(evidence);
    },
  },
  {
    id: "garbage",
    text: "keeps running and answering after empty, binary and oversized datagrams",
    level: "required",
    judge(r) {
      const early = notBound(r);
      if (early) return early;
      const what = `after ${r.garbage.join(", ")}`;
      if (r.exitedAfterGarbage) return fail(`${what} the program exited${r.run?.stderr ? `: ${clip(r.run.stderr.trim().split("\n").at(-1) ?? "", 80)}` : ""}`, "a server must survive any datagram: work on the bytes (message.upper()) or catch the exception and carry on");
      if (r.repliesAfter === 0) return fail(`${what} no reply to ${AFTER} more pings`, "keep the loop going whatever arrives (catch the exception)");
      return pass(`${what}: ${r.repliesAfter} of ${AFTER} more pings answered`);
    },
  },
];

function pingText(seq: number): string {
  return `Ping ${seq} wirekit-check t=${(seq * 0.013).toFixed(3)}`;
}

async function pingBatch(sock: Socket, port: number, texts: string[], waitMs: number, got: Map<string, Buffer>): Promise<void> {
  for (const t of texts) sock.send(t, port, "127.0.0.1");
  const want = new Set(texts.map(upper));
  const deadline = performance.now() + waitMs;
  while (performance.now() < deadline && [...want].some((w) => !got.has(w))) await new Promise((r) => setTimeout(r, 10));
  // A short linger so the last replies of a busy server are not counted as drops.
  await new Promise((r) => setTimeout(r, 20));
}

export const udpPingServerLab = defineLab<UdpPingServerRecord>({
  name: "udp-ping-server",
  summary: "UDP pinger server: upper-cased replies, about 30% loss over 200 pings, survives garbage",
  role: "server",
  example: "wirekit check udp-ping-server -- python3 UDPPingerServer.py {port}",
  defaultTimeoutMs: 15_000,
  netns: true,
  requirements,
  async collect(env: LabEnv) {
    const srv = await startServer(env, "udp");
    const record: UdpPingServerRecord = { bound: srv.listening, pings: [], strays: [], garbage: [], repliesAfter: 0, exitedAfterGarbage: false };
    if (srv.listening) {
      const sock = createSocket("udp4");
      await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
      const got = new Map<string, Buffer>();
      sock.on("message", (m: Buffer) => {
        const key = m.toString("latin1");
        if (got.has(key) || !/^PING \d+ WIREKIT-CHECK/.test(key)) record.strays.push(Buffer.from(m));
        else got.set(key, Buffer.from(m));
      });
      const texts = Array.from({ length: PINGS }, (_, i) => pingText(i + 1));
      for (let i = 0; i < PINGS; i += 20) await pingBatch(sock, srv.port, texts.slice(i, i + 20), 100, got);
      record.pings = texts.map((sent) => {
        const reply = got.get(upper(sent));
        return reply === undefined ? { sent } : { sent, reply };
      });
      const random = createRandom(env.seed);
      const garbage: Array<[string, Buffer]> = [
        ["an empty datagram", Buffer.alloc(0)],
        ["invalid UTF-8", Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80])],
        ["512 random bytes", random.bytes(512)],
        ["a 4000-byte datagram", Buffer.alloc(4000, 0x61)],
      ];
      for (const [label, bytes] of garbage) {
        record.garbage.push(label);
        sock.send(bytes, srv.port, "127.0.0.1");
        await new Promise((r) => setTimeout(r, 30));
      }
      const after = Array.from({ length: AFTER }, (_, i) => pingText(PINGS + 1 + i));
      await pingBatch(sock, srv.port, after, 300, got);
      record.repliesAfter = after.filter((t) => got.has(upper(t))).length;
      record.exitedAfterGarbage = srv.proc.exited;
      sock.close();
    }
    record.run = await srv.proc.stop();
    return { record, runs: [record.run] };
  },
});

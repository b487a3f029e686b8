/**
 * The ICMP pinger (assignment 5-1): `client.py host [-n count]` sends ICMP echo requests about
 * a second apart over a raw socket, each with a valid checksum and the process's identifier,
 * waits at most a second for each reply, prints `Reply from ADDR: bytes=N time=RTTms TTL=T` or
 * `Request timed out`, and the statistics at the end (min/avg/max RTT and the loss; the
 * standard deviation, which the assignment names in its introduction, is optional). Task 3*
 * (optional): a Destination Unreachable is decoded and printed.
 *
 * The counterpart is the kernel: {host} is a fresh address of 127.0.0.0/8, which the host
 * answers itself, and a raw socket of the check sees every request and reply to and from it
 * (on loopback a raw socket receives both). A request with a bad checksum is dropped by the
 * receiving kernel, so it shows as an unanswered request. Task 3 runs the program a second time
 * in a network namespace whose router answers with Destination Unreachable. Needs root (the
 * raw sockets, the namespaces); without it every requirement is skipped with the reason.
 */
import { randomInt } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { internetChecksum, isChecksumValid } from "../../icmp/message/checksum.js";
import { decodeIpv4Header } from "../../icmp/message/ipv4-header.js";
import { loadIcmpAddon, type NativeSocket } from "../../icmp/socket.js";
import { clip, fail, pass, skip, type Requirement, type Verdict } from "../requirement.js";
import { defineLab, type LabEnv } from "../lab.js";
import { readRtt, readStatistics } from "../ping-output.js";
import { StudentProcess, type StudentResult } from "../runner.js";
import { createUnreachableTopology, netnsUnavailable, UNREACHABLE_HOST } from "../netns.js";

export interface IcmpPacket {
  type: number;
  code: number;
  id: number;
  seq: number;
  /** The checksum field as sent, and whether the message sums correctly. */
  checksum: number;
  checksumOk: boolean;
  /** The checksum it should have carried. */
  rightChecksum: number;
  /** ICMP data bytes (after the 8-byte header). */
  dataBytes: number;
  ttl: number;
  at: number;
}

export interface IcmpPingRecord {
  /** Why nothing could be checked (no root). */
  skipped?: string;
  host: string;
  requests: IcmpPacket[];
  replies: IcmpPacket[];
  /** The pids of the program's process group when its first request arrived. */
  pids: number[];
  run?: StudentResult;
  /** Task 3: the run in the namespace, or why there was none. */
  unreachable?: { run: StudentResult } | { skipped: string };
}

const ECHO_REQUEST = 8;
const ECHO_REPLY = 0;

/** One line of the program's output that tells a request's fate. */
export interface FateLine {
  line: string;
  kind: "reply" | "timeout";
  from?: string;
  ttl?: number;
  rtt?: ReturnType<typeof readRtt>;
}

/** The reply and timeout lines, in order. Pure. */
export function fateLines(stdout: string): FateLine[] {
  const out: FateLine[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    if (/timed?\s*out/i.test(line)) out.push({ line, kind: "timeout" });
    else if (/reply from|bytes\s*=.*time\s*[=<]/i.test(line) && !/unreachable/i.test(line)) {
      const from = /from\s+(\d+\.\d+\.\d+\.\d+)/i.exec(line)?.[1];
      const ttl = /\bTTL\s*[=:]\s*(\d+)/i.exec(line)?.[1];
      const rtt = readRtt(line.replace(/\bTTL\s*[=:]\s*\d+/i, "").replace(/bytes\s*[=:]\s*\d+/i, ""));
      out.push({ line, kind: "reply", ...(from === undefined ? {} : { from }), ...(ttl === undefined ? {} : { ttl: Number(ttl) }), ...(rtt === undefined ? {} : { rtt }) });
    }
  }
  return out;
}

const NUM = String.raw`(\d+(?:\.\d+)?)`;

/** The standard deviation in the statistics: "min/avg/max/stddev = a/b/c/d", or a labelled number. Pure. */
export function readStddev(stdout: string): number | undefined {
  for (const line of stdout.split(/\r?\n/)) {
    const slash = /((?:min|avg|max|mdev|stddev|std|sd)(?:\/(?:min|avg|max|mdev|stddev|std|sd))+)\D*?(\d+(?:\.\d+)?(?:\/\d+(?:\.\d+)?)+)/i.exec(line);
    if (slash !== null) {
      const names = (slash[1] ?? "").toLowerCase().split("/");
      const i = names.findIndex((n) => n === "mdev" || n === "stddev" || n === "std" || n === "sd");
      const v = (slash[2] ?? "").split("/")[i];
      if (i !== -1 && v !== undefined) return Number(v);
    }
    const m = new RegExp(String.raw`(?:std\.?\s*dev(?:iation)?|stddev|mdev|standard deviation|标准差)[^\d\n]*?${NUM}`, "i").exec(line);
    if (m !== null) return Number(m[1]);
  }
  return undefined;
}

const skipAll = (r: IcmpPingRecord): Verdict | undefined => (r.skipped === undefined ? undefined : skip(r.skipped));

function started(r: IcmpPingRecord): Verdict | undefined {
  const s = skipAll(r);
  if (s) return s;
  if (r.run?.spawnError !== undefined) return fail(`could not start: ${r.run.spawnError}`, "check the command line");
  if (r.requests.length === 0) return fail(`no echo request reached ${r.host}${r.run?.stderr ? `; stderr: ${clip(r.run.stderr.trim().split("\n").at(-1) ?? "", 80)}` : ""}`, "open socket(AF_INET, SOCK_RAW, getprotobyname('icmp')) and sendto(packet, (dest, 1)); it needs root");
  return undefined;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(4, "0")}`;
/** The reply the kernel sent to request i (same id and sequence). */
const replyTo = (r: IcmpPingRecord, q: IcmpPacket): IcmpPacket | undefined => r.replies.find((p) => p.id === q.id && p.seq === q.seq && p.at >= q.at);

const requirements: Requirement<IcmpPingRecord>[] = [
  {
    id: "echo-request",
    text: "sends ICMP echo requests to the host, about one second apart",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const bad = r.requests.find((q) => q.code !== 0);
      if (bad !== undefined) return fail(`a request with code ${bad.code}`, "an echo request is type 8, code 0");
      const gaps = r.requests.slice(1).map((q, i) => q.at - (r.requests[i]?.at ?? 0));
      const off = gaps.find((g) => g < 500 || g > 2500);
      if (off !== undefined) return fail(`${r.requests.length} requests, ${Math.round(off)} ms between two of them`, "send one ping about every second: wait out the rest of the second after each reply");
      return pass(`${r.requests.length} echo requests to ${r.host}${gaps.length > 0 ? `, ${gaps.map((g) => (g / 1000).toFixed(2)).join(", ")} s apart` : ""}`);
    },
  },
  {
    id: "checksum",
    text: "each request carries a valid Internet checksum",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const i = r.requests.findIndex((q) => !q.checksumOk);
      const q = r.requests[i];
      if (q !== undefined) {
        const swapped = ((q.rightChecksum >> 8) | ((q.rightChecksum & 0xff) << 8)) === q.checksum;
        return fail(`request ${i + 1} carried checksum ${hex(q.checksum)}, the right one is ${hex(q.rightChecksum)}; the host dropped it`, swapped ? "the two bytes are swapped: pack the checksum with the byte order the skeleton uses (htons) exactly once" : "compute the checksum over the header (checksum field 0) and the data, then put it in the header");
      }
      return pass(`${r.requests.length} valid, e.g. ${hex(r.requests[0]?.checksum ?? 0)}`);
    },
  },
  {
    id: "identifier",
    text: "the requests carry the process's identifier (os.getpid() & 0xFFFF)",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const ids = [...new Set(r.requests.map((q) => q.id))];
      const mine = r.pids.map((p) => p & 0xffff);
      const other = ids.find((id) => !mine.includes(id));
      if (other !== undefined) return fail(`identifier ${other}; the program's pid is ${r.pids.join(", ") || "unknown"}`, "ID = os.getpid() & 0xFFFF, the same in every request, and match replies on it");
      return pass(`identifier ${ids.join(", ")} = pid ${r.pids.find((p) => ids.includes(p & 0xffff)) ?? ""} & 0xFFFF`);
    },
  },
  {
    id: "reply",
    text: "prints 'Reply from ADDR: bytes=N time=RTTms TTL=T' per reply, 'Request timed out' per loss",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const lines = fateLines(r.run?.stdout ?? "");
      let answered = 0;
      for (const [i, q] of r.requests.entries()) {
        const l = lines[i];
        const reply = replyTo(r, q);
        if (reply === undefined) {
          if (l?.kind !== "timeout") return fail(`request ${i + 1} got no reply; printed '${clip(l?.line ?? "(nothing)", 60)}'`, "when no reply comes within a second print 'Request timed out'");
          continue;
        }
        answered++;
        if (l === undefined || l.kind !== "reply") return fail(`request ${i + 1} was answered; printed '${clip(l?.line ?? "(nothing)", 60)}'`, "print 'Reply from ADDR: bytes=N time=RTTms TTL=T' for each reply");
        if (l.from !== r.host) return fail(`'${clip(l.line, 70)}' does not name ${r.host}`, "print the address the reply came from (recvfrom's address)");
        if (l.rtt === undefined || !l.rtt.ms.some((v) => v >= 0 && v < 1000)) return fail(`'${clip(l.line, 70)}' has no RTT in ms`, "time=<RTT>ms: the receive time minus the send time stored in the data");
        if (l.ttl !== reply.ttl) return fail(`'${clip(l.line, 70)}': the reply's IP header said TTL ${reply.ttl}`, "read the TTL from byte 8 of the IP header of the received packet");
      }
      if (answered === 0) return fail(`none of the ${r.requests.length} requests was answered`, "the host answers only requests with a valid checksum (see the checksum requirement)");
      return pass(`'${clip(lines.find((l) => l.kind === "reply")?.line.trim() ?? "", 80)}'`);
    },
  },
  {
    id: "statistics",
    text: "reports the packets sent, received and lost (loss rate) and min/avg/max RTT",
    level: "required",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const out = r.run?.stdout ?? "";
      const st = readStatistics(out);
      const replies = fateLines(out).filter((l) => l.kind === "reply");
      const sent = r.requests.length;
      if (st.lines.length === 0) return fail("no statistics printed", "after the last ping print sent, received, lost (and the loss rate) and min/avg/max RTT");
      if (st.lossPercent === undefined) return fail(`no loss rate: '${clip(st.lines.join(" | "), 80)}'`, "print the loss rate in %: (sent - received) / sent × 100");
      const want = (100 * (sent - replies.length)) / Math.max(1, sent);
      if (Math.abs(st.lossPercent - want) > 0.6) return fail(`loss ${st.lossPercent}%, but ${replies.length} of ${sent} were answered`, "loss rate = (sent - received) / sent × 100");
      if (replies.length === 0) return pass(`loss ${st.lossPercent}% (no RTT to summarise)`);
      if (st.min === undefined || st.avg === undefined || st.max === undefined) return fail(`no min/avg/max RTT: '${clip(st.lines.join(" | "), 80)}'`, "print the minimum, average and maximum RTT in ms");
      const values = replies.map((l) => l.rtt?.ms[0] ?? 0);
      const w = { min: Math.min(...values), max: Math.max(...values), avg: values.reduce((a, b) => a + b, 0) / values.length };
      const fits = st.unitFactor.some((f) => (["min", "avg", "max"] as const).every((k) => Math.abs((st[k] ?? 0) * f - w[k]) <= Math.max(0.01, 0.03 * w[k])));
      if (!fits) return fail(`min/avg/max ${st.min}/${st.avg}/${st.max} do not match the RTTs printed above`, "compute the statistics from the RTTs of the replies received");
      return pass(`min/avg/max ${st.min}/${st.avg}/${st.max}, loss ${st.lossPercent}%`);
    },
  },
  {
    id: "stddev",
    text: "the statistics include the standard deviation of the RTTs",
    level: "optional",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const out = r.run?.stdout ?? "";
      const values = fateLines(out).flatMap((l) => (l.kind === "reply" && l.rtt !== undefined ? [l.rtt.ms[0] ?? 0] : []));
      const sd = readStddev(out);
      if (sd === undefined) return fail("no standard deviation printed", "print the standard deviation of the RTTs beside min/avg/max");
      if (values.length === 0) return pass(`stddev ${sd} (no RTT to check it against)`);
      const avg = values.reduce((a, b) => a + b, 0) / values.length;
      const ss = values.reduce((a, v) => a + (v - avg) ** 2, 0);
      const candidates = [Math.sqrt(ss / values.length), ...(values.length > 1 ? [Math.sqrt(ss / (values.length - 1))] : [])];
      if (!candidates.some((c) => Math.abs(c - sd) <= Math.max(0.005, 0.1 * c))) return fail(`stddev ${sd}; the RTTs printed give ${candidates.map((c) => c.toFixed(3)).join(" or ")}`, "stddev = sqrt(mean of (rtt - avg)²)");
      return pass(`stddev ${sd} (the printed RTTs give ${candidates[0]?.toFixed(3) ?? ""})`);
    },
  },
  {
    id: "unreachable",
    text: "decodes and prints a Destination Unreachable from a router (task 3*)",
    level: "optional",
    judge(r) {
      const early = started(r);
      if (early) return early;
      const u = r.unreachable;
      if (u === undefined) return skip("not run");
      if ("skipped" in u) return skip(u.skipped);
      const line = u.run.stdout.split(/\r?\n/).find((l) => /unreachable/i.test(l));
      if (line === undefined) return fail(`the router answered ${UNREACHABLE_HOST} with host unreachable; printed '${clip(u.run.stdout.trim().split("\n").find((l) => l.trim() !== "") ?? "(nothing)", 60)}'`, "accept ICMP type 3 in receiveOnePong, match its quoted header's ID, and print the code's meaning (1: Destination Host Unreachable)");
      return pass(`'${clip(line.trim(), 80)}'`);
    },
  },
];

const handedOut = new Set<string>();

/** A fresh loopback address the host answers itself: 127.a.b.c, not 127.0.0.1 (other programs ping that). */
function freshLoopback(): string {
  for (;;) {
    const a = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    if (!handedOut.has(a)) {
      handedOut.add(a);
      return a;
    }
  }
}

/** The pids of process group `pgid` (from /proc/PID/stat: field 5 after the command's closing parenthesis). */
async function groupPids(pgid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir("/proc").catch(() => [])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid) out.push(Number(name));
  }
  return out;
}

function parse(buf: Buffer): { src: string; dst: string; packet: IcmpPacket } | undefined {
  const ip = decodeIpv4Header(buf);
  if (!ip.ok || ip.value.protocol !== 1) return undefined;
  const icmp = buf.subarray(ip.value.headerLength, Math.min(buf.length, ip.value.totalLength));
  if (icmp.length < 8) return undefined;
  const zeroed = Buffer.from(icmp);
  zeroed.writeUInt16BE(0, 2);
  return {
    src: ip.value.src,
    dst: ip.value.dst,
    packet: { type: icmp[0] ?? 0, code: icmp[1] ?? 0, checksum: icmp.readUInt16BE(2), checksumOk: isChecksumValid(icmp), rightChecksum: internetChecksum(zeroed), id: icmp.readUInt16BE(4), seq: icmp.readUInt16BE(6), dataBytes: icmp.length - 8, ttl: ip.value.ttl, at: performance.now() },
  };
}

export const icmpPingLab = defineLab<IcmpPingRecord>({
  name: "icmp-ping",
  summary: "ICMP pinger (raw socket): echo requests with checksum and identifier, replies with RTT and TTL, statistics, Destination Unreachable; needs root",
  role: "client",
  example: "wirekit check icmp-ping -- python3 IcmpPing.py {host} -n 4",
  defaultTimeoutMs: 20_000,
  requirements,
  async collect(env: LabEnv) {
    const host = freshLoopback();
    const record: IcmpPingRecord = { host, requests: [], replies: [], pids: [] };
    let sock: NativeSocket;
    try {
      if (process.getuid?.() !== 0) throw new Error("needs root (raw ICMP sockets)");
      const lib = loadIcmpAddon();
      let pidsRead: Promise<void> | undefined;
      let proc: StudentProcess | undefined;
      sock = new lib.IcmpSocket(4, "raw", (buf: Buffer) => {
        const p = parse(buf);
        if (p === undefined) return;
        if (p.dst === host && p.packet.type === ECHO_REQUEST) {
          record.requests.push(p.packet);
          const pgid = proc?.pgid;
          if (pidsRead === undefined && pgid !== undefined) pidsRead = groupPids(pgid).then((pids) => void (record.pids = pids));
        } else if (p.src === host && p.packet.type === ECHO_REPLY) record.replies.push(p.packet);
      });
      try {
        proc = new StudentProcess({ command: env.command, vars: { host, dir: env.dir }, cwd: env.workdir, timeoutMs: env.timeoutMs });
        record.run = await proc.done;
        await pidsRead;
      } finally {
        sock.close();
      }
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return { record: { ...record, skipped: `skipped: ${reason}` }, runs: record.run === undefined ? [] : [record.run] };
    }
    const runs = [record.run];
    const why = netnsUnavailable();
    if (why !== undefined) record.unreachable = { skipped: why };
    else {
      const topo = await createUnreachableTopology().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      if (topo instanceof Error) record.unreachable = { skipped: `could not build the namespace: ${topo.message}` };
      else {
        try {
          const run = await new StudentProcess({ command: [...topo.prefix, ...env.command], vars: { host: UNREACHABLE_HOST, dir: env.dir }, cwd: env.workdir, timeoutMs: env.timeoutMs }).done;
          record.unreachable = { run };
          runs.push(run);
        } finally {
          await topo.destroy();
        }
      }
    }
    return { record, runs };
  },
});

/**
 * The UDP client/server lab's server (task 3, the program the assignment has students submit):
 * once a client has sent it a datagram, it tries to send that client one 80,000-byte datagram,
 * catches the error (more than UDP's 65,507 bytes: EMSGSIZE, "Message too long") and prints
 * that the packet is too big, then sends the data as 16 smaller datagrams ("16 1KB packets" in
 * the assignment's words; 16 parts of 80,000 bytes are 5,000 bytes each, so both sizes pass).
 * The check is the client: it sends one datagram and keeps what comes back. It does not echo
 * the parts back as the lab's partner client does, so a server that answers every datagram
 * it receives does not start a storm.
 */
import { createSocket } from "node:dgram";
import { clip, fail, pass, type Requirement, type Verdict } from "../requirement.js";
import { defineLab, type LabEnv } from "../lab.js";
import { startServer } from "../server-program.js";
import type { StudentResult } from "../runner.js";

export const BIG = 80_000;
export const PARTS = 16;
/** A part: "1 KB" as the assignment says (1000 or 1024 bytes), up to an even 16th of 80,000 bytes. */
export const PART_MIN = 1000;
export const PART_MAX = 5120;
/** How long the check waits for the parts after its datagram. */
const WAIT_MS = 1500;

export interface UdpEchoServerRecord {
  bound: boolean;
  /** What the check sent. */
  hello: string;
  /** The datagrams that came back, in order. */
  received: Buffer[];
  /** The program was gone by the end of the wait. */
  exited: boolean;
  run?: StudentResult;
}

const notBound = (r: UdpEchoServerRecord): Verdict | undefined =>
  r.bound ? undefined : fail(`nothing bound UDP port {port}${r.run?.stderr ? `; stderr: ${clip(r.run.stderr.trim().split("\n").at(-1) ?? "", 100)}` : ""}`, "bind the address and port given on the command line: sock.bind((sys.argv[1], int(sys.argv[2])))");

/** The line of the output that reports the failed big send. */
export function tooBigLine(output: string): string | undefined {
  return output.split(/\r?\n/).find((l) => /too (big|long|large)|cannot send|can't send|could not send|couldn't send|failed|error|errno\s*90|EMSGSIZE/i.test(l) && !/^\s*(Traceback|File ")/.test(l));
}

const crashed = (r: UdpEchoServerRecord): boolean => /Traceback/.test(r.run?.stderr ?? "") && /Message too long|Errno 90|EMSGSIZE/i.test(r.run?.stderr ?? "");

const requirements: Requirement<UdpEchoServerRecord>[] = [
  { id: "bind", text: "binds the given address and UDP port", level: "required", judge: (r) => notBound(r) ?? pass("bound") },
  {
    id: "too-big",
    text: "tries to send one 80,000-byte datagram, catches the error and reports it",
    level: "required",
    judge(r) {
      const early = notBound(r);
      if (early) return early;
      if (crashed(r)) return fail(`the program died: '${clip(r.run?.stderr.trim().split("\n").at(-1) ?? "", 80)}'`, "put the big sendto in try: ... except socket.error: print('packet too big, cannot send')");
      const big = r.received.find((d) => d.length > PART_MAX);
      if (big !== undefined) return fail(`a ${big.length}-byte datagram arrived instead`, `send ${BIG} bytes in one sendto: UDP cannot carry that, which is what the task shows`);
      const line = tooBigLine(`${r.run?.stdout ?? ""}\n${r.run?.stderr ?? ""}`);
      if (line === undefined) return fail(`nothing printed about the big datagram; output: '${clip((r.run?.stdout ?? "").trim().split("\n").at(-1) || "(nothing)", 60)}'`, "print the error you caught: print('packet too big, cannot send')");
      return pass(`'${clip(line.trim(), 80)}'`);
    },
  },
  {
    id: "parts",
    text: `then sends the data as ${PARTS} smaller datagrams, which arrive`,
    level: "required",
    judge(r) {
      const early = notBound(r);
      if (early) return early;
      const parts = r.received.filter((d) => d.length >= PART_MIN && d.length <= PART_MAX);
      const sizes = [...new Set(r.received.map((d) => d.length))].join(", ");
      if (r.received.length === 0) return fail(`nothing came back to the client within ${WAIT_MS} ms${r.exited ? "; the program exited" : ""}`, "send the parts to the address recvfrom returned (the client's), after the failed big send");
      if (parts.length !== PARTS || r.received.length !== PARTS) return fail(`${r.received.length} datagrams of ${sizes} bytes`, `cut the data into ${PARTS} pieces of 1 KB (or 80000 // 16 bytes) and sendto each`);
      return pass(`${PARTS} datagrams of ${sizes} bytes`);
    },
  },
];

export const udpEchoServerLab = defineLab<UdpEchoServerRecord>({
  name: "udp-echo-server",
  summary: "UDP client/server lab, the server (task 3): the 80,000-byte datagram and its error, then 16 small parts",
  role: "server",
  example: "wirekit check udp-echo-server -- python3 udp_server.py {host} {port}",
  defaultTimeoutMs: 10_000,
  netns: true,
  requirements,
  async collect(env: LabEnv) {
    const srv = await startServer(env, "udp");
    const hello = "hello from wirekit check";
    const record: UdpEchoServerRecord = { bound: srv.listening, hello, received: [], exited: false };
    if (srv.listening) {
      const sock = createSocket("udp4");
      await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
      let last = performance.now();
      sock.on("message", (m: Buffer) => {
        if (record.received.length < 1000) record.received.push(Buffer.from(m));
        last = performance.now();
      });
      sock.send(hello, srv.port, "127.0.0.1");
      // Until the parts are in and 200 ms were quiet, or the wait is over.
      const until = performance.now() + WAIT_MS;
      while (performance.now() < until && !(record.received.length >= PARTS && performance.now() - last > 200) && !srv.proc.exited) await new Promise((r) => setTimeout(r, 20));
      // What a program sent just before it exited is still on its way through the event loop.
      await new Promise((r) => setTimeout(r, 50));
      record.exited = srv.proc.exited;
      sock.close();
    }
    record.run = await srv.proc.stop();
    return { record, runs: [record.run] };
  },
});

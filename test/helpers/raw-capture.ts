/**
 * `node raw-capture.js PROTO COUNT TIMEOUT_MS` (run inside a namespace): a raw IPv4 socket of the
 * addon for IP protocol PROTO (1 ICMP, 6 TCP, 17 UDP) prints "ready", then each packet it receives
 * as one line of hex (IP header included), until COUNT packets or TIMEOUT_MS. Tests read the
 * probes' header fields from these lines, as they arrived at the destination.
 */
import { loadAddon } from "../../src/core/native.js";

interface Addon {
  IcmpSocket: new (family: number, kind: string, onMessage: (buf: Buffer) => void, protocol?: number) => { close(): void };
}

const [proto = "1", count = "1", timeout = "5000"] = process.argv.slice(2);
const want = Number(count);
let seen = 0;
const lib = loadAddon("capture") as Addon;
const sock = new lib.IcmpSocket(4, "raw", (buf) => {
  process.stdout.write(`${buf.toString("hex")}\n`);
  if (++seen >= want) done();
}, Number(proto));
const timer = setTimeout(done, Number(timeout));
function done(): void {
  clearTimeout(timer);
  sock.close();
}
process.stdout.write("ready\n");

/**
 * Ports for a student's server, and waiting for a UDP server to bind: read from
 * /proc/net/udp[6], since a probe datagram would be answered only 70% of the time by a ping
 * server that simulates loss. (TCP readiness is an accepted connection, see server-program.ts.)
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";

const handedOut = new Set<number>();

/** A port the OS just gave us on 127.0.0.1 and has not handed to another check in this process. */
export async function freePort(kind: "tcp" | "udp"): Promise<number> {
  for (;;) {
    const port = await (kind === "tcp" ? freeTcp() : freeUdp());
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function freeTcp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function freeUdp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

/** Local ports in a /proc/net table whose state is `state` (hex: 0A = TCP LISTEN, 07 = UDP bound). */
export function portsInTable(text: string, state: string): Set<number> {
  return new Set(bindsInTable(text, state).keys());
}

/** As portsInTable, each port with the local addresses bound to it (hex as in the table: "0100007F" is 127.0.0.1). */
export function bindsInTable(text: string, state: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    if (local === undefined || f[3] !== state) continue;
    const colon = local.lastIndexOf(":");
    const port = Number.parseInt(local.slice(colon + 1), 16);
    out.set(port, [...(out.get(port) ?? []), local.slice(0, colon)]);
  }
  return out;
}

/** The local addresses (hex, as /proc/net writes them) bound to `port`, from our table or, with `pid`, that process's namespace's. */
async function boundAddresses(kind: "tcp" | "udp", port: number, pid?: number): Promise<string[]> {
  const state = kind === "tcp" ? "0A" : "07";
  const dir = pid === undefined ? "/proc/net" : `/proc/${pid}/net`;
  const out: string[] = [];
  for (const f of [`${dir}/${kind}`, `${dir}/${kind}6`]) {
    try {
      out.push(...(bindsInTable(await readFile(f, "utf8"), state).get(port) ?? []));
    } catch {
      // no IPv6 table: fine
    }
  }
  return out;
}

const isBound = async (kind: "tcp" | "udp", port: number, pid?: number): Promise<boolean> => (await boundAddresses(kind, port, pid)).length > 0;

/** True when `port` is bound to 127.0.0.1 only (IPv4 loopback, "0100007F" in /proc/net). */
export async function boundToLoopback(kind: "tcp" | "udp", port: number, pid?: number): Promise<boolean> {
  const a = await boundAddresses(kind, port, pid);
  return a.length > 0 && a.every((x) => x === "0100007F");
}

/**
 * Wait until something listens on `port` (TCP) or is bound to it (UDP). Resolves false when
 * `gone()` turns true first (the program exited) or `timeoutMs` passes. With `pid`, the table
 * of that process's network namespace is read (/proc/PID/net) instead of our own.
 */
export async function waitBound(kind: "tcp" | "udp", port: number, timeoutMs: number, gone: () => boolean, pid?: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await isBound(kind, port, pid)) return true;
    if (gone()) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

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
  const out = new Set<number>();
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    if (local === undefined || f[3] !== state) continue;
    const hex = local.slice(local.lastIndexOf(":") + 1);
    out.add(Number.parseInt(hex, 16));
  }
  return out;
}

async function isBound(kind: "tcp" | "udp", port: number): Promise<boolean> {
  const state = kind === "tcp" ? "0A" : "07";
  for (const f of [`/proc/net/${kind}`, `/proc/net/${kind}6`]) {
    try {
      if (portsInTable(await readFile(f, "utf8"), state).has(port)) return true;
    } catch {
      // no IPv6 table: fine
    }
  }
  return false;
}

/**
 * Wait until something listens on `port` (TCP) or is bound to it (UDP). Resolves false when
 * `gone()` turns true first (the program exited) or `timeoutMs` passes.
 */
export async function waitBound(kind: "tcp" | "udp", port: number, timeoutMs: number, gone: () => boolean): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await isBound(kind, port)) return true;
    if (gone()) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/**
 * The I/O half of the destination rule (destination.ts): resolve the origin's host name the
 * way the connection will, decide on the resolved address, and hand that address to the
 * connection so what was checked is what gets connected (no second lookup to rebind).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { decideDestination, isLoopbackAddress } from "./destination.js";
import { originFailure } from "./forward.js";

/** Connect to `address` (undefined: no check applies, connect by name as usual), or refuse. */
export type DestinationCheck = { ok: true; address: string | undefined } | { ok: false; status: 403 | 502 | 504; reason: string };

/** Checks destinations for clients; undefined address when the rule does not apply to the client. */
export type DestinationGuard = (client: string, hostname: string, port: number, receivedOn?: string) => Promise<DestinationCheck>;

function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.push(i.address);
  return out;
}

/**
 * The guard a proxy uses. Every address the name resolves to must be allowed (a name that also
 * resolves to loopback is refused), and the first is the one connected.
 *
 * @example
 * const check = await guard("10.99.0.2", "localhost", 8080); // { ok: false, status: 403, ... }
 */
export function createDestinationGuard(allowToLoopback: boolean): DestinationGuard {
  return async (client, hostname, port, receivedOn) => {
    if (allowToLoopback || isLoopbackAddress(client)) return { ok: true, address: undefined };
    let addresses: string[];
    if (isIP(hostname) !== 0) addresses = [hostname];
    else {
      try {
        addresses = (await lookup(hostname, { all: true, verbatim: true })).map((r) => r.address);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const f = originFailure(e.code, e.message, { hostname, port });
        return { ok: false, status: f.context.status, reason: f.message };
      }
    }
    // networkInterfaces() leaves out interfaces not running; the address the client reached us on is ours whatever it says.
    const local = hostAddresses();
    if (receivedOn !== undefined) local.push(receivedOn);
    for (const a of addresses) {
      const d = decideDestination({ client, destination: a, localAddresses: local, allowToLoopback });
      if (!d.allow) return { ok: false, status: 403, reason: a === hostname ? d.reason : `${hostname}: ${d.reason}` };
    }
    const first = addresses[0];
    if (first === undefined) return { ok: false, status: 502, reason: `DNS lookup failed for ${hostname}` };
    return { ok: true, address: first };
  };
}

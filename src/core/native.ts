/**
 * The project's one Node-API addon (native/*.cc, built by node-gyp at `npm install` into
 * build/Release/wirekit_icmp.node). It holds the ICMP socket (src/icmp/socket.ts) and the
 * batched UDP socket (./datagram-port.ts). Loaded lazily and at most once; a missing or broken
 * build is an ERR_LOCAL error with the command that rebuilds it, never a crash at import time.
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WirekitError } from "./errors.js";

/** Where `npm install` builds the addon: <package root>/build/Release (dist/src/core → ../../..). */
export const ADDON_PATH = fileURLToPath(new URL("../../../build/Release/wirekit_icmp.node", import.meta.url));

let addon: unknown;

/**
 * Load the addon once. The caller types what it uses of it; `what` names it in the errors
 * ("the ICMP addon is missing ...").
 *
 * @example
 * const { UdpSocket } = loadAddon() as { UdpSocket: new (...args: never[]) => unknown };
 */
export function loadAddon(what = "wirekit addon"): unknown {
  if (addon !== undefined) return addon;
  if (!existsSync(ADDON_PATH)) {
    throw new WirekitError(
      "ERR_LOCAL",
      `the ${what} is missing (${ADDON_PATH}); build it with 'npm run build:addon' in the wirekit package directory (needs g++, make and python3)`,
    );
  }
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as unknown;
    return addon;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new WirekitError("ERR_LOCAL", `the ${what} cannot be loaded (${msg}); rebuild it with 'npm run build:addon'`, { cause: err });
  }
}

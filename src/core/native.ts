/**
 * The project's one Node-API addon (native/*.cc). It holds the ICMP socket (src/icmp/socket.ts)
 * and the batched UDP socket (./datagram-port.ts). Two places can hold it, tried in this order:
 *
 * 1. build/Release/wirekit_icmp.node: compiled from source by `npm install` / `npm run build:addon`;
 * 2. prebuilds/<platform>-<arch>/wirekit_icmp.node: shipped in the package (`npm run build:prebuilds`),
 *    the node-gyp-build / prebuildify layout. The addon uses Node-API only (NAPI_VERSION 8), so
 *    one file per platform and architecture serves every Node >= 20.
 *
 * A file that exists but does not load (another architecture, another libc, a truncated build)
 * is skipped for the next one. Loaded lazily and at most once; when nothing loads the error is
 * ERR_LOCAL naming both paths and the command that builds it, never a crash at import time.
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WirekitError } from "./errors.js";

/** The node-gyp target name (binding.gyp), so the file is `<ADDON_NAME>.node`. */
export const ADDON_NAME = "wirekit_icmp";

/** The package root: dist/src/core → ../../.. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Where the addon may be, best first: the local build, then the prebuild for this platform and
 * architecture. Pure: it only joins paths.
 *
 * @example
 * addonCandidates("/opt/wirekit", "linux", "x64");
 * // ["/opt/wirekit/build/Release/wirekit_icmp.node", "/opt/wirekit/prebuilds/linux-x64/wirekit_icmp.node"]
 */
export function addonCandidates(root: string, platform: string, arch: string, name = ADDON_NAME): string[] {
  return [join(root, "build", "Release", `${name}.node`), join(root, "prebuilds", `${platform}-${arch}`, `${name}.node`)];
}

/** Where `npm install` builds the addon (the first candidate). */
export const ADDON_PATH = addonCandidates(PACKAGE_ROOT, process.platform, process.arch)[0] ?? "";

/** Why one candidate was not used. */
export interface AddonAttempt {
  path: string;
  /** "missing", or the first line of the loader's error. */
  reason: string;
}

/** The outcome of {@link loadFirstAddon}. */
export type AddonLoadResult = { ok: true; path: string; addon: unknown; skipped: AddonAttempt[] } | { ok: false; attempts: AddonAttempt[] };

/** The file-system side of {@link loadFirstAddon}, replaceable in tests. */
export interface AddonLoaderIo {
  exists(path: string): boolean;
  load(path: string): unknown;
}

const nodeRequire = createRequire(import.meta.url);
const realIo: AddonLoaderIo = { exists: existsSync, load: (path) => nodeRequire(path) as unknown };

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";

/**
 * Load the first candidate that exists and loads; the others are reported with the reason.
 *
 * @example
 * const r = loadFirstAddon(addonCandidates(root, process.platform, process.arch));
 * if (r.ok) console.log("addon from", r.path);
 */
export function loadFirstAddon(candidates: readonly string[], io: AddonLoaderIo = realIo): AddonLoadResult {
  const attempts: AddonAttempt[] = [];
  for (const path of candidates) {
    if (!io.exists(path)) {
      attempts.push({ path, reason: "missing" });
      continue;
    }
    try {
      return { ok: true, path, addon: io.load(path), skipped: attempts };
    } catch (err) {
      attempts.push({ path, reason: firstLine(err) });
    }
  }
  return { ok: false, attempts };
}

/**
 * The one-line ERR_LOCAL message when no candidate loaded: every path (with its reason when a file
 * was there but did not load), then the command that builds it.
 */
export function addonErrorMessage(what: string, attempts: readonly AddonAttempt[]): string {
  const anyPresent = attempts.some((a) => a.reason !== "missing");
  const tried = anyPresent ? attempts.map((a) => `${a.path}: ${a.reason}`).join("; ") : attempts.map((a) => a.path).join(", ");
  return (
    `the ${what} ${anyPresent ? "cannot be loaded" : "is missing"} (${tried}); ` +
    "build it with 'npm run build:addon' in the wirekit package directory (needs g++, make and python3)"
  );
}

let loaded: { path: string; addon: unknown } | undefined;

/**
 * Load the addon once. The caller types what it uses of it; `what` names it in the errors
 * ("the ICMP addon is missing ...").
 *
 * @example
 * const { UdpSocket } = loadAddon() as { UdpSocket: new (...args: never[]) => unknown };
 */
export function loadAddon(what = "wirekit addon"): unknown {
  if (loaded !== undefined) return loaded.addon;
  const r = loadFirstAddon(addonCandidates(PACKAGE_ROOT, process.platform, process.arch));
  if (!r.ok) throw new WirekitError("ERR_LOCAL", addonErrorMessage(what, r.attempts));
  loaded = { path: r.path, addon: r.addon };
  return r.addon;
}

/**
 * The addon's function `name`, or null when the addon does not load or has no such function (an
 * older build): for what has a JavaScript fallback. The addon is loaded at most once.
 *
 * @example
 * const send = addonFunction<(fd: number) => number>("sendHeadAndFile");
 * if (send === null) useThePlainPath();
 */
export function addonFunction<F extends (...args: never[]) => unknown>(name: string): F | null {
  try {
    const f = (loadAddon() as Record<string, unknown>)[name];
    return typeof f === "function" ? (f as F) : null;
  } catch {
    return null;
  }
}

/** The file the addon was loaded from, or undefined before a successful {@link loadAddon}. */
export function loadedAddonPath(): string | undefined {
  return loaded?.path;
}

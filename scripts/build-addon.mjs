#!/usr/bin/env node
/* global process, console */
/**
 * The addon (native/icmp_socket.cc: ICMP sockets; native/udp_socket.cc: batched UDP for the
 * heartbeat monitor and the UDP ping server) at `npm install` / `npm ci`, offline.
 *
 * In order:
 * 1. `npm exec` / `npx wirekit` runs the package's install script again (npm_command=exec). When
 *    an addon that loads is already there (build/Release or the prebuild), nothing is done.
 * 2. A local build that loads and was compiled from these sources (build/Release/*.sources holds
 *    their hash) is kept as it is.
 * 3. The prebuild (prebuilds/<platform>-<arch>/wirekit_icmp.node, see scripts/prebuild.mjs) is
 *    used when it was built from these sources (prebuilds/manifest.json) and loads into this Node
 *    (checked in a child): no compiler is needed. Unless an older local build would shadow it
 *    (src/core/native.ts tries build/Release first): then that build is recompiled.
 * 4. Otherwise the addon is compiled with node-gyp in a scratch directory inside the package
 *    (.addon-build-*), checked, and renamed onto build/Release/wirekit_icmp.node. A failed or
 *    interrupted build leaves the previous build/ as it was.
 *
 * - node-gyp is npm's bundled copy (npm exposes it as npm_config_node_gyp), else the one next to
 *   npm, else `node-gyp` on PATH. Node's headers come from <prefix>/include/node (`--nodedir`)
 *   when they are there, so nothing is downloaded.
 * - The addon is optional: only `wirekit ping` / `traceroute` need it; without it the UDP servers
 *   use node:dgram (slower under floods). If it cannot be had, print a warning and exit 0, so
 *   installing wirekit never fails because of it.
 *
 * WIREKIT_SKIP_ADDON=1 skips everything. WIREKIT_ADDON_STRICT=1 (`npm run build:addon`) always
 * compiles, and fails with status 1 instead of warning.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { BUILD_PATH, ROOT, compileIn, findNodeDir, loadProblem, prebuildPath, readManifest, sourcesHash } from "./addon-common.mjs";

const strict = process.env.WIREKIT_ADDON_STRICT === "1";
/** Records which sources build/Release/wirekit_icmp.node was compiled from. */
const STAMP_PATH = `${BUILD_PATH}.sources`;
const rel = (p) => relative(ROOT, p);

function warn(reason) {
  const inUse = process.platform === "linux" ? [BUILD_PATH, prebuildPath()].find((f) => loadProblem(f) === undefined) : undefined;
  console.warn(
    `wirekit: the ICMP addon was not built (${reason}).\n` +
      (inUse !== undefined
        ? `wirekit: the addon in ${rel(inUse)} still loads and is used meanwhile; to build it again\n`
        : "wirekit: everything except 'wirekit ping' and 'wirekit traceroute' works (the UDP servers without batching); to build it later\n") +
      "wirekit: install g++, make and python3, then run: npm run build:addon (in the wirekit package directory)",
  );
  process.exit(strict ? 1 : 0);
}

const readStamp = () => {
  try {
    return readFileSync(STAMP_PATH, "utf8").trim();
  } catch {
    return undefined;
  }
};

if (process.env.WIREKIT_SKIP_ADDON === "1") {
  console.warn("wirekit: WIREKIT_SKIP_ADDON=1, not building the ICMP addon");
  process.exit(0);
}
if (process.platform !== "linux") warn(`ICMP sockets are implemented for Linux only, this is ${process.platform}`);

const prebuilt = prebuildPath();
if (!strict) {
  if (process.env.npm_command === "exec") {
    const ready = [BUILD_PATH, prebuilt].find((f) => loadProblem(f) === undefined);
    if (ready !== undefined) {
      console.warn(`wirekit: npm exec: the addon is in place (${rel(ready)}), not rebuilding it`);
      process.exit(0);
    }
  }
  const hash = sourcesHash();
  const stamp = readStamp();
  const buildLoads = loadProblem(BUILD_PATH) === undefined;
  if (buildLoads && stamp === hash) {
    console.warn(`wirekit: ${rel(BUILD_PATH)} is up to date with native/; nothing to compile`);
    process.exit(0);
  }
  const fresh = readManifest()?.sources_sha256 === hash;
  const problem = fresh ? loadProblem(prebuilt) : "it was built from other sources (run npm run build:prebuilds)";
  if (problem === undefined && !buildLoads) {
    console.warn(`wirekit: using the prebuilt addon ${rel(prebuilt)}; nothing to compile`);
    process.exit(0);
  }
  if (problem === undefined) {
    const why = stamp === undefined ? "has no record of the sources it was built from" : "was built from other sources";
    console.warn(`wirekit: ${rel(BUILD_PATH)} ${why} and would shadow the prebuild; rebuilding it`);
  } else if (problem !== "missing") {
    console.warn(`wirekit: not using the prebuilt addon ${rel(prebuilt)}: ${problem}; compiling`);
  }
}

// Scratch directories that an interrupted build left behind (an hour old: not a build running now).
for (const name of readdirSync(ROOT)) {
  if (!name.startsWith(".addon-build-")) continue;
  const dir = join(ROOT, name);
  try {
    if (Date.now() - statSync(dir).mtimeMs > 3_600_000) rmSync(dir, { recursive: true, force: true });
  } catch {
    // Gone meanwhile.
  }
}

if (findNodeDir() === undefined) console.warn("wirekit: Node headers not found locally; node-gyp will try to download them");
const work = mkdtempSync(join(ROOT, ".addon-build-"));
// Ctrl-C / a kill while node-gyp runs: node-gyp and make stop, spawnSync returns, and the
// `finally` below removes the scratch directory; build/ is never touched before the rename.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    rmSync(work, { recursive: true, force: true });
    console.warn(`wirekit: the addon build was interrupted (${sig}); ${rel(BUILD_PATH)} was left as it was`);
    process.exit(130);
  });
}
let reason;
try {
  const r = compileIn(work);
  if (!r.ok) {
    reason = r.reason;
  } else {
    const problem = loadProblem(r.file);
    if (problem !== undefined) {
      reason = `the new build does not load: ${problem}`;
    } else {
      // Same file system, so each rename is atomic: build/Release holds the old file or the new one.
      mkdirSync(join(BUILD_PATH, ".."), { recursive: true });
      const stamp = join(work, "sources");
      writeFileSync(stamp, `${sourcesHash()}\n`);
      renameSync(r.file, BUILD_PATH);
      renameSync(stamp, STAMP_PATH);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (reason !== undefined) warn(`${reason}; ${rel(BUILD_PATH)} was left as it was`);

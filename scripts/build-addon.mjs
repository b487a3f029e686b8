#!/usr/bin/env node
/* global process, console */
/**
 * Build the addon (native/icmp_socket.cc: ICMP sockets; native/udp_socket.cc: batched UDP for the
 * heartbeat monitor and the UDP ping server) at `npm install` / `npm ci`, offline.
 *
 * - node-gyp downloads Node's headers from nodejs.org unless it is told where they are; a Node
 *   installed from a distribution or a tarball ships them in <prefix>/include/node, so we pass
 *   `--nodedir=<prefix>` when that directory has node_api.h.
 * - node-gyp is npm's bundled copy (npm exposes it as npm_config_node_gyp to scripts), else the one
 *   next to npm, else `node-gyp` on PATH.
 * - The addon is optional: only `wirekit ping` / `traceroute` need it; without it the UDP servers
 *   use node:dgram (slower under floods). If it cannot be built, print a warning and exit 0, so
 *   installing wirekit never fails because of it.
 *
 * Set WIREKIT_SKIP_ADDON=1 to skip the build; WIREKIT_ADDON_STRICT=1 to fail instead of warning.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const strict = process.env.WIREKIT_ADDON_STRICT === "1";

function warn(reason) {
  const msg =
    `wirekit: the ICMP addon was not built (${reason}).\n` +
    "wirekit: everything except 'wirekit ping' and 'wirekit traceroute' works (the UDP servers without batching); to build it later\n" +
    "wirekit: install g++, make and python3, then run: npm run build:addon (in the wirekit package directory)";
  console.warn(msg);
  process.exit(strict ? 1 : 0);
}

if (process.env.WIREKIT_SKIP_ADDON === "1") {
  console.warn("wirekit: WIREKIT_SKIP_ADDON=1, not building the ICMP addon");
  process.exit(0);
}
if (process.platform !== "linux") warn(`ICMP sockets are implemented for Linux only, this is ${process.platform}`);

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    // npm's own copy, next to the npm running this script or installed with this node.
    process.env.npm_execpath ? join(dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js") : undefined,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    join(root, "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  for (const c of candidates) if (c && existsSync(c)) return [process.execPath, c];
  return ["node-gyp"];
}

function findNodeDir() {
  const prefix = resolve(process.execPath, "..", "..");
  for (const dir of [process.env.npm_config_nodedir, prefix, "/usr", "/usr/local"]) {
    if (dir && existsSync(join(dir, "include", "node", "node_api.h"))) return dir;
  }
  return undefined;
}

const [cmd, ...pre] = findNodeGyp();
const nodedir = findNodeDir();
const args = [...pre, "rebuild", "--directory", root];
if (nodedir !== undefined) args.push(`--nodedir=${nodedir}`);
else console.warn("wirekit: Node headers not found locally; node-gyp will try to download them");

const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], cwd: root });
if (r.error) warn(`cannot run node-gyp: ${r.error.message}`);
if (r.status !== 0) warn(`node-gyp exited with status ${r.status}`);
if (!existsSync(join(root, "build", "Release", "wirekit_icmp.node"))) warn("build/Release/wirekit_icmp.node is missing after the build");

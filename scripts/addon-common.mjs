/* global process */
/**
 * What scripts/build-addon.mjs (install time) and scripts/prebuild.mjs (`npm run build:prebuilds`) share:
 * where the addon lives, how to find node-gyp and Node's headers offline, how to compile in a
 * scratch directory (so the build/ that works is never deleted by a build that fails), and how
 * to check in a child process that a .node file really loads.
 *
 * The candidate paths mirror src/core/native.ts (addonCandidates): the loader tries
 * build/Release/<name>.node first, then prebuilds/<platform>-<arch>/<name>.node.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** binding.gyp's target_name. */
export const ADDON_NAME = "wirekit_icmp";
export const BUILD_PATH = join(ROOT, "build", "Release", `${ADDON_NAME}.node`);
export const MANIFEST_PATH = join(ROOT, "prebuilds", "manifest.json");

/** prebuilds/<platform>-<arch>/<name>.node under `root`. */
export function prebuildPath(platform = process.platform, arch = process.arch, root = ROOT) {
  return join(root, "prebuilds", `${platform}-${arch}`, `${ADDON_NAME}.node`);
}

/** sha256 over binding.gyp and native/* (name and bytes, sorted): what a prebuild was built from. */
export function sourcesHash(root = ROOT) {
  const h = createHash("sha256");
  const files = ["binding.gyp", ...readdirSync(join(root, "native")).sort().map((f) => `native/${f}`)];
  for (const f of files) {
    h.update(`${f}\0`);
    h.update(readFileSync(join(root, f)));
    h.update("\0");
  }
  return h.digest("hex");
}

/** The prebuild manifest, or undefined when there is none or it is unreadable. */
export function readManifest() {
  try {
    return JSON.parse(readFileSync(MANIFEST_PATH, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Does `file` load into this Node, with the classes the tools use? Checked in a child so that a
 * crash or a wrong-architecture file cannot take the caller down. Returns undefined when it
 * loads, else the reason (one line).
 */
export function loadProblem(file) {
  if (!existsSync(file)) return "missing";
  const probe =
    "let e; try { const m = { exports: {} }; process.dlopen(m, process.argv[1]); e = m.exports; }" +
    " catch (err) { console.error(String(err.message).split('\\n')[0]); process.exit(2); }" +
    "const miss = ['IcmpSocket', 'UdpSocket'].filter((k) => typeof e[k] !== 'function');" +
    "if (miss.length) { console.error('it has no ' + miss.join(', ')); process.exit(3); }";
  const r = spawnSync(process.execPath, ["-e", probe, file], { encoding: "utf8", timeout: 30_000 });
  if (r.error) return r.error.message;
  if (r.status === 0) return undefined;
  if (r.signal) return `loading it killed the process (${r.signal})`;
  return (r.stderr ?? "").split("\n").find((l) => l.trim() !== "")?.trim() ?? `exit status ${r.status}`;
}

/** node-gyp: npm's bundled copy (npm_config_node_gyp), the one next to npm, else on PATH. */
export function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath ? join(dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js") : undefined,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    join(ROOT, "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  for (const c of candidates) if (c && existsSync(c)) return [process.execPath, c];
  return ["node-gyp"];
}

/**
 * A Node installed from a distribution or a tarball ships its headers in <prefix>/include/node;
 * passing `--nodedir=<prefix>` keeps node-gyp from downloading them. Node-API headers are the
 * same for every architecture, so a cross build uses them too.
 */
export function findNodeDir() {
  const prefix = resolve(process.execPath, "..", "..");
  for (const dir of [process.env.npm_config_nodedir, prefix, "/usr", "/usr/local"]) {
    if (dir && existsSync(join(dir, "include", "node", "node_api.h"))) return dir;
  }
  return undefined;
}

/** Is `cmd` an executable on PATH? */
export function onPath(cmd) {
  return (process.env.PATH ?? "").split(":").some((d) => d !== "" && existsSync(join(d, cmd)));
}

/**
 * Compile the addon in `workDir` (a copy of binding.gyp and native/, inside the package so that
 * binding.gyp's require('node-addon-api') resolves). `workDir` is emptied first. Returns
 * { ok: true, file } with the built .node inside workDir, or { ok: false, reason }.
 *
 * `arch` cross-compiles (node-gyp --arch) with `env` naming the cross tools (CC, CXX, LINK, AR).
 */
export function compileIn(workDir, { arch, env = {}, quiet = false } = {}) {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  cpSync(join(ROOT, "binding.gyp"), join(workDir, "binding.gyp"));
  cpSync(join(ROOT, "native"), join(workDir, "native"), { recursive: true });
  const [cmd, ...pre] = findNodeGyp();
  const nodedir = findNodeDir();
  const args = [...pre, "rebuild", "--directory", workDir];
  if (arch !== undefined) args.push(`--arch=${arch}`);
  if (nodedir !== undefined) args.push(`--nodedir=${nodedir}`);
  if (quiet) args.push("--loglevel=warn");
  const r = spawnSync(cmd, args, {
    cwd: workDir,
    stdio: ["ignore", quiet ? "ignore" : "inherit", "inherit"],
    env: { ...process.env, ...env },
  });
  if (r.error) return { ok: false, reason: `cannot run node-gyp: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `node-gyp exited with ${r.status === null ? `signal ${r.signal}` : `status ${r.status}`}` };
  const file = join(workDir, "build", "Release", `${ADDON_NAME}.node`);
  if (!existsSync(file)) return { ok: false, reason: `build/Release/${ADDON_NAME}.node is missing after the build` };
  return { ok: true, file, nodedir };
}

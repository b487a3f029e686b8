#!/usr/bin/env node
/* global process, console */
/**
 * `npm run build:prebuilds` (not `npm run prebuild`: npm would run a script named "prebuild" before
 * every `npm run build`): build the addon for every Linux architecture this machine can build for,
 * strip it, check it, and write prebuilds/<platform>-<arch>/wirekit_icmp.node plus
 * prebuilds/manifest.json (the sources hash, sizes, sha256 and the newest glibc symbol each needs).
 *
 * - linux-x64: the host compiler (g++, make, python3).
 * - linux-arm64: Debian's cross compiler, `apt-get install g++-aarch64-linux-gnu`; skipped with a
 *   note when aarch64-linux-gnu-g++ is not on PATH.
 *
 * The addon uses Node-API (plus libuv's stable v1 poll API that Node exports), never V8, so one
 * file per architecture loads in every Node >= 20 and the arm64 build needs no arm64 Node: the
 * Node-API headers are the same for every architecture.
 *
 * Reproducible: each architecture builds in a fixed scratch directory (.prebuild/<platform>-<arch>),
 * no timestamps go into the files or the manifest, and the same toolchain gives the same bytes
 * (`npm run build:prebuilds` twice, then `git diff --stat prebuilds/` is empty).
 *
 * Checks: the x64 file must load into this Node (in a child) with IcmpSocket and UdpSocket. The
 * arm64 file must be a 64-bit little-endian AArch64 ELF shared object, and when qemu-aarch64 is on
 * PATH (Debian: qemu-user) a small aarch64 program must dlopen() it under qemu and read its
 * Node-API version. That is as far as it can be tested without an arm64 Node.
 *
 * Flags: --check verifies the committed files against the manifest and the sources without
 * building; --arch=x64,arm64 limits the build.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ADDON_NAME, MANIFEST_PATH, ROOT, compileIn, loadProblem, onPath, prebuildPath, readManifest, sourcesHash } from "./addon-common.mjs";

const NAPI_VERSION = 8;
const ELF_MACHINE = { x64: 62, arm64: 183 };
const CROSS = {
  arm64: { prefix: "aarch64-linux-gnu-", qemu: "qemu-aarch64", sysroot: "/usr/aarch64-linux-gnu", apt: "g++-aarch64-linux-gnu" },
  x64: { prefix: "x86_64-linux-gnu-", qemu: "qemu-x86_64", sysroot: "/usr/x86_64-linux-gnu", apt: "g++-x86-64-linux-gnu" },
};

const args = process.argv.slice(2);
const checkOnly = args.includes("--check");
const archArg = args.find((a) => a.startsWith("--arch="));
const wanted = archArg ? archArg.slice("--arch=".length).split(",") : ["x64", "arm64"];

if (process.platform !== "linux") {
  console.error(`prebuild: the addon is Linux-only, this is ${process.platform}`);
  process.exit(1);
}

const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");
const run = (cmd, argv, opts = {}) => spawnSync(cmd, argv, { encoding: "utf8", ...opts });

/** Why `file` is not a 64-bit little-endian ELF shared object for `arch`, or undefined. */
function elfProblem(file, arch) {
  const b = readFileSync(file);
  if (b.length < 20 || b.readUInt32BE(0) !== 0x7f454c46) return "not an ELF file";
  if (b[4] !== 2 || b[5] !== 1) return "not a 64-bit little-endian ELF";
  if (b.readUInt16LE(16) !== 3) return "not a shared object (ET_DYN)";
  const machine = b.readUInt16LE(18);
  return machine === ELF_MACHINE[arch] ? undefined : `ELF machine ${machine}, expected ${ELF_MACHINE[arch]} (${arch})`;
}

/** The newest GLIBC_x.y symbol version the file needs (objdump -T), or undefined. */
function newestGlibc(file, tools) {
  const r = run(`${tools}objdump`, ["-T", file]);
  if (r.status !== 0) return undefined;
  const versions = [...new Set(r.stdout.match(/GLIBC_[0-9.]+/g) ?? [])].map((v) => v.slice("GLIBC_".length));
  versions.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return versions.at(-1);
}

/**
 * Under qemu-user: dlopen() the .node lazily (its napi_* symbols stay unresolved, there is no
 * Node) and call node_api_module_get_api_version_v1, which only returns NAPI_VERSION.
 */
function qemuProblem(file, arch, workDir) {
  const c = CROSS[arch];
  if (!onPath(c.qemu)) return { skipped: `${c.qemu} not on PATH (Debian: apt-get install qemu-user)` };
  if (!onPath(`${c.prefix}gcc`)) return { skipped: `${c.prefix}gcc, which builds the probe, is not on PATH (Debian: apt-get install ${c.apt})` };
  const src = join(workDir, "dlopen-probe.c");
  const exe = join(workDir, "dlopen-probe");
  writeFileSync(
    src,
    `#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  void *h = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
  if (!h) { fprintf(stderr, "%s\\n", dlerror()); return 1; }
  int (*version)(void) = (int (*)(void))dlsym(h, "node_api_module_get_api_version_v1");
  void *init = dlsym(h, "napi_register_module_v1");
  if (!version || !init) { fprintf(stderr, "Node-API entry points missing\\n"); return 1; }
  printf("%d\\n", version());
  return 0;
}
`,
  );
  const cc = run(`${c.prefix}gcc`, ["-O1", "-o", exe, src, "-ldl"]);
  if (cc.status !== 0) return { problem: `cannot compile the probe: ${cc.stderr.trim()}` };
  const r = run(c.qemu, ["-L", c.sysroot, exe, file], { timeout: 60_000 });
  if (r.status !== 0) return { problem: `dlopen under ${c.qemu} failed: ${(r.stderr || r.error?.message || "").trim()}` };
  const v = Number(r.stdout.trim());
  return v === NAPI_VERSION ? { ok: `dlopen under ${c.qemu} ok, Node-API version ${v}` } : { problem: `Node-API version ${v}, expected ${NAPI_VERSION}` };
}

/** Check one prebuilt file; returns the lines to print, throws on a failed check. */
function verify(file, arch, workDir) {
  const notes = [];
  const elf = elfProblem(file, arch);
  if (elf !== undefined) throw new Error(`${relative(ROOT, file)}: ${elf}`);
  notes.push(`ELF64 little-endian shared object for ${arch}`);
  if (arch === process.arch) {
    const p = loadProblem(file);
    if (p !== undefined) throw new Error(`${relative(ROOT, file)} does not load into this Node: ${p}`);
    notes.push(`loads into Node ${process.version} with IcmpSocket and UdpSocket`);
  } else {
    mkdirSync(workDir, { recursive: true });
    const q = qemuProblem(file, arch, workDir);
    if (q.problem !== undefined) throw new Error(`${relative(ROOT, file)}: ${q.problem}`);
    notes.push(q.ok ?? `not run under qemu: ${q.skipped}`);
  }
  return notes;
}

const hash = sourcesHash();
const manifest = readManifest() ?? {};
// Entries built from other sources are stale: only this run's builds are kept then.
const builds = checkOnly || manifest.sources_sha256 === hash ? { ...(manifest.builds ?? {}) } : {};
let failed = false;

for (const arch of wanted) {
  const key = `linux-${arch}`;
  const out = prebuildPath("linux", arch);
  const workDir = join(ROOT, ".prebuild", key);
  if (checkOnly) {
    try {
      if (!existsSync(out)) throw new Error(`${relative(ROOT, out)} is missing`);
      const entry = builds[key];
      if (entry === undefined) throw new Error(`${key} is not in the manifest`);
      if (entry.sha256 !== sha256(out)) throw new Error(`${relative(ROOT, out)} does not match the manifest's sha256`);
      if (manifest.sources_sha256 !== hash) throw new Error("native/ or binding.gyp changed since the prebuilds were made: run npm run build:prebuilds");
      for (const n of verify(out, arch, workDir)) console.log(`prebuild ${key}: ${n}`);
    } catch (err) {
      console.error(`prebuild ${key}: ${err.message}`);
      failed = true;
    }
    continue;
  }

  const native = arch === process.arch;
  const tools = native ? "" : CROSS[arch].prefix;
  if (!native && !onPath(`${tools}g++`)) {
    console.warn(`prebuild ${key}: skipped, ${tools}g++ is not on PATH (Debian: apt-get install ${CROSS[arch].apt})`);
    continue;
  }
  const env = native ? {} : { CC: `${tools}gcc`, CXX: `${tools}g++`, LINK: `${tools}g++`, AR: `${tools}ar` };
  console.log(`prebuild ${key}: compiling${native ? "" : ` with ${tools}g++`}`);
  const r = compileIn(workDir, { arch, env, quiet: true });
  if (!r.ok) {
    console.error(`prebuild ${key}: ${r.reason}`);
    failed = true;
    continue;
  }
  const staged = join(workDir, `${ADDON_NAME}.stripped.node`);
  copyFileSync(r.file, staged);
  const s = run(`${tools}strip`, ["--strip-unneeded", staged]);
  if (s.status !== 0) {
    console.error(`prebuild ${key}: ${tools}strip failed: ${s.stderr.trim()}`);
    failed = true;
    continue;
  }
  try {
    const notes = verify(staged, arch, workDir);
    mkdirSync(join(out, ".."), { recursive: true });
    renameSync(staged, out);
    const bytes = statSync(out).size;
    builds[key] = { file: `${key}/${ADDON_NAME}.node`, bytes, sha256: sha256(out), glibc: newestGlibc(out, tools) ?? "unknown" };
    console.log(`prebuild ${key}: ${relative(ROOT, out)}, ${bytes} bytes, needs glibc >= ${builds[key].glibc}`);
    for (const n of notes) console.log(`prebuild ${key}: ${n}`);
  } catch (err) {
    console.error(`prebuild ${key}: ${err.message}`);
    failed = true;
  }
  rmSync(workDir, { recursive: true, force: true });
}

if (checkOnly) {
  rmSync(join(ROOT, ".prebuild"), { recursive: true, force: true });
} else {
  const addonApi = JSON.parse(readFileSync(join(ROOT, "node_modules", "node-addon-api", "package.json"), "utf8")).version;
  const next = {
    addon: ADDON_NAME,
    napi_version: NAPI_VERSION,
    node_addon_api: addonApi,
    sources_sha256: hash,
    builds: Object.fromEntries(Object.entries(builds).sort(([a], [b]) => a.localeCompare(b))),
  };
  for (const key of Object.keys(manifest.builds ?? {})) {
    if (builds[key] !== undefined) continue;
    const [platform, arch] = key.split("-");
    rmSync(prebuildPath(platform, arch), { force: true });
    console.warn(`prebuild ${key}: removed, it was built from other sources and was not rebuilt`);
  }
  mkdirSync(join(ROOT, "prebuilds"), { recursive: true });
  writeFileSync(MANIFEST_PATH, `${JSON.stringify(next, null, 2)}\n`);
  rmSync(join(ROOT, ".prebuild"), { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

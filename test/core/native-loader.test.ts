import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PACKAGE_ROOT, addonCandidates, addonErrorMessage, loadFirstAddon, type AddonLoaderIo } from "../../src/core/native.js";

/** A scratch package root; removed after `fn`. */
async function withRoot(fn: (root: string) => void | Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "wirekit-loader-"));
  try {
    await fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function put(path: string, bytes: string | Buffer = "x"): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

/** Real existsSync; a fake load that returns the path, or throws for files named in `broken`. */
function fakeIo(broken: string[] = []): AddonLoaderIo & { loaded: string[] } {
  const loaded: string[] = [];
  return {
    loaded,
    exists: existsSync,
    load(path) {
      loaded.push(path);
      if (broken.includes(path)) throw new Error(`${path}: invalid ELF header\n    at stack`);
      return { from: path };
    },
  };
}

const PREBUILT = join(PACKAGE_ROOT, "prebuilds", `${process.platform}-${process.arch}`, "wirekit_icmp.node");

test("addonCandidates: the local build first, then the prebuild for the platform and architecture", () => {
  assert.deepEqual(addonCandidates("/opt/wk", "linux", "x64"), ["/opt/wk/build/Release/wirekit_icmp.node", "/opt/wk/prebuilds/linux-x64/wirekit_icmp.node"]);
  assert.deepEqual(addonCandidates("/opt/wk", "linux", "arm64", "other"), ["/opt/wk/build/Release/other.node", "/opt/wk/prebuilds/linux-arm64/other.node"]);
});

test("the local build wins over the prebuild when both are there", () =>
  withRoot((root) => {
    const [build = "", pre = ""] = addonCandidates(root, "linux", "x64");
    put(build);
    put(pre);
    const io = fakeIo();
    const r = loadFirstAddon(addonCandidates(root, "linux", "x64"), io);
    assert.ok(r.ok);
    assert.equal(r.path, build);
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(io.loaded, [build]);
  }));

test("without a local build, the prebuild is loaded", () =>
  withRoot((root) => {
    const [build = "", pre = ""] = addonCandidates(root, "linux", "x64");
    put(pre);
    const r = loadFirstAddon(addonCandidates(root, "linux", "x64"), fakeIo());
    assert.ok(r.ok);
    assert.equal(r.path, pre);
    assert.deepEqual(r.skipped, [{ path: build, reason: "missing" }]);
  }));

test("a local build that does not load falls through to the prebuild", () =>
  withRoot((root) => {
    const [build = "", pre = ""] = addonCandidates(root, "linux", "x64");
    put(build);
    put(pre);
    const r = loadFirstAddon(addonCandidates(root, "linux", "x64"), fakeIo([build]));
    assert.ok(r.ok);
    assert.equal(r.path, pre);
    assert.deepEqual(r.skipped, [{ path: build, reason: `${build}: invalid ELF header` }]);
  }));

test("a prebuild for another architecture is not looked at", () =>
  withRoot((root) => {
    put(addonCandidates(root, "linux", "arm64")[1] ?? "");
    const r = loadFirstAddon(addonCandidates(root, "linux", "x64"), fakeIo());
    assert.equal(r.ok, false);
  }));

test("when nothing loads, the error names both paths and the build command", () =>
  withRoot((root) => {
    const [build = "", pre = ""] = addonCandidates(root, "linux", "x64");
    const none = loadFirstAddon([build, pre], fakeIo());
    assert.ok(!none.ok);
    assert.equal(
      addonErrorMessage("ICMP addon", none.attempts),
      `the ICMP addon is missing (${build}, ${pre}); build it with 'npm run build:addon' in the wirekit package directory (needs g++, make and python3)`,
    );
    put(pre);
    const bad = loadFirstAddon([build, pre], fakeIo([pre]));
    assert.ok(!bad.ok);
    const msg = addonErrorMessage("ICMP addon", bad.attempts);
    assert.equal(msg, `the ICMP addon cannot be loaded (${build}: missing; ${pre}: ${pre}: invalid ELF header); build it with 'npm run build:addon' in the wirekit package directory (needs g++, make and python3)`);
    assert.doesNotMatch(msg, /\n/);
  }));

test("the shipped prebuild loads with the real loader, past a corrupt local build", { skip: !existsSync(PREBUILT) && `no prebuild for ${process.platform}-${process.arch}` }, () =>
  withRoot((root) => {
    const [build = "", pre = ""] = addonCandidates(root, process.platform, process.arch);
    put(build, Buffer.from("not an ELF file"));
    mkdirSync(dirname(pre), { recursive: true });
    copyFileSync(PREBUILT, pre);
    const r = loadFirstAddon([build, pre]);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.path, pre);
    assert.equal(r.skipped.length, 1);
    assert.match(r.skipped[0]?.reason ?? "", /invalid ELF header|too short/);
    const addon = r.addon as { IcmpSocket?: unknown; UdpSocket?: unknown };
    assert.equal(typeof addon.IcmpSocket, "function");
    assert.equal(typeof addon.UdpSocket, "function");
  }));

test("the committed prebuilds match native/, binding.gyp and prebuilds/manifest.json (else: npm run build:prebuilds)", { skip: process.platform !== "linux" && "Linux only" }, async () => {
  const out = await new Promise<{ code: number; text: string }>((res) =>
    execFile(process.execPath, [join(PACKAGE_ROOT, "scripts", "prebuild.mjs"), "--check"], { cwd: PACKAGE_ROOT }, (err, stdout, stderr) =>
      res({ code: err === null ? 0 : typeof err.code === "number" ? err.code : 1, text: stdout + stderr }),
    ),
  );
  assert.equal(out.code, 0, out.text);
  assert.match(out.text, /prebuild linux-x64: ELF64 little-endian shared object for x64/);
});

#!/usr/bin/env node
/* global process, console */
/**
 * npm's `prepare` (after `npm install` in a clone, before `npm pack` / `npm publish`): compile the
 * TypeScript, as `npm run build`.
 *
 * Except under `npm exec` / `npx wirekit` (npm_command=exec), which runs `prepare` again when it
 * installs the package from a directory or a git checkout: when dist/ is already built, rebuilding
 * it there only costs seconds and races with anything running from dist/ (issue 18), so it is
 * skipped.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./addon-common.mjs";

const BIN = join(ROOT, "dist", "src", "cli", "main.js");
if (process.env.npm_command === "exec" && existsSync(BIN)) {
  console.warn("wirekit: npm exec: dist/ is already built, not rebuilding it");
  process.exit(0);
}
const npm = process.env.npm_execpath;
const r = npm ? spawnSync(process.execPath, [npm, "run", "build"], { cwd: ROOT, stdio: "inherit" }) : spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
if (r.error) {
  console.error(`wirekit: cannot run npm run build: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);

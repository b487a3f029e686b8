/**
 * `npm run bench [-- NAME ...]`: run the benchmarks in bench/<name>/index.ts (all of them, or
 * the ones named). Each prints its own figures beside references measured in the same run.
 * Run benchmarks alone: the machine has 2 cores, and anything else running skews the ratios.
 */
import { readdirSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

interface BenchModule {
  /** One-line description. */
  title: string;
  run(): Promise<void>;
}

const here = fileURLToPath(new URL(".", import.meta.url));
const available = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(here, d.name, "index.js")))
  .map((d) => d.name)
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length > 0) {
  console.error(`bench: unknown benchmark ${unknown.join(", ")} (available: ${available.join(", ")})`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : available) {
  const mod = (await import(join(here, name, "index.js"))) as BenchModule;
  console.log(`\n=== bench/${name}: ${mod.title}`);
  await mod.run();
}

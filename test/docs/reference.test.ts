import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { referenceRegions } from "../../src/cli/spec-doc.js";
import { ALL_SPECS } from "../../src/cli/specs/index.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

test("every manual page in docs/ carries its commands' option reference exactly as the specs generate it", () => {
  const regions = referenceRegions(ALL_SPECS);
  assert.ok(regions.size >= 8);
  for (const [page, region] of regions) {
    const text = readFileSync(`${root}docs/${page}.md`, "utf8");
    assert.ok(text.includes(region), `docs/${page}.md: its option reference differs from the spec; run 'npm run build && npm run docs'`);
  }
});

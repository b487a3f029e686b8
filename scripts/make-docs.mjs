/* global console */
// `npm run docs` (after a build): write each command's option reference, generated from its spec
// (src/cli/specs/), into its manual page docs/<page>.md between the reference markers. The test
// test/docs/reference.test.ts fails when a page and its spec disagree.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { referenceRegions } = await import(`${root}dist/src/cli/spec-doc.js`);
const { ALL_SPECS } = await import(`${root}dist/src/cli/specs/index.js`);

for (const [page, region] of referenceRegions(ALL_SPECS)) {
  const file = `${root}docs/${page}.md`;
  const text = readFileSync(file, "utf8");
  const begin = text.indexOf("<!-- reference:begin -->");
  const end = text.indexOf("<!-- reference:end -->");
  const next = begin === -1 ? `${text.trimEnd()}\n\n${region}\n` : `${text.slice(0, begin)}${region}${text.slice(end + "<!-- reference:end -->".length)}`;
  if (next !== text) {
    writeFileSync(file, next);
    console.log(`updated docs/${page}.md`);
  }
}

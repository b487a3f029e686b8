// Build step (after tsc): write man/wirekit-<tool>.1 and man/reference.md from the command specs.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { ALL_SPECS } = await import(`${root}dist/src/cli/specs/index.js`);
const { renderMan, renderMarkdown } = await import(`${root}dist/src/cli/spec-doc.js`);
const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8"));

mkdirSync(`${root}man`, { recursive: true });
for (const spec of ALL_SPECS) writeFileSync(`${root}man/wirekit-${spec.name}.1`, renderMan(spec, version));
writeFileSync(`${root}man/reference.md`, `# wirekit command reference\n\nGenerated from the command specs (src/cli/specs/); do not edit.\n\n${ALL_SPECS.map(renderMarkdown).join("\n")}`);

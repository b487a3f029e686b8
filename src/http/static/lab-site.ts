/** Where the sample site of `wirekit lab` lives: `lab-site/` in the installed package's root. */
import { fileURLToPath } from "node:url";

/**
 * Absolute path of the bundled sample site (index.html, style.css, hello.txt, images/).
 *
 * @example
 * await createStaticServer({ root: labSiteRoot(), port: 8080 });
 */
export function labSiteRoot(): string {
  // This file runs from <package>/dist/src/http/static/.
  return fileURLToPath(new URL("../../../../lab-site/", import.meta.url));
}

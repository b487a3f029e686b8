/**
 * The web server lab's browser requirement with a real Chromium (skipped when it is not
 * installed): a page sent as text/html renders; one sent as text/plain shows its source, which
 * is not the page loading. Both checks run at once.
 */
import { existsSync } from "node:fs";
import { runCases, type Case } from "./fixtures.js";

const web = (variant: string, want: string, ok: boolean): Case => ({ lab: "web-server", variant, script: "WebServer.py", args: ["{port}"], want, ok, options: { browser: true } });

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].some((c) => existsSync(c));

if (chromium) {
  runCases([
    //                     listen get-200 get-body 404 browser concurrent
    web("correct", "✓✓✓✓✓✓", true),
    web("text-plain", "✓✓✓✓✗✓", true),
  ]);
}

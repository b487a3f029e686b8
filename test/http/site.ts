/** Fixtures for the HTTP tests: a temporary site and byte-exact raw requests. */
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";

export interface Site {
  /** The directory that contains root/ and the secret outside it. */
  base: string;
  root: string;
  /** A file outside root that no request may read. */
  secret: string;
  secretText: string;
  cleanup(): void;
}

/** A site with files, a directory listing, dotfiles, a precompressed sibling and escaping symlinks. */
export function makeSite(): Site {
  const base = mkdtempSync(join(tmpdir(), "wirekit-http-"));
  const root = join(base, "root");
  mkdirSync(root);
  const secretText = "TOP-SECRET-5f1c0a";
  const secret = join(base, "secret.txt");
  writeFileSync(secret, secretText);
  writeFileSync(join(root, "hello.txt"), "hello, world\n");
  writeFileSync(join(root, "index.html"), "<h1>home</h1>\n");
  writeFileSync(join(root, "big.txt"), "All work and no play makes Jack a dull boy.\n".repeat(200));
  writeFileSync(join(root, "data.bin"), Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256)));
  writeFileSync(join(root, "app.js"), "console.log('plain');\n".repeat(100));
  writeFileSync(join(root, "app.js.gz"), gzipSync(Buffer.from("console.log('PRECOMPRESSED');\n")));
  writeFileSync(join(root, ".env"), "PASSWORD=hunter2\n");
  mkdirSync(join(root, ".git"));
  writeFileSync(join(root, ".git", "config"), "[core]\n");
  mkdirSync(join(root, "docs"));
  writeFileSync(join(root, "docs", "<b>bold<b> & co.txt"), "x");
  writeFileSync(join(root, "docs", "a.txt"), "a");
  writeFileSync(join(root, "docs", ".hidden"), "h");
  mkdirSync(join(root, "docs", "sub"));
  mkdirSync(join(root, "withindex"));
  writeFileSync(join(root, "withindex", "index.html"), "<p>index of withindex</p>\n");
  symlinkSync(secret, join(root, "leak.txt"));
  symlinkSync(base, join(root, "up"));
  symlinkSync(join(root, "hello.txt"), join(root, "inside-link.txt"));
  return { base, root, secret, secretText, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** Send `request` bytes as-is and collect everything until the server closes (or `ms`). */
export function rawRequest(port: number, request: string | Buffer, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    let out = "";
    const t = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, ms);
    s.setEncoding("latin1");
    s.on("data", (d: string) => (out += d));
    s.on("close", () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on("error", reject);
    s.write(request);
  });
}

/** Status code of the first response in `raw`. */
export function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0);
}

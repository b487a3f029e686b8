/** Security regressions of `wirekit http serve`, each named after the attack it covers. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
import { createStaticServer } from "../../src/http/static/server.js";
import { makeSite, type Site } from "./site.js";

let site: Site;
before(() => {
  site = makeSite();
});
after(() => site.cleanup());

const INJECTED = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Injected: yes\r\n\r\nEVIL!";

test("response splitting: a file that grows while it is sent stops at its Content-Length on a kept-alive connection", async () => {
  const size = 4 * 1024 * 1024;
  const file = join(site.root, "growing.bin");
  writeFileSync(file, Buffer.alloc(size, 0x61));
  const srv = await createStaticServer({ root: site.root, port: 0 });
  try {
    const sock = connect({ host: "127.0.0.1", port: srv.port });
    sock.on("error", () => undefined);
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    const chunks: Buffer[] = [];
    sock.pause(); // do not read: the first response stalls part-way, then the file grows
    sock.write("GET /growing.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(file, INJECTED);
    sock.on("data", (c: Buffer) => chunks.push(c));
    sock.resume();
    const text = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("responses never arrived")), 60_000);
      const check = (): void => {
        const all = Buffer.concat(chunks).toString("latin1");
        if (all.endsWith("hello, world\n") || all.includes("EVIL!")) {
          clearTimeout(timer);
          resolve(all);
        }
      };
      sock.on("data", check);
      sock.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    });
    sock.destroy();
    assert.ok(!text.includes("X-Injected"), "no bytes past Content-Length reached the client");
    const heads = text.match(/HTTP\/1\.1 200 OK\r\n/g) ?? [];
    assert.equal(heads.length, 2, "exactly two responses");
    assert.ok(text.endsWith("hello, world\n"), "the second response is the one asked for");
  } finally {
    await srv.close();
  }
});

/** Hostile input: random request-targets and garbage bytes never crash the server or give 500. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { decodeRequestPath } from "../../src/http/static/resolve.js";
import { createStaticServer, type StaticServer } from "../../src/http/static/server.js";
import { createRandom } from "../../src/core/random.js";
import { makeSite, rawRequest, statusOf, type Site } from "./site.js";

let site: Site;
let srv: StaticServer;
before(async () => {
  site = makeSite();
  srv = await createStaticServer({ root: site.root, port: 0 });
});
after(async () => {
  await srv.close();
  site.cleanup();
});

const ALPHABET = ["/", ".", "..", "%", "%2e", "%2f", "%5c", "%00", "%c0", "%ae", "%zz", "\\", "a", "docs", "hello.txt", "?", "#", "~", ";", "%ff", "é"];

function randomTarget(rnd: { next(): number }): string {
  const n = 1 + Math.floor(rnd.next() * 8);
  let t = "/";
  for (let i = 0; i < n; i++) t += ALPHABET[Math.floor(rnd.next() * ALPHABET.length)] ?? "";
  return t;
}

test("decodeRequestPath never throws and never yields a dot or separator segment", () => {
  const rnd = createRandom(11);
  for (let i = 0; i < 20_000; i++) {
    const p = decodeRequestPath(randomTarget(rnd));
    if (p.ok) for (const s of p.segments) assert.ok(s !== "." && s !== ".." && !s.includes("/") && !s.includes("\\") && !s.includes("\0"), s);
  }
});

test("random targets and garbage bytes get 4xx answers, never a 500, and the server keeps serving", async () => {
  const rnd = createRandom(5);
  for (let i = 0; i < 150; i++) {
    const target = randomTarget(rnd).replace(/[ #]/g, "");
    const raw = await rawRequest(srv.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const status = statusOf(raw);
    assert.ok(status > 0 && status < 500, `${JSON.stringify(target)} -> ${status}`);
    assert.ok(!raw.includes(site.secretText));
  }
  for (let i = 0; i < 50; i++) {
    const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rnd.next() * 300) }, () => Math.floor(rnd.next() * 256)));
    const raw = await rawRequest(srv.port, Buffer.concat([junk, Buffer.from("\r\n\r\n")]), 5_000);
    if (raw !== "") assert.ok(statusOf(raw) >= 400 && statusOf(raw) < 500, raw.slice(0, 40));
  }
  const ok = await rawRequest(srv.port, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.equal(statusOf(ok), 200);
});

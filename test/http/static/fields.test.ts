/** The pure pieces behind the new options: Basic credentials, response fields, Accept, the JSON listing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BasicAuthenticator, decodeBasicAuthorization, parseAuthFile, parseCredential } from "../../../src/http/static/basic-auth.js";
import { acceptsHtmlExplicitly, parseHeaderOption, prefersJson } from "../../../src/http/static/response-fields.js";
import { renderListingJson } from "../../../src/http/static/listing.js";
import { formatAccessLog } from "../../../src/render/http-server.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

test("Basic credentials split at the first colon and refuse empty users and control characters", () => {
  assert.deepEqual(parseCredential("ada:s3:cr:et"), { user: "ada", password: "s3:cr:et" });
  assert.deepEqual(parseCredential("ada:"), { user: "ada", password: "" });
  for (const bad of ["ada", ":pw", "a\nb:pw", "ada:p\x00w"]) assert.equal(parseCredential(bad), undefined, JSON.stringify(bad));
  assert.deepEqual(parseAuthFile("# c\n\nada:1\r\nbob:2\n"), { ok: true, credentials: [{ user: "ada", password: "1" }, { user: "bob", password: "2" }] });
  assert.deepEqual(parseAuthFile("ada:1\nbroken\n"), { ok: false, line: 2 });
});

test("the Authorization header decodes only well-formed Basic values (RFC 7617 §2)", () => {
  assert.deepEqual(decodeBasicAuthorization(`Basic ${b64("ada:pw")}`), { user: "ada", password: "pw" });
  assert.deepEqual(decodeBasicAuthorization(`bAsIc   ${b64("ada:pw")} `), { user: "ada", password: "pw" });
  assert.deepEqual(decodeBasicAuthorization(`Basic ${b64("zoë:pässword")}`), { user: "zoë", password: "pässword" }, "UTF-8 (§2.1)");
  for (const bad of [undefined, "", "Basic", "Basic ", `Bearer ${b64("ada:pw")}`, "Basic !!!!", "Basic YWRh", `Basic ${b64("ada")}`, `Basic ${b64("ada:pw")} extra`, "Basic /w==", "Basic YWRhOnB3="]) {
    assert.equal(decodeBasicAuthorization(bad), undefined, String(bad));
  }
});

test("the authenticator accepts exactly the configured pairs", () => {
  const auth = new BasicAuthenticator([{ user: "ada", password: "one" }, { user: "bob", password: "two" }]);
  assert.deepEqual(auth.check(`Basic ${b64("ada:one")}`), { ok: true, user: "ada" });
  assert.deepEqual(auth.check(`Basic ${b64("bob:two")}`), { ok: true, user: "bob" });
  assert.deepEqual(auth.check(`Basic ${b64("ada:two")}`), { ok: false, reason: "wrong" });
  assert.deepEqual(auth.check(`Basic ${b64("ada:one ")}`), { ok: false, reason: "wrong" });
  assert.deepEqual(auth.check("Basic @@"), { ok: false, reason: "malformed" });
  assert.deepEqual(auth.check(undefined), { ok: false, reason: "missing" });
  // "a:b" + ":c" and "a" + ":b:c" must not collide.
  const tricky = new BasicAuthenticator([{ user: "a", password: "b:c" }]);
  assert.equal(tricky.check(`Basic ${b64("a:b:c")}`).ok, true);
});

test("-H values are checked as RFC 9110 fields", () => {
  assert.deepEqual(parseHeaderOption("X-Frame-Options:   DENY  "), { ok: true, field: ["X-Frame-Options", "DENY"] });
  assert.deepEqual(parseHeaderOption("X-Empty:"), { ok: true, field: ["X-Empty", ""] });
  assert.deepEqual(parseHeaderOption("Link: </a.css>; rel=preload"), { ok: true, field: ["Link", "</a.css>; rel=preload"] });
  for (const bad of ["NoColon", ": v", "Bad Name: v", "X(y): v", "X-A: a\r\nX-B: b", "X-A: \x00", "X-A: caf\u00e9", "Transfer-Encoding: chunked", "connection: close"]) {
    assert.equal(parseHeaderOption(bad).ok, false, JSON.stringify(bad));
  }
});

test("Accept decides the listing's format and whether a request is a page navigation", () => {
  const rows: Array<[string | undefined, boolean, boolean]> = [
    [undefined, false, false],
    ["application/json", true, false],
    ["application/json, text/plain;q=0.5", true, false],
    ["text/html", false, true],
    ["*/*", false, false],
    ["text/*", false, false],
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false, true],
    ["application/json, text/html", false, true],
    ["text/html;q=0.2, application/json", true, true],
    ["text/html;q=0", false, false],
    ["application/*", true, false],
  ];
  for (const [accept, json, html] of rows) {
    assert.equal(prefersJson(accept), json, `prefersJson(${accept})`);
    assert.equal(acceptsHtmlExplicitly(accept), html, `acceptsHtmlExplicitly(${accept})`);
  }
});

test("the JSON listing has name, type, size and an ISO mtime, directories first", () => {
  const json = renderListingJson([
    { name: "b.txt", isDirectory: false, size: 3, mtimeMs: 0 },
    { name: "link", isDirectory: false, isSymlink: true, size: 9, mtimeMs: 1000 },
    { name: "sub", isDirectory: true, size: 4096, mtimeMs: 2000 },
  ]);
  assert.deepEqual(JSON.parse(json), [
    { name: "sub", type: "directory", size: 4096, mtime: "1970-01-01T00:00:02.000Z" },
    { name: "b.txt", type: "file", size: 3, mtime: "1970-01-01T00:00:00.000Z" },
    { name: "link", type: "symlink", size: 9, mtime: "1970-01-01T00:00:01.000Z" },
  ]);
});

test("the access log puts the user in CLF's authuser field, escaped", () => {
  const base = { at: 0, client: "127.0.0.1", method: "GET", path: "/", httpVersion: "1.1", status: 200, bytes: 1, ms: 0 };
  assert.match(formatAccessLog({ ...base, user: "ada" }), /^127\.0\.0\.1 - ada \[/);
  assert.match(formatAccessLog({ ...base, user: 'a b"c' }), /^127\.0\.0\.1 - a\\x20b\\x22c \[/);
  assert.match(formatAccessLog(base), /^127\.0\.0\.1 - - \[/);
});

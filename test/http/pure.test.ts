/** Pure units of the static server: path decoding, preconditions, ranges, codings, listing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeRequestPath, isInside } from "../../src/http/static/resolve.js";
import { evaluatePreconditions, ifRangeAllows, parseEtagList } from "../../src/http/static/conditional.js";
import { formatHttpDate } from "../../src/http/http-date.js";
import { parseRange, multipartLength, multipartPartHead, multipartTail } from "../../src/http/static/range.js";
import { acceptedCodings, isCompressible } from "../../src/http/static/compress.js";
import { renderListing } from "../../src/http/static/listing.js";
import { formatAccessLog } from "../../src/render/http-server.js";

test("a plain path decodes into its segments with the query kept apart", () => {
  const p = decodeRequestPath("/docs/a%20b.txt?x=1");
  assert.ok(p.ok);
  assert.deepEqual(p.segments, ["docs", "a b.txt"]);
  assert.equal(p.query, "?x=1");
  assert.equal(p.trailingSlash, false);
});

test("traversal spellings, NUL, backslashes, overlong UTF-8 and dotfiles are refused with 403/404", () => {
  const cases: Array<[string, number]> = [
    ["/../etc/passwd", 403],
    ["/%2e%2e/etc/passwd", 403],
    ["/%2E%2E/%2e%2e/etc/passwd", 403],
    ["/.%2e/etc/passwd", 403],
    ["/a/%2f..%2f..%2fetc/passwd", 403],
    ["/..%5c..%5cetc%5cpasswd", 403],
    ["/a\\..\\b", 403],
    ["/index.html%00.txt", 403],
    ["/%c0%ae%c0%ae/etc/passwd", 403],
    ["/%e0%80%ae%e0%80%ae/x", 403],
    ["/.git/config", 404],
    ["/.env", 404],
    ["/a/.hidden/b", 404],
  ];
  for (const [target, status] of cases) {
    const p = decodeRequestPath(target);
    assert.equal(p.ok, false, target);
    if (!p.ok) assert.equal(p.status, status, target);
  }
});

test("bad percent escapes are 400, not a crash", () => {
  for (const t of ["/%zz", "/a%", "/a%4", "/%%41"]) {
    const p = decodeRequestPath(t);
    assert.equal(p.ok ? 0 : p.status, 400, t);
  }
});

test("absolute paths and absolute-form targets stay under the root", () => {
  const p = decodeRequestPath("//etc/passwd");
  assert.ok(p.ok);
  assert.deepEqual(p.segments, ["etc", "passwd"]);
  const a = decodeRequestPath("http://example.test/x/y");
  assert.ok(a.ok);
  assert.deepEqual(a.segments, ["x", "y"]);
  assert.equal(decodeRequestPath("etc/passwd").ok, false);
});

test("dotfiles are allowed when asked for", () => {
  assert.ok(decodeRequestPath("/.well-known/x", { dotfiles: true }).ok);
});

test("containment compares whole path components", () => {
  assert.equal(isInside("/srv/www", "/srv/www/a"), true);
  assert.equal(isInside("/srv/www", "/srv/www"), true);
  assert.equal(isInside("/srv/www", "/srv/www2/a"), false);
  assert.equal(isInside("/srv/www", "/etc/passwd"), false);
});

const V = { etag: '"abc"', lastModified: Date.UTC(2024, 0, 10, 12, 0, 0) };
const before = formatHttpDate(Date.UTC(2024, 0, 9));
const after = formatHttpDate(Date.UTC(2024, 0, 11));
const same = formatHttpDate(V.lastModified);

test("preconditions follow the RFC 9110 §13.2.2 table", () => {
  const rows: Array<[string, Record<string, string>, string | number]> = [
    ["GET", {}, "proceed"],
    ["GET", { "if-match": '"abc"' }, "proceed"],
    ["GET", { "if-match": "*" }, "proceed"],
    ["GET", { "if-match": '"zzz", "abc"' }, "proceed"],
    ["GET", { "if-match": '"zzz"' }, 412],
    ["GET", { "if-match": 'W/"abc"' }, 412], // If-Match needs a strong match
    ["GET", { "if-unmodified-since": after }, "proceed"],
    ["GET", { "if-unmodified-since": same }, "proceed"],
    ["GET", { "if-unmodified-since": before }, 412],
    ["GET", { "if-unmodified-since": "not a date" }, "proceed"],
    ["GET", { "if-match": '"abc"', "if-unmodified-since": before }, "proceed"], // IUS ignored with If-Match
    ["GET", { "if-none-match": '"abc"' }, 304],
    ["HEAD", { "if-none-match": 'W/"abc"' }, 304], // weak comparison
    ["GET", { "if-none-match": "*" }, 304],
    ["GET", { "if-none-match": '"zzz"' }, "proceed"],
    ["DELETE", { "if-none-match": '"abc"' }, 412],
    ["GET", { "if-modified-since": same }, 304],
    ["GET", { "if-modified-since": after }, 304],
    ["GET", { "if-modified-since": before }, "proceed"],
    ["GET", { "if-modified-since": "garbage" }, "proceed"],
    ["GET", { "if-none-match": '"zzz"', "if-modified-since": after }, "proceed"], // IMS ignored with INM
    ["GET", { "if-match": '"zzz"', "if-none-match": '"abc"' }, 412], // If-Match is evaluated first
    ["GET", { "if-unmodified-since": before, "if-none-match": '"abc"' }, 412],
  ];
  for (const [method, headers, want] of rows) {
    assert.equal(evaluatePreconditions(method, headers, V), want, `${method} ${JSON.stringify(headers)}`);
  }
});

test("If-Range allows the range only for a strong matching tag or the exact date", () => {
  assert.equal(ifRangeAllows(undefined, V), true);
  assert.equal(ifRangeAllows('"abc"', V), true);
  assert.equal(ifRangeAllows('"old"', V), false);
  assert.equal(ifRangeAllows('W/"abc"', V), false);
  assert.equal(ifRangeAllows(same, V), true);
  assert.equal(ifRangeAllows(after, V), false);
});

test("entity-tag lists parse with weak tags and spaces", () => {
  assert.deepEqual(parseEtagList(' "a" , W/"b",*'), ['"a"', 'W/"b"', "*"]);
});

test("byte ranges parse per RFC 9110 §14", () => {
  assert.deepEqual(parseRange("bytes=0-99", 1000), { kind: "ranges", ranges: [{ start: 0, end: 99 }] });
  assert.deepEqual(parseRange("bytes=990-", 1000), { kind: "ranges", ranges: [{ start: 990, end: 999 }] });
  assert.deepEqual(parseRange("bytes=-10", 1000), { kind: "ranges", ranges: [{ start: 990, end: 999 }] });
  assert.deepEqual(parseRange("bytes=-5000", 1000), { kind: "ranges", ranges: [{ start: 0, end: 999 }] });
  assert.deepEqual(parseRange("bytes=900-5000", 1000), { kind: "ranges", ranges: [{ start: 900, end: 999 }] });
  assert.deepEqual(parseRange("bytes=1000-", 1000), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=-0", 1000), { kind: "unsatisfiable" });
  assert.deepEqual(parseRange("bytes=0-1,5-9", 1000), { kind: "ranges", ranges: [{ start: 0, end: 1 }, { start: 5, end: 9 }] });
  assert.deepEqual(parseRange("bytes=0-5,3-9", 1000), { kind: "ranges", ranges: [{ start: 0, end: 9 }] });
  for (const bad of [undefined, "items=0-1", "bytes=5-1", "bytes=a-b", "bytes=", "bytes=-"]) assert.deepEqual(parseRange(bad, 1000), { kind: "ignore" }, String(bad));
});

test("the multipart length equals the bytes of the parts", () => {
  const ranges = [{ start: 0, end: 1 }, { start: 5, end: 9 }];
  const body = multipartPartHead("B", "text/plain", ranges[0]!, 10, true) + "xx" + multipartPartHead("B", "text/plain", ranges[1]!, 10, false) + "yyyyy" + multipartTail("B");
  assert.equal(multipartLength("B", "text/plain", ranges, 10), Buffer.byteLength(body));
});

test("Accept-Encoding is negotiated by q-value", () => {
  assert.deepEqual(acceptedCodings("gzip, deflate, br"), ["br", "gzip"]);
  assert.deepEqual(acceptedCodings("gzip;q=1, br;q=0.5"), ["gzip", "br"]);
  assert.deepEqual(acceptedCodings("br;q=0, gzip"), ["gzip"]);
  assert.deepEqual(acceptedCodings("*"), ["br", "gzip"]);
  assert.deepEqual(acceptedCodings("identity"), []);
  assert.deepEqual(acceptedCodings(undefined), []);
  assert.equal(isCompressible("text/html; charset=utf-8"), true);
  assert.equal(isCompressible("image/png"), false);
});

test("a listing escapes names, sorts directories first and links up", () => {
  const html = renderListing("/d/", [
    { name: "<script>alert(1)</script>.txt", isDirectory: false, size: 5, mtimeMs: 0 },
    { name: "b", isDirectory: true, size: 0, mtimeMs: 0 },
    { name: "a & b.txt", isDirectory: false, size: 2048, mtimeMs: 0 },
  ]);
  assert.ok(!html.includes("<script>alert"));
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;.txt"));
  assert.ok(html.includes('href="%3Cscript%3Ealert(1)%3C%2Fscript%3E.txt"'));
  assert.ok(html.includes('href="../"'));
  assert.ok(html.indexOf("b/</a>") < html.indexOf("a &amp; b.txt"));
});

test("the access-log line is the common log format plus the response time", () => {
  const line = formatAccessLog({ at: Date.UTC(2000, 9, 10, 13, 55, 36), client: "127.0.0.1", method: "GET", path: '/a"b\n', httpVersion: "1.1", status: 200, bytes: 2326, ms: 1.5 });
  assert.equal(line, '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a\\x22b\\x0a HTTP/1.1" 200 2326 1.500ms');
});

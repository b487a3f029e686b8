import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_LIMITS, parseRequestHead, type HeadResult } from "../../../src/http/h1/parse.js";
import { createRandom } from "../../../src/core/random.js";

const B = (s: string): Buffer => Buffer.from(s, "latin1");
const H = "Host: a\r\n";

function head(s: string): Extract<HeadResult, { kind: "head" }> {
  const r = parseRequestHead(B(s));
  assert.equal(r.kind, "head", JSON.stringify(r));
  return r as Extract<HeadResult, { kind: "head" }>;
}

/** [what, input, status, early?]: `early` is a prefix of input that must already be refused. */
const REJECTS: ReadonlyArray<readonly [string, string, number, string?]> = [
  ["a bare LF before the request line", `\nGET / HTTP/1.1\r\n${H}\r\n`, 400, "\n"],
  ["five empty lines before the request line", `${"\r\n".repeat(5)}GET / HTTP/1.1\r\n${H}\r\n`, 400, "\r\n".repeat(5)],
  ["a bare CR before the request line", `\rGET / HTTP/1.1\r\n${H}\r\n`, 400, "\rG"],
  ["an empty method", ` / HTTP/1.1\r\n${H}\r\n`, 400, " "],
  ["a method with a non-tchar", `GE\x01T / HTTP/1.1\r\n${H}\r\n`, 400, "GE\x01"],
  ["a method outside the implemented set", `FOO / HTTP/1.1\r\n${H}\r\n`, 400, "FOO "],
  ["a lower-case method (methods are case-sensitive)", `get / HTTP/1.1\r\n${H}\r\n`, 400, "get "],
  ["garbage that starts like a token", `NOT HTTP AT ALL\r\n\r\n`, 400, "NOT "],
  ["two spaces after the method", `GET  / HTTP/1.1\r\n${H}\r\n`, 400, "GET  "],
  ["a tab after the method", `GET\t/ HTTP/1.1\r\n${H}\r\n`, 400, "GET\t"],
  ["two spaces after the target", `GET /  HTTP/1.1\r\n${H}\r\n`, 400, "GET /  "],
  ["a NUL in the target", `GET /a\x00 HTTP/1.1\r\n${H}\r\n`, 400, "GET /a\x00"],
  ["DEL in the target", `GET /a\x7f HTTP/1.1\r\n${H}\r\n`, 400, "GET /a\x7f"],
  ["a non-ASCII byte in the target", `GET /\xe9 HTTP/1.1\r\n${H}\r\n`, 400, "GET /\xe9"],
  ["an HTTP/0.9 request line", `GET /\r\n\r\n`, 400, "GET /\r"],
  ["a lower-case http version", `GET / http/1.1\r\n${H}\r\n`, 400, "GET / h"],
  ["a two-digit version", `GET / HTTP/1.10\r\n${H}\r\n`, 400, "GET / HTTP/1.10"],
  ["a version without a dot", `GET / HTTP/11\r\n${H}\r\n`, 400, "GET / HTTP/11"],
  ["a space after the version", `GET / HTTP/1.1 \r\n${H}\r\n`, 400, "GET / HTTP/1.1 "],
  ["HTTP/2.0", `GET / HTTP/2.0\r\n${H}\r\n`, 505, "GET / HTTP/2.0\r\n"],
  ["HTTP/1.2 (no such version: 505, not read as 1.1)", `GET / HTTP/1.2\r\n${H}\r\n`, 505],
  ["HTTP/0.9", `GET / HTTP/0.9\r\n${H}\r\n`, 505],
  ["a bare LF after the request line", `GET / HTTP/1.1\n${H}\r\n`, 400, "GET / HTTP/1.1\n"],
  ["a bare CR after the request line", `GET / HTTP/1.1\rHost: a\r\n\r\n`, 400, "GET / HTTP/1.1\rH"],
  ["whitespace before the first field", `GET / HTTP/1.1\r\n Host: a\r\n\r\n`, 400, "GET / HTTP/1.1\r\n "],
  ["obs-fold with SP", `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`, 400, `GET / HTTP/1.1\r\n${H}X: a\r\n `],
  ["obs-fold with HTAB", `GET / HTTP/1.1\r\n${H}X: a\r\n\tb\r\n\r\n`, 400],
  ["a space before the colon", `GET / HTTP/1.1\r\n${H}X : y\r\n\r\n`, 400, `GET / HTTP/1.1\r\n${H}X `],
  ["Transfer-Encoding with a space before the colon", `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n`, 400],
  ["an empty field name", `GET / HTTP/1.1\r\n${H}: y\r\n\r\n`, 400],
  ["a field line without a colon", `GET / HTTP/1.1\r\n${H}X y\r\n\r\n`, 400],
  ["a non-ASCII byte in a field name", `GET / HTTP/1.1\r\n${H}X\xe9: y\r\n\r\n`, 400],
  ["a NUL in a field value", `GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`, 400, `GET / HTTP/1.1\r\n${H}X: a\x00`],
  ["a control byte in a field value", `GET / HTTP/1.1\r\n${H}X: a\x01b\r\n\r\n`, 400],
  ["DEL in a field value", `GET / HTTP/1.1\r\n${H}X: a\x7fb\r\n\r\n`, 400],
  ["a bare CR in a field value", `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`, 400, `GET / HTTP/1.1\r\n${H}X: a\rb`],
  ["a bare LF in a field value", `GET / HTTP/1.1\r\n${H}X: a\nb\r\n\r\n`, 400, `GET / HTTP/1.1\r\n${H}X: a\n`],
  ["a head ended by bare LFs", `GET / HTTP/1.1\nHost: a\n\n`, 400],
  ["a head ended by CR CR LF", `GET / HTTP/1.1\r\n${H}\r\r\n`, 400],
  ["101 fields", `GET / HTTP/1.1\r\n${H}${"X: v\r\n".repeat(100)}\r\n`, 431],
  ["a head over 16 KiB", `GET / HTTP/1.1\r\n${H}X: ${"v".repeat(16400)}\r\n\r\n`, 431],
  ["an incomplete head over 16 KiB", `GET / HTTP/1.1\r\n${H}X: ${"v".repeat(16400)}`, 431],
  ["a target over 8 KiB", `GET /${"a".repeat(8200)} HTTP/1.1\r\n${H}\r\n`, 414, `GET /${"a".repeat(8192)}`],
  ["an HTTP/1.1 request without Host", `GET / HTTP/1.1\r\n\r\n`, 400],
  ["two Host fields", `GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n`, 400],
  ["two Host fields in HTTP/1.0", `GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n`, 400],
  ["a Host with a space", `GET / HTTP/1.1\r\nHost: a b\r\n\r\n`, 400],
  ["a Host with a path", `GET / HTTP/1.1\r\nHost: a/b\r\n\r\n`, 400],
  ["a Host with userinfo", `GET / HTTP/1.1\r\nHost: u@a\r\n\r\n`, 400],
  ["a Host with a port over 65535", `GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n`, 400],
  ["a Host with a bad percent-escape", `GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n`, 400],
  ["a Host that is only a port", `GET / HTTP/1.1\r\nHost: :80\r\n\r\n`, 400],
  ["CONNECT with origin-form", `CONNECT / HTTP/1.1\r\n${H}\r\n`, 400],
  ["CONNECT without a port", `CONNECT a HTTP/1.1\r\n${H}\r\n`, 400],
  ["CONNECT with an empty port", `CONNECT a: HTTP/1.1\r\n${H}\r\n`, 400],
  ["CONNECT with absolute-form", `CONNECT http://a:443/ HTTP/1.1\r\n${H}\r\n`, 400],
  ["asterisk-form with GET", `GET * HTTP/1.1\r\n${H}\r\n`, 400],
  ["a target starting with '*' that is not '*'", `OPTIONS *x HTTP/1.1\r\n${H}\r\n`, 400],
  ["authority-form without CONNECT", `GET a:80 HTTP/1.1\r\n${H}\r\n`, 400],
  ["absolute-form with another scheme", `GET ftp://a/ HTTP/1.1\r\n${H}\r\n`, 400],
  ["absolute-form with userinfo", `GET http://u@a/ HTTP/1.1\r\n${H}\r\n`, 400],
  ["absolute-form with an empty authority", `GET http:///x HTTP/1.1\r\n${H}\r\n`, 400],
  ["Content-Length with Transfer-Encoding", `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`, 400],
  ["Transfer-Encoding with Content-Length", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n`, 400],
  ["Content-Length +5", `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\n`, 400],
  ["Content-Length -5", `POST / HTTP/1.1\r\n${H}Content-Length: -5\r\n\r\n`, 400],
  ["Content-Length 0x5", `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\n`, 400],
  ["Content-Length 5 5", `POST / HTTP/1.1\r\n${H}Content-Length: 5 5\r\n\r\n`, 400],
  ["Content-Length as a list of equal values", `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\n`, 400],
  ["two equal Content-Length fields", `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\n`, 400],
  ["two differing Content-Length fields", `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\n`, 400],
  ["an empty Content-Length", `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n`, 400],
  ["a Content-Length above 2^53 - 1", `POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740992\r\n\r\n`, 400],
  ["a 20-digit Content-Length", `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`, 400],
  ["a trailing HTAB in Content-Length", `POST / HTTP/1.1\r\n${H}Content-Length: 5\t\r\n\r\n`, 400],
  ["a leading HTAB in Transfer-Encoding", `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\tchunked\r\n\r\n`, 400],
  ["Transfer-Encoding in HTTP/1.0", `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n`, 400],
  ["chunked twice in one field", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n`, 400],
  ["chunked in two fields", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, 400],
  ["chunked before gzip", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, 400],
  ["gzip alone", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, 400],
  ["xchunked, a coding no one registered (issue 20: 501, not 200)", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n`, 501],
  ["chunked with parameters", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;a=b\r\n\r\n`, 400],
  ["an empty element before chunked", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: , chunked\r\n\r\n`, 400],
  ["an empty Transfer-Encoding", `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n`, 400],
  ["gzip before chunked (a known coding we do not implement)", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`, 501],
  ["gzip and chunked in two fields", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n`, 501],
  ["an unknown coding before chunked", `POST / HTTP/1.1\r\n${H}Transfer-Encoding: frob, chunked\r\n\r\n`, 501],
];

describe("parseRequestHead refuses", () => {
  for (const [what, input, status, early] of REJECTS) {
    it(`${what} with ${status}`, () => {
      const r = parseRequestHead(B(input));
      assert.equal(r.kind, "error", JSON.stringify(r));
      assert.equal(r.kind === "error" && r.status, status, JSON.stringify(r));
      // Whatever follows the head cannot turn the verdict into something else.
      assert.deepEqual(parseRequestHead(B(`${input}GET / HTTP/1.1\r\n${H}\r\n`)), r);
      if (early !== undefined) {
        const e = parseRequestHead(B(early));
        assert.equal(e.kind, "error", `already refused after ${JSON.stringify(early)}: ${JSON.stringify(e)}`);
        assert.equal(e.kind === "error" && e.status, status);
      }
    });
  }
});

describe("parseRequestHead accepts", () => {
  it("a plain GET, consuming exactly the head", () => {
    const input = `GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n`;
    const r = head(`${input}NEXT`);
    assert.equal(r.consumed, input.length);
    assert.deepEqual(r.head, {
      method: "GET",
      target: "/a?b=c",
      version: "1.1",
      headers: [
        ["Host", "example.com"],
        ["Accept", "*/*"],
      ],
    });
    assert.deepEqual(r.framing, { kind: "none" });
    assert.equal(r.keepAlive, true);
    assert.equal(r.expectContinue, false);
    assert.equal(r.expectUnsupported, false);
  });

  it("field names as sent and values with OWS trimmed, inner whitespace kept", () => {
    const r = head(`GET / HTTP/1.1\r\nhOsT: a\r\nX-A: \t a  b \t\r\nX-Empty:\r\nX-Obs: caf\xe9\r\n\r\n`);
    assert.deepEqual(r.head.headers, [
      ["hOsT", "a"],
      ["X-A", "a  b"],
      ["X-Empty", ""],
      ["X-Obs", "caf\xe9"],
    ]);
  });

  it("up to four empty lines before the request line, counted in consumed", () => {
    const input = `\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`;
    assert.equal(head(input).consumed, input.length);
  });

  it("HTTP/1.0 without Host, closing by default", () => {
    const r = head(`GET / HTTP/1.0\r\n\r\n`);
    assert.equal(r.head.version, "1.0");
    assert.equal(r.keepAlive, false);
    assert.equal(head(`GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n`).keepAlive, true);
  });

  it("Connection: close on 1.1, in any case and among other tokens", () => {
    assert.equal(head(`GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`).keepAlive, false);
    assert.equal(head(`GET / HTTP/1.1\r\n${H}Connection: TE, Close\r\n\r\n`).keepAlive, false);
    assert.equal(head(`GET / HTTP/1.1\r\n${H}Connection: keep-alive\r\nConnection: close\r\n\r\n`).keepAlive, false);
  });

  it("Content-Length framing, leading zeros allowed", () => {
    assert.deepEqual(head(`POST / HTTP/1.1\r\n${H}Content-Length: 005\r\n\r\n`).framing, { kind: "length", length: 5 });
    assert.deepEqual(head(`POST / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`).framing, { kind: "length", length: 0 });
    assert.deepEqual(head(`POST / HTTP/1.1\r\n${H}content-length: 9007199254740991\r\n\r\n`).framing, {
      kind: "length",
      length: Number.MAX_SAFE_INTEGER,
    });
  });

  it("chunked framing in any case, with SP around it", () => {
    for (const te of ["chunked", "Chunked", "CHUNKED", "  chunked  "]) {
      assert.deepEqual(head(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${te}\r\n\r\n`).framing, { kind: "chunked" });
    }
  });

  it("Expect: 100-continue on 1.1 only; another expectation is flagged for a 417", () => {
    assert.equal(head(`PUT / HTTP/1.1\r\n${H}Expect: 100-Continue\r\n\r\n`).expectContinue, true);
    const other = head(`PUT / HTTP/1.1\r\n${H}Expect: fancy\r\n\r\n`);
    assert.equal(other.expectContinue, false);
    assert.equal(other.expectUnsupported, true);
    const old = head(`PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n`);
    assert.equal(old.expectContinue, false);
    assert.equal(old.expectUnsupported, false);
  });

  it("each target form with the method it belongs to", () => {
    assert.equal(head(`OPTIONS * HTTP/1.1\r\n${H}\r\n`).head.target, "*");
    assert.equal(head(`CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n`).head.target, "a.example:443");
    assert.equal(head(`CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n`).head.target, "[::1]:443");
    assert.equal(head(`GET http://a.example:8080/x?y HTTP/1.1\r\n${H}\r\n`).head.target, "http://a.example:8080/x?y");
    assert.equal(head(`GET HTTPS://a.example HTTP/1.1\r\n${H}\r\n`).head.target, "HTTPS://a.example");
    assert.equal(head(`OPTIONS /x HTTP/1.1\r\n${H}\r\n`).head.target, "/x");
  });

  it("Host values that are real authorities, and an empty one", () => {
    for (const h of ["a", "a.example:80", "[2001:db8::1]", "[::1]:8080", "xn--bcher-kva.example", "a%2Db", "a:", ""]) {
      head(`GET / HTTP/1.1\r\nHost: ${h}\r\n\r\n`);
    }
  });

  it("a target of exactly maxTargetBytes and a head of exactly maxHeadBytes", () => {
    head(`GET /${"a".repeat(DEFAULT_LIMITS.maxTargetBytes - 1)} HTTP/1.1\r\n${H}\r\n`);
    const base = `GET / HTTP/1.1\r\n${H}X: \r\n\r\n`;
    const exact = `GET / HTTP/1.1\r\n${H}X: ${"v".repeat(DEFAULT_LIMITS.maxHeadBytes - base.length)}\r\n\r\n`;
    assert.equal(head(exact).consumed, DEFAULT_LIMITS.maxHeadBytes);
  });

  it("100 fields", () => {
    head(`GET / HTTP/1.1\r\n${H}${"X: v\r\n".repeat(99)}\r\n`);
  });

  it("limits passed by the caller", () => {
    const limits = { ...DEFAULT_LIMITS, maxFields: 2, maxTargetBytes: 4, maxHeadBytes: 64 };
    assert.equal(parseRequestHead(B(`GET /abc HTTP/1.1\r\n${H}X: 1\r\n\r\n`), limits).kind, "head");
    assert.deepEqual(parseRequestHead(B(`GET /abcd HTTP/1.1\r\n`), limits), { kind: "error", status: 414, reason: "request-target too long" });
    const r = parseRequestHead(B(`GET / HTTP/1.1\r\n${H}X: 1\r\nY: 2\r\n\r\n`), limits);
    assert.equal(r.kind === "error" && r.status, 431);
    const big = parseRequestHead(B(`GET / HTTP/1.1\r\n${H}X: ${"v".repeat(60)}`), limits);
    assert.equal(big.kind === "error" && big.status, 431);
  });
});

describe("parseRequestHead while the head is incomplete", () => {
  it("asks for more at every cut of a valid head", () => {
    const input = `\r\nPOST /x HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\n`;
    for (let n = 0; n < input.length; n++) assert.deepEqual(parseRequestHead(B(input.slice(0, n))), { kind: "incomplete" }, `cut at ${n}`);
    assert.equal(parseRequestHead(B(input)).kind, "head");
  });

  it("told what it saw before, answers at each line end as a full parse would, and still finds 414 and 431", () => {
    const input = `GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`;
    let seen = 0;
    let first: HeadResult | undefined;
    for (let n = 1; n <= input.length && first === undefined; n++) {
      const r = parseRequestHead(B(input.slice(0, n)), DEFAULT_LIMITS, seen);
      seen = n;
      if (r.kind !== "incomplete") first = r;
      else if (input[n - 1] === "\n") assert.deepEqual(parseRequestHead(B(input.slice(0, n))), r);
    }
    assert.equal(first?.kind === "error" && first.status, 400);
    assert.equal(seen, input.indexOf("\x00") + 4, "the NUL is reported when its line ends");
    const long = B(`GET /${"a".repeat(8200)}`);
    const r414 = parseRequestHead(long, DEFAULT_LIMITS, long.length - 1);
    assert.equal(r414.kind === "error" && r414.status, 414);
    const big = B(`GET / HTTP/1.1\r\n${H}X: ${"v".repeat(16400)}`);
    const r431 = parseRequestHead(big, DEFAULT_LIMITS, big.length - 1);
    assert.equal(r431.kind === "error" && r431.status, 431);
  });

  it("never throws, whatever the bytes", () => {
    const r = createRandom(7);
    const base = B(`POST /x HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`);
    for (let i = 0; i < 5000; i++) {
      parseRequestHead(r.bytes(r.int(80)));
      const m = Buffer.from(base);
      for (let k = 0; k < 3; k++) m[r.int(m.length)] = r.int(256);
      parseRequestHead(m);
    }
  });
});

describe("the absolute-form scheme", () => {
  it("is http or https in any case, followed by ://, as the lower-cased prefix was read", () => {
    const rule = (target: string): boolean => {
      const lower = target.slice(0, 8).toLowerCase();
      return lower.startsWith("http://") || lower.startsWith("https://");
    };
    const schemes = ["http://", "https://", "HTTP://", "hTtPs://", "HTTPS://", "http:/", "https:/", "http//", "httpx://", "httpss://", "htp://", "ftp://", "h", "http", "https", "http:", "Http:://", "@ttp://", "hTTP://", "https:://", "xhttp://"];
    for (const scheme of schemes) {
      const target = `${scheme}a/x`;
      const r = parseRequestHead(B(`GET ${target} HTTP/1.1\r\n${H}\r\n`));
      assert.equal(r.kind === "head", rule(target), `${target}: ${JSON.stringify(r)}`);
      if (r.kind === "head") assert.equal(r.head.target, target);
    }
  });
});

/** The client's pure parts: request building (injection guards) and the response parser. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildRequest, serializeRequestHead, parseHeaderArg } from "../../src/http/client/request.js";
import { ResponseParser, type ResponseEvent } from "../../src/http/client/response.js";
import { isWirekitError } from "../../src/core/errors.js";
import { createRandom } from "../../src/core/random.js";

test("the request head is serialized with Host first and CRLF line ends", () => {
  const r = buildRequest({ target: "/index.html", host: "127.0.0.1:8080", headers: [["X-Test", "1"]] });
  assert.equal(serializeRequestHead(r), "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wirekit\r\nAccept: */*\r\nConnection: close\r\nX-Test: 1\r\n\r\n");
});

test("a user header replaces the default of the same name", () => {
  const r = buildRequest({ target: "/", host: "h", headers: [["user-agent", "me"]] });
  assert.deepEqual(r.headers.filter(([n]) => n.toLowerCase() === "user-agent"), [["user-agent", "me"]]);
});

test("header injection with CR, LF or NUL is refused when the request is built", () => {
  const bad: Array<[string, string]> = [
    ["X-A", "1\r\nX-Injected: yes"],
    ["X-A", "1\nfoo"],
    ["X-A", "a\0b"],
    ["X-A\r\nX-B", "1"],
    ["Bad Name", "1"],
    ["", "1"],
  ];
  for (const h of bad) {
    assert.throws(() => buildRequest({ target: "/", host: "h", headers: [h] }), (e) => isWirekitError(e, "ERR_USAGE"), JSON.stringify(h));
  }
  assert.throws(() => buildRequest({ target: "/a b", host: "h" }), (e) => isWirekitError(e, "ERR_USAGE"));
  assert.throws(() => buildRequest({ target: "/", host: "h\r\nX: y" }), (e) => isWirekitError(e, "ERR_USAGE"));
  assert.throws(() => parseHeaderArg("no colon"), (e) => isWirekitError(e, "ERR_USAGE"));
});

function feed(parser: ResponseParser, bytes: Buffer, splits: number[]): ResponseEvent[] {
  const out: ResponseEvent[] = [];
  let at = 0;
  for (const s of [...splits, bytes.length]) {
    out.push(...parser.push(bytes.subarray(at, s)));
    at = s;
  }
  return out;
}

const body = (evs: ResponseEvent[]): string => Buffer.concat(evs.flatMap((e) => (e.kind === "body" ? [e.data] : []))).toString();

test("chunked bodies decode whatever the split, with extensions and trailers", () => {
  const wire = Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Case: KeepMe\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n");
  const rnd = createRandom(7);
  for (let i = 0; i < 200; i++) {
    const splits = Array.from({ length: 4 }, () => Math.floor(rnd.next() * wire.length)).sort((a, b) => a - b);
    const p = new ResponseParser("GET");
    const evs = feed(p, wire, splits);
    assert.equal(body(evs), "hello, world", `splits ${splits}`);
    assert.equal(evs.at(-1)?.kind, "end");
    const head = evs.find((e) => e.kind === "head");
    assert.ok(head?.kind === "head");
    assert.deepEqual(head.head.headers[1], ["X-Case", "KeepMe"]);
  }
});

test("content-length, HEAD, 304 and close-delimited bodies are framed right", () => {
  const cl = new ResponseParser("GET").push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA"));
  assert.equal(body(cl), "abc");
  const head = new ResponseParser("HEAD").push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"));
  assert.equal(head.at(-1)?.kind, "end");
  const nm = new ResponseParser("GET").push(Buffer.from("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"));
  assert.equal(nm.at(-1)?.kind, "end");
  const p = new ResponseParser("GET");
  assert.equal(body(p.push(Buffer.from("HTTP/1.0 200 OK\r\n\r\nuntil close"))), "until close");
  assert.deepEqual(p.end(), [{ kind: "end" }]);
});

test("a 100 Continue before the response is reported as interim", () => {
  const evs = new ResponseParser("GET").push(Buffer.from("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"));
  const heads = evs.filter((e) => e.kind === "head");
  assert.equal(heads.length, 2);
  assert.ok(heads[0]?.kind === "head" && heads[0].interim);
  assert.equal(body(evs), "x");
});

test("garbage and truncation become error events, never exceptions", () => {
  const rnd = createRandom(3);
  for (let i = 0; i < 300; i++) {
    const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rnd.next() * 200) }, () => Math.floor(rnd.next() * 256)));
    const p = new ResponseParser("GET");
    p.push(Buffer.concat([Buffer.from(i % 2 ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" : ""), junk]));
    p.end();
  }
  const bad = new ResponseParser("GET").push(Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"));
  assert.equal(bad.at(-1)?.kind, "error");
  const trunc = new ResponseParser("GET");
  trunc.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
  assert.equal(trunc.end()[0]?.kind, "error");
});

/** The head as the parser read it before it scanned lines in place: split into lines, then each at its first colon. */
function referenceFields(head: string): { statusLine: string; headers: Array<[string, string]> } {
  const lines = head.slice(0, -4).split("\r\n");
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers.push([line.slice(0, i), line.slice(i + 1).trim()]);
  }
  return { statusLine: lines[0] ?? "", headers };
}

test("the head's fields are read as split lines would be, whatever bytes the lines hold", () => {
  const rnd = createRandom(17);
  const pieces = ["Content-Type", ": ", ":", " ", "\t", "\r", "\n", "\v", "\f", "\0", "\r\n", "x", "\u00a0", "\u0085", "\u00ff", "::", "keep-alive", "Connection"];
  const heads = [
    "HTTP/1.1 200 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nA: 1\r\nno colon here\r\n: empty name\r\nB:\r\nC:  spaced \t\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\rb\nc\0d\r\nY: \u00a0nbsp\u00a0\r\nZ:a:b:c\r\n\r\n",
    // Many lines without a colon, then one: each line is still read once.
    `HTTP/1.1 200 OK\r\n${"x\r\n".repeat(5000)}Late: 1\r\n\r\n`,
  ];
  for (let n = 0; n < 500; n++) {
    let fields = "";
    for (let i = rnd.int(12); i > 0; i--) fields += pieces[rnd.int(pieces.length)];
    const head = `HTTP/1.1 200 OK\r\n${fields}\r\n\r\n`;
    heads.push(head.slice(0, head.indexOf("\r\n\r\n") + 4));
  }
  for (const head of heads) {
    const e = new ResponseParser("HEAD").push(Buffer.from(head, "latin1"))[0];
    assert.equal(e?.kind, "head", JSON.stringify(head));
    if (e?.kind !== "head") continue;
    const want = referenceFields(head);
    assert.equal(e.head.statusLine, want.statusLine);
    assert.deepEqual(e.head.headers, want.headers, JSON.stringify(head));
    assert.deepEqual(e.head.raw, Buffer.from(head, "latin1"));
  }
});

test("the status line is read as /^(HTTP\\/\\d(?:\\.\\d)?) (\\d{3})(?: (.*))?$/ reads it, malformed ones refused", () => {
  const rule = /^(HTTP\/\d(?:\.\d)?) (\d{3})(?: (.*))?$/;
  const lines = [
    "HTTP/1.1 200 OK", "HTTP/1.0 404 Not Found", "HTTP/2 204", "HTTP/1.1 200 ", "HTTP/1.1 200", "HTTP/1.1 999 x y z",
    "HTTP/1.1 2000 OK", "HTTP/1.1 20 OK", "HTTP/1.1  200 OK", "HTTP/1.  200", "HTTP/1.x 200", "HTTP/12 200", "http/1.1 200 OK",
    "HTTP/1.1 200\tOK", "HTTP/1.1 200 O\rK", "HTTP/1.1 200 O\nK", "HTTP/1.1 2a0 OK", "HTTP/ 200", "HTTP/1.1", "HTTP/1.1 ", "",
    "HTTP/1.1 200 caf\u00e9\u0085", "xHTTP/1.1 200 OK", "HTTP/1.1 -20 OK",
  ];
  for (const line of lines) {
    const events = new ResponseParser("HEAD").push(Buffer.from(`${line}\r\nA: 1\r\n\r\n`, "latin1"));
    const m = rule.exec(line);
    const e = events[0];
    if (m === null) {
      assert.equal(e?.kind, "error", JSON.stringify(line));
      continue;
    }
    assert.equal(e?.kind, "head", JSON.stringify(line));
    if (e?.kind !== "head") continue;
    assert.deepEqual([e.head.statusLine, e.head.version, e.head.status, e.head.reason], [line, m[1], Number(m[2]), m[3] ?? ""], JSON.stringify(line));
  }
});

test("a head that arrives a byte at a time is found once it is complete, interim heads included", () => {
  const bytes = Buffer.from("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  const p = new ResponseParser("GET");
  const events: ResponseEvent[] = [];
  for (let i = 0; i < bytes.length; i++) events.push(...p.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(
    events.map((e) => (e.kind === "head" ? `head ${e.head.status}` : e.kind === "body" ? `body ${e.data.toString()}` : e.kind)),
    ["head 103", "head 200", "body o", "body k", "end"],
  );
});

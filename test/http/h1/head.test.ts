/** The pure response-head encoder: framing choice, owned fields, and what it refuses. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DateField, FieldLines, encodeHead, encodeInterim, type HeadInput } from "../../../src/http/h1/head.js";
import { WirekitError } from "../../../src/core/errors.js";

const base: HeadInput = { status: 200, reason: undefined, headers: [], method: "GET", version: "1.1", bodyLength: 3, keepAlive: true, date: "D" };

test("a known length gets Content-Length; unknown is chunked on 1.1, close-delimited on 1.0", () => {
  assert.equal(encodeHead(base).head, "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 3\r\n\r\n");
  const chunked = encodeHead({ ...base, bodyLength: undefined });
  assert.deepEqual(chunked.framing, { kind: "chunked" });
  assert.match(chunked.head, /Transfer-Encoding: chunked\r\n/);
  const old = encodeHead({ ...base, bodyLength: undefined, version: "1.0" });
  assert.deepEqual(old.framing, { kind: "close" });
  assert.equal(old.close, true);
  assert.match(old.head, /Connection: close\r\n/);
});

test("HTTP/1.0 keep-alive is answered with Connection: keep-alive", () => {
  assert.match(encodeHead({ ...base, version: "1.0" }).head, /Connection: keep-alive\r\n/);
});

test("the handler's Content-Length fixes the length; its Connection and Transfer-Encoding are the engine's", () => {
  const e = encodeHead({ ...base, headers: [["content-length", "10"], ["Transfer-Encoding", "gzip"], ["Connection", "keep-alive, close"]] });
  assert.deepEqual(e.framing, { kind: "length", length: 10 });
  assert.equal(e.close, true);
  assert.equal(e.head, "HTTP/1.1 200 OK\r\ncontent-length: 10\r\nDate: D\r\nConnection: close\r\n\r\n");
});

test("HEAD, 204 and 304 have no body framing; HEAD keeps the length the GET would have", () => {
  assert.deepEqual(encodeHead({ ...base, method: "HEAD" }).framing, { kind: "none" });
  assert.match(encodeHead({ ...base, method: "HEAD" }).head, /Content-Length: 3/);
  for (const status of [204, 304]) {
    const e = encodeHead({ ...base, status });
    assert.deepEqual(e.framing, { kind: "none" });
    assert.doesNotMatch(e.head, /Content-Length/);
  }
  assert.doesNotMatch(encodeHead({ ...base, status: 204, headers: [["Content-Length", "0"]] }).head, /Content-Length/);
  assert.match(encodeHead({ ...base, status: 304, headers: [["Content-Length", "9"]] }).head, /Content-Length: 9/);
});

test("fields that would split the response are refused (CR, LF, code points above U+00FF, bad names)", () => {
  for (const headers of [[["X", "a\r\nB: c"]], [["X", "\u010a"]], [["Bad Name", "v"]], [["Content-Length", "1, 2"]]] as Array<Array<[string, string]>>) {
    assert.throws(() => encodeHead({ ...base, headers }), (e: unknown) => e instanceof WirekitError && e.code === "ERR_PROTOCOL");
  }
  assert.throws(() => encodeHead({ ...base, status: 101 }));
  assert.throws(() => encodeHead({ ...base, reason: "OK\r\n" }));
});

test("interim heads: 100 and 103 with fields; 101 is not one", () => {
  assert.equal(encodeInterim(100), "HTTP/1.1 100 Continue\r\n\r\n");
  assert.equal(encodeInterim(103, [["Link", "<a>"]]), "HTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\n");
  assert.throws(() => encodeInterim(101));
});

test("DateField formats once per second", () => {
  const d = new DateField();
  const t = Date.UTC(2026, 0, 1);
  assert.equal(d.at(t), "Thu, 01 Jan 2026 00:00:00 GMT");
  assert.equal(d.at(t + 999), "Thu, 01 Jan 2026 00:00:00 GMT");
  assert.equal(d.at(t + 1000), "Thu, 01 Jan 2026 00:00:01 GMT");
});

test("a deeply frozen field list is checked and serialized once, with the same result as a fresh one", () => {
  const fields = Object.freeze([Object.freeze(["Content-Type", "text/plain"] as const), Object.freeze(["Content-Length", "2"] as const)]);
  const input = { status: 200, reason: undefined, method: "GET", version: "1.1" as const, bodyLength: 2, keepAlive: true, date: "Thu, 01 Jan 2026 00:00:00 GMT" };
  const fresh = encodeHead({ ...input, headers: fields.map(([k, v]) => [k, v] as const) });
  assert.deepEqual(encodeHead({ ...input, headers: fields }), fresh);
  assert.deepEqual(encodeHead({ ...input, headers: fields }), fresh, "the kept serialization");
  // 204 never announces a length: the kept answer depends on the status.
  assert.doesNotMatch(encodeHead({ ...input, status: 204, headers: fields }).head, /Content-Length/);
  assert.match(encodeHead({ ...input, headers: fields }).head, /Content-Length: 2/);
  const bad = Object.freeze([Object.freeze(["X-Evil", "a\r\nInjected: 1"] as const)]);
  assert.throws(() => encodeHead({ ...input, headers: bad }), /bad header field/);
  assert.throws(() => encodeHead({ ...input, headers: bad }), /bad header field/, "a bad list is refused every time");
});

test("a head written from FieldLines is the head written from its list, for each status and framing", () => {
  const headers: Array<[string, string]> = [["Content-Type", "text/plain"], ["Content-Length", "3"], ["Connection", "keep-alive, close"], ["Transfer-Encoding", "chunked"], ["Date", "X"], ["X-Obs", "caf\u00e9"]];
  for (const status of [200, 204, 304, 404]) {
    for (const method of ["GET", "HEAD"]) {
      const input: HeadInput = { ...base, status, method, headers };
      assert.deepEqual(encodeHead({ ...input, fieldLines: new FieldLines(headers, status) }), encodeHead(input), `${status} ${method}`);
    }
  }
});

test("FieldLines refuses what encodeHead refuses: CR, LF or NUL in a value, an obs-fold, a bad name, two lengths", () => {
  const bad: Array<Array<[string, string]>> = [
    [["X-A", "1\r\nSet-Cookie: x"]],
    [["X-A", "1\nX-B: 2"]],
    [["X-A", "a\0b"]],
    [["X-A", "a\rb"]],
    [["X-A", "1\r\n folded"]],
    [["Bad Name", "x"]],
    [["", "x"]],
    [["X-\u0100", "x"]],
    [["X-A", "\u0100"]],
    [["Content-Length", "1"], ["Content-Length", "2"]],
    [["Content-Length", "1x"]],
  ];
  for (const headers of bad) {
    assert.throws(() => new FieldLines(headers, 200), (e: unknown) => e instanceof WirekitError && e.code === "ERR_PROTOCOL", JSON.stringify(headers));
    assert.throws(() => encodeHead({ ...base, headers }), (e: unknown) => e instanceof WirekitError && e.code === "ERR_PROTOCOL", JSON.stringify(headers));
  }
});

test("FieldLines serve only their own list and status class: others are checked as any list is", () => {
  const good: Array<[string, string]> = [["X-A", "1"], ["Content-Length", "3"]];
  const lines = new FieldLines(good, 200);
  // Another list (here an unwritable one) is checked, not covered by lines made for `good`.
  assert.throws(() => encodeHead({ ...base, headers: [["X-A", "1\r\nX-B: 2"]], fieldLines: lines }), /bad header field/);
  // Made for a 200, they do not serve a 204 (which drops Content-Length).
  assert.doesNotMatch(encodeHead({ ...base, status: 204, headers: good, fieldLines: lines }).head, /Content-Length/);
  // What goes out is what was checked: changing the list afterwards changes nothing.
  (good[0] as [string, string])[1] = "1\r\nSet-Cookie: stolen=1";
  const e = encodeHead({ ...base, headers: good, fieldLines: lines });
  assert.equal(e.head, "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 3\r\nDate: D\r\n\r\n");
});

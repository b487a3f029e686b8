import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ChunkedDecoder, DEFAULT_LIMITS, type ChunkResult } from "../../../src/http/h1/parse.js";
import { createRandom } from "../../../src/core/random.js";

const B = (s: string): Buffer => Buffer.from(s, "latin1");

interface Decoded {
  body: string;
  consumed: number;
  done: boolean;
  trailers?: Array<[string, string]>;
  error?: string;
}

/** Decodes `input` fed `step` bytes at a time (0: whole). */
function decode(input: string, step = 0, limits = DEFAULT_LIMITS): Decoded {
  const d = new ChunkedDecoder(limits);
  const buf = B(input);
  const s = step > 0 ? step : Math.max(buf.length, 1);
  let body = "";
  let consumed = 0;
  for (let off = 0; off < buf.length; off += s) {
    const piece = buf.subarray(off, Math.min(off + s, buf.length));
    const r: ChunkResult = d.push(piece);
    if (r.kind === "error") return { body, consumed, done: false, error: r.reason };
    body += r.data.map((x) => x.toString("latin1")).join("");
    consumed += r.consumed;
    if (r.done) return { body, consumed, done: true, trailers: r.trailers };
    assert.equal(r.consumed, piece.length, "a decoder that is not done uses all it is given");
  }
  return { body, consumed, done: false };
}

const GOOD: ReadonlyArray<readonly [string, string, string, Array<[string, string]>?]> = [
  ["one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"],
  ["two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"],
  ["hex sizes in either case", "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", "01234567890123456789"],
  ["leading zeros up to 15 digits", "000000000000005\r\nhello\r\n000\r\n\r\n", "hello"],
  ["no data at all", "0\r\n\r\n", ""],
  ["extensions, token and quoted", '5;a;b=c;d="e f\\"g"\r\nhello\r\n0;last\r\n\r\n', "hello"],
  ["data holding CRLF and chunk-like bytes", "7\r\n\r\n0\r\n\r\n\r\n0\r\n\r\n", "\r\n0\r\n\r\n"],
  ["trailers, OWS trimmed", "5\r\nhello\r\n0\r\nT: v \r\nx-Sum:\t1\r\n\r\n", "hello", [["T", "v"], ["x-Sum", "1"]]],
];

const BAD: ReadonlyArray<readonly [string, string]> = [
  ["a negative size", "-1\r\nhello\r\n0\r\n\r\n"],
  ["a 0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"],
  ["a space before the size", " 5\r\nhello\r\n0\r\n\r\n"],
  ["a space after the size", "5 \r\nhello\r\n0\r\n\r\n"],
  ["a space before ';'", "5 ;a\r\nhello\r\n0\r\n\r\n"],
  ["a space after ';'", "5; a\r\nhello\r\n0\r\n\r\n"],
  ["spaces around '='", "5;a = b\r\nhello\r\n0\r\n\r\n"],
  ["junk after the size", "5x\r\nhello\r\n0\r\n\r\n"],
  ["an empty size line", "\r\n5\r\nhello\r\n0\r\n\r\n"],
  ["16 hex digits", "0000000000000005\r\nhello\r\n0\r\n\r\n"],
  ["a size above 2^53 - 1", "20000000000000\r\n"],
  ["';' with no name", "5;\r\nhello\r\n0\r\n\r\n"],
  ["'=' with no value", "5;a=\r\nhello\r\n0\r\n\r\n"],
  ["an unterminated quoted value", '5;a="b\r\nhello\r\n0\r\n\r\n'],
  ["junk after a quoted value", '5;a="b"c\r\nhello\r\n0\r\n\r\n'],
  ["a control byte in a quoted value", '5;a="\x01"\r\nhello\r\n0\r\n\r\n'],
  ["extensions over maxChunkExtBytes", `5;${"a".repeat(4100)}\r\nhello\r\n0\r\n\r\n`],
  ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n"],
  ["a bare CR after the size", "5\rhello\r\n0\r\n\r\n"],
  ["data longer than its size", "5\r\nhelloX\r\n0\r\n\r\n"],
  ["data followed by LF only", "5\r\nhello\n0\r\n\r\n"],
  ["data not followed by CRLF", "5\r\nhello0\r\n\r\n"],
  ["a bare LF ending the body", "5\r\nhello\r\n0\r\n\n"],
  ["a trailer with a space before the colon", "0\r\nT : v\r\n\r\n"],
  ["a folded trailer", "0\r\nT: v\r\n w\r\n\r\n"],
  ["a trailer ended by a bare LF", "0\r\nT: v\nU: w\r\n\r\n"],
  ["a trailer with a bare CR", "0\r\nT: v\rw\r\n\r\n"],
  ["a NUL in a trailer value", "0\r\nT: a\x00b\r\n\r\n"],
  ["a trailer line without a colon", "0\r\nT v\r\n\r\n"],
  ["Content-Length as a trailer", "0\r\nContent-Length: 5\r\n\r\n"],
  ["Transfer-Encoding as a trailer", "0\r\ntransfer-encoding: chunked\r\n\r\n"],
  ["Host as a trailer", "0\r\nHost: b\r\n\r\n"],
  ["a trailer section over maxTrailerBytes", `0\r\nT: ${"v".repeat(16400)}\r\n\r\n`],
  ["more than maxFields trailers", `0\r\n${"T: v\r\n".repeat(101)}\r\n`],
];

describe("ChunkedDecoder decodes", () => {
  for (const [what, input, body, trailers] of GOOD) {
    it(`${what}, whole and one byte at a time, leaving the next request alone`, () => {
      const next = "GET / HTTP/1.1\r\n\r\n";
      for (const step of [0, 1, 2, 7]) {
        const r = decode(input + next, step);
        assert.equal(r.error, undefined, `step ${step}`);
        assert.equal(r.done, true);
        assert.equal(r.body, body);
        assert.equal(r.consumed, input.length, `step ${step}`);
        assert.deepEqual(r.trailers, trailers ?? []);
      }
    });
  }

  it("a large chunk as views into the pushed buffers", () => {
    const d = new ChunkedDecoder();
    const data = Buffer.alloc(100000, 0x61);
    const r1 = d.push(Buffer.concat([B("186a0\r\n"), data.subarray(0, 50000)]));
    assert.equal(r1.kind === "data" && r1.data.reduce((n, b) => n + b.length, 0), 50000);
    const r2 = d.push(Buffer.concat([data.subarray(50000), B("\r\n0\r\n\r\n")]));
    assert.equal(r2.kind === "data" && r2.done, true);
  });

  it("waits for more at every cut, never done early", () => {
    const input = '5;a="b"\r\nhello\r\n0\r\nT: v\r\n\r\n';
    for (let n = 0; n < input.length; n++) {
      const r = decode(input.slice(0, n));
      assert.equal(r.error, undefined);
      assert.equal(r.done, false, `cut at ${n}`);
    }
  });

  it("stays done, taking nothing more", () => {
    const d = new ChunkedDecoder();
    d.push(B("0\r\n\r\n"));
    assert.deepEqual(d.push(B("GET")), { kind: "data", data: [], consumed: 0, done: true, trailers: [] });
  });
});

describe("ChunkedDecoder refuses", () => {
  for (const [what, input] of BAD) {
    it(`${what}, whole and one byte at a time`, () => {
      const whole = decode(input);
      assert.notEqual(whole.error, undefined, JSON.stringify(whole));
      assert.equal(decode(input, 1).error, whole.error);
    });
  }

  it("everything after an error", () => {
    const d = new ChunkedDecoder();
    const first = d.push(B("zz"));
    assert.equal(first.kind, "error");
    assert.deepEqual(d.push(B("0\r\n\r\n")), first);
  });

  it("with the limits passed by the caller", () => {
    const limits = { ...DEFAULT_LIMITS, maxChunkExtBytes: 4, maxTrailerBytes: 9 };
    assert.equal(decode("1;abc\r\na\r\n0\r\n\r\n", 0, limits).error, undefined);
    assert.notEqual(decode("1;abcd\r\na\r\n0\r\n\r\n", 0, limits).error, undefined);
    assert.equal(decode("0\r\nT: 1234\r\n\r\n", 0, limits).error, undefined);
    assert.notEqual(decode("0\r\nT: 12345\r\n\r\n", 0, limits).error, undefined);
  });

  it("without throwing, whatever the bytes", () => {
    const r = createRandom(11);
    for (let i = 0; i < 3000; i++) {
      const d = new ChunkedDecoder();
      d.push(r.bytes(r.int(64)));
      const m = B("5;a=b\r\nhello\r\n0\r\nT: v\r\n\r\n");
      m[r.int(m.length)] = r.int(256);
      new ChunkedDecoder().push(m);
    }
  });
});

/**
 * Inputs for the differential test: hand-written request-smuggling and framing shapes, and seeded
 * mutations of a few valid requests (the same seed gives the same inputs).
 */
import { createRandom, type Random } from "../../../src/core/random.js";

const H = "Host: a\r\n";
const post = (fields: string, body = ""): string => `POST / HTTP/1.1\r\nHost: a\r\n${fields}\r\n${body}`;
const chunked = (body: string): string => post("Transfer-Encoding: chunked\r\n", body);

/** Hand-written inputs: request smuggling and framing shapes (RFC 9112 §11.2 and friends). */
export const CORPUS: readonly string[] = [
  // valid baselines
  `GET / HTTP/1.1\r\n${H}\r\n`,
  `GET /a?b=c HTTP/1.0\r\n\r\n`,
  `\r\nGET / HTTP/1.1\r\n${H}\r\n`,
  `\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`,
  `\nGET / HTTP/1.1\r\n${H}\r\n`,
  `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
  `GET * HTTP/1.1\r\n${H}\r\n`,
  `CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n`,
  `CONNECT / HTTP/1.1\r\n${H}\r\n`,
  `CONNECT a HTTP/1.1\r\n${H}\r\n`,
  `GET http://a/x HTTP/1.1\r\n${H}\r\n`,
  `GET http://u@a/x HTTP/1.1\r\n${H}\r\n`,
  `GET a:80 HTTP/1.1\r\n${H}\r\n`,
  `GET /#frag HTTP/1.1\r\n${H}\r\n`,
  `GET http://a#x HTTP/1.1\r\n${H}\r\n`,
  `GET http://a?x HTTP/1.1\r\n${H}\r\n`,
  `GET http://a:8080 HTTP/1.1\r\n${H}\r\n`,
  `GET HTTP://A/ HTTP/1.1\r\n${H}\r\n`,
  `GET https://[::1]:443/ HTTP/1.1\r\n${H}\r\n`,
  `GET ftp://a/ HTTP/1.1\r\n${H}\r\n`,
  `GET //a/b HTTP/1.1\r\n${H}\r\n`,
  `GET /a/../b?x=%zz HTTP/1.1\r\n${H}\r\n`,
  `OPTIONS *x HTTP/1.1\r\n${H}\r\n`,
  `CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n`,
  `CONNECT a:99999 HTTP/1.1\r\n${H}\r\n`,
  `CONNECT a:443 HTTP/1.0\r\n\r\n`,
  `MKACTIVITYX / HTTP/1.1\r\n${H}\r\n`,
  `get / HTTP/1.1\r\n${H}\r\n`,
  `FOO / HTTP/1.1\r\n${H}\r\n`,
  `M-SEARCH * HTTP/1.1\r\n${H}\r\n`,
  `PURGE /x HTTP/1.1\r\n${H}\r\n`,
  // request line
  `GET  / HTTP/1.1\r\n${H}\r\n`,
  `GET /  HTTP/1.1\r\n${H}\r\n`,
  `GET / HTTP/1.1 \r\n${H}\r\n`,
  `GET\t/ HTTP/1.1\r\n${H}\r\n`,
  `GET / http/1.1\r\n${H}\r\n`,
  `GET / HTTP/2.0\r\n${H}\r\n`,
  `GET / HTTP/1.2\r\n${H}\r\n`,
  `GET / HTTP/0.9\r\n${H}\r\n`,
  `GET / HTTP/1.10\r\n${H}\r\n`,
  `GET / HTTP/11\r\n${H}\r\n`,
  `GET /\r\n\r\n`,
  `GET / HTTP/1.1\n${H}\r\n`,
  `GET / HTTP/1.1\r${H}\r\n`,
  `GET /a\x00b HTTP/1.1\r\n${H}\r\n`,
  `GET /a\x7fb HTTP/1.1\r\n${H}\r\n`,
  `GET /\xe9 HTTP/1.1\r\n${H}\r\n`,
  `GET /a"<>\\^\`{|} HTTP/1.1\r\n${H}\r\n`,
  `GET / HTTP/1.1\r\n`,
  `GET / HTT`,
  // Host
  `GET / HTTP/1.1\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost:\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: a b\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: a/b\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: u@a\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n`,
  `GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n`,
  `GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n`,
  // field syntax
  `GET / HTTP/1.1\r\n${H}X : y\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X\t: y\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}: y\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X y\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X: a\r\n\tb\r\n\r\n`,
  `GET / HTTP/1.1\r\n ${H}\r\n`,
  `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X: a\nb\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X: a\x01b\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X: a\x7fb\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X: caf\xe9\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X: \t a \t\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X:\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X\xe9: y\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}X\x00: y\r\n\r\n`,
  `GET / HTTP/1.1\nHost: a\n\n`,
  `GET / HTTP/1.1\r\n${H}\n`,
  `GET / HTTP/1.1\r\n${H}\r\r\n`,
  `GET / HTTP/1.1\r\n${"X-F: v\r\n".repeat(101)}${H}\r\n`,
  `GET / HTTP/1.1\r\n${"X-F: v\r\n".repeat(99)}${H}\r\n`,
  `GET / HTTP/1.1\r\n${H}X: ${"v".repeat(17000)}\r\n\r\n`,
  `GET /${"a".repeat(8200)} HTTP/1.1\r\n${H}\r\n`,
  // Content-Length
  post("Content-Length: 5\r\n", "hello"),
  post("Content-Length: 0\r\n"),
  post("Content-Length: 005\r\n", "hello"),
  post("Content-Length: +5\r\n", "hello"),
  post("Content-Length: -5\r\n", "hello"),
  post("Content-Length: 0x5\r\n", "hello"),
  post("Content-Length:  5 \r\n", "hello"),
  post("Content-Length: 5 5\r\n", "hello"),
  post("Content-Length: 5, 5\r\n", "hello"),
  post("Content-Length: 5,5\r\n", "hello"),
  post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
  post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
  post("Content-Length:\r\n", "hello"),
  post("Content-Length: 99999999999999999999\r\n", "hello"),
  post("Content-Length: 9007199254740993\r\n", "hello"),
  post("Content-Length: 5\r\n", "hel"),
  post("Content-Length: 5\r\n", "helloGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
  post("Content-Length: 1\r\n"),
  post("Content-Length: 5\t\r\n", "hello"),
  post("Content-Length:\t5\r\n", "hello"),
  post("Transfer-Encoding: chunked\t\r\n", "0\r\n\r\n"),
  post("Transfer-Encoding:\tchunked\r\n", "0\r\n\r\n"),
  post("Content-Length: \x0b5\r\n", "hello"),
  post("Content-Length: 5\x00\r\n", "hello"),
  post("Content-Length: 1e1\r\n", "hello"),
  post("Content-Length: 5.0\r\n", "hello"),
  post("Content-Length: ٥\r\n", "hello"),
  post("Content-Length : 5\r\n", "hello"),
  post("Content-Length: 3\r\n", "helloGET / HTTP/1.1\r\n\r\n"),
  `GET / HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nab`,
  // Transfer-Encoding
  chunked("5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: Chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: CHUNKED\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding:  chunked \r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding : chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: chunked, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: gzip, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: chunked, gzip\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: gzip\r\n", "hello"),
  post("Transfer-Encoding: xchunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: chunkedx\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: chunked;a=b\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: ,chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: chunked,\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: identity\r\n", "hello"),
  post("Transfer-Encoding:\r\n", "hello"),
  post("Transfer-Encoding: \x0bchunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello",
  // chunk syntax
  chunked("-1\r\nhello\r\n0\r\n\r\n"),
  chunked("0x5\r\nhello\r\n0\r\n\r\n"),
  chunked("5 \r\nhello\r\n0\r\n\r\n"),
  chunked(" 5\r\nhello\r\n0\r\n\r\n"),
  chunked("5 ;ext\r\nhello\r\n0\r\n\r\n"),
  chunked("5; ext\r\nhello\r\n0\r\n\r\n"),
  chunked("5;ext\r\nhello\r\n0\r\n\r\n"),
  chunked("5;a=b;c=\"d e\"\r\nhello\r\n0\r\n\r\n"),
  chunked("5;a=\"b\\\"c\"\r\nhello\r\n0\r\n\r\n"),
  chunked("5;a=\r\nhello\r\n0\r\n\r\n"),
  chunked("5;\r\nhello\r\n0\r\n\r\n"),
  chunked("5;a=b c\r\nhello\r\n0\r\n\r\n"),
  chunked(`5;${"a".repeat(5000)}\r\nhello\r\n0\r\n\r\n`),
  chunked("5\nhello\r\n0\r\n\r\n"),
  chunked("5\rhello\r\n0\r\n\r\n"),
  chunked("5\r\nhello\n0\r\n\r\n"),
  chunked("5\r\nhelloX\r\n0\r\n\r\n"),
  chunked("5\r\nhello0\r\n\r\n"),
  chunked("A\r\nhelloworld\r\n0\r\n\r\n"),
  chunked("a\r\nhelloworld\r\n0\r\n\r\n"),
  chunked("10\r\nhelloworldhellow\r\n0\r\n\r\n"),
  chunked("00005\r\nhello\r\n0\r\n\r\n"),
  chunked("0000000000000005\r\nhello\r\n0\r\n\r\n"),
  chunked("ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
  chunked("fffffffffffffff\r\nhello\r\n"),
  chunked("5x\r\nhello\r\n0\r\n\r\n"),
  chunked("\r\n5\r\nhello\r\n0\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\n"),
  chunked("5\r\nhello\r\n0\r\n\r"),
  chunked("5\r\nhello\r\n0\r\n\n"),
  chunked("5\r\nhello\r\n0\r\nT: v\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nT: v\r\nU: w\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nT : v\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nT: v\r\n w\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nT: v\nU: w\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nT: a\x00b\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nT v\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nHost: b\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nT: caf\xe9\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\n: v\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\nT:v\r\n\r\n"),
  chunked("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"),
  chunked("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n"),
  chunked("5;a=b=c\r\nhello\r\n0\r\n\r\n"),
  chunked("5;a\x7f\r\nhello\r\n0\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\n\r\nXYZ"),
  chunked("5\r\nhello\r\n0;x=y\r\n\r\n"),
  chunked("5\r\nhello\r\n000\r\n\r\n"),
  chunked("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
  chunked("5\r\nhel"),
  chunked("5\r\nhello"),
  // Connection, Expect
  `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}Connection: keep-alive, close\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}Expect: 100-continue\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}Expect: 100-Continue\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}Expect: fancy\r\n\r\n`,
  `GET / HTTP/1.0\r\nExpect: fancy\r\n\r\n`,
];

export const BASES: readonly string[] = [
  "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\nAccept: */*\r\n\r\n",
  "POST /submit HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world",
  "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n",
  "GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
  "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
  "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
  // Two requests on one connection: a mutation that moves the first body's end shows in the second.
  "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
  "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxy",
];

const BYTES = [0x0d, 0x0a, 0x20, 0x09, 0x00, 0x0b, 0x0c, 0x7f, 0x80, 0xff, ...Buffer.from(":,;\"\\09aF-+/@=x#?*[].")];
const SNIPPETS = ["\r\n", " ", "\t", "chunked", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n", "Host: b\r\n", "0\r\n\r\n", ", ", "HTTP/1.1"];

/** One seeded mutation: insert, delete or replace a byte, insert a snippet, duplicate a line, flip a letter's case. */
function mutate(input: Buffer, r: Random): Buffer {
  const at = r.int(input.length + 1);
  const b = Buffer.from([BYTES[r.int(BYTES.length)] as number]);
  switch (r.int(6)) {
    case 0:
      return Buffer.concat([input.subarray(0, at), b, input.subarray(at)]);
    case 1:
      return Buffer.concat([input.subarray(0, at), input.subarray(at + 1)]);
    case 2:
      return Buffer.concat([input.subarray(0, at), b, input.subarray(at + 1)]);
    case 3:
      return Buffer.concat([input.subarray(0, at), Buffer.from(SNIPPETS[r.int(SNIPPETS.length)] as string, "latin1"), input.subarray(at)]);
    case 4: {
      const start = input.lastIndexOf("\n", at - 1) + 1;
      const end = input.indexOf("\n", at);
      if (end < 0) return input;
      return Buffer.concat([input.subarray(0, end + 1), input.subarray(start, end + 1), input.subarray(end + 1)]);
    }
    default: {
      const out = Buffer.from(input);
      const c = out[at];
      if (c !== undefined && ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a)) out[at] = c ^ 0x20;
      return out;
    }
  }
}

export function mutants(seed: number, count: number): Buffer[] {
  const r = createRandom(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    let m: Buffer = Buffer.from(BASES[i % BASES.length] as string, "latin1");
    const ops = 1 + r.int(3);
    for (let k = 0; k < ops; k++) m = mutate(m, r);
    out.push(m);
  }
  return out;
}


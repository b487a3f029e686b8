/** Pure pieces behind curl's options in `wirekit http get`: multipart bytes, -d planning, redaction, -O names, --json DATA. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { createRandom } from "../../src/core/random.js";
import { bodyChunks, bodyLength } from "../../src/http/client/body.js";
import { encodeMultipart, makeBoundary, parseFormArg } from "../../src/http/client/multipart.js";
import { httpGet } from "../../src/http/client/client.js";
import { planRequest, remoteFileName, rewriteJsonData } from "../../src/cli/http-get-request.js";
import { redactHeaderLine } from "../../src/render/http-get.js";

async function bytes(segments: Parameters<typeof bodyChunks>[0]): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of bodyChunks(segments)) parts.push(c);
  return Buffer.concat(parts).toString("latin1");
}

test("encodeMultipart writes RFC 7578 parts with the given boundary (golden bytes) and quotes names so they cannot add a header line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wirekit-mp-"));
  try {
    writeFileSync(join(dir, "a.txt"), "hi\n");
    const body = encodeMultipart([{ kind: "value", name: "x", value: "1" }, { kind: "file", name: 'f"\r\nX-Evil: 1', path: join(dir, "a.txt") }], "B");
    assert.equal(body.contentType, "multipart/form-data; boundary=B");
    const text = await bytes(body.segments);
    assert.equal(
      text,
      '--B\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n' +
        '--B\r\nContent-Disposition: form-data; name="f%22%0D%0AX-Evil: 1"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhi\n\r\n--B--\r\n',
    );
    assert.equal(await bodyLength(body.segments), Buffer.byteLength(text, "latin1"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("makeBoundary is the same for the same seed and parseFormArg reads name=value, name=@file;type=T", () => {
  assert.equal(makeBoundary(createRandom(1)), makeBoundary(createRandom(1)));
  assert.notEqual(makeBoundary(createRandom(1)), makeBoundary(createRandom(2)));
  assert.deepEqual(parseFormArg("a=b=c"), { kind: "value", name: "a", value: "b=c" });
  assert.deepEqual(parseFormArg("f=@x.bin;type=image/png;filename=y.png"), { kind: "file", name: "f", path: "x.bin", contentType: "image/png", filename: "y.png" });
  assert.equal(parseFormArg("novalue"), undefined);
});

test("planRequest: -d implies POST and joins with '&', -X wins, --json adds Accept, -u adds Basic unless -H gave Authorization", async () => {
  const r = createRandom(3);
  const d = planRequest({ data: ["a=1", "b=2"] }, r);
  assert.equal(d.method, "POST");
  assert.equal(await bytes(d.body?.segments ?? []), "a=1&b=2");
  assert.equal(planRequest({ request: "PATCH", data: ["x"] }, r).method, "PATCH");
  assert.deepEqual(planRequest({ "json-data": ["{}"] }, r).headers, [["Accept", "application/json"]]);
  assert.deepEqual(planRequest({ user: "u:p" }, r).headers, [["Authorization", "Basic dTpw"]]);
  assert.deepEqual(planRequest({ user: "u:p", header: ["Authorization: Bearer t"] }, r).headers, [["Authorization", "Bearer t"]]);
  assert.throws(() => planRequest({ data: ["a"], form: ["b=c"] }, r), { code: "ERR_USAGE" });
});

test("redactHeaderLine hides credentials of Authorization and Proxy-Authorization, keeping the scheme", () => {
  assert.equal(redactHeaderLine("Authorization: Basic dTpw"), "Authorization: Basic <redacted>");
  assert.equal(redactHeaderLine("proxy-authorization: Bearer abc def"), "proxy-authorization: Bearer <redacted>");
  assert.equal(redactHeaderLine("Authorization: sekrit"), "Authorization: <redacted>");
  assert.equal(redactHeaderLine("Accept: */*"), "Accept: */*");
});

test("remoteFileName takes the last path segment and refuses empty, '.', '..' and control characters", () => {
  assert.equal(remoteFileName(new URL("http://h/a/b/file%20x.tar.gz?q=1")), "file%20x.tar.gz");
  for (const u of ["http://h/", "http://h/dir/", "http://h/a/%2e%2e"]) assert.throws(() => remoteFileName(new URL(u)), { code: "ERR_USAGE" }, u);
  // URL normalizes dot segments away; the guard still holds for a path that kept them.
  for (const p of ["/x/..", "/x/.", "/x/a\\b", "/x/a\u0001"]) assert.throws(() => remoteFileName({ pathname: p, href: `http://h${p}` } as URL), { code: "ERR_USAGE" }, p);
});

test("rewriteJsonData: --json=DATA and --json {…}/[…]/@FILE are data; --json before a URL or [::1] is the output flag", () => {
  assert.deepEqual(rewriteJsonData(["--json={}"]), ["--json-data", "{}"]);
  assert.deepEqual(rewriteJsonData(["--json", '{"a":1}', "u"]), ["--json-data", '{"a":1}', "u"]);
  assert.deepEqual(rewriteJsonData(["--json", "@x.json"]), ["--json-data", "@x.json"]);
  assert.deepEqual(rewriteJsonData(["--json", "http://h/"]), ["--json", "http://h/"]);
  assert.deepEqual(rewriteJsonData(["--json", "[::1]:8080/"]), ["--json", "[::1]:8080/"]);
});

test("a server that answers before reading the upload and closes: the answer is kept (no EPIPE error)", async () => {
  const srv = createServer((sock) => {
    sock.once("data", () => {
      sock.end("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  try {
    for (const size of [10, 4 * 1024 * 1024]) {
      const ex = await httpGet({ url: new URL(`http://127.0.0.1:${port}/`), method: "POST", body: { segments: [{ kind: "bytes", data: Buffer.alloc(size, 0x61) }] } }).catch((e: unknown) => e);
      if (size === 10) assert.equal((ex as { head: { status: number } }).head.status, 413);
      // A big upload may lose the answer to a reset; then it is one WirekitError, never a crash.
      else assert.ok("head" in (ex as object) || "code" in (ex as object));
    }
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

test("a body file that is missing or a directory is one local error (exit 2) before anything is sent", async () => {
  const { runCliCapture } = await import("../helpers/cli.js");
  for (const arg of [["-d", "@/nonexistent-wirekit"], ["--data-binary", "@/nonexistent-wirekit"], ["-d", `@${tmpdir()}`], ["-F", `f=@${tmpdir()}`]]) {
    const r = await runCliCapture(["http", "get", "http://127.0.0.1:1/", ...arg]);
    assert.equal(r.code, 2, arg.join(" "));
    assert.match(r.stderr, /^wirekit: [^\n]*'[^\n]*\n$/);
  }
});

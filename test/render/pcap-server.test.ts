/**
 * `--pcap` on the TCP servers (`http serve`, `proxy`, forward and --reverse): each is run as a
 * real process on loopback, asked over plain sockets, stopped with SIGINT (Ctrl-C), and its file
 * read by tshark (the oracle): one TCP stream per connection (the proxy's to its origin too),
 * valid checksums, the HTTP streams reassembled, the decisions as packet comments, the file
 * bounded by --pcap-max-bytes.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliCapture, spawnCli, type Spawned } from "../helpers/cli.js";
import { noTshark, rawStream, readCapture } from "../helpers/tshark.js";

/** One packet: its stream, flags, payload length, checksum verdicts, TCP analysis flags, comment. */
interface Row {
  stream: number;
  flags: string;
  len: number;
  tcpCheck: string;
  ipCheck: string;
  analysis: string;
  comment: string;
}

/** One tshark run over `file`: every packet's fields and the reassembly of each stream in `streams`. */
async function read(file: string, streams: readonly number[] = []): Promise<{ rows: Row[]; follow: (n: number) => string }> {
  const cap = await readCapture(file, {
    prefs: ["tcp.check_checksum:TRUE", "ip.check_checksum:TRUE"],
    fields: ["tcp.stream", "tcp.flags.str", "tcp.len", "tcp.checksum.status", "ip.checksum.status", "tcp.analysis.flags", "frame.comment"],
    follow: streams.map((n) => `tcp,raw,${n}`),
  });
  const rows = cap.fields
    .trim()
    .split("\n")
    .map((l) => {
      const [stream = "", flags = "", len = "", tcpCheck = "", ipCheck = "", analysis = "", comment = ""] = l.split("|");
      return { stream: Number(stream), flags, len: Number(len), tcpCheck, ipCheck, analysis, comment };
    });
  return { rows, follow: (n) => rawStream(cap.follow(`tcp,raw,${n}`)) };
}

/** Send `raw` on a new connection and read until the server closes (or `waitMs` passes). */
function ask(port: number, raw: string, waitMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(), waitMs);
    s.on("connect", () => s.write(raw));
    s.on("data", (d) => chunks.push(d));
    s.on("error", reject);
    s.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
  });
}

async function portOf(p: Spawned): Promise<number> {
  return Number(/listening on \S+:(\d+)/.exec(await p.waitFor(/listening on \S+:\d+/))?.[1]);
}

let dir = "";
let root = "";
const BODY = "hello\n".repeat(20_000);
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "wirekit-pcap-server-"));
  root = join(dir, "site");
  await mkdir(root);
  await writeFile(join(root, "a.txt"), BODY);
  await writeFile(join(root, "small.txt"), "small\n");
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("--pcap on the TCP servers, read by tshark", { ...noTshark, concurrency: true }, () => {
  it("http serve: one stream per connection, checksums valid, the 120 kB response reassembles, 304/206/416/404/408 as comments, valid after Ctrl-C", async () => {
    const file = join(dir, "serve.pcapng");
    const web = spawnCli(["http", "serve", root, "-p", "0", "--quiet", "--header-timeout", "1s", "--pcap", file]);
    const port = await portOf(web);
    const get = (path: string, extra = ""): Promise<string> => ask(port, `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}Connection: close\r\n\r\n`);
    const full = await get("/a.txt");
    assert.ok(full.endsWith(BODY));
    const etag = /ETag: (\S+)/i.exec(full)?.[1] ?? "";
    assert.match(await get("/a.txt", `If-None-Match: ${etag}\r\n`), /^HTTP\/1\.1 304 /);
    assert.match(await get("/a.txt", "Range: bytes=0-9\r\n"), /^HTTP\/1\.1 206 /);
    assert.match(await get("/a.txt", "Range: bytes=999999-\r\n"), /^HTTP\/1\.1 416 /);
    assert.match(await get("/nope"), /^HTTP\/1\.1 404 /);
    // A head that never completes: the engine answers 408 after --header-timeout.
    assert.match(await ask(port, "GET / HTTP/1.1\r\nHost: t\r\n"), /^HTTP\/1\.1 408 /);
    web.kill("SIGINT");
    const r = await web.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^pcap written to \S+serve\.pcapng \(\d+ packets\)\n$/);

    const { rows, follow } = await read(file, [0]);
    assert.ok(rows.every((p) => p.tcpCheck === "1" && p.ipCheck === "1"), "every TCP and IP checksum is good");
    assert.ok(rows.every((p) => p.analysis === ""), `no TCP analysis warnings (sequence numbers add up):\n${rows.filter((p) => p.analysis !== "").map((p) => p.analysis).join("\n")}`);
    const streams = new Set(rows.map((p) => p.stream));
    assert.equal(streams.size, 6, "one stream per connection");
    assert.equal(rows.filter((p) => p.flags === "··········S·").length, 6, "one SYN each");
    assert.equal(rows.filter((p) => p.flags.includes("F")).length, 12, "a FIN each way");
    // 120 kB in 32 KiB segments: 4 data segments plus the head, request, handshake and close.
    assert.ok(rows.filter((p) => p.stream === 0 && p.len > 0).length >= 5);
    const comments = rows.map((p) => p.comment).filter((c) => c !== "");
    assert.deepEqual(comments, [
      "304 not modified (If-None-Match matched the ETag)",
      "206 partial content, bytes 0-9/120000 (Range: bytes=0-9)",
      "416 range not satisfiable (Range: bytes=999999-, the file is 120000 bytes)",
      "404 not found",
      "408 request head timeout: answered by the server itself, then closed",
    ]);
    const first = follow(0);
    assert.match(first, /^GET \/a\.txt HTTP\/1\.1\r\nHost: t\r\n/);
    assert.ok(first.endsWith(BODY), "the whole body reassembles after the request");
  });

  it("http serve: --pcap-max-bytes stops the capture at the bound with a comment, and the server goes on", async () => {
    const file = join(dir, "bounded.pcapng");
    const web = spawnCli(["http", "serve", root, "-p", "0", "--quiet", "--pcap", file, "--pcap-max-bytes", "40k"]);
    const port = await portOf(web);
    const get = (path: string): Promise<string> => ask(port, `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
    assert.ok((await get("/a.txt")).endsWith(BODY));
    assert.match(await get("/small.txt"), /\r\n\r\nsmall\n$/);
    web.kill("SIGINT");
    const r = await web.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /, stopped at --pcap-max-bytes\)\n$/);
    assert.ok(statSync(file).size <= 40 * 1024, `the file stays under its bound (${statSync(file).size} bytes)`);
    const { rows } = await read(file);
    assert.match(rows.at(-1)?.comment ?? "", /^capture stopped: the file reached its bound of 40960 bytes/);
    assert.equal(new Set(rows.map((p) => p.stream)).size, 1, "the second connection is not captured");
  });

  it("http serve: --pcap with --workers 2 or --tls is refused in one line", async () => {
    const w = await runCliCapture(["http", "serve", root, "-p", "0", "--workers", "2", "--pcap", join(dir, "w.pcapng")]);
    assert.equal(w.code, 2);
    assert.equal(w.stderr, "wirekit: --pcap captures one process: use it with --workers 1\n");
    const t = await runCliCapture(["http", "serve", root, "-p", "0", "--tls-cert", "/dev/null", "--tls-key", "/dev/null", "--pcap", join(dir, "t.pcapng")]);
    assert.equal(t.code, 2);
    assert.equal(t.stderr, "wirekit: --pcap: with --tls every exchange is encrypted on the wire; capture a plain http server\n");
  });

  it("proxy (forward and --reverse): the clients' streams and the origin's reassemble, the cache decisions are comments, a tunnel stays captured", async () => {
    const origin = spawnCli(["http", "serve", root, "-p", "0", "--quiet", "--cache-control", "max-age=3600"]);
    const files = { forward: join(dir, "proxy.pcapng"), reverse: join(dir, "gateway.pcapng") };
    try {
      const op = await portOf(origin);
      for (const mode of ["forward", "reverse"] as const) {
        const file = files[mode];
        const proxy = spawnCli(["proxy", "-p", "0", "--store", "memory", "--quiet", "--connect-ports", String(op), "--pcap", file, ...(mode === "reverse" ? ["--reverse", `http://127.0.0.1:${op}`] : [])]);
        const pp = await portOf(proxy);
        const target = mode === "forward" ? `http://127.0.0.1:${op}/a.txt` : "/a.txt";
        const req = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${op}\r\nConnection: close\r\n\r\n`;
        const miss = await ask(pp, req);
        assert.match(miss, /Cache-Status: wirekit; fwd=uri-miss; fwd-status=200; stored/);
        assert.ok(miss.endsWith(BODY));
        assert.match(await ask(pp, req), /Cache-Status: wirekit; hit; ttl=/);
        if (mode === "forward") {
          assert.match(await ask(pp, "GET http://127.0.0.1:1/x HTTP/1.1\r\nHost: 127.0.0.1:1\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 502 /);
          // A CONNECT tunnel, the request inside it sent right behind the CONNECT.
          const tunnelled = await ask(pp, `CONNECT 127.0.0.1:${op} HTTP/1.1\r\nHost: 127.0.0.1:${op}\r\n\r\nGET /small.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
          assert.match(tunnelled, /^HTTP\/1\.1 200 [^]*\r\n\r\nsmall\n$/);
          // The tunnel's own refusal (written by end(data), after the engine let the socket go).
          assert.match(await ask(pp, "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n"), /^HTTP\/1\.1 403 /);
        }
        proxy.kill("SIGINT");
        const r = await proxy.done;
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /pcap written to /);
        const { rows, follow } = await read(file, mode === "forward" ? [1, 2, 4, 5] : [1, 2]);
        assert.ok(rows.every((p) => p.tcpCheck === "1" && p.ipCheck === "1" && p.analysis === ""), `${mode}: checksums good, no TCP analysis warnings`);
        // Clients: miss, hit (and 502, a tunnel, a refused tunnel); the origin: one keep-alive connection, opened by the miss (stream 1).
        assert.equal(new Set(rows.map((p) => p.stream)).size, mode === "forward" ? 6 : 3, `${mode}: one stream per connection`);
        assert.equal(rows.filter((p) => p.flags.includes("F")).length, mode === "forward" ? 12 : 6, `${mode}: every close is shown, the idle origin connection's too`);
        const comments = rows.map((p) => p.comment).filter((c) => c !== "");
        assert.equal(comments[0], "MISS (fwd=uri-miss), stored");
        assert.match(comments[1] ?? "", /^HIT ttl=\d+$/);
        if (mode === "forward") {
          assert.equal(comments[2], "MISS (fwd=uri-miss); 502 bad gateway");
          assert.equal(comments[3], `CONNECT 127.0.0.1:${op}: tunnel open, what follows is tunnelled`);
          assert.equal(comments[4], "CONNECT 127.0.0.1:1: refused, 403 Forbidden");
          assert.equal(comments.length, 5);
        } else assert.equal(comments.length, 2);
        const toOrigin = follow(1);
        assert.match(toOrigin, /^GET \/a\.txt HTTP\/1\.1\r\n[^]*Via: 1\.1 127\.0\.0\.1:\d+ \(wirekit\)\r\n/, `${mode}: the proxy's request to the origin`);
        assert.ok(toOrigin.endsWith(BODY), `${mode}: the origin's body reassembles`);
        const hit = follow(2);
        assert.ok(hit.startsWith(req), `${mode}: the request reassembles`);
        assert.ok(hit.endsWith(BODY), `${mode}: the cached body reassembles`);
        if (mode === "forward") assert.match(follow(5), /^CONNECT 127\.0\.0\.1:1 HTTP\/1\.1\r\n[^]*HTTP\/1\.1 403 Forbidden\r\n[^]*--connect-ports\)\n$/);
        if (mode === "forward") assert.match(follow(4), /^CONNECT [^]*\r\n\r\nGET \/small\.txt HTTP\/1\.1\r\n[^]*HTTP\/1\.1 200 Connection Established\r\n[^]*\r\n\r\nsmall\n$/);
      }
    } finally {
      origin.kill("SIGTERM");
      await origin.done;
    }
  });
});

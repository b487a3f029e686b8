/**
 * The proxy on wirekit's HTTP/1.1 engine and its client codec, on raw sockets: pipelined
 * requests answered in order, a client that leaves before the answer (499, origin request
 * cancelled), origin connections the origin closes while pooled, an origin head that cannot
 * be relayed, and the pool's connections carrying exchange after exchange.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { OriginPool } from "../../../src/http/proxy/origin-pool.js";
import { fetchOrigin, takeWhole } from "../../../src/http/proxy/forward.js";
import type { OriginTarget } from "../../../src/http/proxy/target.js";
import type { AccessRecord } from "../../../src/http/proxy/stats.js";
import { rawTcpOrigin, startOrigin, streaming, viaProxy, waitUntil, type RawOrigin, type TestOrigin } from "./fixtures.js";

/**
 * Write `text` on one connection and collect everything until the proxy closes it or `ms` pass
 * (then close: FIN, which the engine takes as a half-close, or with `reset` an RST: gone).
 */
function raw(port: number, text: string, ms = 2000, reset = false): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1", () => s.write(text));
    let out = "";
    const timer = setTimeout(() => (reset ? s.resetAndDestroy() : s.destroy()), ms);
    s.setEncoding("latin1").on("data", (d: string) => (out += d));
    s.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on("error", () => undefined);
  });
}

/** A TCP origin that writes `reply` to every request head it gets, then does `after`. */
function rawOrigin(reply: string, after: "close" | "keep"): Promise<RawOrigin> {
  return rawTcpOrigin((s) => {
    s.write(reply);
    if (after === "close") s.end();
  });
}

describe("proxy on the h1 engine", () => {
  let origin: TestOrigin;
  let proxy: ProxyServer;
  const records: AccessRecord[] = [];

  before(async () => {
    origin = await startOrigin();
    proxy = await createProxyServer({ port: 0, cache: false });
    proxy.on("event", (e) => {
      // The proxy's one kind: each request answered, with its access record.
      assert.equal(e.kind, "request");
      records.push(e.record);
    });
  });
  after(async () => {
    await proxy.close();
    await origin.close();
  });

  it("answers pipelined requests on one connection in order", async () => {
    origin.route("/a", (_req, res) => setTimeout(() => res.end("first"), 30));
    origin.route("/b", (_req, res) => res.end("second"));
    const out = await raw(proxy.port, `GET ${origin.base}/a HTTP/1.1\r\nHost: x\r\n\r\nGET ${origin.base}/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const first = out.indexOf("first");
    const second = out.indexOf("second");
    assert.ok(first > 0 && second > first, out);
    assert.equal(out.match(/HTTP\/1\.1 200 OK\r\n/g)?.length, 2);
  });

  it("logs a client that resets its connection before the answer as 499 ABORTED and cancels its origin request", async () => {
    let originClosed = false;
    origin.route(
      "/never",
      streaming((_req, res) => {
        res.on("close", () => (originClosed = true));
      }),
    );
    await raw(proxy.port, `GET ${origin.base}/never HTTP/1.1\r\nHost: x\r\n\r\n`, 200, true);
    await waitUntil(() => originClosed, 5000, "the origin request to be cancelled");
    await waitUntil(() => records.some((r) => r.url === `${origin.base}/never`), 5000, "the access record");
    const r = records.find((x) => x.url === `${origin.base}/never`);
    assert.equal(r?.status, 499);
    assert.equal(r?.cacheStatus, "ABORTED");
  });

  it("opens a new origin connection when the origin closed the pooled one", async () => {
    const o = await rawOrigin("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "close");
    try {
      for (let i = 0; i < 3; i++) assert.equal((await viaProxy(proxy.port, `http://127.0.0.1:${o.port}/x`)).body.toString(), "ok");
      assert.equal(o.connections(), 3);
    } finally {
      await o.close();
    }
  });

  it("keeps an origin connection that allows it, for the next request", async () => {
    const o = await rawOrigin("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nkept", "keep");
    try {
      for (let i = 0; i < 3; i++) assert.equal((await viaProxy(proxy.port, `http://127.0.0.1:${o.port}/k`)).body.toString(), "kept");
      assert.equal(o.connections(), 1);
    } finally {
      await o.close();
    }
  });

  it("never reuses an origin connection that sent bytes after its response (a response splitting attempt)", async () => {
    const o = await rawOrigin("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nonelHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged", "keep");
    try {
      assert.equal((await viaProxy(proxy.port, `http://127.0.0.1:${o.port}/s1`)).body.toString(), "one");
      assert.equal((await viaProxy(proxy.port, `http://127.0.0.1:${o.port}/s2`)).body.toString(), "one");
      assert.equal(o.connections(), 2);
    } finally {
      await o.close();
    }
  });

  it("relays a chunked origin body without the Content-Length sent beside Transfer-Encoding (RFC 9112 §6.3)", async () => {
    const o = await rawOrigin("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "close");
    try {
      const r = await viaProxy(proxy.port, `http://127.0.0.1:${o.port}/te-cl`);
      assert.equal(r.body.toString(), "hello");
      assert.equal(r.headers["content-length"], undefined);
    } finally {
      await o.close();
    }
  });

  it("answers 502 to an origin head with a field it cannot relay, two lengths, or a malformed status line", async () => {
    for (const reply of [
      "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
      "HTTP/1.1 2000 Nope\r\n\r\n",
    ]) {
      const o = await rawOrigin(reply, "close");
      try {
        const r = await viaProxy(proxy.port, `http://127.0.0.1:${o.port}/bad`);
        assert.equal(r.status, 502, reply);
        assert.match(String(r.headers["proxy-status"]), /wirekit; error=/);
      } finally {
        await o.close();
      }
    }
  });
});

describe("origin connection pool", { timeout: 10_000 }, () => {
  it("carries exchange after exchange on one kept-alive connection without adding or removing listeners", async () => {
    const o = await rawOrigin("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nkept", "keep");
    const opened: Socket[] = [];
    const pool = new OriginPool(64, 256, (s) => opened.push(s));
    const target: OriginTarget = { kind: "origin", protocol: "http:", hostname: "127.0.0.1", port: o.port, path: "/", href: `http://127.0.0.1:${o.port}/`, host: `127.0.0.1:${o.port}`, form: "absolute" };
    const events = ["data", "end", "close", "error", "timeout"] as const;
    try {
      const counts: string[] = [];
      let changes = 0;
      for (let i = 0; i < 3; i++) {
        const { response } = await fetchOrigin({ target, method: "GET", headers: [["Host", target.host]], timeoutMs: 5000, pool }).done;
        const s = opened[0];
        assert.ok(s !== undefined);
        counts.push(events.map((e) => s.listenerCount(e)).join(","));
        if (i === 0) {
          // From now on, count every listener added to or removed from the socket.
          for (const m of ["on", "once", "addListener", "prependListener", "off", "removeListener"] as const) {
            const original = s[m].bind(s) as (...a: unknown[]) => Socket;
            (s as unknown as Record<string, unknown>)[m] = (...a: unknown[]): Socket => {
              changes++;
              return original(...a);
            };
          }
        }
        // The whole body came with the head: it is in hand, and as a stream if asked for.
        assert.equal(takeWhole(response, 4)?.toString(), "kept");
        const chunks: Buffer[] = [];
        for await (const c of response.body) chunks.push(c as Buffer);
        assert.equal(Buffer.concat(chunks).toString(), "kept");
      }
      assert.equal(opened.length, 1, "one connection, reused");
      assert.equal(o.connections(), 1);
      assert.equal(new Set(counts).size, 1, `listener counts changed between exchanges: ${counts.join(" / ")}`);
      assert.equal(changes, 0, "listeners added or removed by the second and third exchanges");
    } finally {
      pool.destroy();
      await o.close();
    }
  });

  for (const [what, reply, after] of [
    ["a response followed by a stray byte", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokX", "keep"],
    ["a connection the origin closes after its response", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "close"],
  ] as const) {
    it(`does not hand out again ${what}: the next exchange gets a new connection`, async () => {
      const o = await rawOrigin(reply, after);
      const opened: Socket[] = [];
      const pool = new OriginPool(64, 256, (s) => opened.push(s));
      const target: OriginTarget = { kind: "origin", protocol: "http:", hostname: "127.0.0.1", port: o.port, path: "/", href: `http://127.0.0.1:${o.port}/`, host: `127.0.0.1:${o.port}`, form: "absolute" };
      try {
        const first = await fetchOrigin({ target, method: "GET", headers: [["Host", target.host]], timeoutMs: 5000, pool }).done;
        assert.equal(first.response.status, 200);
        await waitUntil(() => opened[0]?.destroyed === true, 5000, "the first connection closed");
        const second = await fetchOrigin({ target, method: "GET", headers: [["Host", target.host]], timeoutMs: 5000, pool }).done;
        assert.equal(second.response.status, 200);
        assert.equal(opened.length, 2);
      } finally {
        pool.destroy();
        await o.close();
      }
    });
  }

  it("keeps at most maxPerOrigin connections busy; a waiter gets the next one, a cancelled waiter passes its turn on", async () => {
    const o = await rawOrigin("", "keep");
    const pool = new OriginPool(64, 2);
    const at = { protocol: "http:" as const, host: "127.0.0.1", port: o.port, servername: "127.0.0.1" };
    try {
      const a = await pool.acquire(at);
      const b = await pool.acquire(at);
      assert.ok(a && b);
      let cancel = false;
      const order: string[] = [];
      const c = pool.acquire(at, () => cancel).then((x) => (order.push(x === undefined ? "c-cancelled" : "c"), x));
      const d = pool.acquire(at).then((x) => (order.push("d"), x));
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(order, [], "both wait while two are busy");
      cancel = true;
      if (a.socket.connecting) await new Promise<void>((r) => a.socket.once("connect", () => r()));
      pool.release(a);
      const [cc, dd] = await Promise.all([c, d]);
      assert.deepEqual(order, ["c-cancelled", "d"]);
      assert.equal(cc, undefined);
      assert.equal(dd?.socket, a.socket, "the released connection is reused");
      assert.equal(dd?.reused, true);
    } finally {
      pool.destroy();
      await o.close();
    }
  });
});

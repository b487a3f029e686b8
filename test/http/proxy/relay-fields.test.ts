/**
 * The fields of an origin's answer as the proxy relays them, over real sockets both ways: what
 * goes out is exactly the origin's end-to-end fields, and a field that could split or corrupt
 * the response (CR, LF or NUL in a value, an obs-fold, a name that is not a token) is never
 * relayed: the client gets a 502. Run with and without the memory store, whose miss path
 * stores the answer before relaying it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { rawTcpOrigin, type RawOrigin } from "./fixtures.js";

/** An origin that answers each request head with the next of `replies` (latin1 bytes), then closes. */
function scriptedOrigin(replies: string[]): Promise<RawOrigin> {
  return rawTcpOrigin((s, n) => s.end(Buffer.from(replies[n % replies.length] as string, "latin1")));
}

/** One request through the proxy on a raw socket; the whole answer as latin1 text. */
function rawThroughProxy(proxyPort: number, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(proxyPort, "127.0.0.1");
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => resolve(Buffer.concat(chunks).toString("latin1")));
    s.on("error", reject);
    s.write(`GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: close\r\n\r\n`);
  });
}

/** The field lines of a response head, without the ones the proxy adds or the engine owns. */
function relayedFields(answer: string): string[] {
  const head = answer.slice(0, answer.indexOf("\r\n\r\n"));
  return head
    .split("\r\n")
    .slice(1)
    .filter((l) => !/^(via|cache-status|date|connection|content-length):/i.test(l));
}

for (const store of [undefined, "memory"]) {
  describe(`relayed origin fields (${store ?? "no"} store)`, () => {
    let proxy: ProxyServer;
    let n = 0;
    before(async () => {
      proxy = await createProxyServer({ port: 0, ...(store === undefined ? { cache: false } : { store }) });
    });
    after(async () => {
      await proxy.close();
    });

    it("relays the end-to-end fields as sent: names in their case, obs-text kept, hop-by-hop ones in any case and those Connection names dropped", async () => {
      const o = await scriptedOrigin([
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCONNECTION: X-Private, x-PRIVATE,, Keep-Alive\r\nconnection: x-other\r\nkeep-ALIVE: timeout=5\r\n" +
          "X-Private: 1\r\nx-other: 2\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Obs-Text: caf\u00e9 \u00ff\r\nCache-Control: max-age=60\r\nX-Case: KeepMe\r\nContent-Length: 2\r\n\r\nok",
      ]);
      try {
        const answer = await rawThroughProxy(proxy.port, `http://127.0.0.1:${o.port}/ok/${n++}`);
        assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
        assert.deepEqual(relayedFields(answer), ["Content-Type: text/plain", "X-Obs-Text: caf\u00e9 \u00ff", "Cache-Control: max-age=60", "X-Case: KeepMe"]);
        assert.ok(answer.endsWith("\r\n\r\nok"));
      } finally {
        await o.close();
      }
    });

    const hostile: Array<[string, string]> = [
      ["a bare LF in a value (a second field smuggled in)", "X-A: 1\nSet-Cookie: stolen=1"],
      ["a NUL in a value", "X-A: a\u0000b"],
      ["a bare CR in a value", "X-A: a\rSet-Cookie: x"],
      ["an obs-fold continuation line", "X-A: 1\r\n X-Folded: 2"],
      ["a name with a space", "Bad Name: x"],
      ["a name with a NUL", "X-\u0000A: x"],
      ["a name that is a hop-by-hop name with a CR in it", "Keep\rAlive: x"],
    ];
    for (const [what, line] of hostile) {
      it(`answers 502 and relays nothing of the origin's head for ${what}`, async () => {
        const o = await scriptedOrigin([`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${line}\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\n\r\nok`]);
        try {
          const answer = await rawThroughProxy(proxy.port, `http://127.0.0.1:${o.port}/bad/${n++}`);
          assert.match(answer, /^HTTP\/1\.1 502 /, what);
          assert.doesNotMatch(answer, /Set-Cookie|X-Folded|X-A|max-age=60/i, what);
        } finally {
          await o.close();
        }
      });
    }
  });
}

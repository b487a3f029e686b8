/** client-reply.ts: the proxy's answer as the engine gets it, and the fields it refuses to relay. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ClientReply, checkFields } from "../../../src/http/proxy/client-reply.js";
import { encodeHead } from "../../../src/http/h1/head.js";
import { WirekitError } from "../../../src/core/errors.js";

const isProtocolError = (e: unknown): boolean => e instanceof WirekitError && e.code === "ERR_PROTOCOL";

/** The head the engine writes for the reply's settled response. */
function written(reply: ClientReply): string {
  const r = reply.settled;
  assert.ok(r !== undefined);
  return encodeHead({ status: r.status, reason: r.reason, headers: r.headers, fieldLines: r.fieldLines, method: "GET", version: "1.1", bodyLength: 2, keepAlive: true, date: "D" }).head;
}

describe("ClientReply.writeHead", () => {
  it("hands the engine the fields as given, checked once (the lines the engine writes)", () => {
    const reply = new ClientReply(undefined);
    reply.writeHead(200, "OK", ["Content-Type", "text/plain", "X-Case", "KeepMe", "Content-Length", "2"]);
    reply.end(Buffer.from("ok"));
    assert.deepEqual(reply.settled?.headers, [["Content-Type", "text/plain"], ["X-Case", "KeepMe"], ["Content-Length", "2"]]);
    assert.ok(reply.settled?.fieldLines !== undefined);
    assert.equal(written(reply), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Case: KeepMe\r\nContent-Length: 2\r\nDate: D\r\n\r\n");
  });

  it("refuses a field that would split the response, and then nothing is sent", () => {
    for (const flat of [["X-A", "1\r\nSet-Cookie: x"], ["X-A", "1\nX-B: 2"], ["X-A", "a\0b"], ["X-A", "a\rb"], ["Bad Name", "x"], ["X-A", "1\r\n folded"], ["Content-Length", "5", "Content-Length", "05"], ["Content-Length", "-1"]]) {
      const reply = new ClientReply(undefined);
      assert.throws(() => reply.writeHead(200, flat), isProtocolError, JSON.stringify(flat));
      assert.equal(reply.headersSent, false);
    }
  });

  it("honours Connection: close among the fields, and a later writeChecked replaces the lines with its own fields", () => {
    const reply = new ClientReply(undefined);
    reply.writeHead(200, ["Connection", "keep-alive, close", "Content-Length", "2"]);
    const fields = checkFields(["X-Hit", "1", "Content-Length", "2"]);
    reply.writeChecked(200, undefined, fields);
    reply.end(Buffer.from("ok"));
    assert.equal(reply.settled?.close, true);
    assert.equal(reply.settled?.fieldLines, undefined);
    assert.equal(reply.settled?.headers, fields.list);
    assert.equal(written(reply), "HTTP/1.1 200 OK\r\nX-Hit: 1\r\nContent-Length: 2\r\nDate: D\r\n\r\n");
  });
});

describe("checkFields", () => {
  it("gives a deeply frozen list (a hit's, reused) and refuses what writeHead refuses", () => {
    const f = checkFields(["A", "1", "Connection", "close"]);
    assert.ok(Object.isFrozen(f.list) && f.list.every((p) => Object.isFrozen(p)));
    assert.equal(f.close, true);
    assert.throws(() => checkFields(["X-A", "1\r\nX-B: 2"]), isProtocolError);
    assert.throws(() => checkFields(["Content-Length", "5", "Content-Length", "05"]), isProtocolError);
  });
});

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DotStuffer, dotStuff, dotUnstuff } from "../../src/smtp/dot-stuff.js";
import { createRandom } from "../../src/core/random.js";

const s = (t: string) => dotStuff(Buffer.from(t, "latin1")).toString("latin1");

describe("dot-stuffing and line ends on the wire", () => {
  it("doubles a leading dot and keeps a lone dot line from ending the data", () => {
    assert.equal(s("a\r\n.\r\n..b\r\n.c\r\n"), "a\r\n..\r\n...b\r\n..c\r\n.\r\n");
    assert.equal(s(".first"), "..first\r\n.\r\n");
  });

  it("turns bare LF and bare CR into CRLF", () => {
    assert.equal(s("a\nb\rc\r\nd"), "a\r\nb\r\nc\r\nd\r\n.\r\n");
    assert.equal(s("a\r"), "a\r\n.\r\n");
    assert.equal(s("\n.\n"), "\r\n..\r\n.\r\n");
  });

  it("ends with CRLF.CRLF whether or not the message ends with a line break", () => {
    assert.ok(s("x").endsWith("x\r\n.\r\n"));
    assert.ok(s("x\r\n").endsWith("x\r\n.\r\n"));
    assert.equal(s(""), ".\r\n");
  });

  it("gives the same bytes for every split point, including between CR and LF and before a dot", () => {
    const text = Buffer.from("a\r\n.\r\n.x\rb\n..\r\nend.\r\n.", "latin1");
    const whole = dotStuff(text);
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        const st = new DotStuffer();
        const out = Buffer.concat([st.push(text.subarray(0, i)), st.push(text.subarray(i, j)), st.push(text.subarray(j)), st.end()]);
        assert.deepEqual(out, whole, `split at ${i},${j}`);
      }
    }
  });

  it("round-trips random CRLF text through a server-side un-stuffing", () => {
    const rnd = createRandom(3);
    const alphabet = ".\r\na. ";
    for (let t = 0; t < 200; t++) {
      let str = "";
      for (let k = 0; k < 60; k++) str += alphabet[rnd.int(alphabet.length)];
      const crlf = str.replace(/\r\n|\r|\n/g, "\r\n");
      const expected = crlf === "" || crlf.endsWith("\r\n") ? crlf : `${crlf}\r\n`;
      assert.equal(dotUnstuff(dotStuff(Buffer.from(str, "latin1"))).toString("latin1"), expected);
    }
  });

  it("refuses a line longer than 998 octets, counting the added dot", () => {
    assert.doesNotThrow(() => s("x".repeat(998)));
    assert.throws(() => s("x".repeat(999)), { code: "ERR_USAGE" });
    assert.throws(() => s(`.${"x".repeat(997)}`), { code: "ERR_USAGE" });
    const st = new DotStuffer();
    st.push(Buffer.alloc(500, 0x61));
    assert.throws(() => st.push(Buffer.alloc(500, 0x61)), { code: "ERR_USAGE" });
  });
});

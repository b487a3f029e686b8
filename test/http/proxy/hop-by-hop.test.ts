/**
 * hop-by-hop.ts: the fields a proxy removes (RFC 9110 §7.6.1), checked against the rule written
 * out plainly (lower-case every name, look it up in sets) on hand-picked and generated lists,
 * hostile ones included: the fast comparisons must drop exactly what the rule drops.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRandom } from "../../../src/core/random.js";
import { fieldTokens, type HeaderList } from "../../../src/http/header-list.js";
import { endToEnd, isHopByHop, originRequestHeaders, withVia } from "../../../src/http/proxy/hop-by-hop.js";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]);

/**
 * Field names are tokens, case-insensitive in ASCII (RFC 9110 §5.1): toLowerCase would also fold
 * U+212A KELVIN SIGN to "k", which no parser of ours can produce (names are latin1) and no
 * writer accepts, so the rule lower-cases ASCII letters only.
 */
const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** RFC 9110 §7.6.1 as plainly as it can be written. */
function referenceEndToEnd(list: HeaderList, alsoDrop?: ReadonlySet<string>): Array<[string, string]> {
  const named = new Set<string>();
  for (const [k, v] of list) if (asciiLower(k) === "connection") for (const t of fieldTokens(v)) named.add(t);
  return list.filter(([k]) => !HOP_BY_HOP.has(asciiLower(k)) && !named.has(asciiLower(k)) && alsoDrop?.has(asciiLower(k)) !== true).map(([k, v]) => [k, v]);
}

const cases: Array<[string, HeaderList]> = [
  ["no hop-by-hop field and no Connection", [["Content-Type", "text/plain"], ["Content-Length", "3"], ["Date", "x"]]],
  ["a node:http origin's keep-alive head", [["Content-Type", "a/b"], ["Content-Length", "1024"], ["Connection", "keep-alive"], ["Keep-Alive", "timeout=5"]]],
  ["hop-by-hop names in mixed case", [["CONNECTION", "Close"], ["keep-ALIVE", "1"], ["Te", "trailers"], ["TRAILER", "X"], ["upGrade", "h2c"], ["Proxy-connection", "x"], ["transfer-Encoding", "chunked"], ["PROXY-AUTHORIZATION", "b"], ["proxy-authenticate", "c"], ["Accept", "*/*"]]],
  ["Connection naming fields, in any case, with duplicate tokens", [["Connection", "X-A, x-a, X-B"], ["connection", "X-B,, , X-C"], ["x-a", "1"], ["X-B", "2"], ["X-c", "3"], ["X-D", "4"]]],
  ["Connection naming a field called close", [["Connection", "close"], ["Close", "1"], ["Closed", "2"]]],
  ["Connection naming hop-by-hop fields only", [["Connection", "Keep-Alive, TE, Upgrade"], ["Keep-Alive", "t"], ["A", "1"]]],
  ["CR, LF and NUL in values and names, an obs-fold", [["Connection", "x-a\r\nX-B: 1"], ["X-A", "v\0"], ["keep\ralive", "1"], ["X-B", " folded\r\n continued"], ["X-E", "\n"]]],
  ["names that differ from hop-by-hop ones in one character", [["Keep_Alive", "1"], ["Keep-Alivf", "2"], ["Upgrades", "3"], ["T", "4"], ["TE ", "5"], ["Connectio", "6"]]],
  ["non-ASCII look-alikes (kept: not the tokens they resemble)", [["\u212Aeep-Alive", "kelvin"], ["Conn\u00e9ction", "e-acute"], ["UPGRAD\u00c9", "x"]]],
];

describe("endToEnd (RFC 9110 §7.6.1)", () => {
  for (const [name, list] of cases) {
    it(`drops what the rule drops: ${name}`, () => {
      assert.deepEqual(endToEnd(list), referenceEndToEnd(list));
      const alsoDrop = new Set(["content-length", "x-d", "closed"]);
      assert.deepEqual(endToEnd(list, alsoDrop), referenceEndToEnd(list, alsoDrop));
    });
  }

  it("drops what the rule drops on generated lists of mixed-case names and hostile values", () => {
    const rnd = createRandom(7);
    const names = ["Connection", "Keep-Alive", "TE", "Trailer", "Upgrade", "Transfer-Encoding", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate", "Host", "Via", "Content-Length", "X-A", "X-B", "Close", "Te"];
    const values = ["close", "keep-alive", "X-A", "x-b, TE", " , ", "", "a\r\nb", "\0", "Close, x-A,x-a", "upgrade"];
    const mixCase = (s: string): string => [...s].map((ch) => (rnd.int(2) === 0 ? ch.toUpperCase() : ch.toLowerCase())).join("");
    for (let n = 0; n < 2000; n++) {
      const list: Array<[string, string]> = [];
      for (let i = rnd.int(8); i > 0; i--) list.push([mixCase(names[rnd.int(names.length)] as string), values[rnd.int(values.length)] as string]);
      const alsoDrop = rnd.int(2) === 0 ? undefined : new Set(["x-b"]);
      assert.deepEqual(endToEnd(list, alsoDrop), referenceEndToEnd(list, alsoDrop), JSON.stringify(list));
    }
  });

  it("returns new pairs: changing the result leaves the message's fields as they were", () => {
    const list: Array<[string, string]> = [["Max-Forwards", "3"]];
    const out = endToEnd(list);
    (out[0] as [string, string])[1] = "2";
    assert.deepEqual(list, [["Max-Forwards", "3"]]);
  });
});

describe("isHopByHop", () => {
  it("is true exactly for the hop-by-hop names, in any case", () => {
    for (const n of HOP_BY_HOP) {
      assert.equal(isHopByHop(n), true, n);
      assert.equal(isHopByHop(n.toUpperCase()), true, n);
    }
    for (const n of ["", "t", "tee", "Via", "Host", "Content-Length", "Connections", "Keep-Alive ", "proxy-authorizatio"]) assert.equal(isHopByHop(n), false, n);
  });
});

describe("originRequestHeaders and withVia", () => {
  it("put Host first, drop the client's Host in any case, and join every prior Via with ours", () => {
    const out = originRequestHeaders(
      [["HOST", "proxy:1"], ["Accept", "*/*"], ["via", "1.0 a"], ["Proxy-Connection", "keep-alive"], ["VIA", "1.1 b"], ["If-None-Match", '"x"']],
      "o.test",
      "1.1 p:1 (wirekit)",
      new Set(["if-none-match"]),
    );
    assert.deepEqual(out, [["Host", "o.test"], ["Accept", "*/*"], ["Via", "1.0 a, 1.1 b, 1.1 p:1 (wirekit)"]]);
    assert.deepEqual(withVia([["Vía", "x"]], "1.1 p:1 (wirekit)"), [["Vía", "x"], ["Via", "1.1 p:1 (wirekit)"]]);
  });
});

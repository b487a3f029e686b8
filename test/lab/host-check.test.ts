import { test } from "node:test";
import assert from "node:assert/strict";
import { isAllowedHost, splitHost } from "../../src/lab/dashboard/host-check.js";

const loop = { boundAddress: "127.0.0.1", port: 7070 };
const cases: Array<[string, string | undefined, string, { boundAddress: string; port: number; names?: string[] }, string | undefined, boolean]> = [
  ["the bound address with its port", "127.0.0.1:7070", "1.1", loop, undefined, true],
  ["the bound address without a port", "127.0.0.1", "1.1", loop, undefined, true],
  ["localhost on a loopback bind", "localhost:7070", "1.1", loop, undefined, true],
  ["localhost in capitals with a trailing dot", "LocalHost.:7070", "1.1", loop, undefined, true],
  ["a DNS-rebinding name (attacker.example)", "attacker.example:7070", "1.1", loop, undefined, false],
  ["a rebinding name without a port", "attacker.example", "1.1", loop, undefined, false],
  ["the bound address on another port", "127.0.0.1:8080", "1.1", loop, undefined, false],
  ["a missing Host on HTTP/1.1", undefined, "1.1", loop, undefined, false],
  ["an empty Host", "", "1.1", loop, undefined, false],
  ["a missing Host on HTTP/1.0", undefined, "1.0", loop, undefined, true],
  ["[::1] on an IPv6 loopback bind", "[::1]:7070", "1.1", { boundAddress: "::1", port: 7070 }, undefined, true],
  ["[::1] without a port", "[::1]", "1.1", { boundAddress: "::1", port: 7070 }, undefined, true],
  ["a bare IPv6 literal without brackets", "::1", "1.1", { boundAddress: "::1", port: 7070 }, undefined, false],
  ["127.0.0.1 when bound to ::1", "127.0.0.1:7070", "1.1", { boundAddress: "::1", port: 7070 }, undefined, false],
  ["localhost on a LAN bind", "localhost:7070", "1.1", { boundAddress: "192.0.2.7", port: 7070 }, undefined, false],
  ["the LAN address on a LAN bind", "192.0.2.7:7070", "1.1", { boundAddress: "192.0.2.7", port: 7070 }, undefined, true],
  ["a --dashboard-host name", "lab.example:7070", "1.1", { ...loop, names: ["Lab.Example"] }, undefined, true],
  ["another name than the --dashboard-host one", "evil.example:7070", "1.1", { ...loop, names: ["lab.example"] }, undefined, false],
  ["the arrival address on a wildcard bind", "127.0.0.1:7070", "1.1", { boundAddress: "0.0.0.0", port: 7070 }, "127.0.0.1", true],
  ["a mapped arrival address on a :: bind", "127.0.0.1:7070", "1.1", { boundAddress: "::", port: 7070 }, "::ffff:127.0.0.1", true],
  ["localhost on a wildcard bind reached over loopback", "localhost", "1.1", { boundAddress: "0.0.0.0", port: 7070 }, "127.0.0.1", true],
  ["a rebinding name on a wildcard bind", "attacker.example", "1.1", { boundAddress: "0.0.0.0", port: 7070 }, "127.0.0.1", false],
  ["another address than the arrival one on a wildcard bind", "192.0.2.9", "1.1", { boundAddress: "0.0.0.0", port: 7070 }, "127.0.0.1", false],
  ["a Host with userinfo", "a@127.0.0.1:7070", "1.1", loop, undefined, false],
  ["a Host with a bad port", "127.0.0.1:70x", "1.1", loop, undefined, false],
];
for (const [name, host, httpVersion, policy, localAddress, ok] of cases) {
  test(`isAllowedHost ${ok ? "accepts" : "refuses"} ${name}`, () => {
    assert.equal(isAllowedHost({ host, httpVersion, localAddress }, policy), ok);
  });
}

test("splitHost separates the name and the port of bracketed and plain hosts", () => {
  assert.deepEqual(splitHost("[::1]:7070"), { name: "::1", port: 7070 });
  assert.deepEqual(splitHost("Example.COM"), { name: "example.com", port: undefined });
  assert.equal(splitHost("[::1"), undefined);
  assert.equal(splitHost("127.0.0.1:99999"), undefined);
});

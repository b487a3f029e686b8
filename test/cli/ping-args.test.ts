import { test } from "node:test";
import assert from "node:assert/strict";
import { hostsOfCidr, parsePattern, parseTos, targetsOfFile } from "../../src/cli/ping.js";
import { isWirekitError } from "../../src/core/errors.js";

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isWirekitError(err) ? err.code : "not a WirekitError";
  }
};

test("-g lists host addresses as fping does: no network or broadcast address below /31", () => {
  assert.deepEqual(hostsOfCidr("127.0.0.0/29"), ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"]);
  assert.equal(hostsOfCidr("127.0.0.0/28").length, 14);
  assert.deepEqual(hostsOfCidr("10.0.0.5/30"), ["10.0.0.5", "10.0.0.6"], "the host bits of the address are ignored");
  assert.deepEqual(hostsOfCidr("10.0.0.0/31"), ["10.0.0.0", "10.0.0.1"]);
  assert.deepEqual(hostsOfCidr("192.0.2.7/32"), ["192.0.2.7"]);
  for (const bad of ["10.0.0.0", "10.0.0.0/33", "300.0.0.0/24", "fd00::/120", "10.0.0.0/8"]) assert.equal(code(() => hostsOfCidr(bad)), "ERR_USAGE", bad);
});

test("--file takes one target a line, skipping blank lines and # comments", () => {
  assert.deepEqual(targetsOfFile("a\r\n\n  b  # the gateway\n# c\n::1\n"), ["a", "b", "::1"]);
});

test("-p is up to 16 bytes of hex, -Q 0-255 in decimal or 0x hex", () => {
  assert.deepEqual([...parsePattern("ff00")], [0xff, 0x00]);
  assert.deepEqual([...parsePattern("f")], [0xf0], "an odd digit count is padded");
  assert.equal(parsePattern("00112233445566778899aabbccddeeff").length, 16);
  for (const bad of ["", "xyz", "00112233445566778899aabbccddeeff00"]) assert.equal(code(() => parsePattern(bad)), "ERR_USAGE", bad);
  assert.deepEqual(["0", "184", "0x10", "0xB8"].map(parseTos), [0, 184, 16, 184]);
  for (const bad of ["256", "-1", "0x100", "ef"]) assert.equal(code(() => parseTos(bad)), "ERR_USAGE", bad);
});

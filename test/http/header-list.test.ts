/** header-list.ts: the field list and its lower-cased map view. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fieldTokens, getField, isFieldName, lowerFieldName, mapField, toHeaderMap } from "../../src/http/header-list.js";

test("the map view lower-cases names and joins repeated fields with a comma, as getField does", () => {
  const list: Array<[string, string]> = [["Accept", "a"], ["accept", "b"], ["Host", "h"]];
  const m = toHeaderMap(list);
  assert.deepEqual(Object.entries(m), [["accept", "a, b"], ["host", "h"]]);
  assert.equal(mapField(m, "accept"), getField(list, "Accept"));
  assert.equal(mapField(m, "via"), undefined);
});

test("field names that are Object.prototype's keys (__proto__, constructor, toString) are only keys of the map", () => {
  const m = toHeaderMap([["__proto__", "x"], ["Constructor", "y"], ["toString", "z"]]);
  assert.deepEqual(Object.keys(m), ["__proto__", "constructor", "tostring"]);
  assert.equal(m["__proto__"], "x");
  assert.equal(m["constructor"], "y");
  const empty = toHeaderMap([]);
  for (const k of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) assert.equal(empty[k], undefined, k);
});

test("isFieldName folds ASCII letters only, as toLowerCase does for the latin1 names a parser makes", () => {
  assert.equal(isFieldName("Content-Length", "content-length"), true);
  assert.equal(isFieldName("CONTENT-LENGTH", "content-length"), true);
  assert.equal(isFieldName("content-length", "content-length"), true);
  assert.equal(isFieldName("Content-Lengthx", "content-length"), false);
  assert.equal(isFieldName("Content_Length", "content-length"), false);
  // CR is '-' without bit 0x20, and '~' is '^' with it: neither is a letter, so neither folds.
  assert.equal(isFieldName("keep\ralive", "keep-alive"), false);
  assert.equal(isFieldName("a^", "a~"), false);
  assert.equal(isFieldName("@", "`"), false);
  // Every latin1 character agrees with toLowerCase, in every position of a name.
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    for (const lower of ["via", "te", "x-a1"]) {
      for (let i = 0; i < lower.length; i++) {
        const name = lower.slice(0, i) + ch + lower.slice(i + 1);
        assert.equal(isFieldName(name, lower), name.toLowerCase() === lower, JSON.stringify(name));
      }
    }
  }
});

test("lowerFieldName is toLowerCase, common names or not", () => {
  for (const name of ["Content-Type", "content-type", "CONTENT-TYPE", "X-Custom", "ETag", "etag", "__proto__", "Ünïcode", ""]) {
    assert.equal(lowerFieldName(name), name.toLowerCase(), name);
  }
});

test("fieldTokens gives a single token as the list form does, trimmed and lower-cased", () => {
  assert.deepEqual(fieldTokens("Keep-Alive"), ["keep-alive"]);
  assert.deepEqual(fieldTokens("  close \t"), ["close"]);
  assert.deepEqual(fieldTokens(""), []);
  assert.deepEqual(fieldTokens("   "), []);
  assert.deepEqual(fieldTokens(undefined), []);
  assert.deepEqual(fieldTokens("close, X-A,,  keep-alive "), ["close", "x-a", "keep-alive"]);
  assert.deepEqual(fieldTokens(" , "), []);
});

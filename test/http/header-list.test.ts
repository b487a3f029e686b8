/** header-list.ts: the field list and its lower-cased map view. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getField, mapField, toHeaderMap } from "../../src/http/header-list.js";

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

import { test } from "node:test";
import assert from "node:assert/strict";
import { redactDeep, redactSecrets, secretForms } from "../../src/smtp/redact.js";

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const forms = secretForms("me", "pässword");

test("redactSecrets removes the password, AUTH LOGIN's base64 and AUTH PLAIN's token", () => {
  const text = `535 failed for ${b64("pässword")} (pässword) ${b64("\0me\0pässword")} ${b64("mepässword")} ${b64("pässword").replace(/=+$/, "")}`;
  const out = redactSecrets(text, forms);
  for (const f of [b64("pässword"), "pässword", b64("\0me\0pässword"), b64("mepässword")]) assert.ok(!out.includes(f), f);
  assert.match(out, /^535 failed for \*\*\* \(\*\*\*\)/);
});

test("redactDeep masks strings inside objects, arrays and Maps and leaves other values alone", () => {
  const v = { code: 535, lines: ["x pässword"], m: new Map([["k", "pässword"]]), nested: { s: b64("pässword") } };
  const out = redactDeep(v, forms);
  assert.deepEqual(out, { code: 535, lines: ["x ***"], m: new Map([["k", "***"]]), nested: { s: "***" } });
});

test("an empty password masks nothing", () => {
  assert.deepEqual(secretForms("me", ""), []);
  assert.equal(redactSecrets("anything", []), "anything");
});

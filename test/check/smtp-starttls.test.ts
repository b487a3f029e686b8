/**
 * The SMTP lab's optional TLS part (`--starttls`): the sink offers STARTTLS with a certificate
 * made for the run, the relay ends TLS on both sides, and the check judges whether the client
 * upgraded before AUTH and MAIL. All the checks run at once.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runCases, type Case } from "./fixtures.js";

const smtp = (variant: string, want: string, ok: boolean): Case => ({ lab: "smtp-client", variant, script: "MailClient.py", args: ["{host}", "{port}"], want, ok, timeoutMs: 5000, options: { starttls: true } });

const CASES: Case[] = [
  //                       helo auth mail rcpt data quit order await print mime starttls
  smtp("starttls", "✓✓✓✓✓✓✓✓✓✓✓", true),
  // The password goes in plaintext, then TLS: every plain requirement holds, the upgrade does not.
  smtp("auth-first", "✓✓✓✓✓✓✓✓✓✓✗", true),
  // STARTTLS, then plaintext again: the server (after its 220) no longer understands the client.
  smtp("no-wrap", "✓✗✓✓✗✓✓✗✓✗✗", false),
  // TLS, then AUTH at once: the server forgot the first EHLO (RFC 3207 §4.2) and refuses it.
  smtp("no-ehlo-again", "✓✗✓✓✗✓✓✗✓✗✗", false),
  // A verifying client that does not trust the lab's self-signed certificate: the handshake fails.
  smtp("no-trust", "✓✗✗✗✗✗✗✓✓✗✗", false),
  // A plain client: the offer is ignored, the rest is judged as without --starttls.
  smtp("correct", "✓✓✓✓✓✓✓✓✓✓✗", true),
];

const running = runCases(CASES);

test("the evidence names the mistake: plaintext AUTH, plaintext after the 220, no second EHLO, a failed handshake, no STARTTLS", async () => {
  const starttls = async (variant: string): Promise<string> => {
    const c = CASES.find((x) => x.variant === variant);
    assert.ok(c !== undefined);
    const report = await running.get(c);
    return report?.outcomes.find((o) => o.id === "starttls")?.verdict.evidence ?? "";
  };
  assert.match(await starttls("starttls"), /^STARTTLS → 220, TLSv1\.[23] handshake, then EHLO AUTH MAIL/);
  assert.match(await starttls("auth-first"), /'AUTH LOGIN' went in plaintext before STARTTLS/);
  assert.match(await starttls("no-wrap"), /sent 'AUTH LOGIN' in plaintext, no TLS handshake/);
  assert.match(await starttls("no-ehlo-again"), /handshake, then 'AUTH LOGIN' without a new EHLO/);
  assert.match(await starttls("no-trust"), /the TLS handshake failed: tlsv1 alert unknown ca/);
  assert.match(await starttls("correct"), /no STARTTLS among: HELO AUTH/);
});

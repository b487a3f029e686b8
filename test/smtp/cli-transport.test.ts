/**
 * `wirekit mail` transport and AUTH rules, flag by flag, against smtp-server on loopback:
 * STARTTLS by default when offered, plaintext only with --no-tls or when the server offers no TLS,
 * AUTH on a plaintext connection only with --allow-plain-auth, --starttls refusing to go on
 * without STARTTLS, --tls from the first byte. The servers would accept AUTH in plaintext
 * (allowInsecureAuth), so every refusal checked here is the client's own.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliCapture } from "../helpers/cli.js";
import { PASSWORD, USER, startSmtpPeer, testCert, type SmtpPeer } from "./peer.js";

interface Case {
  name: string;
  server: "starttls" | "plain" | "implicit";
  flags: string[];
  user: boolean;
  /** Expected exit status; 0 means the message must arrive. */
  code: 0 | 1;
  /** With code 0: whether the message travelled over TLS. */
  secure?: boolean;
  /** With code 1: the one-line error. */
  error?: RegExp;
}

const CASES: Case[] = [
  { name: "default: upgrades with STARTTLS when the server offers it, then logs in", server: "starttls", flags: [], user: true, code: 0, secure: true },
  { name: "default without --user: still upgrades with STARTTLS", server: "starttls", flags: [], user: false, code: 0, secure: true },
  { name: "--allow-plain-auth does not turn STARTTLS off", server: "starttls", flags: ["--allow-plain-auth"], user: true, code: 0, secure: true },
  { name: "--starttls: upgrades and logs in", server: "starttls", flags: ["--starttls"], user: true, code: 0, secure: true },
  { name: "--no-tls: plaintext although STARTTLS is offered", server: "starttls", flags: ["--no-tls"], user: false, code: 0, secure: false },
  { name: "--no-tls --user: AUTH refused without --allow-plain-auth", server: "starttls", flags: ["--no-tls"], user: true, code: 1, error: /refusing to send the password over a connection without TLS \(--allow-plain-auth to force\)/ },
  { name: "--no-tls --user --allow-plain-auth: AUTH in plaintext", server: "starttls", flags: ["--no-tls", "--allow-plain-auth"], user: true, code: 0, secure: false },
  { name: "default, server without TLS: plaintext", server: "plain", flags: [], user: false, code: 0, secure: false },
  { name: "default, server without TLS, --user: AUTH refused", server: "plain", flags: [], user: true, code: 1, error: /refusing to send the password over a connection without TLS/ },
  { name: "default, server without TLS, --user --allow-plain-auth: AUTH in plaintext", server: "plain", flags: ["--allow-plain-auth"], user: true, code: 0, secure: false },
  { name: "--starttls, server without STARTTLS: refuses to go on", server: "plain", flags: ["--starttls"], user: false, code: 1, error: /the server does not offer STARTTLS/ },
  { name: "--starttls --allow-plain-auth, server without STARTTLS: still refuses", server: "plain", flags: ["--starttls", "--allow-plain-auth"], user: true, code: 1, error: /the server does not offer STARTTLS/ },
  { name: "--tls: TLS from the first byte, then logs in", server: "implicit", flags: ["--tls"], user: true, code: 0, secure: true },
];

describe("wirekit mail: --tls / --starttls / --no-tls / --allow-plain-auth", () => {
  let dir = "";
  let ca = "";
  const peers = new Map<Case["server"], SmtpPeer>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wirekit-mail-tls-"));
    ca = join(dir, "ca.pem");
    await writeFile(ca, (await testCert()).cert);
    peers.set("starttls", await startSmtpPeer({ allowInsecureAuth: true }));
    peers.set("plain", await startSmtpPeer({ allowInsecureAuth: true, hideSTARTTLS: true }));
    peers.set("implicit", await startSmtpPeer({ secure: true }));
  });
  after(async () => {
    await Promise.all([...peers.values()].map((p) => p.close()));
    await rm(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const p = peers.get(c.server);
      assert.ok(p);
      const before = p.received.length;
      const argv = ["mail", "--server", `127.0.0.1:${p.port}`, "--ca", ca, "--from", "a@lab.test", "--to", "b@lab.test", "--subject", "rules", "--text", "x", ...c.flags];
      if (c.user) argv.push("--user", USER);
      const r = await runCliCapture(argv, { env: { WIREKIT_SMTP_PASSWORD: PASSWORD } });
      const sent = r.stdout.split("\n").filter((l) => l.startsWith("C: "));
      assert.equal(r.code, c.code, r.stdout + r.stderr);
      assert.equal(sent.includes("C: STARTTLS"), c.server === "starttls" && !c.flags.includes("--no-tls"), "STARTTLS sent exactly when offered and not --no-tls");
      if (c.code === 0) {
        const got = p.received[before];
        assert.ok(got, "the server received the message");
        assert.equal(p.received.length, before + 1);
        assert.equal(got.secure, c.secure);
        assert.equal(got.user, c.user ? USER : undefined);
        assert.match(r.stdout, /^message accepted: 250 /m);
        assert.equal(r.stderr, "");
      } else {
        assert.equal(p.received.length, before, "nothing delivered");
        assert.ok(!sent.some((l) => /^C: (AUTH|MAIL)/.test(l)), "neither AUTH nor MAIL FROM was sent");
        assert.equal(r.stderr.split("\n").filter(Boolean).length, 1, r.stderr);
        assert.match(r.stderr, /^wirekit: /);
        assert.match(r.stderr, c.error ?? /./);
      }
    });
  }

  it("does not fall back to plaintext when the certificate cannot be verified (default mode, no --ca)", async () => {
    const p = peers.get("starttls");
    assert.ok(p);
    const before = p.received.length;
    const r = await runCliCapture(["mail", "--server", `127.0.0.1:${p.port}`, "--from", "a@lab.test", "--to", "b@lab.test", "--text", "x", "--quiet"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^wirekit: TLS: .*--ca FILE to trust a private CA\)\n$/);
    assert.equal(p.received.length, before);
  });
});

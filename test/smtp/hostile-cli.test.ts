/**
 * `wirekit mail` against scripted hostile servers, end to end through the CLI: a server that
 * echoes the AUTH secret, one that sends terminal control sequences, one that never answers the
 * final dot, and one that resets the connection after it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "node:net";
import { runCliCapture } from "../helpers/cli.js";
import { startScriptedPeer, type ScriptedPeer } from "./peer.js";

const USER = "student";
const PASSWORD = "hunter2-Secret";
const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const FORMS = [PASSWORD, b64(PASSWORD), b64(`\0${USER}\0${PASSWORD}`), b64(`${USER}${PASSWORD}`)];

type Answer = (line: string, s: Socket) => string | undefined;

/** A plaintext SMTP server: `answer` gets each command line (and "." for the end of data). */
function script(greeting: string, answer: Answer): (s: Socket) => void {
  return (socket) => {
    let buf = "";
    let inData = false;
    socket.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      let i: number;
      while ((i = buf.indexOf("\r\n")) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData && line !== ".") continue;
        if (inData) inData = false;
        const reply = answer(line, socket);
        if (reply === undefined) continue;
        if (reply.startsWith("354")) inData = true;
        socket.write(reply);
      }
    });
    socket.write(greeting);
  };
}

function basic(line: string): string | undefined {
  const cmd = line.split(/[ :]/)[0]?.toUpperCase();
  if (cmd === "EHLO") return "250-hostile.test\r\n250 AUTH LOGIN PLAIN\r\n";
  if (cmd === "MAIL" || cmd === "RCPT") return "250 2.1.0 Ok\r\n";
  if (cmd === "DATA") return "354 go\r\n";
  if (line === ".") return "250 2.0.0 queued\r\n";
  if (cmd === "QUIT") return "221 bye\r\n";
  return undefined;
}

describe("wirekit mail against hostile servers", () => {
  let dir = "";
  const peers: ScriptedPeer[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wirekit-hostile-cli-"));
  });
  after(async () => {
    for (const p of peers) await p.close();
    await rm(dir, { recursive: true, force: true });
  });
  const start = async (greeting: string, answer: Answer): Promise<number> => {
    const p = await startScriptedPeer(script(greeting, answer));
    peers.push(p);
    return p.port;
  };
  const argv = (port: number, ...extra: string[]): string[] => ["mail", "--server", `127.0.0.1:${port}`, "--from", "a@lab.test", "--to", "b@lab.test", "--subject", "s", "--text", "hi", ...extra];

  for (const mech of ["login", "plain"] as const) {
    it(`secret echo attack (AUTH ${mech.toUpperCase()}): no form of the password appears in the transcript, --json or the diagram`, async () => {
      let phase = 0;
      const port = await start("220 hostile.test\r\n", (line) => {
        if (/^AUTH LOGIN$/i.test(line)) return (phase = 1), "334 VXNlcm5hbWU6\r\n";
        if (phase === 1) return (phase = 2), "334 UGFzc3dvcmQ6\r\n";
        if (phase === 2) return (phase = 0), `535 5.7.8 Authentication failed for ${line} (${Buffer.from(line, "base64").toString("utf8")})\r\n`;
        if (/^AUTH PLAIN /i.test(line)) {
          const token = line.slice(11);
          return `535 5.7.8 Authentication failed for ${token} (${Buffer.from(token, "base64").toString("utf8").replace(/\0/g, " ")}) ${b64(PASSWORD)} ${b64(USER + PASSWORD)}\r\n`;
        }
        return basic(line);
      });
      const env = { WIREKIT_SMTP_PASSWORD: PASSWORD };
      for (const out of [["--diagram", join(dir, `d-${mech}.svg`)], ["--diagram", join(dir, `d-${mech}.mmd`)], ["--json"]]) {
        const r = await runCliCapture(argv(port, "--user", USER, "--auth", mech, "--allow-plain-auth", "--timeout", "5s", ...out), { env });
        assert.equal(r.code, 1, r.stderr);
        const texts = [r.stdout, r.stderr];
        if (out[0] === "--diagram") texts.push(await readFile(out[1] ?? "", "utf8"));
        else JSON.parse(r.stdout);
        assert.match(r.stdout + r.stderr, /535/);
        for (const t of texts) for (const f of FORMS) assert.ok(!t.includes(f), `secret form ${JSON.stringify(f)} leaked with ${out.join(" ")}`);
      }
    });
  }

  it("terminal escape injection: control characters in a server reply are escaped, never printed raw", async () => {
    const port = await start("220 hostile \x1b]0;PWNED\x07\x1b[2J\r\n", basic);
    const r = await runCliCapture(argv(port, "--timeout", "5s"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /220 hostile \\x1b\]0;PWNED\\x07\\x1b\[2J/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.stdout + r.stderr, /[\x00-\x08\x0b-\x1f\x7f]/);
  });

  it("--timeout bounds the wait for the reply to the final dot unless --data-timeout says otherwise", async () => {
    const port = await start("220 slow.test\r\n", (line) => (line === "." ? undefined : basic(line)));
    const t0 = Date.now();
    const r = await runCliCapture(argv(port, "--timeout", "500ms"));
    assert.equal(r.code, 1);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    assert.match(r.stderr, /^wirekit: .*time/m);
    const t1 = Date.now();
    const r2 = await runCliCapture(argv(port, "--timeout", "10s", "--data-timeout", "500ms"));
    assert.equal(r2.code, 1);
    assert.ok(Date.now() - t1 < 5000, `took ${Date.now() - t1} ms`);
  });

  it("a reset after the final dot says the message may or may not have been accepted", async () => {
    const port = await start("220 reset.test\r\n", (line, s) => {
      if (line === ".") {
        s.resetAndDestroy();
        return undefined;
      }
      return basic(line);
    });
    const r = await runCliCapture(argv(port, "--timeout", "5s"));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^wirekit: .*reset after the message was sent; it may or may not have been accepted/m);
    assert.doesNotMatch(r.stderr, /connect to/);
  });
});

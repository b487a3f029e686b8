/** `wirekit mail` in-process: dry-run golden output, password handling and masking, outcomes. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { spawn, spawnSync } from "node:child_process";
import { FakeClock } from "../../src/core/clock.js";
import { createRandom } from "../../src/core/random.js";
import { runCli } from "../../src/cli/main.js";
import type { CliContext } from "../../src/cli/context.js";
import { BIN, runCliCapture, spawnCli } from "../helpers/cli.js";
import { PASSWORD, USER, startSmtpPeer, testCert, type SmtpPeer } from "./peer.js";

const GOLDEN = [
  "Date: Thu, 01 Jan 2026 00:00:00 +0000",
  "Message-ID: <b031de172a03dc3278407572@lab.test>",
  "From: Student <student@lab.test>",
  "To: teacher@lab.test",
  "Subject: =?UTF-8?Q?Lab_3_=E2=80=94_SMTP?=",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=utf-8",
  "Content-Transfer-Encoding: 7bit",
  "",
  "Hello.",
  ".",
  "Bye",
  "",
].join("\n");

function secretsAbsent(text: string): void {
  const token = Buffer.from(`\0${USER}\0${PASSWORD}`).toString("base64");
  for (const s of [PASSWORD, Buffer.from(PASSWORD).toString("base64"), token]) assert.ok(!text.includes(s), `secret leaked: ${s}`);
}

describe("wirekit mail", () => {
  let dir = "";
  let ca = "";
  let peer: SmtpPeer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wirekit-mail-"));
    ca = join(dir, "ca.pem");
    await writeFile(ca, (await testCert()).cert);
    peer = await startSmtpPeer({
      onRcptTo(addr, _s, cb) {
        if (addr.address.startsWith("nobody")) cb(Object.assign(new Error("5.1.1 No such user"), { responseCode: 550 }));
        else cb();
      },
    });
  });
  after(async () => {
    await peer.close();
    await rm(dir, { recursive: true, force: true });
  });
  const base = () => ["mail", "--server", `127.0.0.1:${peer.port}`, "--ca", ca, "--from", "Student <student@lab.test>", "--to", "teacher@lab.test", "--subject", "Lab", "--text", "hi"];

  it("prints a byte-stable message with --dry-run for a given clock and --seed, without Bcc", async () => {
    const argv = ["mail", "--dry-run", "--seed", "42", "--from", "Student <student@lab.test>", "--to", "teacher@lab.test", "--bcc", "hidden@lab.test", "--subject", "Lab 3 — SMTP", "--text", "Hello.\n.\nBye"];
    const a = await runCliCapture(argv, { clock: new FakeClock() });
    const b = await runCliCapture(argv, { clock: new FakeClock() });
    assert.equal(a.code, 0);
    assert.equal(a.stdout, b.stdout);
    assert.equal(a.stdout, GOLDEN);
    assert.match(a.stderr, /envelope from <student@lab\.test> to <teacher@lab\.test>, <hidden@lab\.test>; nothing sent/);
  });

  it("reads the text body from standard input with --text-file -", async () => {
    const stdin = new PassThrough();
    stdin.end("from stdin\n.\n");
    let stdout = "";
    const ctx: CliContext = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: () => true },
      env: {},
      clock: new FakeClock(),
      signal: new AbortController().signal,
      debug: false,
      onStatusRequest: () => () => {},
      stdin,
    };
    const code = await runCli(["mail", "--dry-run", "--from", "a@lab.test", "--to", "b@lab.test", "--text-file", "-"], ctx);
    assert.equal(code, 0);
    assert.ok(stdout.endsWith("\n\nfrom stdin\n.\n"), stdout);
  });

  it("runs as a real process: --dry-run exits 0 with the message, a closed port exits 1 with one line", async () => {
    const dry = await spawnCli(["mail", "--dry-run", "--from", "a@lab.test", "--to", "b@lab.test", "--bcc", "c@lab.test", "--subject", "s", "--text", "t"]).done;
    assert.equal(dry.code, 0);
    assert.match(dry.stdout, /^Date: .+ \+0000\nMessage-ID: <[0-9a-f]{24}@lab\.test>\nFrom: a@lab\.test\nTo: b@lab\.test\nSubject: s\nMIME-Version: 1\.0\n/);
    assert.ok(!/bcc/i.test(dry.stdout));
    const closed = await startSmtpPeer();
    const port = closed.port;
    await closed.close();
    const refused = await spawnCli(["mail", "--server", `127.0.0.1:${port}`, "--from", "a@lab.test", "--to", "b@lab.test", "--quiet"]).done;
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `wirekit: connect to 127.0.0.1:${port}: connection refused\n`);
  });

  it("refuses a password on the command line", async () => {
    const r = await runCliCapture([...base(), "--user", USER, "--password", PASSWORD]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^wirekit: a password is never taken on the command line/);
  });

  it("refuses every spelling of a password option and credentials in --server, without echoing the secret", async () => {
    const before = peer.received.length;
    const server = base().indexOf("--server") + 1;
    for (const extra of [["--password", PASSWORD], [`--password=${PASSWORD}`], ["--pass", PASSWORD], [`--passwd=${PASSWORD}`], ["-p", PASSWORD], [`--PW=${PASSWORD}`]]) {
      const r = await runCliCapture([...base(), "--user", USER, ...extra], { env: { WIREKIT_SMTP_PASSWORD: PASSWORD } });
      assert.equal(r.code, 2, extra.join(" "));
      assert.equal(r.stderr.split("\n").filter(Boolean).length, 1, r.stderr);
      assert.equal(r.stdout, "");
      secretsAbsent(r.stderr);
    }
    for (const target of [`${USER}:${PASSWORD}@127.0.0.1:${peer.port}`, `smtp://${USER}:${PASSWORD}@127.0.0.1:${peer.port}`]) {
      const argv = base();
      argv[server] = target;
      const r = await runCliCapture(argv);
      assert.equal(r.code, 2, target);
      assert.match(r.stderr, /^wirekit: --server takes HOST\[:PORT\], not a URL or user@host; the password is never taken on the command line/);
      assert.equal(r.stdout, "");
      secretsAbsent(r.stderr);
    }
    assert.equal(peer.received.length, before);
  });

  it("does not print 'connected' for a refused connection, and the diagram still names the server", async () => {
    const closed = await startSmtpPeer();
    const port = closed.port;
    await closed.close();
    const mmd = join(dir, "refused.mmd");
    const r = await runCliCapture(["mail", "--server", `127.0.0.1:${port}`, "--from", "a@lab.test", "--to", "b@lab.test", "--diagram", mmd]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, `* error: connect to 127.0.0.1:${port}: connection refused\n`);
    assert.match(await readFile(mmd, "utf8"), new RegExp(`^  participant S as server 127\\.0\\.0\\.1:${port}$`, "m"));
    const ok = await runCliCapture([...base(), "--no-tls"]);
    assert.match(ok.stdout, new RegExp(`^\\* connected to 127\\.0\\.0\\.1 port ${peer.port}\nS: 220 `));
  });

  it("asks for WIREKIT_SMTP_PASSWORD when there is no terminal to prompt on", async () => {
    const r = await runCliCapture([...base(), "--user", USER]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /WIREKIT_SMTP_PASSWORD/);
  });

  it("prints every command and reply, masks the secrets in the text, --json and the diagram, and exits 0", async () => {
    const svg = join(dir, "session.svg");
    const env = { WIREKIT_SMTP_PASSWORD: PASSWORD };
    const text = await runCliCapture([...base(), "--user", USER, "--diagram", svg], { env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^S: 220 /m);
    assert.match(text.stdout, /^C: EHLO /m);
    assert.match(text.stdout, /^C: STARTTLS$/m);
    assert.match(text.stdout, /^C: AUTH PLAIN \*{8}$/m);
    assert.match(text.stdout, /^S: 235 /m);
    assert.match(text.stdout, /^C: RCPT TO:<teacher@lab\.test>$/m);
    assert.match(text.stdout, /^C: \.$/m);
    assert.match(text.stdout, /^C: QUIT$/m);
    assert.match(text.stdout, /^message accepted: 250 .*queued as TEST1$/m);
    secretsAbsent(text.stdout + text.stderr);
    const picture = await readFile(svg, "utf8");
    assert.match(picture, /^<\?xml/);
    assert.match(picture, /AUTH PLAIN \*{8}/);
    secretsAbsent(picture);
    for (const mech of ["plain", "login"]) {
      const json = await runCliCapture([...base(), "--user", USER, "--auth", mech, "--json"], { env });
      assert.equal(json.code, 0, json.stderr);
      const doc = JSON.parse(json.stdout) as { status: string; auth_mechanism: string; transcript: unknown[] };
      assert.equal(doc.status, "accepted");
      assert.equal(doc.auth_mechanism, mech.toUpperCase());
      assert.ok(doc.transcript.length > 10);
      secretsAbsent(json.stdout);
    }
  });

  it("reads the password from a terminal without echoing it", async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true, rawModes: [] as boolean[], setRawMode(m: boolean) {
      stdin.rawModes.push(m);
      return stdin;
    } });
    let stdout = "";
    let stderr = "";
    let rawAtPrompt: boolean | undefined;
    const ctx: CliContext = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: {
        write: (s: string) => {
          stderr += s;
          if (s.startsWith("Password for")) rawAtPrompt = stdin.rawModes.at(-1);
          if (s.startsWith("Password for")) setImmediate(() => stdin.write(`${PASSWORD}x\u007f\r`));
          return true;
        },
      },
      env: {},
      clock: new FakeClock(),
      signal: new AbortController().signal,
      debug: false,
      onStatusRequest: () => () => {},
      stdin,
    };
    const code = await runCli([...base(), "--user", USER, "--quiet"], ctx);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /^Password for student: \n/);
    assert.deepEqual(stdin.rawModes, [true, false]);
    assert.equal(rawAtPrompt, true, "echo must be off before the prompt is shown");
    secretsAbsent(stdout + stderr);
    assert.match(stdout, /^message accepted: 250 /);
  });

  it("reads a non-ASCII password whose bytes arrive split across reads", async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin });
    const bytes = Buffer.from(`${PASSWORD}\r`, "utf8");
    const cut = bytes.indexOf(Buffer.from("ä", "utf8")) + 1; // between the two bytes of "ä"
    let stderr = "";
    const ctx: CliContext = {
      stdout: { write: () => true },
      stderr: {
        write: (s: string) => {
          stderr += s;
          if (s.startsWith("Password for")) {
            setImmediate(() => {
              stdin.write(bytes.subarray(0, cut));
              setImmediate(() => stdin.write(bytes.subarray(cut)));
            });
          }
          return true;
        },
      },
      env: {},
      clock: new FakeClock(),
      signal: new AbortController().signal,
      debug: false,
      onStatusRequest: () => () => {},
      stdin,
    };
    const code = await runCli([...base(), "--user", USER, "--quiet"], ctx);
    assert.equal(code, 0, stderr);
  });

  it("does not echo the password on a real terminal (python3's pty as the terminal)", async (t) => {
    if (spawnSync("python3", ["-c", "import pty"]).status !== 0) {
      t.skip("python3 is not installed (.ci/run installs it)");
      return;
    }
    // The "user" types the password as soon as the prompt appears, as fast as a script can.
    const py = [
      "import os, pty, sys, time",
      "pid, fd = pty.fork()",
      "if pid == 0:",
      "    os.execv(sys.argv[1], sys.argv[1:])",
      "out = b''; sent = False; end = time.time() + 60",
      "while time.time() < end:",
      "    try: data = os.read(fd, 4096)",
      "    except OSError: break",
      "    if not data: break",
      "    out += data",
      "    if not sent and b'Password for' in out:",
      "        os.write(fd, os.environ['PW'].encode() + b'\\r'); sent = True",
      "_, st = os.waitpid(pid, 0)",
      "sys.stdout.write(out.decode('utf-8', 'replace'))",
      "sys.exit(os.waitstatus_to_exitcode(st))",
    ].join("\n");
    const args = ["-c", py, process.execPath, BIN, ...base(), "--user", USER, "--quiet"];
    const env: NodeJS.ProcessEnv = { ...process.env, PW: PASSWORD, NO_COLOR: "1" };
    delete env.WIREKIT_SMTP_PASSWORD;
    const child = spawn("python3", args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
    assert.equal(code, 0, out);
    assert.match(out, /Password for student: /);
    assert.match(out, /message accepted: 250 /);
    secretsAbsent(out);
  });

  it("sends the files given on the command line: text and HTML bodies, an inline image, attachments typed from the MIME table, Cc, and a Bcc kept out of the headers", async () => {
    const png = Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), createRandom(11).bytes(3000)]);
    const csv = Buffer.from("rtt,loss\n0.1,0\n");
    const blob = createRandom(12).bytes(1234);
    const files = { text: join(dir, "body.txt"), html: join(dir, "body.html"), plot: join(dir, "plot.png"), csv: join(dir, "résultats.csv"), blob: join(dir, "data.unknownext") };
    const text = "Hello,\n.\n.starts with a dot\nBye\n";
    const html = '<p>Results:</p><img src="cid:plot.png">';
    await writeFile(files.text, text);
    await writeFile(files.html, html);
    await writeFile(files.plot, png);
    await writeFile(files.csv, csv);
    await writeFile(files.blob, blob);
    const n = peer.received.length;
    const r = await runCliCapture([
      ...base().filter((a, i, all) => a !== "--text" && all[i - 1] !== "--text"),
      "--cc", "Çarol <carol@lab.test>", "--bcc", "archive@lab.test",
      "--text-file", files.text, "--html-file", files.html, "--inline", files.plot, "--attach", files.csv, "--attach", files.blob, "--quiet",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const got = peer.received[n];
    assert.deepEqual(got?.to, ["teacher@lab.test", "carol@lab.test", "archive@lab.test"]);
    assert.ok(!/^bcc:/im.test(got?.raw.toString("latin1") ?? ""), "no Bcc header");
    assert.ok(!(got?.raw.toString("latin1") ?? "").includes("archive@"), "the Bcc address is nowhere in the message");
    const m = await peer.parsed(n);
    assert.equal(m.cc && !Array.isArray(m.cc) ? m.cc.value[0]?.name : undefined, "Çarol");
    assert.equal(m.text?.replace(/\r\n/g, "\n"), text);
    // mailparser resolves cid: links to the part they name: the link points at our image.
    assert.equal(m.html, html.replace("cid:plot.png", `data:image/png;base64,${png.toString("base64")}`));
    const [inline, ...attached] = m.attachments;
    assert.equal(inline?.cid, "plot.png");
    assert.equal(inline?.contentType, "image/png");
    assert.deepEqual(inline?.content, png);
    assert.deepEqual(attached.map((a) => [a.filename, a.contentType, a.contentDisposition]), [
      ["résultats.csv", "text/csv", "attachment"],
      ["data.unknownext", "application/octet-stream", "attachment"],
    ]);
    assert.deepEqual(attached[0]?.content, csv);
    assert.deepEqual(attached[1]?.content, blob);
  });

  it("prints only the outcome with --quiet, listing a refused recipient", async () => {
    const r = await runCliCapture([...base(), "--to", "nobody@lab.test", "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split("\n").filter(Boolean).length, 2);
    assert.match(r.stdout, /^recipient refused: <nobody@lab\.test>: 550 .*No such user$/m);
    assert.match(r.stdout, /^message accepted: 250 .* \(1 of 2 recipients\)$/m);
  });

  it("exits 1 with the server's text when every recipient is refused", async () => {
    const args = base();
    args[args.indexOf("teacher@lab.test")] = "nobody@lab.test";
    const r = await runCliCapture(args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^wirekit: permanent failure after RCPT TO \(every recipient was refused\): 550 .*No such user$/m);
    const json = await runCliCapture([...args, "--json"]);
    assert.equal(json.code, 1);
    const doc = JSON.parse(json.stdout) as { status: string; phase: string; reply: { code: number }; error: { code: string } };
    assert.deepEqual([doc.status, doc.phase, doc.reply.code, doc.error.code], ["permanent-failure", "RCPT TO", 550, "ERR_REJECTED"]);
  });

  it("warns on --insecure and then does not verify the certificate", async () => {
    const args = base().filter((a, i, all) => a !== "--ca" && all[i - 1] !== "--ca");
    const r = await runCliCapture([...args, "--insecure", "--quiet"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: --insecure/);
  });

  it("refuses header injection through --subject with exit 2", async () => {
    const r = await runCliCapture(["mail", "--dry-run", "--from", "a@lab.test", "--to", "b@lab.test", "--subject", "hi\r\nBcc: victim@evil.test"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^wirekit: header injection refused: Subject/);
  });

  it("reports usage errors in one line with exit 2", async () => {
    for (const argv of [
      ["mail", "--to", "b@lab.test", "--dry-run"],
      ["mail", "--from", "a@lab.test", "--dry-run"],
      ["mail", "--from", "a@lab.test", "--to", "b@lab.test"],
      ["mail", "--from", "a@lab.test", "--to", "b@lab.test", "--tls", "--no-tls", "--server", "x"],
      ["mail", "--from", "a@lab.test", "--to", "b@lab.test", "--server", "x", "--auth", "cram-md5", "--user", "u"],
      ["mail", "--from", "a@lab.test", "--to", "b@lab.test", "--dry-run", "--text-file", join(dir, "missing.txt")],
      ["mail", "--from", "a@lab.test", "--to", "b@lab.test", "--server", "x", "--diagram", "out.png"],
    ]) {
      const r = await runCliCapture(argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.equal(r.stderr.split("\n").filter(Boolean).length, 1, r.stderr);
    }
  });
});

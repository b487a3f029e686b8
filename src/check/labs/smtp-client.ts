/**
 * The SMTP mail client lab (assignment 2-3): the dialogue with the server in order, each reply
 * awaited and printed (greeting, HELO/EHLO, AUTH LOGIN with base64 credentials, MAIL FROM,
 * RCPT TO, DATA, the message ended by CRLF.CRLF, QUIT), and, optionally, a message with a text
 * part and an image. The check is the server: wirekit's lab mail sink behind a relay that
 * holds each reply back a little, so a client that does not wait for replies shows. It judges
 * the protocol, not the student's account: any credentials are accepted. With `--starttls` (the
 * optional TLS part, as servers such as smtp.gmail.com:587 ask it) the sink offers STARTTLS with
 * a self-signed certificate made for the run, the relay ends TLS on both sides so the dialogue
 * inside it is still judged, and the check judges whether the client upgraded before AUTH and MAIL.
 */
import { clip, fail, pass, skip, type Requirement, type Verdict } from "../requirement.js";
import { defineLab, studentPrefix, type LabEnv } from "../lab.js";
import { createMailSink } from "../../lab/mail/sink.js";
import type { StoredMessage } from "../../lab/mail/store.js";
import { StudentProcess, type StudentResult } from "../runner.js";
import { TcpTap, type TapUpgradeState } from "../tap.js";
import { makeSelfSigned } from "../self-signed.js";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBase64, parseDialogue, type SmtpCommand, type SmtpDialogue } from "../smtp-transcript.js";

/** How long the relay holds each reply back. */
const REPLY_DELAY_MS = 60;

export interface SmtpClientRecord {
  connected: boolean;
  dialogue: SmtpDialogue;
  /** What the sink accepted. */
  messages: StoredMessage[];
  /** `--starttls`: whether it was offered (or why not), and what became of the upgrade. */
  starttls: { offered: false; why: string } | { offered: true; upgrade?: TapUpgradeState };
  run?: StudentResult;
}

/** The certificate's file in the program's working directory, for a client that verifies it. */
export const CERT_NAME = "wirekit-smtp-cert.pem";

const find = (d: SmtpDialogue, verb: string): SmtpCommand | undefined => d.commands.find((c) => c.verb === verb);
const indexOf = (d: SmtpDialogue, verb: string): number => d.commands.findIndex((c) => c.verb === verb);

function notConnected(r: SmtpClientRecord): Verdict | undefined {
  if (r.run?.spawnError !== undefined) return fail(`could not start: ${r.run.spawnError}`, "check the command line");
  if (!r.connected) return fail(`no connection to the server${r.run?.stderr ? `; stderr: ${clip(r.run.stderr.trim().split("\n").at(-1) ?? "", 80)}` : ""}`, "connect to the mail server given as {host} {port} on the command line");
  return undefined;
}

function command(verb: string, text: string, judgeLine: (c: SmtpCommand, r: SmtpClientRecord) => Verdict, missingHint: string): Requirement<SmtpClientRecord> {
  return {
    id: verb.toLowerCase(),
    text,
    level: "required",
    judge(r) {
      const early = notConnected(r);
      if (early) return early;
      // HELO's requirement says "(or EHLO)": either greeting is the command judged.
      const c = find(r.dialogue, verb) ?? (verb === "HELO" ? find(r.dialogue, "EHLO") : undefined);
      return c === undefined ? fail(`no ${verb} command among: ${clip(r.dialogue.commands.map((x) => x.verb || "…").join(" ") || "(none)", 80)}`, missingHint) : judgeLine(c, r);
    },
  };
}

function replyTo(r: SmtpClientRecord, c: SmtpCommand): string {
  const i = r.dialogue.commands.indexOf(c);
  const reply = r.dialogue.replies[i + 1];
  return reply === undefined ? "no reply" : `${reply.lines.at(-1) ?? ""}`;
}

const ORDER = ["HELO", "AUTH", "MAIL", "RCPT", "DATA", ".", "QUIT"];

const requirements: Requirement<SmtpClientRecord>[] = [
  command(
    "HELO",
    "greets the server with HELO (or EHLO) and a name",
    (c, r) => {
      const first = r.dialogue.commands[0];
      if (first !== c && !(first?.verb === "EHLO")) return fail(`the first command was '${clip(first?.line ?? "", 40)}'`, "send HELO right after the 220 greeting");
      return /^(HELO|EHLO) \S+/i.test(c.line) ? pass(`'${clip(c.line, 40)}' → ${clip(replyTo(r, c), 50)}`) : fail(`'${clip(c.line, 40)}'`, "HELO takes the client's name: 'HELO alice\\r\\n'");
    },
    "send 'HELO name\\r\\n' after the greeting (or EHLO)",
  ),
  command(
    "AUTH",
    "logs in with AUTH LOGIN, user name and password each in base64",
    (c, r) => {
      if (!/^AUTH LOGIN\b/i.test(c.line)) return fail(`'${clip(c.line, 40)}'`, "the lab uses AUTH LOGIN");
      const i = r.dialogue.commands.indexOf(c);
      const inline = c.line.trim().split(/\s+/)[2];
      const creds = [...(inline === undefined ? [] : [inline]), ...r.dialogue.commands.slice(i + 1).filter((x) => x.verb === "").map((x) => x.line.trim())].slice(0, 2);
      if (creds.length < 2) return fail(`${creds.length} credential line(s) after AUTH LOGIN`, "after each 334 send one base64 line: the user name, then the password");
      const bad = creds.find((x) => !isBase64(x));
      if (bad !== undefined) return fail(`'${clip(bad, 30)}' is not base64`, "encode them: base64.b64encode(username.encode()).decode()");
      const last = r.dialogue.commands[i + (inline === undefined ? 2 : 1)];
      const reply = last === undefined ? "no reply" : replyTo(r, last);
      return reply.startsWith("235") ? pass(`AUTH LOGIN + 2 base64 lines → ${clip(reply, 50)}`) : fail(`AUTH LOGIN + 2 base64 lines → ${clip(reply, 50)}`, "wait for each 334 before sending the next line");
    },
    "log in: 'AUTH LOGIN', then the base64 user name and password",
  ),
  command(
    "MAIL",
    "gives the sender with MAIL FROM:<address>",
    (c, r) => (/^MAIL FROM: ?<[^<>\s]*>/i.test(c.line) ? pass(`'${clip(c.line, 50)}' → ${clip(replyTo(r, c), 40)}`) : fail(`'${clip(c.line, 50)}'`, "the address goes in angle brackets: 'MAIL FROM:<alice@example.com>\\r\\n'")),
    "send 'MAIL FROM:<sender>' before RCPT TO",
  ),
  command(
    "RCPT",
    "gives the recipient with RCPT TO:<address>",
    (c, r) => (/^RCPT TO: ?<[^<>\s]+>/i.test(c.line) ? pass(`'${clip(c.line, 50)}' → ${clip(replyTo(r, c), 40)}`) : fail(`'${clip(c.line, 50)}'`, "the address goes in angle brackets: 'RCPT TO:<bob@example.com>\\r\\n'")),
    "send 'RCPT TO:<recipient>' after MAIL FROM",
  ),
  command(
    "DATA",
    "sends DATA, then the message ended by a line with a single dot (\\r\\n.\\r\\n)",
    (c, r) => {
      if (!r.dialogue.dataEnded) return fail(`DATA and ${r.dialogue.data.length} bytes of message, never ended by '\\r\\n.\\r\\n'`, "end the message with endmsg = '\\r\\n.\\r\\n'");
      const dot = find(r.dialogue, ".");
      if (dot !== undefined && !dot.crlf) return fail("the final dot line ended with a bare LF", "the end of the message is exactly \\r\\n.\\r\\n");
      const accepted = r.messages[0];
      return accepted === undefined ? fail(`the server did not accept the message: ${dot === undefined ? "" : replyTo(r, dot)}`, "send the message after the 354 reply") : pass(`message '${clip(accepted.subject || "(no subject)", 40)}' of ${accepted.size} bytes → ${dot === undefined ? "" : clip(replyTo(r, dot), 40)}`);
    },
    "send 'DATA\\r\\n', the message, then '\\r\\n.\\r\\n'",
  ),
  command(
    "QUIT",
    "ends the session with QUIT",
    (c, r) => pass(`'${clip(c.line, 20)}' → ${clip(replyTo(r, c), 40)}`),
    "send 'QUIT\\r\\n' after the message (a QUIT before the final dot is part of the message)",
  ),
  {
    id: "order",
    text: "the commands come in the lab's order: HELO, AUTH, MAIL, RCPT, DATA, message, QUIT",
    level: "required",
    judge(r) {
      const early = notConnected(r);
      if (early) return early;
      const seen = ORDER.map((v) => (v === "HELO" ? Math.max(indexOf(r.dialogue, "HELO"), indexOf(r.dialogue, "EHLO")) : indexOf(r.dialogue, v)));
      const got = r.dialogue.commands.filter((c) => c.verb !== "").map((c) => c.verb).join(" ");
      if (seen.some((i) => i === -1)) return fail(`got: ${clip(got, 80)}`, `missing ${ORDER.filter((_, k) => seen[k] === -1).join(", ")}`);
      const sorted = seen.every((v, k) => k === 0 || v > (seen[k - 1] ?? -1));
      return sorted ? pass(clip(got, 80)) : fail(`got: ${clip(got, 80)}`, "follow the order of the skeleton");
    },
  },
  {
    id: "await",
    text: "waits for the server's reply before each next command",
    level: "required",
    judge(r) {
      const early = notConnected(r);
      if (early) return early;
      if (r.dialogue.commands.length === 0) return fail("no command sent", "send the commands of the dialogue");
      const first = r.dialogue.commands.findIndex((c, i) => c.repliesBefore < i + 1);
      if (first !== -1) {
        const c = r.dialogue.commands[first];
        return fail(`'${clip(c?.line ?? "", 30)}' was sent before the reply to ${first === 0 ? "the connection (the 220 greeting)" : `'${clip(r.dialogue.commands[first - 1]?.line ?? "", 30)}'`}`, "after each sendall, recv the reply before sending the next command");
      }
      if (r.dialogue.dataBefore354) return fail("the message was sent before the 354 reply to DATA", "wait for '354 ...' before sending the message");
      return pass(`${r.dialogue.commands.length} commands, each after the reply to the one before`);
    },
  },
  {
    id: "print",
    text: "prints each reply of the server",
    level: "required",
    judge(r) {
      const early = notConnected(r);
      if (early) return early;
      const out = r.run?.stdout ?? "";
      const missing = r.dialogue.replies.find((x) => !out.includes(x.lines.at(-1) ?? ""));
      if (r.dialogue.replies.length === 0) return fail("the server sent no reply", "");
      return missing === undefined ? pass(`all ${r.dialogue.replies.length} replies, from '${clip(r.dialogue.replies[0]?.lines.at(-1) ?? "", 30)}'`) : fail(`'${clip(missing.lines.at(-1) ?? "", 50)}' was not printed`, "print(recv) after every command, as the skeleton does for AUTH");
    },
  },
  {
    id: "mime",
    text: "(optional task 3) the message has a text part and an image, valid MIME, both intact",
    level: "optional",
    judge(r) {
      const m = r.messages[0];
      if (m === undefined) return fail("no message was accepted", "first get the plain message through");
      const image = m.attachments.find((a) => a.contentType.startsWith("image/"));
      if (image === undefined) return fail(`parts: text${m.attachments.length > 0 ? ", " + m.attachments.map((a) => a.contentType).join(", ") : " only"}`, "send multipart/mixed: a text/plain part and an image/* part in base64");
      if (m.text.trim() === "") return fail(`an ${image.contentType} but no text part`, "add a text/plain part before the image");
      const problem = imageProblem(image.content, image.contentType);
      return problem === undefined ? pass(`text (${m.text.trim().length} chars) + ${image.contentType} '${clip(image.filename, 30)}' (${image.size} bytes, intact)`) : fail(`${image.contentType}: ${problem}`, "base64-encode the image's bytes (open it with 'rb') and wrap lines at 76 characters");
    },
  },
  {
    id: "starttls",
    text: "(optional, --starttls) upgrades with STARTTLS before AUTH and MAIL, then EHLO again inside TLS",
    level: "optional",
    judge(r) {
      if (!r.starttls.offered) return skip(r.starttls.why);
      const early = notConnected(r);
      if (early) return early;
      const d = r.dialogue;
      const st = indexOf(d, "STARTTLS");
      const auth = indexOf(d, "AUTH");
      const mail = indexOf(d, "MAIL");
      const tlsHint = "after EHLO send 'STARTTLS\\r\\n', wait for 220, then wrap the socket (ssl.create_default_context().wrap_socket(sock, server_hostname=host)) and go on over it";
      if (st === -1) return fail(`no STARTTLS among: ${clip(d.commands.filter((c) => c.verb !== "").map((c) => c.verb).join(" ") || "(none)", 60)} (the EHLO reply offered it)`, tlsHint);
      const before = [auth, mail].filter((i) => i !== -1 && i < st);
      if (before.length > 0) return fail(`'${clip(d.commands[before[0] ?? 0]?.line ?? "", 30)}' went in plaintext before STARTTLS`, "upgrade first: STARTTLS right after EHLO, before AUTH LOGIN and MAIL FROM");
      const u = r.starttls.upgrade;
      if (u === undefined) return fail(`STARTTLS → ${clip(replyTo(r, d.commands[st] as SmtpCommand), 40)}; no TLS`, "send 'STARTTLS' on its own line after EHLO (it needs EHLO, not HELO)");
      if (u.plaintext !== undefined) return fail(`after the 220 the client sent '${clip(u.plaintext.trim(), 30)}' in plaintext, no TLS handshake`, tlsHint);
      if (u.secureAt === undefined) return fail(`the TLS handshake failed: ${clip(u.error ?? "the client closed", 60)}`, `the certificate is self-signed for 127.0.0.1: trust ${CERT_NAME} (context.load_verify_locations('${CERT_NAME}')) or, for the lab only, turn verification off`);
      const secureAt = u.secureAt;
      const inside = d.commands.filter((c) => c.at >= secureAt && c.verb !== "");
      if (inside[0] === undefined) return fail(`${u.protocol ?? "TLS"} handshake, then no command`, "go on with EHLO, AUTH LOGIN, MAIL FROM ... over the TLS socket");
      if (inside[0].verb !== "EHLO" && inside[0].verb !== "HELO") return fail(`${u.protocol ?? "TLS"} handshake, then '${clip(inside[0].line, 30)}' without a new EHLO`, "send EHLO again after the handshake (RFC 3207 §4.2: the server forgets what it learned before TLS)");
      const missing = ["AUTH", "MAIL"].filter((v) => !inside.some((c) => c.verb === v));
      if (missing.length > 0) return fail(`${u.protocol ?? "TLS"} handshake, but no ${missing.join(" or ")} inside TLS`, "send AUTH LOGIN and MAIL FROM over the TLS socket");
      return pass(`STARTTLS → 220, ${u.protocol ?? "TLS"} handshake, then ${clip(inside.map((c) => c.verb).join(" "), 50)} inside TLS`);
    },
  },
];

/** Why image bytes are not a whole PNG/JPEG/GIF, or undefined when they look whole. */
export function imageProblem(b: Uint8Array, type: string): string | undefined {
  const buf = Buffer.from(b);
  if (type === "image/png") {
    if (!buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "no PNG signature";
    return buf.subarray(-8, -4).toString("latin1") === "IEND" ? undefined : "the PNG is cut short (no IEND chunk at the end)";
  }
  if (type === "image/jpeg") return buf[0] === 0xff && buf[1] === 0xd8 && buf.at(-2) === 0xff && buf.at(-1) === 0xd9 ? undefined : "not a whole JPEG (SOI ... EOI)";
  if (type === "image/gif") return buf.subarray(0, 3).toString("latin1") === "GIF" && buf.at(-1) === 0x3b ? undefined : "not a whole GIF";
  return buf.length > 0 ? undefined : "empty";
}

/** The options this lab reads from the command line. */
export interface SmtpClientOptions {
  /** `--starttls`: offer STARTTLS and judge the upgrade. @default false */
  starttls?: boolean;
}

export function createSmtpClientLab(options: SmtpClientOptions = {}) {
  return defineLab<SmtpClientRecord>({
    name: "smtp-client",
    summary: "SMTP client lab: HELO, AUTH LOGIN, MAIL, RCPT, DATA, final dot, QUIT, each reply awaited and printed; STARTTLS with --starttls",
    role: "client",
    example: "wirekit check smtp-client -- python3 MailClient.py {host} {port}",
    defaultTimeoutMs: 10_000,
    netns: true,
    requirements,
    async collect(env: LabEnv) {
      let starttls: SmtpClientRecord["starttls"] = { offered: false, why: "not asked (run with --starttls to offer STARTTLS)" };
      let tls: { key: Buffer; cert: Buffer } | undefined;
      const certDir = options.starttls === true ? await mkdtemp(join(tmpdir(), "wirekit-check-smtp-")) : undefined;
      if (certDir !== undefined) {
        try {
          const made = await makeSelfSigned(certDir, "wirekit-smtp");
          await copyFile(made.certPath, join(env.workdir, CERT_NAME));
          tls = { key: made.key, cert: made.cert };
          starttls = { offered: true };
        } catch (err) {
          starttls = { offered: false, why: `STARTTLS not offered: ${err instanceof Error ? err.message : String(err)}` };
        }
      }
      const sink = await createMailSink({ host: "127.0.0.1", port: 0, keep: 5, ...(tls === undefined ? {} : { tls }) });
      const tap = await new TcpTap({ targetPort: sink.port, replyDelayMs: REPLY_DELAY_MS, ...(tls === undefined ? {} : { upgrade: { request: /^STARTTLS\r?\n$/i, ready: /^220[ -]/, ...tls } }) }).listen();
      try {
        const run = await new StudentProcess({ command: env.command, prefix: await studentPrefix(env, tap.port), vars: { host: "127.0.0.1", port: String(tap.port), dir: env.dir }, cwd: env.workdir, timeoutMs: env.timeoutMs }).done;
        // The sink parses a message after its final dot; give it a moment.
        await new Promise((r) => setTimeout(r, 50));
        const conn = tap.connections[0];
        const dialogue = parseDialogue(conn?.chunks ?? []);
        if (starttls.offered) starttls = { offered: true, ...(conn?.upgrade === undefined ? {} : { upgrade: conn.upgrade }) };
        return { record: { connected: conn !== undefined, dialogue, messages: sink.store.list(), starttls, run }, runs: [run] };
      } finally {
        await tap.close();
        await sink.close();
        if (certDir !== undefined) await rm(certDir, { recursive: true, force: true });
      }
    },
  });
}

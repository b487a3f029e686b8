/** `wirekit mail --server HOST[:PORT] ...`: parse, build the message, send it, print the dialogue. */
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { lookup as mimeLookup } from "mime-types";
import { formatHostPort, parseHostPort } from "../core/address.js";
import { fromSystemError, usageError } from "../core/errors.js";
import { createRandom, secureRandom } from "../core/random.js";
import { mailJson, printable, renderMailOutcome, smtpLadder } from "../render/smtp.js";
import { diagramFormat, writeDiagram } from "./diagram.js";
import { openTcpCapture } from "./pcap.js";
import type { TcpCapture } from "../render/pcap.js";

type TransportValues = ReturnType<typeof parseForm<typeof transportForm.options>>["values"];
import type { AuthMechanism, TlsMode } from "../smtp/dialogue.js";
import { parseMailbox, type Mailbox } from "../smtp/mime/address.js";
import { buildMessage, type MessageFile } from "../smtp/mime/message.js";
import { sendMail } from "../smtp/session.js";
import { transcriptLines } from "../smtp/transcript.js";
import { parseForm } from "./spec.js";
import { mailSpec, transportForm } from "./specs/mail.js";
import type { CliContext } from "./context.js";
import { readSecret } from "./prompt.js";

export const spec = mailSpec;

const NO_PASSWORD_ON_COMMAND_LINE = "a password is never taken on the command line (ps and shell history show it): set WIREKIT_SMTP_PASSWORD or type it at the prompt";

export async function run(argv: string[], ctx: CliContext): Promise<number> {
  // Any spelling of a password option gets the explanation (and never an echo of its value).
  if (argv.some((a) => /^--?(pass|password|passwd|pw|pwd|secret)(=|$)/i.test(a))) throw usageError(NO_PASSWORD_ON_COMMAND_LINE);
  const { values, given } = parseForm(transportForm, argv);
  // "user:password@host" or a URL would put the secret in argv and in a DNS query for the "host".
  if (values.server !== undefined && /[@/]/.test(values.server)) {
    throw usageError(`--server takes HOST[:PORT], not a URL or user@host; ${NO_PASSWORD_ON_COMMAND_LINE.replace(/^a password/, "the password")}`);
  }
  if ([values.tls, values.starttls, values["no-tls"]].filter(Boolean).length > 1) throw usageError("--tls, --starttls and --no-tls exclude each other");
  if (values.ipv4 && values.ipv6) throw usageError("-4 and -6 cannot be used together");
  if (values.text !== undefined && values["text-file"] !== undefined) throw usageError("--text and --text-file exclude each other");
  if (values.from === undefined) throw usageError("missing --from ADDR (see --help)");
  const from = parseMailbox(values.from, "--from");
  const to = values.to.map((a) => parseMailbox(a, "--to"));
  const cc = values.cc.map((a) => parseMailbox(a, "--cc"));
  const bcc = values.bcc.map((a) => parseMailbox(a, "--bcc"));
  if (to.length + cc.length + bcc.length === 0) throw usageError("missing --to ADDR (see --help)");
  const mechanism = parseMechanism(values.auth);
  if (values.diagram !== undefined) diagramFormat(values.diagram);
  const tlsMode: TlsMode = values.tls ? "implicit" : values.starttls ? "starttls" : values["no-tls"] ? "none" : "auto";

  const random = values.seed === undefined ? secureRandom : createRandom(values.seed);
  const text = values["text-file"] !== undefined ? await readText(values["text-file"], ctx) : values.text;
  const html = values["html-file"] !== undefined ? await readText(values["html-file"], ctx) : undefined;
  const built = buildMessage({
    from,
    to,
    cc,
    subject: values.subject ?? "",
    ...(text === undefined ? {} : { text }),
    ...(html === undefined ? {} : { html }),
    attachments: await Promise.all(values.attach.map(readAttachment)),
    inline: await Promise.all(values.inline.map(readAttachment)),
    headers: values.header.map(parseHeaderOption),
    date: ctx.clock.now(),
    random,
  });

  if (values["dry-run"]) {
    const shown = built.bytes.toString("latin1").replace(/\r\n/g, "\n");
    ctx.stdout.write(shown.endsWith("\n") ? shown : `${shown}\n`);
    ctx.stderr.write(`dry run: envelope from <${from.address}> to ${envelope(to, cc, bcc).map((a) => `<${a}>`).join(", ")}; nothing sent\n`);
    return 0;
  }

  if (values.server === undefined) throw usageError("missing --server HOST[:PORT] (see --help)");
  const server = parseHostPort(values.server, tlsMode === "implicit" ? 465 : 587);
  if (values.insecure) ctx.stderr.write("wirekit: warning: --insecure: the server's certificate is not verified; anyone on the path can read the password and the message\n");
  const ca = values.ca === undefined ? undefined : await readFile(values.ca).catch((e: unknown) => Promise.reject(fromSystemError(e, `--ca ${values.ca}`)));
  let auth: { user: string; password: string; mechanism?: AuthMechanism } | undefined;
  if (values.user !== undefined) {
    const password = await obtainPassword(values.user, ctx);
    auth = mechanism === undefined ? { user: values.user, password } : { user: values.user, password, mechanism };
  } else if (mechanism !== undefined) {
    throw usageError("--auth needs --user NAME");
  }

  if (values.pcap !== undefined && tlsMode === "implicit") throw usageError("--pcap: with --tls the whole session is encrypted on the wire; capture a --starttls or --no-tls session");
  const pcap = values.pcap === undefined ? undefined : openTcpCapture(values.pcap, ctx, "mail");
  try {
    return await send(values, server, built.messageId, tlsMode, from.address, envelope(to, cc, bcc), built.bytes, auth, ca, given, ctx, pcap);
  } finally {
    pcap?.close();
  }
}

async function send(
  values: TransportValues,
  server: { host: string; port: number },
  messageId: string,
  tlsMode: TlsMode,
  fromAddress: string,
  recipients: string[],
  message: Buffer,
  auth: { user: string; password: string; mechanism?: AuthMechanism } | undefined,
  ca: Buffer | undefined,
  given: ReadonlySet<string>,
  ctx: CliContext,
  pcap: { capture: TcpCapture } | undefined,
): Promise<number> {
  const live = values.quiet !== true && values.json !== true;
  const result = await sendMail({
    ...(pcap === undefined ? {} : { tap: pcap.capture }),
    host: server.host,
    port: server.port,
    tls: tlsMode,
    from: fromAddress,
    recipients,
    message,
    allowPlainAuth: values["allow-plain-auth"] === true,
    pipelining: values.pipelining === true,
    insecure: values.insecure === true,
    timeoutMs: values.timeout,
    // An explicit --timeout bounds every wait, the final dot's too; --data-timeout overrides that one.
    dataTimeoutMs: values["data-timeout"] ?? (given.has("timeout") ? values.timeout : 600_000),
    clock: ctx.clock,
    signal: ctx.signal,
    ...(auth === undefined ? {} : { auth }),
    ...(ca === undefined ? {} : { ca }),
    ...(values.ehlo === undefined ? {} : { clientName: checkEhlo(values.ehlo) }),
    ...(values.ipv4 ? { family: 4 as const } : values.ipv6 ? { family: 6 as const } : {}),
    ...(live ? { onEntry: (e) => ctx.stdout.write(transcriptLines(e).map((l) => `${printable(l)}\n`).join("")) } : {}),
  });

  // Name the server even when the connection failed and the transcript has no connect entry.
  if (values.diagram !== undefined) await writeDiagram(values.diagram, smtpLadder(result.transcript, { server: `server ${formatHostPort(server.host, server.port)}` }), ctx);
  if (values.json) ctx.stdout.write(`${JSON.stringify(mailJson(result, server, messageId), null, 2)}\n`);
  else ctx.stdout.write(renderMailOutcome(result));
  if (result.error !== undefined) {
    ctx.stderr.write(`wirekit: ${printable(result.error.message)}\n`);
    return result.error.exitCode;
  }
  return 0;
}

function envelope(...lists: Mailbox[][]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const m of lists.flat()) {
    const key = m.address.toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(m.address);
    }
  }
  return out;
}

function parseMechanism(v: string | undefined): AuthMechanism | undefined {
  if (v === undefined) return undefined;
  const m = v.toUpperCase();
  if (m !== "PLAIN" && m !== "LOGIN") throw usageError(`invalid --auth '${v}' (must be plain or login)`);
  return m;
}

function checkEhlo(name: string): string {
  if (!/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.IPv]+\])$/.test(name)) throw usageError(`invalid --ehlo '${name}' (a domain name or [address literal])`);
  return name;
}

function parseHeaderOption(h: string): [string, string] {
  const i = h.indexOf(":");
  if (i <= 0) throw usageError(`invalid --header '${h}' (expected "Name: value")`);
  const name = h.slice(0, i).trim();
  const reserved = ["date", "message-id", "from", "to", "cc", "bcc", "subject", "mime-version", "content-type", "content-transfer-encoding"];
  if (reserved.includes(name.toLowerCase())) throw usageError(`--header cannot set ${name} (use its own option)`);
  return [name, h.slice(i + 1).trim()];
}

async function readText(path: string, ctx: CliContext): Promise<string> {
  if (path === "-") {
    if (ctx.stdin === undefined) throw usageError("no standard input to read the body from");
    const chunks: Buffer[] = [];
    for await (const c of ctx.stdin) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw fromSystemError(e, `read ${path}`);
  }
}

async function readAttachment(path: string): Promise<MessageFile> {
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch (e) {
    throw fromSystemError(e, `read ${path}`);
  }
  const type = mimeLookup(extname(path) || basename(path));
  return { filename: basename(path), content, contentType: type === false ? "application/octet-stream" : type };
}

async function obtainPassword(user: string, ctx: CliContext): Promise<string> {
  const env = ctx.env.WIREKIT_SMTP_PASSWORD;
  if (env !== undefined && env !== "") return env;
  const stdin = ctx.stdin;
  if (stdin === undefined || stdin.isTTY !== true || typeof stdin.setRawMode !== "function") {
    throw usageError(`--user ${user} needs a password: set WIREKIT_SMTP_PASSWORD (no terminal to prompt on)`);
  }
  return readSecret(stdin, ctx.stderr, `Password for ${user}: `, ctx.signal);
}

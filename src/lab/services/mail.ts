/**
 * The mail sink as a lab service. Snapshot shape:
 * `{ messages: Array<{ id, at, from, to, subject, attachments: Array<{ filename, contentType, size }> }> }`
 * (newest first). Dashboard routes under `/service/mail/`:
 * `messages/<id>` (JSON: headers, text, HTML source, attachment list) and
 * `messages/<id>/attachments/<n>` (the attachment, as a download).
 */
import { formatHostPort } from "../../core/address.js";
import { systemClock } from "../../core/clock.js";
import { createRandom } from "../../core/random.js";
import { buildMessage } from "../../smtp/mime/message.js";
import { sendMail } from "../../smtp/session.js";
import { createMailSink, type MailSink } from "../mail/sink.js";
import { summarize } from "../mail/store.js";
import { serviceFromServer, tcpImpairment, type LabHttpResponse, type LabService } from "../service.js";
import { renderMailSinkEvent } from "../../render/mail-sink.js";
import { renderMailOutcome } from "../../render/smtp.js";
import { describeImpairment } from "../../core/impair.js";

/** Messages listed in the snapshot (the store may keep more; each opens by id). */
const LISTED = 50;

function json(value: unknown): LabHttpResponse {
  return { status: 200, contentType: "application/json; charset=utf-8", body: JSON.stringify(value) };
}

/** A filename safe inside a quoted Content-Disposition parameter (RFC 6266), plus its UTF-8 form. */
function disposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/**
 * Answer a dashboard route of the sink (`messages/<id>[/attachments/<n>]`); undefined = 404.
 *
 * @example
 * const r = mailRoute(sink, "messages/1/attachments/0"); // the first attachment of message 1
 */
export function mailRoute(sink: MailSink, path: string): LabHttpResponse | undefined {
  const m = /^messages\/(\d+)(?:\/attachments\/(\d+))?$/.exec(path);
  if (!m) return undefined;
  const message = sink.store.get(m[1] ?? "");
  if (!message) return undefined;
  if (m[2] === undefined) {
    return json({ ...summarize(message), text: message.text, html: message.html, envelope: message.envelope, size: message.size });
  }
  const a = message.attachments[Number(m[2])];
  if (!a) return undefined;
  return {
    status: 200,
    contentType: /^[\w.+-]+\/[\w.+-]+$/.test(a.contentType) ? a.contentType : "application/octet-stream",
    body: a.content,
    // Downloads only: an attached HTML file must never run in the dashboard's origin.
    headers: { "Content-Disposition": disposition(a.filename), "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox" },
  };
}

export const mailService: LabService = {
  name: "mail",
  description: "SMTP mail sink: accepts every message, shows it on the dashboard",
  defaultPort: 2525,
  impairable: true,
  checkImpairment: (impair) => void tcpImpairment("mail", impair),
  async start({ host, port, impair }) {
    const impairment = tcpImpairment("mail", impair);
    const sink = await createMailSink({ host, port, ...impairment });
    return serviceFromServer({
      name: "mail",
      server: sink,
      transport: "tcp",
      impairment: describeImpairment(impairment),
      clientCommand: `wirekit mail --server ${formatHostPort(sink.address, sink.port)} --from me@lab --to you@lab --text hi`,
      totals: () => ({ ...sink.totals() }),
      gauges: ["stored"],
      snapshot: () => ({ messages: sink.store.list().slice(0, LISTED).map(summarize) }),
      feed: {
        render: renderMailSinkEvent,
        at: (e) => (e.kind === "message" ? e.message.at : e.at),
        data: (e) => (e.kind === "message" ? { ...e.message } : { reason: e.reason, from: e.from }),
      },
      route: (path) => mailRoute(sink, path),
      close: async () => {
        await sink.close();
      },
    });
  },
  async demo({ address, port, signal }) {
    // The project's own SMTP client against the sink: a text message with a small attachment.
    const message = buildMessage({
      from: { name: "wirekit demo", address: "demo@lab.test" },
      to: [{ address: "student@lab.test" }],
      subject: "Hello from wirekit lab --demo",
      text: "This message was sent by wirekit's own SMTP client.\n",
      attachments: [{ filename: "hello.txt", content: Buffer.from("attached by the demo\n"), contentType: "text/plain" }],
      date: systemClock.now(),
      random: createRandom(),
    });
    const r = await sendMail({ host: address, port, tls: "none", from: "demo@lab.test", recipients: ["student@lab.test"], message: message.bytes, timeoutMs: 10_000, signal });
    if (r.error) throw r.error;
    const line = renderMailOutcome(r).trimEnd();
    if (r.outcome.status !== "accepted") throw new Error(line || `message not accepted (${r.outcome.status})`);
    return line;
  },
};

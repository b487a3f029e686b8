/**
 * A raw SMTP client for tests (RFC 5321): one line at a time over node:net, so the tests
 * exercise the sink without any SMTP library of ours or anyone else's on the client side.
 */
import { connect, type Socket } from "node:net";

/** Read one complete (possibly multi-line) reply: lines until "NNN " (RFC 5321 §4.2.1). */
function replyReader(sock: Socket): () => Promise<string> {
  let buf = "";
  let waiting: ((s: string) => void) | undefined;
  let failed: Error | undefined;
  const tryTake = (): void => {
    if (!waiting) return;
    const lines = buf.split("\r\n");
    for (let i = 0; i < lines.length - 1; i++) {
      if (/^\d{3} /.test(lines[i] ?? "")) {
        const reply = lines.slice(0, i + 1).join("\n");
        buf = lines.slice(i + 1).join("\r\n");
        const w = waiting;
        waiting = undefined;
        w(reply);
        return;
      }
    }
  };
  sock.setEncoding("utf8");
  sock.on("data", (d: string) => {
    buf += d;
    tryTake();
  });
  sock.on("error", (e) => (failed = e));
  return () =>
    new Promise((resolve, reject) => {
      if (failed) reject(failed);
      waiting = resolve;
      tryTake();
    });
}

export interface RawMail {
  from: string;
  to: string;
  /** The message (headers + body) with CRLF line ends; dot-stuffed here. */
  data: string;
}

/** Send one message; resolves to every reply of the dialogue, in order. */
export async function sendRawMail(host: string, port: number, mail: RawMail): Promise<string[]> {
  const sock = connect({ host, port });
  await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
  const next = replyReader(sock);
  const replies: string[] = [await next()];
  const say = async (line: string): Promise<string> => {
    sock.write(`${line}\r\n`);
    const r = await next();
    replies.push(r);
    return r;
  };
  await say("EHLO test.local");
  await say(`MAIL FROM:<${mail.from}>`);
  await say(`RCPT TO:<${mail.to}>`);
  await say("DATA");
  const body = mail.data.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
  await say(`${body}${body.endsWith("\r\n") ? "" : "\r\n"}.`);
  await say("QUIT");
  sock.end();
  return replies;
}

/** A multipart message with one text part and one attachment (base64). */
export function mailWithAttachment(subject: string, text: string, filename: string, content: Buffer): string {
  const b64 = content.toString("base64").replace(/.{1,76}/g, "$&\r\n");
  return [
    "From: Ada <ada@lab.test>",
    "To: Bob <bob@lab.test>",
    `Subject: ${subject}`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain; charset=utf-8",
    "",
    text,
    "--b1",
    `Content-Type: application/octet-stream; name="${filename}"`,
    `Content-Disposition: attachment; filename="${filename}"`,
    "Content-Transfer-Encoding: base64",
    "",
    b64 + "--b1--",
    "",
  ].join("\r\n");
}

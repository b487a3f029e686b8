/** The spec of `wirekit mail`, the SMTP client. */
import { defineCommand, defineForm } from "../spec.js";
import { diagram, ipv4, ipv6, json, pcap } from "./common.js";

const str = (value: string, help: string) => ({ type: "string", value, help }) as const;
const list = (value: string, help: string) => ({ type: "list", value, help }) as const;
const file = (value: string, help: string) => ({ type: "string", value, help, complete: "file" }) as const;
const flag = (help: string) => ({ type: "boolean", help }) as const;

export const transportForm = defineForm({
  title: "Options",
  usage: [
    "--server HOST[:PORT] [--tls | --starttls | --no-tls] --from ADDR --to ADDR [--to ...]",
    "             [--cc ADDR ...] [--bcc ADDR ...] [--subject S] [--text S | --text-file F] [--html-file F]",
    "             [--attach FILE ...] [--inline FILE ...] [--user NAME] [--auth plain|login]",
    "             [--diagram OUT.svg|OUT.mmd|OUT.txt] [--pcap FILE] [--dry-run] [--quiet] [--json]",
  ],
  positionals: [],
  options: {
    server: { type: "string", value: "HOST[:PORT]", complete: "host", help: "the mail server (port 465 with --tls, else 587)" },
    tls: flag("TLS from the first byte (SMTPS)"),
    starttls: flag("plain connection upgraded with STARTTLS; fail if the server does not offer it"),
    "no-tls": flag("never use TLS (default: STARTTLS when the server offers it)"),
    ca: file("FILE", "trust this CA certificate (PEM) in addition to the bundled CA store"),
    insecure: flag("do not verify the server's certificate (prints a warning)"),
    timeout: { type: "duration", value: "T", default: "30s", min: 1, help: "timeout for connecting and for each reply (given, it also bounds the reply to the final dot)" },
    "data-timeout": { type: "duration", value: "T", min: 1, help: "timeout for the reply to the final dot (default 10m, RFC 5321 4.5.3.2.6; --timeout when that is given)" },
    ehlo: str("NAME", "name to send in EHLO/HELO (default: this host's name)"),
    pipelining: flag("send MAIL, RCPT and DATA in one batch when the server offers PIPELINING"),
    ipv4,
    ipv6,
    user: { type: "string", value: "NAME", help: "log in as NAME; the password comes from WIREKIT_SMTP_PASSWORD or a prompt that does not echo (never from the command line)" },
    auth: { type: "string", value: "plain|login", complete: ["plain", "login"], help: "the SASL mechanism (default: PLAIN if offered, else LOGIN)" },
    "allow-plain-auth": flag("allow AUTH on a connection without TLS"),
    from: str("ADDR", 'sender, "user@example.com" or "Name <user@example.com>"'),
    to: list("ADDR", "recipient (repeatable)"),
    cc: list("ADDR", "copy recipient (repeatable)"),
    bcc: list("ADDR", "blind copy recipient (repeatable; never written in the headers)"),
    subject: str("S", "subject (non-ASCII is encoded per RFC 2047)"),
    text: str("S", "plain-text body (UTF-8)"),
    "text-file": file("F", "plain-text body from a file (UTF-8; - reads standard input)"),
    "html-file": file("F", "HTML body (with a text body: multipart/alternative)"),
    attach: { type: "list", value: "FILE", complete: "file", help: "attach a file (repeatable; type from its extension)" },
    inline: { type: "list", value: "FILE", complete: "file", help: 'an image for the HTML body, referenced as <img src="cid:NAME"> (repeatable)' },
    header: list('"N: V"', "an extra header (repeatable)"),
    seed: { type: "integer", value: "N", min: 0, max: 2 ** 32 - 1, help: "seed for MIME boundaries and the Message-ID (reproducible output)" },
    "dry-run": flag("print the message that would be sent and exit; no network"),
    diagram,
    pcap: { ...pcap, help: "write the plaintext part of the session as pcapng (TCP segments Wireshark reassembles; up to STARTTLS; the AUTH secret overwritten with *)" },
    quiet: { type: "boolean", short: "q", help: "print only the outcome" },
    json: json("one JSON document: outcome, recipients and the full transcript"),
  },
});

export const mailSpec = defineCommand({
  name: "mail",
  summary: "SMTP mail client: TLS, AUTH, MIME attachments, sequence diagram",
  title: "the SMTP mail client lab: speaks SMTP itself and shows every command and reply",
  forms: [transportForm],
  notes: "A password is never taken on the command line: set WIREKIT_SMTP_PASSWORD or type it at the prompt.",
  examples: [
    'wirekit mail --server 127.0.0.1:2525 --no-tls --from me@lab.test --to you@lab.test --subject Hi --text "Hello"',
    "WIREKIT_SMTP_PASSWORD=app-password wirekit mail --server smtp.example.edu --starttls --user me --from me@example.edu --to you@example.com --subject Report --text-file body.txt --attach plot.png --diagram smtp.svg",
  ],
});

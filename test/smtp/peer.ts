/**
 * Test peers for the SMTP client: a real, independent server (npm smtp-server, from the
 * nodemailer project) configured per test, a certificate generated per run (npm selfsigned), and
 * scripted raw TCP servers for hostile behaviour that no well-behaved server shows.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from "smtp-server";
import { simpleParser, type ParsedMail } from "mailparser";

export interface TestCert {
  key: string;
  cert: string;
}

let certPromise: Promise<TestCert> | undefined;

/** A self-signed certificate for 127.0.0.1 and localhost, made once per test process. */
export function testCert(): Promise<TestCert> {
  certPromise ??= generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] },
    ],
  }).then((r) => ({ key: r.private, cert: r.cert }));
  return certPromise;
}

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  user?: string;
  secure: boolean;
}

export interface SmtpPeer {
  port: number;
  received: Received[];
  /** Parse the n-th received message with mailparser. */
  parsed(n?: number): Promise<ParsedMail>;
  close(): Promise<void>;
}

export const USER = "student";
export const PASSWORD = "s3cr3t-Pässword!";

/** Start smtp-server on 127.0.0.1:0. `opts` are merged over a quiet default that checks USER/PASSWORD. */
export async function startSmtpPeer(opts: Partial<SMTPServerOptions> = {}): Promise<SmtpPeer> {
  const received: Received[] = [];
  const { key, cert } = await testCert();
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    key,
    cert,
    authMethods: ["PLAIN", "LOGIN"],
    authOptional: true,
    onAuth(auth, _session, cb) {
      if (auth.username === USER && auth.password === PASSWORD) cb(null, { user: USER });
      else cb(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onData(stream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const r: Received = {
          from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((x) => x.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
        };
        if (typeof session.user === "string") r.user = session.user;
        received.push(r);
        cb(null, "Ok: queued as TEST1");
      });
    },
    ...opts,
  });
  await new Promise<void>((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  // The library keeps its net.Server in `.server` (typed loosely).
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return {
    port,
    received,
    parsed: (n = 0) => {
      const r = received[n];
      if (r === undefined) throw new Error(`no message #${n} received`);
      return simpleParser(r.raw);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A raw TCP server whose per-connection behaviour is a script. */
export interface ScriptedPeer {
  port: number;
  close(): Promise<void>;
}

export async function startScriptedPeer(onConnection: (socket: Socket) => void): Promise<ScriptedPeer> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Read lines from a socket: `next()` resolves with the next line (without CRLF). */
export function lineReader(socket: Socket): { next(): Promise<string> } {
  let buf = "";
  const lines: string[] = [];
  let waiter: ((l: string) => void) | undefined;
  const onData = (d: Buffer): void => {
    buf += d.toString("latin1");
    let i: number;
    while ((i = buf.indexOf("\r\n")) !== -1) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
    if (waiter && lines.length > 0) {
      const w = waiter;
      waiter = undefined;
      w(lines.shift() as string);
    }
  };
  socket.on("data", onData);
  return {
    next: () =>
      new Promise<string>((resolve) => {
        const l = lines.shift();
        if (l !== undefined) resolve(l);
        else waiter = resolve;
      }),
  };
}

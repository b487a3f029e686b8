/**
 * The SMTP client dialogue as a pure state machine (RFC 5321 §3–4): greeting, EHLO (HELO when
 * EHLO is refused, §3.2), STARTTLS and EHLO again (RFC 3207 §4.2: forget what was learned before
 * TLS), AUTH PLAIN (RFC 4616) or LOGIN (draft-murchison-sasl-login) per RFC 4954, MAIL FROM with
 * SIZE= (RFC 1870) — optionally pipelined with the RCPTs and DATA (RFC 2920) —, one RCPT TO per recipient (a refused recipient is reported, the rest still get
 * the message, §3.3), DATA, the message, QUIT. Replies go in, actions come out; no sockets, no time.
 * Secrets never appear in the `display` text of an action.
 */
import type { ErrorCode } from "../core/errors.js";
import { authMechanisms, hasCapability, noCapabilities, parseCapabilities, sizeLimit, type Capabilities } from "./capabilities.js";
import { formatReply, replyClass, type SmtpReply } from "./reply.js";

/** How to protect the connection. */
export type TlsMode = "implicit" | "starttls" | "auto" | "none";
export type AuthMechanism = "PLAIN" | "LOGIN";

export interface DialogueOptions {
  /** Our name in EHLO/HELO. */
  clientName: string;
  /** implicit: TLS from the first byte; starttls: required; auto: STARTTLS when offered; none: never. */
  tls: TlsMode;
  /** Allow AUTH over a connection without TLS. @default false */
  allowPlainAuth?: boolean;
  auth?: { user: string; password: string; mechanism?: AuthMechanism };
  /** Envelope sender (ASCII address). */
  from: string;
  /** Envelope recipients (To, Cc and Bcc). */
  recipients: string[];
  /** Send MAIL, RCPT and DATA in one batch when the server offers PIPELINING. @default false */
  pipelining?: boolean;
  /** Size of the message in octets, for SIZE= and the server's limit. */
  messageSize: number;
}

/** The command a reply is awaited for (what a timeout message names). */
export type Phase = "greeting" | "EHLO" | "HELO" | "STARTTLS" | "AUTH" | "MAIL FROM" | "RCPT TO" | "DATA" | "end of data" | "QUIT" | "done";

/** What the driver must do next. */
export type DialogueAction =
  | { kind: "send"; line: string; display: string }
  /** Several commands written at once (PIPELINING); their replies arrive one by one. */
  | { kind: "send-batch"; lines: Array<{ line: string; display: string }> }
  /** Nothing to send: read the next reply (the rest of a pipelined batch). */
  | { kind: "wait" }
  | { kind: "upgrade-tls" }
  | { kind: "send-message" }
  | { kind: "close" };

export interface RecipientResult {
  address: string;
  accepted: boolean;
  reply?: SmtpReply;
}

export type OutcomeStatus = "accepted" | "temporary-failure" | "permanent-failure" | "failed";

/** How the exchange ended. */
export interface DialogueOutcome {
  status: OutcomeStatus;
  /** The reply that decided the outcome (250 after the message, or the refusal). */
  reply?: SmtpReply;
  /** The command the deciding reply answered. */
  phase?: Phase;
  error?: { code: ErrorCode; message: string };
  recipients: RecipientResult[];
  tls: boolean;
  authMechanism?: AuthMechanism;
  capabilities?: Capabilities;
}

const MASK = "********";

/**
 * Drive one mail transaction. The driver calls `onReply` with each reply and performs the returned
 * action; after `upgrade-tls` it calls `onTlsEstablished`, after `send-message` `onMessageSent`.
 *
 * @example
 * const d = new SmtpDialogue({ clientName: "me.test", tls: "none", from: "a@x.test", recipients: ["b@x.test"], messageSize: 10 });
 * d.onReply({ code: 220, lines: ["mx ready"], raw: [] }) // { kind: "send", line: "EHLO me.test", display: "EHLO me.test" }
 */
export class SmtpDialogue {
  #o: DialogueOptions;
  #phase: Phase = "greeting";
  #secure: boolean;
  #caps: Capabilities | undefined;
  #rcptIndex = 0;
  #recipients: RecipientResult[] = [];
  #authStep = 0;
  #mechanism: AuthMechanism | undefined;
  #outcome: DialogueOutcome | undefined;
  #failed: Omit<DialogueOutcome, "recipients" | "tls"> | undefined;
  #batch = false;
  #batchFailure: Omit<DialogueOutcome, "recipients" | "tls"> | undefined;

  constructor(options: DialogueOptions) {
    this.#o = options;
    this.#secure = options.tls === "implicit";
  }

  /** The command whose reply is awaited. */
  get phase(): Phase {
    return this.#phase;
  }

  /** True once the connection is protected by TLS. */
  get secure(): boolean {
    return this.#secure;
  }

  /** The outcome, once the dialogue is done (or failed). */
  get outcome(): DialogueOutcome | undefined {
    return this.#outcome;
  }

  /** Handle the next complete reply from the server. */
  onReply(r: SmtpReply): DialogueAction {
    if (this.#phase === "QUIT" || this.#phase === "done") return this.#finish();
    // 421: the server is closing the channel (RFC 5321 §3.8); no QUIT.
    if (r.code === 421) return this.#fail(r, "ERR_REJECTED", false);
    switch (this.#phase) {
      case "greeting":
        if (r.code !== 220) return this.#fail(r, r.code >= 400 ? "ERR_REJECTED" : "ERR_PROTOCOL");
        return this.#ehlo();
      case "EHLO":
        if (r.code === 250) {
          this.#caps = parseCapabilities(r);
          return this.#afterHello();
        }
        // A server that does not know EHLO answers 500/502 (RFC 5321 §3.2): fall back to HELO,
        // but never after TLS (a downgrade there would lose AUTH) or when STARTTLS is required.
        if (r.code >= 500 && !this.#secure && this.#o.tls !== "starttls") return this.#send("HELO", `HELO ${this.#o.clientName}`);
        return this.#fail(r, r.code >= 400 && r.code < 600 ? "ERR_REJECTED" : "ERR_PROTOCOL");
      case "HELO":
        if (r.code !== 250) return this.#fail(r, "ERR_REJECTED");
        this.#caps = noCapabilities(r.lines[0]?.split(" ")[0]);
        return this.#afterHello();
      case "STARTTLS":
        if (r.code !== 220) return this.#fail(r, "ERR_TLS");
        return { kind: "upgrade-tls" };
      case "AUTH":
        return this.#authReply(r);
      case "MAIL FROM":
        if (this.#batch) {
          // Pipelined (RFC 2920): the RCPT TO and DATA replies are on their way; read them all.
          if (r.code !== 250) this.#batchFailure = this.#failure(r, "ERR_REJECTED");
          this.#phase = "RCPT TO";
          return { kind: "wait" };
        }
        // 530 (RFC 4954 §6): the server wants AUTH first.
        if (r.code === 530) return this.#fail(r, "ERR_AUTH", true, "the server requires authentication");
        if (r.code !== 250) return this.#fail(r, "ERR_REJECTED");
        return this.#rcpt();
      case "RCPT TO": {
        const address = this.#o.recipients[this.#rcptIndex] ?? "";
        this.#recipients.push({ address, accepted: r.code === 250 || r.code === 251, reply: r });
        this.#rcptIndex++;
        if (this.#rcptIndex < this.#o.recipients.length) return this.#batch ? { kind: "wait" } : this.#rcpt();
        const refused = this.#recipients.filter((x) => !x.accepted);
        if (refused.length === this.#recipients.length && this.#batchFailure === undefined) {
          this.#batchFailure = this.#failure(r, "ERR_REJECTED", "every recipient was refused");
        }
        if (this.#batch) {
          this.#phase = "DATA";
          return { kind: "wait" };
        }
        if (this.#batchFailure !== undefined) return this.#quitWith(this.#batchFailure);
        return this.#send("DATA", "DATA");
      }
      case "DATA":
        if (this.#batchFailure !== undefined) {
          // A server that says 354 to a transaction without a sender or recipients is broken;
          // hang up rather than send anything (no QUIT: we are in data mode).
          if (r.code === 354) {
            this.#failed = this.#batchFailure;
            return this.#finish();
          }
          return this.#quitWith(this.#batchFailure);
        }
        if (r.code !== 354) return this.#fail(r, r.code >= 400 ? "ERR_REJECTED" : "ERR_PROTOCOL");
        return { kind: "send-message" };
      case "end of data":
        if (r.code !== 250) return this.#fail(r, "ERR_REJECTED");
        this.#failed = { status: "accepted", reply: r, phase: "end of data" };
        return this.#send("QUIT", "QUIT");
    }
  }

  /** The TLS handshake after STARTTLS succeeded: start again with EHLO (RFC 3207 §4.2). */
  onTlsEstablished(): DialogueAction {
    this.#secure = true;
    this.#caps = undefined;
    return this.#ehlo();
  }

  /** The message and its final "." have been written; the reply to the end of data is next. */
  onMessageSent(): void {
    this.#phase = "end of data";
  }

  /** The connection ended or broke before the dialogue finished: record why. */
  onConnectionLost(code: ErrorCode, message: string): DialogueOutcome {
    if (this.#outcome !== undefined) return this.#outcome;
    if (this.#phase === "QUIT" || this.#phase === "done") {
      this.#finish();
      return this.#outcome ?? this.#build({ status: "failed", error: { code, message } });
    }
    this.#outcome = this.#build({ status: "failed", phase: this.#phase, error: { code, message } });
    this.#phase = "done";
    return this.#outcome;
  }

  #ehlo(): DialogueAction {
    return this.#send("EHLO", `EHLO ${this.#o.clientName}`);
  }

  #afterHello(): DialogueAction {
    const caps = this.#caps ?? noCapabilities();
    if (!this.#secure && this.#o.tls !== "none") {
      if (hasCapability(caps, "STARTTLS")) return this.#send("STARTTLS", "STARTTLS");
      if (this.#o.tls === "starttls") return this.#failLocal("ERR_TLS", "the server does not offer STARTTLS (use --no-tls to send without encryption)");
    }
    if (this.#o.auth !== undefined) return this.#startAuth(caps);
    return this.#mail(caps);
  }

  #startAuth(caps: Capabilities): DialogueAction {
    const auth = this.#o.auth;
    if (auth === undefined) return this.#mail(caps);
    if (!this.#secure && this.#o.allowPlainAuth !== true) {
      return this.#failLocal("ERR_AUTH", "refusing to send the password over a connection without TLS (--allow-plain-auth to force)");
    }
    const offered = authMechanisms(caps);
    if (offered.length === 0) return this.#failLocal("ERR_AUTH", "the server does not offer AUTH");
    const mech = auth.mechanism ?? (offered.includes("PLAIN") ? "PLAIN" : offered.includes("LOGIN") ? "LOGIN" : undefined);
    if (mech === undefined || !offered.includes(mech)) {
      return this.#failLocal("ERR_AUTH", `the server does not offer AUTH ${mech ?? "PLAIN or LOGIN"} (it offers ${offered.join(" ")})`);
    }
    this.#mechanism = mech;
    this.#authStep = 0;
    if (mech === "PLAIN") {
      // RFC 4616 §2: authzid NUL authcid NUL passwd, sent as the initial response (RFC 4954 §4).
      const token = Buffer.from(`\0${auth.user}\0${auth.password}`, "utf8").toString("base64");
      return this.#send("AUTH", `AUTH PLAIN ${token}`, `AUTH PLAIN ${MASK}`);
    }
    return this.#send("AUTH", "AUTH LOGIN");
  }

  #authReply(r: SmtpReply): DialogueAction {
    const auth = this.#o.auth;
    if (r.code === 235) return this.#mail(this.#caps ?? noCapabilities());
    if (r.code === 334 && auth !== undefined && this.#mechanism === "LOGIN" && this.#authStep < 2) {
      this.#authStep++;
      if (this.#authStep === 1) {
        const user = Buffer.from(auth.user, "utf8").toString("base64");
        return { kind: "send", line: user, display: user };
      }
      return { kind: "send", line: Buffer.from(auth.password, "utf8").toString("base64"), display: MASK };
    }
    if (r.code === 334) {
      // A challenge we have no answer for: cancel the exchange (RFC 4954 §4 "*").
      this.#authStep = 9;
      return { kind: "send", line: "*", display: "*" };
    }
    return this.#fail(r, r.code >= 500 || r.code < 400 ? "ERR_AUTH" : "ERR_REJECTED");
  }

  #mail(caps: Capabilities): DialogueAction {
    const limit = sizeLimit(caps);
    if (limit !== undefined && limit > 0 && this.#o.messageSize > limit) {
      return this.#failLocal("ERR_REJECTED", `the message is ${this.#o.messageSize} octets but the server accepts at most ${limit} (SIZE)`, "permanent-failure");
    }
    const size = limit !== undefined ? ` SIZE=${this.#o.messageSize}` : "";
    const mail = `MAIL FROM:<${this.#o.from}>${size}`;
    if (this.#o.pipelining === true && hasCapability(caps, "PIPELINING")) {
      // RFC 2920 §3.1: MAIL, every RCPT and DATA may go in one batch; DATA is the last of it.
      this.#batch = true;
      this.#phase = "MAIL FROM";
      const lines = [mail, ...this.#o.recipients.map((a) => `RCPT TO:<${a}>`), "DATA"];
      return { kind: "send-batch", lines: lines.map((line) => ({ line, display: line })) };
    }
    return this.#send("MAIL FROM", mail);
  }

  #rcpt(): DialogueAction {
    return this.#send("RCPT TO", `RCPT TO:<${this.#o.recipients[this.#rcptIndex] ?? ""}>`);
  }

  #send(phase: Phase, line: string, display = line): DialogueAction {
    this.#phase = phase;
    return { kind: "send", line, display };
  }

  /** The server said no: remember why, then QUIT politely (unless it is already closing). */
  #fail(r: SmtpReply, code: ErrorCode, quit = true, why?: string): DialogueAction {
    this.#failed = this.#failure(r, code, why);
    if (!quit) return this.#finish();
    return this.#send("QUIT", "QUIT");
  }

  #quitWith(f: Omit<DialogueOutcome, "recipients" | "tls">): DialogueAction {
    this.#failed = f;
    return this.#send("QUIT", "QUIT");
  }

  #failure(r: SmtpReply, code: ErrorCode, why?: string): Omit<DialogueOutcome, "recipients" | "tls"> {
    const cls = replyClass(r);
    const status: OutcomeStatus = cls === "temporary" ? "temporary-failure" : cls === "permanent" ? "permanent-failure" : "failed";
    const label = status === "temporary-failure" ? "temporary failure" : status === "permanent-failure" ? "permanent failure" : "unexpected reply";
    const message = `${label} ${this.#phase === "greeting" ? "in the greeting" : `after ${this.#phase}`}${why ? ` (${why})` : ""}: ${formatReply(r)}`;
    return { status, reply: r, phase: this.#phase, error: { code, message } };
  }

  #failLocal(code: ErrorCode, message: string, status: OutcomeStatus = "failed"): DialogueAction {
    this.#failed = { status, phase: this.#phase, error: { code, message } };
    return this.#send("QUIT", "QUIT");
  }

  #finish(): DialogueAction {
    this.#phase = "done";
    this.#outcome ??= this.#build(this.#failed ?? { status: "failed", error: { code: "ERR_PROTOCOL", message: "the dialogue ended early" } });
    return { kind: "close" };
  }

  #build(o: Omit<DialogueOutcome, "recipients" | "tls">): DialogueOutcome {
    const out: DialogueOutcome = { ...o, recipients: this.#recipients, tls: this.#secure };
    if (this.#mechanism !== undefined) out.authMechanism = this.#mechanism;
    if (this.#caps !== undefined) out.capabilities = this.#caps;
    return out;
  }
}

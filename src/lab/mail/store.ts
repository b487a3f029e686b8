/**
 * The mail sink's memory: the last N messages, bounded both in count and in bytes, so a
 * runaway sender can fill the dashboard but never the machine. Pure: no sockets, no timers.
 */

/** One attachment as the dashboard lists it. */
export interface StoredAttachment {
  filename: string;
  contentType: string;
  size: number;
  content: Uint8Array;
}

/** One received message. */
export interface StoredMessage {
  /** Sequential id, as a string ("1", "2", ...). */
  id: string;
  /** Wall-clock ms when it was accepted. */
  at: number;
  /** The From header, or the envelope sender when there is none. */
  from: string;
  /** The To header(s), or the envelope recipients. */
  to: string;
  subject: string;
  text: string;
  /** The HTML part, if any (shown escaped, never rendered, by the dashboard). */
  html: string;
  attachments: StoredAttachment[];
  /** Envelope (MAIL FROM / RCPT TO) as the SMTP dialogue gave it. */
  envelope: { mailFrom: string; rcptTo: string[] };
  /** Size of the raw message in bytes. */
  size: number;
}

/** A message without the bulky parts: what snapshots and events carry. */
export interface MessageSummary {
  id: string;
  at: number;
  from: string;
  to: string;
  subject: string;
  attachments: Array<{ filename: string; contentType: string; size: number }>;
}

export interface MailStoreOptions {
  /** Messages kept (oldest dropped first). @default 100 */
  keep?: number;
  /** Bytes of text, HTML and attachments kept in all (oldest dropped first). @default 64 MiB */
  maxBytes?: number;
}

function weight(m: StoredMessage): number {
  let n = m.text.length + m.html.length;
  for (const a of m.attachments) n += a.content.length;
  return n;
}

/**
 * Summary of a stored message (no bodies).
 *
 * @example
 * const row = summarize(store.get("1")!); // { id, at, from, to, subject, attachments }
 */
export function summarize(m: StoredMessage): MessageSummary {
  return {
    id: m.id,
    at: m.at,
    from: m.from,
    to: m.to,
    subject: m.subject,
    attachments: m.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.size })),
  };
}

/**
 * Bounded in-memory message store.
 *
 * @example
 * const store = new MailStore({ keep: 10 });
 * const m = store.add({ at: 0, from: "a@x", to: "b@y", subject: "hi", text: "", html: "", attachments: [], envelope: { mailFrom: "a@x", rcptTo: ["b@y"] }, size: 10 });
 * store.get(m.id)?.subject; // "hi"
 */
export class MailStore {
  readonly keep: number;
  readonly maxBytes: number;
  #messages: StoredMessage[] = [];
  #bytes = 0;
  #nextId = 1;
  /** Messages accepted since the start, including those dropped from memory since. */
  accepted = 0;
  /** Messages dropped from memory to stay within the bounds. */
  evicted = 0;

  constructor(options: MailStoreOptions = {}) {
    this.keep = Math.max(1, options.keep ?? 100);
    this.maxBytes = Math.max(1, options.maxBytes ?? 64 * 1024 * 1024);
  }

  /** Store a message, evicting the oldest ones beyond the bounds; returns it with its id. */
  add(message: Omit<StoredMessage, "id">): StoredMessage {
    const m: StoredMessage = { id: String(this.#nextId++), ...message };
    this.#messages.push(m);
    this.#bytes += weight(m);
    this.accepted++;
    // Keep at least the newest message even when it alone is over the byte bound.
    while (this.#messages.length > 1 && (this.#messages.length > this.keep || this.#bytes > this.maxBytes)) {
      const old = this.#messages.shift();
      if (old) this.#bytes -= weight(old);
      this.evicted++;
    }
    return m;
  }

  get(id: string): StoredMessage | undefined {
    return this.#messages.find((m) => m.id === id);
  }

  /** Newest first. */
  list(): StoredMessage[] {
    return [...this.#messages].reverse();
  }

  get size(): number {
    return this.#messages.length;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

/**
 * Server-Sent Events to the dashboard pages (WHATWG HTML, "Server-sent events"). Events are
 * never written one by one: they are queued and flushed as one `events` message per tick,
 * at most `maxPerFlush` of them (the newest; the rest are counted as skipped), so a flood of
 * datagrams or requests costs the browser one small message a tick. Heartbeat samples go only
 * to the pages that focus that client. A page that stops reading is dropped, not buffered.
 */
import type { ServerResponse } from "node:http";
import type { LabEvent } from "../service.js";
import { HIGH_RATE_KINDS } from "./history.js";

export interface SseHubOptions {
  /** Feed events sent per flush at most. @default 50 */
  maxPerFlush?: number;
  /** Heartbeat samples per page per flush at most. @default 200 */
  maxFocusPerFlush?: number;
  /** Bytes a page may leave unread before it is dropped. @default 4 MiB */
  maxBuffered?: number;
}

interface Page {
  res: ServerResponse;
  focus: string | undefined;
  focusQueue: LabEvent[];
}

/**
 * Format one SSE message. `data` is JSON (one line, so no `data:` continuation needed).
 *
 * @example
 * sseMessage("tick", { at: 1 }); // 'event: tick\ndata: {"at":1}\n\n'
 */
export function sseMessage(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The set of open event streams.
 *
 * @example
 * const hub = new SseHub();
 * hub.open(res, undefined, { hello: true });
 * hub.queue(event); hub.flush();
 */
export class SseHub {
  readonly #pages = new Set<Page>();
  readonly #maxPerFlush: number;
  readonly #maxFocus: number;
  readonly #maxBuffered: number;
  #queue: LabEvent[] = [];
  #skipped = 0;

  constructor(options: SseHubOptions = {}) {
    this.#maxPerFlush = options.maxPerFlush ?? 50;
    this.#maxFocus = options.maxFocusPerFlush ?? 200;
    this.#maxBuffered = options.maxBuffered ?? 4 * 1024 * 1024;
  }

  get size(): number {
    return this.#pages.size;
  }

  /** Start an event stream on `res`, send `hello`, and keep it until the page goes away. */
  open(res: ServerResponse, focus: string | undefined, hello: unknown): void {
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.flushHeaders();
    const page: Page = { res, focus, focusQueue: [] };
    this.#pages.add(page);
    res.on("close", () => this.#pages.delete(page));
    // Reconnect after 2 s if the lab restarts (EventSource does the rest).
    this.#write(page, `retry: 2000\n${sseMessage("hello", hello)}`);
  }

  /** Queue an event for the next flush. */
  queue(e: LabEvent): void {
    if (e.kind === "heartbeat") {
      const client = e.data?.client;
      for (const p of this.#pages) {
        if (p.focus !== undefined && p.focus === client) {
          p.focusQueue.push(e);
          if (p.focusQueue.length > this.#maxFocus) p.focusQueue.shift();
        }
      }
      return;
    }
    if (HIGH_RATE_KINDS.has(e.kind)) return;
    this.#queue.push(e);
    if (this.#queue.length > this.#maxPerFlush) {
      this.#skipped += this.#queue.length - this.#maxPerFlush;
      this.#queue.splice(0, this.#queue.length - this.#maxPerFlush);
    }
  }

  /** Send what was queued since the last flush, as one message per page. */
  flush(): void {
    const events = this.#queue;
    const skipped = this.#skipped;
    this.#queue = [];
    this.#skipped = 0;
    const common = events.length > 0 || skipped > 0 ? sseMessage("events", { events, skipped }) : "";
    for (const p of this.#pages) {
      let out = common;
      if (p.focusQueue.length > 0) {
        out += sseMessage("samples", { client: p.focus, samples: p.focusQueue.map((e) => ({ at: e.at, seq: e.data?.seq, delayMs: e.data?.delayMs ?? null })) });
        p.focusQueue = [];
      }
      if (out !== "") this.#write(p, out);
    }
  }

  /** Send one message to every page now. */
  broadcast(event: string, data: unknown): void {
    if (this.#pages.size === 0) return;
    const msg = sseMessage(event, data);
    for (const p of this.#pages) this.#write(p, msg);
  }

  /** End every stream. */
  close(): void {
    for (const p of this.#pages) p.res.end();
    this.#pages.clear();
  }

  #write(p: Page, text: string): void {
    if (p.res.writableLength > this.#maxBuffered) {
      // The page is not reading (a background tab on a slow link): drop it; it reconnects.
      this.#pages.delete(p);
      p.res.destroy();
      return;
    }
    p.res.write(text);
  }
}

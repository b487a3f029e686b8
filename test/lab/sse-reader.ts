/** Read a Server-Sent Events stream in tests: parse messages, wait for one that matches. */
import { get, type ClientRequest } from "node:http";

export interface SseMessage {
  event: string;
  data: unknown;
}

export interface SseReader {
  messages: SseMessage[];
  /** Resolve with the first message (already received or future) that matches. */
  waitFor(pred: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
}

export function readSse(url: string): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const messages: SseMessage[] = [];
    const waiters: Array<{ pred: (m: SseMessage) => boolean; resolve: (m: SseMessage) => void }> = [];
    let buf = "";
    const req: ClientRequest = get(url, (res) => {
      if (res.statusCode !== 200 || !String(res.headers["content-type"]).startsWith("text/event-stream")) {
        reject(new Error(`not an event stream: ${res.statusCode} ${res.headers["content-type"]}`));
        return;
      }
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length === 0) continue;
          const m = { event, data: JSON.parse(data.join("\n")) as unknown };
          messages.push(m);
          for (const w of [...waiters]) {
            if (w.pred(m)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(m);
            }
          }
        }
      });
      resolve({
        messages,
        waitFor(pred, timeoutMs = 20000) {
          const found = messages.find(pred);
          if (found) return Promise.resolve(found);
          return new Promise((res2, rej2) => {
            const t = setTimeout(() => rej2(new Error(`no matching SSE message in ${timeoutMs} ms; got ${messages.map((x) => x.event).join(",")}`)), timeoutMs);
            waiters.push({ pred, resolve: (m) => (clearTimeout(t), res2(m)) });
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
  });
}

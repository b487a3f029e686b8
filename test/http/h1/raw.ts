/** Raw-socket clients and a small response splitter for the HTTP/1.1 engine tests. */
import { connect, type Socket } from "node:net";

export interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

export function field(r: RawResponse, name: string): string | undefined {
  return r.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

/** A connected raw client that records everything it receives and when the server closed. */
export class RawClient {
  readonly socket: Socket;
  data = Buffer.alloc(0);
  closed = false;
  readonly #waiters: Array<() => void> = [];
  readonly ready: Promise<void>;
  readonly closedP: Promise<void>;

  constructor(port: number) {
    this.socket = connect({ host: "127.0.0.1", port });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("error", () => {});
    this.socket.on("data", (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.#notify();
    });
    this.closedP = new Promise((resolve) =>
      this.socket.on("close", () => {
        this.closed = true;
        this.#notify();
        resolve();
      }),
    );
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  send(s: string | Buffer): void {
    this.socket.write(s);
  }

  /** Wait until `pred` holds over what arrived (or the socket closed). */
  async until(pred: () => boolean): Promise<void> {
    while (!pred() && !this.closed) await new Promise<void>((r) => this.#waiters.push(r));
  }

  /** Wait for `n` complete responses (`head` lists which requests were HEAD, by index). */
  async responses(n: number, bodiless: number[] = []): Promise<RawResponse[]> {
    let out: RawResponse[] = [];
    await this.until(() => {
      out = splitResponses(this.data, bodiless, this.closed);
      return out.length >= n;
    });
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Split complete responses out of `buf` (1xx interims included as their own entries). */
export function splitResponses(buf: Buffer, bodiless: number[] = [], closed = false): RawResponse[] {
  const out: RawResponse[] = [];
  let pos = 0;
  let finals = 0;
  for (;;) {
    const end = buf.indexOf("\r\n\r\n", pos, "latin1");
    if (end < 0) return out;
    const lines = buf.subarray(pos, end).toString("latin1").split("\r\n");
    const status = Number((lines[0] ?? "").split(" ")[1]);
    const headers = lines.slice(1).map((l): [string, string] => {
      const i = l.indexOf(":");
      return [l.slice(0, i), l.slice(i + 1).trim()];
    });
    let p = end + 4;
    const r: RawResponse = { status, headers, body: Buffer.alloc(0) };
    if (status < 200) {
      out.push(r);
      pos = p;
      continue;
    }
    const isBodiless = bodiless.includes(finals) || status === 204 || status === 304;
    finals++;
    const cl = field(r, "content-length");
    const te = field(r, "transfer-encoding");
    if (isBodiless) {
      // nothing
    } else if (te !== undefined && /chunked/i.test(te)) {
      const parts: Buffer[] = [];
      for (;;) {
        const le = buf.indexOf("\r\n", p, "latin1");
        if (le < 0) return out;
        const size = parseInt(buf.subarray(p, le).toString("latin1"), 16);
        if (buf.length < le + 2 + size + 2) return out;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
        if (size === 0) break;
      }
      r.body = Buffer.concat(parts);
    } else if (cl !== undefined) {
      const n = Number(cl);
      if (buf.length < p + n) return out;
      r.body = buf.subarray(p, p + n);
      p += n;
    } else {
      if (!closed) return out;
      r.body = buf.subarray(p);
      p = buf.length;
    }
    out.push(r);
    pos = p;
  }
}

export function nextTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/**
 * Yield to the event loop until `pred` holds (for server-side state), at most `turns` times; fails
 * naming `what`. It counts turns, not milliseconds, so a slow machine only makes it wait longer.
 */
export async function eventually(pred: () => boolean, what = "condition", turns = 2000): Promise<void> {
  for (let i = 0; i < turns && !pred(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!pred()) throw new Error(`not reached: ${what}`);
}

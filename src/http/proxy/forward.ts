/**
 * Talking to origins: one request over pooled keep-alive connections (node:http / node:https
 * agents), with a timeout, a retry when a pooled connection turns out to have been closed by
 * the origin, and origin failures turned into the status a proxy answers with (RFC 9110
 * §15.6.3 502, §15.6.5 504). Bodies stream both ways with backpressure (`relayBody`).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ClientRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable, Writable } from "node:stream";
import type { OriginTarget } from "./target.js";

/** Connection pools to origins, shared by every request of a proxy. */
export interface OriginAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

/**
 * Keep-alive pools to origins.
 *
 * @example
 * const agents = createOriginAgents(); // ... destroyOriginAgents(agents) on close
 */
export function createOriginAgents(maxSockets = 256): OriginAgents {
  return {
    http: new HttpAgent({ keepAlive: true, maxSockets, maxFreeSockets: 64, scheduling: "lifo" }),
    https: new HttpsAgent({ keepAlive: true, maxSockets, maxFreeSockets: 64, scheduling: "lifo" }),
  };
}

export function destroyOriginAgents(a: OriginAgents): void {
  a.http.destroy();
  a.https.destroy();
}

/** Why the origin could not be reached, as the proxy reports it. */
export class OriginError extends Error {
  constructor(
    readonly status: 502 | 504,
    message: string,
  ) {
    super(message);
    this.name = "OriginError";
  }
}

/** Map a socket error to the proxy's answer (pure). */
export function originFailure(code: string | undefined, message: string, target: Pick<OriginTarget, "hostname" | "port">): OriginError {
  const where = `${target.hostname}:${target.port}`;
  switch (code) {
    case "ECONNREFUSED":
      return new OriginError(502, `connection refused by ${where}`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
    case "EAI_FAIL":
      return new OriginError(502, `DNS lookup failed for ${target.hostname}`);
    case "ECONNRESET":
    case "EPIPE":
      return new OriginError(502, `connection reset by ${where}`);
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new OriginError(502, `no route to ${where}`);
    case "ETIMEDOUT":
    case "WIREKIT_TIMEOUT":
      return new OriginError(504, `${where} did not answer in time`);
    case "HPE_INVALID_CONSTANT":
    case "HPE_INVALID_STATUS":
    case "HPE_INVALID_HEADER_TOKEN":
      return new OriginError(502, `${where} sent a malformed response`);
    default:
      return new OriginError(502, `${where}: ${message.split("\n")[0] ?? "error"}`);
  }
}

/** One request to an origin. */
export interface OriginRequestOptions {
  target: OriginTarget;
  method: string;
  headers: Array<[string, string]>;
  /** Request body to stream (the client's request), or none. */
  body?: Readable;
  /** Origin inactivity timeout, ms. */
  timeoutMs: number;
  agents: OriginAgents;
  /** Connect to this address instead of resolving `target.hostname` (it was checked already). */
  address?: string;
}

/** An origin response and the request that produced it (to abort when the client leaves). */
export interface OriginExchange {
  response: IncomingMessage;
  request: ClientRequest;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/**
 * Send a request to the origin and resolve with its response head; rejects with OriginError.
 * Returns `abort` at once so a client leaving early can cancel.
 *
 * @example
 * const f = fetchOrigin({ target, method: "GET", headers, timeoutMs: 30_000, agents });
 * const { response } = await f.done;
 */
export function fetchOrigin(o: OriginRequestOptions): { done: Promise<OriginExchange>; abort(): void } {
  let current: ClientRequest | undefined;
  let aborted = false;
  const attempt = (retry: boolean): Promise<OriginExchange> =>
    new Promise((resolve, reject) => {
      const flat: string[] = [];
      for (const [k, v] of o.headers) flat.push(k, v);
      const send = o.target.protocol === "https:" ? httpsRequest : httpRequest;
      const req = send({
        host: o.address ?? o.target.hostname,
        port: o.target.port,
        method: o.method,
        path: o.target.path,
        headers: flat,
        agent: o.target.protocol === "https:" ? o.agents.https : o.agents.http,
        servername: o.target.protocol === "https:" && o.target.hostname !== "" ? o.target.hostname : undefined,
      });
      current = req;
      let settled = false;
      req.setTimeout(o.timeoutMs, () => {
        const e = Object.assign(new Error("origin timeout"), { code: "WIREKIT_TIMEOUT" });
        req.destroy(e);
      });
      req.on("response", (response) => {
        settled = true;
        resolve({ response, request: req });
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        // A pooled connection the origin closed while idle: try once more on a fresh one.
        if (retry && !aborted && req.reusedSocket && (err.code === "ECONNRESET" || err.code === "EPIPE") && o.body === undefined && IDEMPOTENT.has(o.method)) {
          attempt(false).then(resolve, reject);
          return;
        }
        reject(aborted ? new OriginError(502, "client went away") : originFailure(err.code, err.message, o.target));
      });
      if (o.body !== undefined) o.body.pipe(req);
      else req.end();
    });
  return {
    done: attempt(true),
    abort() {
      aborted = true;
      current?.destroy();
    },
  };
}

/** Where a relayed body also goes (the cache writer); `write` false = wait for `onDrain`. */
export interface BodySink {
  write(chunk: Buffer): boolean;
  onDrain(fn: () => void): void;
}

/**
 * Stream `from` into `to` (and `tee`, if any) with backpressure on both: the source pauses
 * while either destination is full. Resolves true when the source ended normally, false if
 * it broke off or the destination closed first. `onChunk` counts bytes. With `hold`, the chunk
 * that completes `hold.length` bytes is not written but left in `hold.last`.
 *
 * @example
 * const ok = await relayBody(originResponse, clientResponse, cacheWriter, (n) => (bytes += n));
 */
export function relayBody(from: Readable, to: Writable, tee: BodySink | undefined, onChunk: (n: number) => void, hold?: { length: number; last?: Buffer }): Promise<boolean> {
  let seen = 0;
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      from.off("data", onData);
      to.off("close", onClose);
      resolve(ok);
    };
    let waiting = 0;
    const resume = (): void => {
      waiting--;
      if (waiting === 0 && !done) from.resume();
    };
    const onData = (chunk: Buffer): void => {
      onChunk(chunk.length);
      seen += chunk.length;
      // The final chunk of a Content-Length body is held back when asked, so the caller can
      // finish storing before the client sees the response complete.
      const held = hold !== undefined && seen === hold.length;
      if (held) hold.last = chunk;
      const a = held ? true : to.write(chunk);
      const b = tee === undefined ? true : tee.write(chunk);
      if (!a || !b) {
        from.pause();
        if (!a) {
          waiting++;
          to.once("drain", resume);
        }
        if (!b && tee !== undefined) {
          waiting++;
          tee.onDrain(resume);
        }
      }
    };
    const onClose = (): void => {
      if (!to.writableFinished) {
        from.destroy();
        finish(false);
      }
    };
    from.on("data", onData);
    from.once("end", () => finish(true));
    from.once("error", () => finish(false));
    from.once("aborted", () => finish(false));
    from.once("close", () => {
      if (!from.readableEnded) finish(false);
    });
    to.once("close", onClose);
  });
}

/** What `collectBody` read before it stopped. */
export interface CollectedBody {
  /** "end": the whole body; "broken": the source broke off; "over": more than the limit is coming. */
  outcome: "end" | "broken" | "over";
  chunks: Buffer[];
  length: number;
}

/**
 * Read `from` into memory (and `tee`) until it ends, breaks off, or exceeds `limit` bytes; in
 * the last case `from` is left paused after the chunk that went over, for `relayBody` to go on
 * (call `from.resume()` after starting it). The tee must take every write without backpressure
 * up to `limit` (the cache writer does while it holds the body in memory).
 *
 * @example
 * const got = await collectBody(originResponse, 256 * 1024, writer, (n) => (bytes += n));
 */
export function collectBody(from: Readable, limit: number, tee: BodySink | undefined, onChunk: (n: number) => void): Promise<CollectedBody> {
  const got: CollectedBody = { outcome: "end", chunks: [], length: 0 };
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: CollectedBody["outcome"]): void => {
      if (done) return;
      done = true;
      // The other listeners stay: an 'error' after 'aborted' must still find one.
      from.off("data", onData);
      got.outcome = outcome;
      resolve(got);
    };
    const onData = (chunk: Buffer): void => {
      onChunk(chunk.length);
      got.chunks.push(chunk);
      got.length += chunk.length;
      tee?.write(chunk);
      if (got.length > limit) {
        from.pause();
        finish("over");
      }
    };
    from.on("data", onData);
    from.once("end", () => finish("end"));
    from.once("error", () => finish("broken"));
    from.once("aborted", () => finish("broken"));
    from.once("close", () => {
      if (!from.readableEnded) finish("broken");
    });
  });
}

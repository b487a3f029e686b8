/**
 * llhttp as an oracle: one node:http server on 127.0.0.1:0 (strict parser, Host required), and
 * each input written raw on a fresh socket and half-closed. What the server saw is the verdict:
 * the first request's method, url, rawHeaders, body and trailers (or the parser's error), and, when
 * the first one completed, the same for the request that followed it on the connection, so the
 * test can check that both parsers put the boundary between them at the same byte.
 */
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { fromRawHeaders } from "../../../src/http/header-list.js";

export type OracleVerdict =
  | { kind: "reject"; code: string }
  /** The input ended inside the head. */
  | { kind: "incomplete" }
  | {
      kind: "request";
      method: string;
      url: string;
      headers: Array<[string, string]>;
      body: Buffer;
      trailers: Array<[string, string]>;
      /** The body ended as framed (always true for CONNECT, whose body is not compared). */
      complete: boolean;
      /** A parse error after the head (a bad chunk), when there was one. */
      bodyError?: string;
      connect: boolean;
      /** What followed a complete first request: the second request, an error, or nothing. */
      next?: OracleVerdict;
    };

interface Seen {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  connect: boolean;
  chunks: Buffer[];
  trailers: Array<[string, string]>;
  complete: boolean;
  /** node:http's message: its `complete` turns true as soon as the parser ends the message. */
  msg?: http.IncomingMessage;
}

interface Record {
  requests: Seen[];
  /** Parser errors, each with the index of the request being parsed when it came. */
  errors: Array<{ code: string; at: number }>;
}

/** EOF inside a message: the input was cut short, not malformed. */
const EOF_CODES = new Set(["HPE_INVALID_EOF_STATE", "ECONNRESET"]);

export interface Oracle {
  judge(input: Buffer): Promise<OracleVerdict>;
  close(): Promise<void>;
}

/** Requests the parser has finished; 'end' events come later, so `complete` is read off the message. */
const completed = (r: Record): number => r.requests.filter((s) => s.connect || s.msg?.complete === true).length;

export async function startOracle(): Promise<Oracle> {
  const byPort = new Map<number, Record>();
  const bySocket = new WeakMap<net.Socket, Record>();
  const recordOf = (socket: net.Socket): Record | undefined => {
    let r = bySocket.get(socket);
    if (r === undefined && socket.remotePort !== undefined) {
      r = byPort.get(socket.remotePort);
      if (r !== undefined) bySocket.set(socket, r);
    }
    return r;
  };
  const server = http.createServer({ insecureHTTPParser: false });
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const r = recordOf(req.socket);
    req.on("error", () => {});
    if (r === undefined || r.requests.length >= 2) {
      req.socket.destroy();
      return;
    }
    const first = r.requests.length === 0;
    const seen: Seen = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: fromRawHeaders(req.rawHeaders),
      connect: false,
      chunks: [],
      trailers: [],
      complete: false,
      msg: req,
    };
    r.requests.push(seen);
    req.on("data", (c: Buffer) => seen.chunks.push(c));
    req.on("end", () => {
      seen.complete = true;
      seen.trailers = fromRawHeaders(req.rawTrailers);
      // Keep the connection after the first, so node:http parses what follows it.
      res.writeHead(200, first ? {} : { connection: "close" });
      res.end();
    });
  };
  server.on("request", onRequest);
  server.on("checkExpectation", onRequest);
  server.on("connect", (req: http.IncomingMessage, socket: net.Socket, _head: Buffer) => {
    const r = recordOf(socket);
    if (r !== undefined && r.requests.length < 2) {
      const seen: Seen = { method: req.method ?? "", url: req.url ?? "", headers: fromRawHeaders(req.rawHeaders), connect: true, chunks: [], trailers: [], complete: true };
      r.requests.push(seen);
    }
    socket.destroy();
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const r = recordOf(socket);
    if (r !== undefined) r.errors.push({ code: err.code ?? "ERR", at: completed(r) });
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const judge = (input: Buffer): Promise<OracleVerdict> =>
    new Promise((resolve) => {
      const r: Record = { requests: [], errors: [] };
      const sock = net.connect(port, "127.0.0.1");
      let localPort = 0;
      const timer = setTimeout(() => sock.destroy(), 3000);
      const reply: Buffer[] = [];
      sock.on("connect", () => {
        localPort = sock.localPort ?? 0;
        byPort.set(localPort, r);
        sock.end(input);
      });
      sock.on("data", (d: Buffer) => reply.push(d));
      sock.on("error", () => {});
      sock.on("close", () => {
        clearTimeout(timer);
        // Let the server side finish its events for this socket.
        setTimeout(() => {
          byPort.delete(localPort);
          const statuses = [...Buffer.concat(reply).toString("latin1").matchAll(/(?:^|\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
          resolve(verdictOf(r, statuses, 0));
        }, 2);
      });
    });

  return {
    judge,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The verdict on request `i` of the connection. node:http answers a 1.1 request without Host by
 * itself (requireHostHeader) with a 400 and no event; our handlers only ever answer 200, so a 400
 * in the i-th answer is node:http refusing request i.
 */
function verdictOf(r: Record, statuses: ReadonlyArray<string | undefined>, i: number): OracleVerdict {
  if (statuses[i] === "400") return { kind: "reject", code: "NODE_400_NO_HOST" };
  const error = r.errors.find((e) => e.at === i && !EOF_CODES.has(e.code))?.code;
  const seen = r.requests[i];
  if (seen === undefined) return error !== undefined ? { kind: "reject", code: error } : { kind: "incomplete" };
  return {
    kind: "request",
    method: seen.method,
    url: seen.url,
    headers: seen.headers,
    connect: seen.connect,
    body: Buffer.concat(seen.chunks),
    trailers: seen.trailers,
    complete: seen.complete,
    ...(error !== undefined && !seen.complete ? { bodyError: error } : {}),
    ...(i === 0 && seen.complete && !seen.connect ? { next: verdictOf(r, statuses, 1) } : {}),
  };
}

/** Runs `inputs` through the oracle with at most `concurrency` sockets open. */
export async function judgeAll(oracle: Oracle, inputs: readonly Buffer[], concurrency = 32): Promise<OracleVerdict[]> {
  const out: OracleVerdict[] = new Array<OracleVerdict>(inputs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const i = next++;
      out[i] = await oracle.judge(inputs[i] as Buffer);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

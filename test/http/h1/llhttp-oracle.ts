/**
 * llhttp as an oracle: one node:http server on 127.0.0.1:0 (strict parser, Host required), and
 * each input written raw on a fresh socket and half-closed. What the server saw (the first
 * request's method, url, rawHeaders, body, trailers, or the parser's error) is the verdict.
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
    };

interface Record {
  head?: { method: string; url: string; headers: Array<[string, string]>; connect: boolean };
  chunks: Buffer[];
  trailers: Array<[string, string]>;
  complete: boolean;
  errors: string[];
}

/** EOF inside a message: the input was cut short, not malformed. */
const EOF_CODES = new Set(["HPE_INVALID_EOF_STATE", "ECONNRESET"]);

export interface Oracle {
  judge(input: Buffer): Promise<OracleVerdict>;
  close(): Promise<void>;
}

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
    if (r === undefined || r.head !== undefined) {
      req.socket.destroy();
      return;
    }
    r.head = { method: req.method ?? "", url: req.url ?? "", headers: fromRawHeaders(req.rawHeaders), connect: false };
    req.on("data", (c: Buffer) => r.chunks.push(c));
    req.on("end", () => {
      r.complete = true;
      r.trailers = fromRawHeaders(req.rawTrailers);
      res.writeHead(200, { connection: "close" });
      res.end();
    });
  };
  server.on("request", onRequest);
  server.on("checkExpectation", onRequest);
  server.on("connect", (req: http.IncomingMessage, socket: net.Socket, _head: Buffer) => {
    const r = recordOf(socket);
    if (r !== undefined && r.head === undefined) {
      r.head = { method: req.method ?? "", url: req.url ?? "", headers: fromRawHeaders(req.rawHeaders), connect: true };
      r.complete = true;
    }
    socket.destroy();
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const r = recordOf(socket);
    if (r !== undefined) r.errors.push(err.code ?? "ERR");
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const judge = (input: Buffer): Promise<OracleVerdict> =>
    new Promise((resolve) => {
      const r: Record = { chunks: [], trailers: [], complete: false, errors: [] };
      const sock = net.connect(port, "127.0.0.1");
      let localPort = 0;
      const timer = setTimeout(() => sock.destroy(), 3000);
      sock.on("connect", () => {
        localPort = sock.localPort ?? 0;
        byPort.set(localPort, r);
        sock.end(input);
      });
      const reply: Buffer[] = [];
      sock.on("data", (d: Buffer) => reply.push(d));
      sock.on("error", () => {});
      sock.on("close", () => {
        clearTimeout(timer);
        // Let the server side finish its events for this socket.
        setTimeout(() => {
          byPort.delete(localPort);
          // node:http answers a 1.1 request without Host by itself (requireHostHeader), with no
          // event; our handlers only ever answer 200, so a first answer of 400 is node:http's own.
          if (Buffer.concat(reply).toString("latin1").startsWith("HTTP/1.1 400 ")) {
            resolve({ kind: "reject", code: "NODE_400_NO_HOST" });
            return;
          }
          resolve(verdictOf(r));
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

function verdictOf(r: Record): OracleVerdict {
  const error = r.errors.find((e) => !EOF_CODES.has(e));
  if (r.head === undefined) return error !== undefined ? { kind: "reject", code: error } : { kind: "incomplete" };
  return {
    kind: "request",
    ...r.head,
    body: Buffer.concat(r.chunks),
    trailers: r.trailers,
    complete: r.complete,
    ...(error !== undefined && !r.complete ? { bodyError: error } : {}),
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

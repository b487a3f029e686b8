/**
 * Test fixtures for the proxy: an origin on loopback whose routes each test controls (and
 * which records every request it sees), and a small client that talks to the proxy with
 * absolute-form request lines.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Route = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface TestOrigin {
  port: number;
  base: string;
  seen: SeenRequest[];
  /** Requests seen for one path. */
  count(path: string): number;
  route(path: string, handler: Route): void;
  close(): Promise<void>;
}

/** Start an origin on 127.0.0.1:0. Unrouted paths get 404. */
export async function startOrigin(): Promise<TestOrigin> {
  const routes = new Map<string, Route>();
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const route = routes.get((req.url ?? "").split("?")[0] ?? "");
    // Streaming routes read the body themselves.
    if (route !== undefined && (route as Route & { streaming?: boolean }).streaming) {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.alloc(0) });
      route(req, res, Buffer.alloc(0));
      return;
    }
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      if (route === undefined) {
        res.writeHead(404, { "Content-Type": "text/plain" });
        res.end("no route\n");
      } else route(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    seen,
    count: (path) => seen.filter((s) => s.url.split("?")[0] === path).length,
    route: (path, handler) => routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Mark a route as reading the request body itself. */
export function streaming(r: Route): Route {
  return Object.assign(r, { streaming: true });
}

export interface ProxyResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Send `method url` through the proxy at `proxyPort` (absolute-form unless `path` is given). */
export function viaProxy(
  proxyPort: number,
  url: string,
  options: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer | string; path?: string } = {},
): Promise<ProxyResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: proxyPort, method: options.method ?? "GET", path: options.path ?? url, headers: options.headers, agent: false });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Wait until `cond()` holds, polling; fails after `ms`. */
export async function waitUntil(cond: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An origin route answering single ranges itself (206, `bytes=A-B`, `A-`, `-N`), or the whole body (200); fresh for 60 s, with the validators in `state`. */
export function rangedRoute(state: { etag: string | undefined; lastModified?: string; body: Buffer }, date: () => string): Route {
  return (req, res) => {
    const fields: Record<string, string> = { "Cache-Control": "max-age=60", "Content-Type": "text/plain", Date: date(), "Accept-Ranges": "bytes" };
    if (state.etag !== undefined) fields.ETag = state.etag;
    if (state.lastModified !== undefined) fields["Last-Modified"] = state.lastModified;
    const m = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ""));
    if (m === null) {
      res.writeHead(200, { ...fields, "Content-Length": String(state.body.length) });
      res.end(state.body);
      return;
    }
    const size = state.body.length;
    const start = m[1] === "" ? size - Number(m[2]) : Number(m[1]);
    const end = m[1] === "" || m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    res.writeHead(206, { ...fields, "Content-Range": `bytes ${start}-${end}/${size}`, "Content-Length": String(end - start + 1) });
    res.end(state.body.subarray(start, end + 1));
  };
}

/** A raw TCP origin on loopback (see rawTcpOrigin). */
export interface RawOrigin {
  port: number;
  /** Request heads read so far, on all connections. */
  requests: () => number;
  connections: () => number;
  close: () => Promise<void>;
}

/**
 * An origin that writes exactly what `answer` writes to each request head it reads (the nth,
 * from 0, on any connection): byte-exact replies, hostile or malformed ones included.
 */
export async function rawTcpOrigin(answer: (socket: Socket, n: number) => void): Promise<RawOrigin> {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      while (buf.includes("\r\n\r\n")) {
        buf = buf.slice(buf.indexOf("\r\n\r\n") + 4);
        answer(s, requests++);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    requests: () => requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

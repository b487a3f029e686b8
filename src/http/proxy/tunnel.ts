/**
 * CONNECT tunnels (RFC 9110 §9.3.6): open a TCP connection to `host:port`, answer 200, then
 * pipe bytes both ways until either side closes. Only to allowed ports (`--connect-ports`,
 * default 443) so the proxy cannot be used to reach arbitrary services; never intercepted or
 * cached.
 */
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { originFailure } from "./forward.js";
import { parseAuthority } from "./target.js";
import type { DestinationCheck } from "./destination-lookup.js";

/** How a tunnel ended, for the access log. */
export interface TunnelResult {
  target: string;
  status: number;
  /** Bytes client → origin and origin → client. */
  bytesUp: number;
  bytesDown: number;
  reason?: string;
}

export interface TunnelOptions {
  connectPorts: ReadonlySet<number>;
  timeoutMs: number;
  via: string;
  /** True when host:port is this proxy (a loop). */
  isSelf(host: string, port: number): boolean;
  /** The destination rule (destination-lookup.ts): the address to connect to, or a refusal. */
  checkDestination?(host: string, port: number): Promise<DestinationCheck>;
}

function refuse(client: Duplex, status: number, text: string, reason: string): void {
  const body = `${status} ${text}: ${reason}\n`;
  client.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Run one CONNECT tunnel; resolves when both sides are closed.
 *
 * @example
 * server.on("connect", (req, socket, head) => void runTunnel(req.url ?? "", socket, head, options));
 */
export function runTunnel(authority: string, client: Duplex, head: Buffer, o: TunnelOptions): Promise<TunnelResult> {
  return new Promise((resolve) => {
    const result: TunnelResult = { target: authority, status: 200, bytesUp: 0, bytesDown: 0 };
    client.on("error", () => client.destroy());
    const t = parseAuthority(authority);
    if (t === undefined) {
      refuse(client, 400, "Bad Request", "CONNECT needs host:port");
      resolve({ ...result, status: 400, reason: "bad authority" });
      return;
    }
    if (!o.connectPorts.has(t.port)) {
      refuse(client, 403, "Forbidden", `CONNECT to port ${t.port} is not allowed (--connect-ports)`);
      resolve({ ...result, status: 403, reason: "port not allowed" });
      return;
    }
    if (o.isSelf(t.host, t.port)) {
      refuse(client, 508, "Loop Detected", "CONNECT to the proxy itself");
      resolve({ ...result, status: 508, reason: "loop" });
      return;
    }
    const check = o.checkDestination?.(t.host, t.port) ?? Promise.resolve<DestinationCheck>({ ok: true, address: undefined });
    void check.then((c) => {
      if (c.ok) open(c.address ?? t.host, t.port);
      else {
        refuse(client, c.status, c.status === 403 ? "Forbidden" : c.status === 504 ? "Gateway Timeout" : "Bad Gateway", c.reason);
        resolve({ ...result, status: c.status, reason: c.reason });
      }
    });

    function open(host: string, port: number): void {
    const t = { host, port };
    const upstream: Socket = connect({ host: t.host, port: t.port });
    let connected = false;
    let failed = false;
    // Before the tunnel is up, a socket error or the timeout is an OriginFailure (the one error type).
    const fail = (code: string | undefined, message: string): void => {
      if (connected || failed) return;
      failed = true;
      const f = originFailure(code, message, { hostname: t.host, port: t.port });
      refuse(client, f.context.status, f.context.status === 504 ? "Gateway Timeout" : "Bad Gateway", f.message);
      resolve({ ...result, status: f.context.status, reason: f.message });
    };
    upstream.setTimeout(o.timeoutMs, () => {
      if (connected) return;
      upstream.destroy();
      fail("WIREKIT_TIMEOUT", "timeout");
    });
    upstream.once("error", (err: NodeJS.ErrnoException) => fail(err.code, err.message));
    client.once("close", () => {
      if (!connected) upstream.destroy();
    });
    upstream.once("connect", () => {
      connected = true;
      upstream.setTimeout(0);
      upstream.setNoDelay(true);
      client.write(`HTTP/1.1 200 Connection Established\r\nVia: ${o.via}\r\n\r\n`);
      if (head.length > 0) {
        result.bytesUp += head.length;
        upstream.write(head);
      }
      client.on("data", (d: Buffer) => (result.bytesUp += d.length));
      upstream.on("data", (d: Buffer) => (result.bytesDown += d.length));
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      upstream.pipe(client);
      client.pipe(upstream);
      let closed = 0;
      const onClose = (): void => {
        closed++;
        if (closed === 1) {
          // One side is gone: give the other a moment to flush, then end it.
          upstream.end();
          client.end();
        }
        if (closed === 2) resolve(result);
      };
      upstream.once("close", onClose);
      client.once("close", onClose);
    });
    }
  });
}

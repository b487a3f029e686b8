/**
 * Persistent connections to origins (RFC 9112 §9.3): idle connections kept per origin, most
 * recently used first, a bounded number each, dropped as soon as the origin closes one or
 * sends anything while it is idle (an idle connection must be silent; bytes then would be
 * read as the next response). Sockets only: the HTTP exchange on them is in forward.ts.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { isIP } from "node:net";

/** Where to connect: a pool per distinct key (scheme, address, port, TLS name). */
export interface OriginAddress {
  protocol: "http:" | "https:";
  /** Name or address to connect to. */
  host: string;
  port: number;
  /** TLS server name (certificate check and SNI); the origin's host name. */
  servername: string;
}

/** A connection handed out by the pool. */
export interface PooledSocket {
  socket: Socket;
  /** It carried an earlier exchange (the origin may have closed it meanwhile). */
  reused: boolean;
  key: string;
}

/**
 * Keep-alive connections to origins, shared by every request of a proxy.
 *
 * @example
 * const pool = new OriginPool();
 * const c = pool.acquire({ protocol: "http:", host: "127.0.0.1", port: 8080, servername: "" });
 * // ... one exchange on c.socket, then pool.release(c) if it may be reused, else c.socket.destroy()
 * pool.destroy();
 */
export class OriginPool {
  readonly #idle = new Map<string, Socket[]>();
  readonly #open = new Set<Socket>();
  /** The listener that drops an idle connection, to remove when it is handed out. */
  readonly #drops = new Map<Socket, () => void>();
  readonly #maxIdle: number;
  #closed = false;

  /** @param maxIdlePerOrigin idle connections kept per origin @default 64 */
  constructor(maxIdlePerOrigin = 64) {
    this.#maxIdle = maxIdlePerOrigin;
  }

  /** An idle connection to `a`, else a new one (still connecting: wait for 'connect'/'secureConnect'). */
  acquire(a: OriginAddress): PooledSocket {
    const key = `${a.protocol}//${a.host}:${a.port}/${a.servername}`;
    const list = this.#idle.get(key);
    const idle = list?.pop();
    if (idle !== undefined) {
      if (list?.length === 0) this.#idle.delete(key);
      this.#unwatch(idle);
      idle.ref();
      return { socket: idle, reused: true, key };
    }
    const bare = a.servername.replace(/^\[|\]$/g, "");
    const socket =
      a.protocol === "https:"
        ? tlsConnect({ host: a.host, port: a.port, servername: isIP(bare) === 0 && bare !== "" ? bare : undefined, ALPNProtocols: ["http/1.1"] })
        : netConnect({ host: a.host, port: a.port });
    socket.setNoDelay(true);
    this.#open.add(socket);
    socket.once("close", () => this.#open.delete(socket));
    if (this.#closed) socket.destroy();
    return { socket, reused: false, key };
  }

  /** Return a connection whose exchange completed cleanly; it waits idle for the next one. */
  release(c: PooledSocket): void {
    const s = c.socket;
    if (this.#closed || s.destroyed) {
      s.destroy();
      return;
    }
    s.setTimeout(0);
    const list = this.#idle.get(c.key) ?? [];
    if (list.length >= this.#maxIdle) {
      s.destroy();
      return;
    }
    const drop = (): void => {
      const l = this.#idle.get(c.key);
      const i = l?.indexOf(s) ?? -1;
      if (l !== undefined && i >= 0) l.splice(i, 1);
      if (l?.length === 0) this.#idle.delete(c.key);
      this.#unwatch(s);
      s.destroy();
    };
    this.#drops.set(s, drop);
    s.on("error", drop);
    s.on("data", drop);
    s.on("end", drop);
    s.on("close", drop);
    s.resume();
    s.unref();
    list.push(s);
    this.#idle.set(c.key, list);
  }

  #unwatch(s: Socket): void {
    const drop = this.#drops.get(s);
    if (drop === undefined) return;
    this.#drops.delete(s);
    s.off("error", drop).off("data", drop).off("end", drop).off("close", drop);
  }

  /** Close every connection, idle or busy, and refuse to open more. */
  destroy(): void {
    this.#closed = true;
    for (const s of this.#open) s.destroy();
    this.#idle.clear();
    this.#drops.clear();
  }
}

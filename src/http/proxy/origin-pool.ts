/**
 * Persistent connections to origins (RFC 9112 §9.3): at most `maxPerOrigin` busy connections
 * per origin (later requests wait their turn, as Node's agent did), idle ones kept most recently
 * used first, a bounded number each, dropped as soon as the origin closes one or sends anything
 * while it is idle (an idle connection must be silent; bytes then would be
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
  /** Gives its busy slot back (once; on release, or when the socket closes). */
  readonly done: () => void;
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
  readonly #maxBusy: number;
  readonly #busy = new Map<string, number>();
  readonly #waiting = new Map<string, Array<() => void>>();
  readonly #onOpen: ((socket: Socket) => void) | undefined;
  #closed = false;

  /**
   * @param maxIdlePerOrigin idle connections kept per origin @default 64
   * @param maxPerOrigin connections in use at once per origin @default 256
   * @param onOpen shown each plain-TCP connection the pool opens, before anything is written (`--pcap`) @default none
   */
  constructor(maxIdlePerOrigin = 64, maxPerOrigin = 256, onOpen?: (socket: Socket) => void) {
    this.#maxIdle = maxIdlePerOrigin;
    this.#maxBusy = maxPerOrigin;
    this.#onOpen = onOpen;
  }

  /**
   * An idle connection to `a`, else a new one (still connecting: writes are queued until it is
   * connected), once fewer than `maxPerOrigin` are busy. `cancelled` is asked when a waiting
   * turn comes: true hands the turn to the next waiter instead.
   */
  acquire(a: OriginAddress, cancelled: () => boolean = () => false): Promise<PooledSocket | undefined> {
    const key = `${a.protocol}//${a.host}:${a.port}/${a.servername}`;
    if (this.#closed) return Promise.resolve(undefined);
    if ((this.#busy.get(key) ?? 0) < this.#maxBusy) return Promise.resolve(this.#take(a, key));
    return new Promise((resolve) => {
      const list = this.#waiting.get(key) ?? [];
      list.push(() => resolve(cancelled() || this.#closed ? undefined : this.#take(a, key)));
      this.#waiting.set(key, list);
    });
  }

  #take(a: OriginAddress, key: string): PooledSocket {
    this.#busy.set(key, (this.#busy.get(key) ?? 0) + 1);
    let given = false;
    const c = this.#socketFor(a, key);
    const done = (): void => {
      if (given) return;
      given = true;
      c.socket.off("close", done);
      const n = (this.#busy.get(key) ?? 1) - 1;
      if (n === 0) this.#busy.delete(key);
      else this.#busy.set(key, n);
      // The next waiter's turn (one that gave up passes it on).
      const list = this.#waiting.get(key);
      const next = list?.shift();
      if (list?.length === 0) this.#waiting.delete(key);
      if (next !== undefined) {
        const before = this.#busy.get(key) ?? 0;
        next();
        if ((this.#busy.get(key) ?? 0) === before && this.#waiting.has(key)) this.#passOn(key);
      }
    };
    c.socket.once("close", done);
    return { ...c, done };
  }

  /** A waiter gave its turn up: wake the following one while a slot is free. */
  #passOn(key: string): void {
    while ((this.#busy.get(key) ?? 0) < this.#maxBusy) {
      const list = this.#waiting.get(key);
      const next = list?.shift();
      if (list?.length === 0) this.#waiting.delete(key);
      if (next === undefined) return;
      next();
    }
  }

  #socketFor(a: OriginAddress, key: string): { socket: Socket; reused: boolean; key: string } {
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
    if (this.#onOpen !== undefined && a.protocol !== "https:") this.#onOpen(socket);
    this.#open.add(socket);
    socket.once("close", () => this.#open.delete(socket));
    if (this.#closed) socket.destroy();
    return { socket, reused: false, key };
  }

  /** Return a connection whose exchange completed cleanly; it waits idle for the next one. */
  release(c: PooledSocket): void {
    const s = c.socket;
    // Idle first, then the slot goes back: a waiter woken by it finds this connection.
    if (this.#closed || s.destroyed) {
      s.destroy();
      c.done();
      return;
    }
    s.setTimeout(0);
    const list = this.#idle.get(c.key) ?? [];
    if (list.length >= this.#maxIdle) {
      s.destroy();
      c.done();
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
    c.done();
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
    const waiting = [...this.#waiting.values()].flat();
    this.#waiting.clear();
    for (const w of waiting) w();
  }
}

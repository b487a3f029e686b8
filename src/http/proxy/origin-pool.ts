/**
 * Persistent connections to origins (RFC 9112 §9.3): at most `maxPerOrigin` busy connections
 * per origin (later requests wait their turn, as Node's agent did), idle ones kept most recently
 * used first, a bounded number each, dropped as soon as the origin closes one or sends anything
 * while it is idle (an idle connection must be silent; bytes then would be
 * read as the next response). Sockets only: the HTTP exchange on them is in forward.ts.
 * Each socket gets its listeners once, when it is opened; they pass events to the exchange
 * that has it (`PooledSocket.events`) or, while it is idle, drop it: handing a connection out
 * and taking it back adds and removes no listeners (they were ~20 per request).
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

/** What an exchange hears from its connection (set on `PooledSocket.events`). */
export interface SocketEvents {
  data(chunk: Buffer): void;
  end(): void;
  close(): void;
  error(err: NodeJS.ErrnoException): void;
  timeout(): void;
}

/** A connection handed out by the pool. */
export interface PooledSocket {
  socket: Socket;
  /** It carried an earlier exchange (the origin may have closed it meanwhile). */
  reused: boolean;
  key: string;
  /** Gives its busy slot back (once; on release, or when the socket closes). */
  readonly done: () => void;
  /** Where the socket's events go while this exchange has it (none: they are ignored). */
  events: SocketEvents | undefined;
}

/** The pool an address's connections are kept in. */
function keyOf(a: OriginAddress): string {
  return `${a.protocol}//${a.host}:${a.port}/${a.servername}`;
}

/** A socket's one set of listeners, and where they send its events now. */
interface Conn {
  readonly socket: Socket;
  readonly key: string;
  /** The exchange that has it, or undefined. */
  busy: PooledSocket | undefined;
  /** Waiting in the idle list. */
  idle: boolean;
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
  readonly #idle = new Map<string, Conn[]>();
  readonly #open = new Set<Socket>();
  /** Each open socket's listeners' state. */
  readonly #conns = new WeakMap<Socket, Conn>();
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
    if (this.#closed) return Promise.resolve(undefined);
    const now = this.takeNow(a);
    if (now !== undefined) return Promise.resolve(now);
    const key = keyOf(a);
    return new Promise((resolve) => {
      const list = this.#waiting.get(key) ?? [];
      list.push(() => resolve(cancelled() || this.#closed ? undefined : this.#take(a, key)));
      this.#waiting.set(key, list);
    });
  }

  /**
   * What `acquire` resolves with when a slot is free, at once (no promise, no microtask turn: the
   * common case of every miss); undefined when the caller must `acquire` instead (every slot of
   * the origin busy, or the pool closed).
   */
  takeNow(a: OriginAddress): PooledSocket | undefined {
    if (this.#closed) return undefined;
    const key = keyOf(a);
    return (this.#busy.get(key) ?? 0) < this.#maxBusy ? this.#take(a, key) : undefined;
  }

  #take(a: OriginAddress, key: string): PooledSocket {
    this.#busy.set(key, (this.#busy.get(key) ?? 0) + 1);
    let given = false;
    const { conn, reused } = this.#socketFor(a, key);
    const done = (): void => {
      if (given) return;
      given = true;
      if (conn.busy === pooled) conn.busy = undefined;
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
    const pooled: PooledSocket = { socket: conn.socket, reused, key, done, events: undefined };
    conn.busy = pooled;
    return pooled;
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

  #socketFor(a: OriginAddress, key: string): { conn: Conn; reused: boolean } {
    const list = this.#idle.get(key);
    const idle = list?.pop();
    if (idle !== undefined) {
      if (list?.length === 0) this.#idle.delete(key);
      idle.idle = false;
      idle.socket.ref();
      return { conn: idle, reused: true };
    }
    const bare = a.servername.replace(/^\[|\]$/g, "");
    const socket =
      a.protocol === "https:"
        ? tlsConnect({ host: a.host, port: a.port, servername: isIP(bare) === 0 && bare !== "" ? bare : undefined, ALPNProtocols: ["http/1.1"] })
        : netConnect({ host: a.host, port: a.port });
    socket.setNoDelay(true);
    if (this.#onOpen !== undefined && a.protocol !== "https:") this.#onOpen(socket);
    this.#open.add(socket);
    const conn: Conn = { socket, key, busy: undefined, idle: false };
    this.#conns.set(socket, conn);
    // An idle connection must be silent: anything from it (bytes, end, error) drops it.
    const drop = (): void => {
      if (conn.idle) this.#drop(conn);
    };
    socket.on("data", (d: Buffer) => (conn.busy === undefined ? drop() : conn.busy.events?.data(d)));
    socket.on("end", () => (conn.busy === undefined ? drop() : conn.busy.events?.end()));
    socket.on("error", (err: NodeJS.ErrnoException) => (conn.busy === undefined ? drop() : conn.busy.events?.error(err)));
    // The exchanges' inactivity timer is left on the socket while it is idle; it fires for nobody then.
    socket.on("timeout", () => conn.busy?.events?.timeout());
    socket.on("close", () => {
      this.#open.delete(socket);
      const busy = conn.busy;
      if (busy === undefined) return drop();
      busy.events?.close();
      // The exchange is over with its socket: the slot goes back.
      busy.done();
    });
    if (this.#closed) socket.destroy();
    return { conn, reused: false };
  }

  /** Take an idle connection out of its list and close it. */
  #drop(conn: Conn): void {
    conn.idle = false;
    const l = this.#idle.get(conn.key);
    const i = l?.indexOf(conn) ?? -1;
    if (l !== undefined && i >= 0) l.splice(i, 1);
    if (l?.length === 0) this.#idle.delete(conn.key);
    conn.socket.destroy();
  }

  /** Return a connection whose exchange completed cleanly; it waits idle for the next one. */
  release(c: PooledSocket): void {
    const s = c.socket;
    c.events = undefined;
    const conn = this.#conns.get(s);
    // Idle first, then the slot goes back: a waiter woken by it finds this connection.
    if (this.#closed || s.destroyed || conn === undefined || conn.busy !== c) {
      s.destroy();
      c.done();
      return;
    }
    const list = this.#idle.get(c.key) ?? [];
    if (list.length >= this.#maxIdle) {
      s.destroy();
      c.done();
      return;
    }
    conn.busy = undefined;
    conn.idle = true;
    s.resume();
    s.unref();
    list.push(conn);
    this.#idle.set(c.key, list);
    c.done();
  }

  /** Close every connection, idle or busy, and refuse to open more. */
  destroy(): void {
    this.#closed = true;
    for (const s of this.#open) s.destroy();
    this.#idle.clear();
    const waiting = [...this.#waiting.values()].flat();
    this.#waiting.clear();
    for (const w of waiting) w();
  }
}

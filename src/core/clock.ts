/**
 * Clock: wall time, monotonic time and timers behind one interface, so protocol logic
 * never calls Date.now(), performance.now() or setTimeout() itself. `FakeClock` drives
 * the same code deterministically in tests.
 */

/** An opaque timer handle returned by `Clock.setTimeout`. */
export interface TimerHandle {
  /** Let the process exit while this timer is pending (no-op on fake clocks). */
  unref(): void;
}

export interface Clock {
  /** Wall-clock time in milliseconds since the Unix epoch. */
  now(): number;
  /** Monotonic time in milliseconds (fractional), for measuring intervals. Never goes back. */
  monotonic(): number;
  /** Run `fn` after `ms` milliseconds of monotonic time. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

class SystemTimer implements TimerHandle {
  constructor(readonly t: NodeJS.Timeout) {}
  unref(): void {
    this.t.unref();
  }
}

/** The real clock: Date.now(), performance.now() and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(fn, ms) {
    return new SystemTimer(setTimeout(fn, Math.max(0, ms)));
  },
  clearTimeout(handle) {
    if (handle instanceof SystemTimer) clearTimeout(handle.t);
  },
};

interface FakeTimer extends TimerHandle {
  id: number;
  due: number;
  fn: () => void;
}

/**
 * A clock for tests. Time moves only when `advance(ms)` is called; due timers fire in
 * order of their due time (ties in creation order), each seeing `monotonic()` equal to
 * its own due time. Timers scheduled by a firing timer fire in the same advance if due.
 *
 * @example
 * const clock = new FakeClock();
 * clock.setTimeout(() => console.log(clock.monotonic()), 100);
 * clock.advance(150); // prints 100
 */
export class FakeClock implements Clock {
  #mono: number;
  #wallOffset: number;
  #timers: FakeTimer[] = [];
  #nextId = 1;

  /** @param wallStart wall-clock ms at monotonic 0 (default 2026-01-01T00:00:00Z) */
  constructor(wallStart = Date.UTC(2026, 0, 1), monoStart = 0) {
    this.#mono = monoStart;
    this.#wallOffset = wallStart - monoStart;
  }

  now(): number {
    return this.#mono + this.#wallOffset;
  }

  monotonic(): number {
    return this.#mono;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: FakeTimer = { id: this.#nextId++, due: this.#mono + Math.max(0, ms), fn, unref() {} };
    this.#timers.push(t);
    return t;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t !== handle);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.#mono + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of this.#timers) {
        if (t.due <= target && (next === undefined || t.due < next.due || (t.due === next.due && t.id < next.id))) next = t;
      }
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#mono = Math.max(this.#mono, next.due);
      next.fn();
    }
    this.#mono = target;
  }
}

/** Resolve after `ms` on the given clock; rejects with the signal's reason if aborted. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The timers one run owns, so they can all be cancelled when it ends (a finished ping run
 * must not leave a timeout behind that keeps the process alive or fires into a closed socket).
 *
 * @example
 * const timers = new TimerGroup(clock);
 * timers.after(1000, () => expire(seq));
 * timers.clear(); // on finish or abort
 */
export class TimerGroup {
  readonly #clock: Clock;
  readonly #timers = new Set<TimerHandle>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Run `fn` after `ms`; the timer forgets itself when it fires. */
  after(ms: number, fn: () => void): TimerHandle {
    const h = this.#clock.setTimeout(() => {
      this.#timers.delete(h);
      fn();
    }, ms);
    this.#timers.add(h);
    return h;
  }

  /** Timers still pending. */
  get size(): number {
    return this.#timers.size;
  }

  /** Cancel every pending timer. */
  clear(): void {
    for (const h of this.#timers) this.#clock.clearTimeout(h);
    this.#timers.clear();
  }
}

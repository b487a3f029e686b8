/**
 * Work a store has started and not finished (background file writes, commits), so that
 * `flush()` can wait for it: the stores' one tracker.
 *
 * @example
 * const work = new PendingWork();
 * void work.track(writeFile(path, data));
 * await work.flush(); // the write, and whatever it started meanwhile, are done
 */
export class PendingWork {
  readonly #pending = new Set<Promise<unknown>>();

  /** Remember `p` until it settles; returns `p`. */
  track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p)).catch(() => undefined);
    return p;
  }

  /** Wait for every tracked promise, and those tracked while waiting, to settle. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

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
    // One reaction for either outcome (finally() and a catch() for its copy made two promises more per tracked piece of work: every stored miss has a few).
    const forget = (): void => void this.#pending.delete(p);
    p.then(forget, forget);
    return p;
  }

  /** Wait for every tracked promise, and those tracked while waiting, to settle. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

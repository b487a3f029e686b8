/**
 * A tool's typed events with the time each was seen: what the ladder adapters (and the pcap
 * comments) are built from. The time comes from the tool's injected Clock, so a test on a fake
 * clock gets exact times.
 */
export interface Timed<E> {
  /** Milliseconds since the first recorded event. */
  at: number;
  event: E;
}

export class EventLog<E> {
  readonly entries: Array<Timed<E>> = [];
  #t0: number | undefined;
  readonly #now: () => number;

  constructor(clock: { monotonic(): number }) {
    this.#now = () => clock.monotonic();
  }

  /** Milliseconds since the first event (0 before it). */
  elapsed(): number {
    return this.#t0 === undefined ? 0 : this.#now() - this.#t0;
  }

  push(event: E): void {
    const now = this.#now();
    this.#t0 ??= now;
    this.entries.push({ at: now - this.#t0, event });
  }
}

/** "1.000 s" / "250 ms": a duration in a decision text. */
export function msText(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${Math.round(ms * 10) / 10} ms`;
}

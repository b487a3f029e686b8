/**
 * Responses a handler returned synchronously (a cache hit, a ready file), held until the end
 * of the event loop's poll phase and then handed to their connections together, in the order
 * they were returned. Answering each request the moment its bytes were read made the server
 * and a client with many connections take turns: a response out, the server out of work, the
 * server asleep in epoll until the next request; under `wrk -c50` that was 0.6-0.8 context
 * switches per proxy hit against 0.1-0.2 for the static server, whose answers wait on a stat and
 * so go out in bursts (0.2 per hit with the answers held). Read everything that is ready, then write everything that is due: the
 * answers leave in the check phase of the same loop iteration, microseconds later.
 */
import type { HttpResponse } from "./types.js";

/** Who takes a held response (the connection the request came on). */
export interface HeldAnswerTaker<X> {
  answered(ex: X, res: HttpResponse): void;
}

/** One turn's held answers: three parallel arrays, reused. */
class Batch<X> {
  readonly takers: Array<HeldAnswerTaker<X>> = [];
  readonly exchanges: Array<X | undefined> = [];
  readonly responses: HttpResponse[] = [];
  count = 0;
}

/**
 * One per server, shared by its connections. Holding an answer allocates nothing: two batches
 * take turns (answers held while one is delivered, such as a pipelined request a write freed,
 * go into the other, for the next turn).
 *
 * @example
 * const held = new HeldAnswers<H1Exchange>();
 * held.hold(connection, exchange, response); // handed over once this poll phase is over
 */
export class HeldAnswers<X> {
  #batch = new Batch<X>();
  #spare = new Batch<X>();
  readonly #flush = (): void => this.#deliver();

  /** Answers held now. */
  get size(): number {
    return this.#batch.count;
  }

  /** Hand `res` to `taker` for `ex` at the end of this poll phase. */
  hold(taker: HeldAnswerTaker<X>, ex: X, res: HttpResponse): void {
    const b = this.#batch;
    if (b.count === 0) setImmediate(this.#flush);
    const i = b.count++;
    b.takers[i] = taker;
    b.exchanges[i] = ex;
    b.responses[i] = res;
  }

  #deliver(): void {
    const b = this.#batch;
    this.#batch = this.#spare;
    this.#spare = b;
    const n = b.count;
    let i = 0;
    try {
      for (; i < n; i++) (b.takers[i] as HeldAnswerTaker<X>).answered(b.exchanges[i] as X, b.responses[i] as HttpResponse);
    } finally {
      // A taker that threw (its exception goes on, as it would have from the read) does not strand the others.
      for (let j = i + 1; j < n; j++) this.hold(b.takers[j] as HeldAnswerTaker<X>, b.exchanges[j] as X, b.responses[j] as HttpResponse);
      // Let go of what was delivered (the arrays stay, at the largest size a turn needed).
      b.takers.fill(NOBODY as HeldAnswerTaker<X>, 0, n);
      b.exchanges.fill(undefined, 0, n);
      b.responses.fill(NO_RESPONSE, 0, n);
      b.count = 0;
    }
  }
}

const NOBODY: HeldAnswerTaker<unknown> = { answered: () => undefined };
const NO_RESPONSE: HttpResponse = { status: 0, headers: [] };

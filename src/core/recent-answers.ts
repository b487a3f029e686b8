/**
 * `RecentAnswers`: a pure function's answers for the keys asked of it lately, so a server works
 * out what follows from a request line, a path or a header value once per distinct value, not
 * once per request. Bounded in two ways a hostile client cannot get round: keys longer than
 * `maxKeyLength` are answered but never kept, and when `maxEntries` answers are kept the whole
 * memo is dropped at once (cheaper than an LRU on every hit; popular keys are back after one
 * request each).
 *
 * Only for functions whose answer depends on the key alone (and on what the function closed
 * over when it was made), never on the time or on the file system: nothing here expires.
 */

export interface RecentAnswersOptions {
  /** Answers kept before the memo is dropped and starts again. */
  maxEntries: number;
  /** Keys longer than this are answered but not kept. @default Infinity */
  maxKeyLength?: number;
}

/**
 * @example
 * const media = new RecentAnswers((path: string) => contentTypeOf(path), { maxEntries: 10_000 });
 * media.get("/index.html"); // "text/html; charset=utf-8", computed once
 */
export class RecentAnswers<V> {
  readonly #answers = new Map<string, V>();
  readonly #fn: (key: string) => V;
  readonly #maxEntries: number;
  readonly #maxKeyLength: number;

  /** `fn` must not return undefined (it would be computed again on every call). */
  constructor(fn: (key: string) => V, options: RecentAnswersOptions) {
    this.#fn = fn;
    this.#maxEntries = options.maxEntries;
    this.#maxKeyLength = options.maxKeyLength ?? Infinity;
  }

  /** `fn(key)`, from memory when it was asked lately. */
  get(key: string): V {
    const known = this.#answers.get(key);
    if (known !== undefined) return known;
    const v = this.#fn(key);
    if (key.length <= this.#maxKeyLength) {
      if (this.#answers.size >= this.#maxEntries) this.#answers.clear();
      this.#answers.set(key, v);
    }
    return v;
  }

  /** Answers kept now. */
  get size(): number {
    return this.#answers.size;
  }
}

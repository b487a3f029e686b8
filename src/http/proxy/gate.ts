/**
 * The collapsing gate: which waiting requests share one origin fetch. The first eligible
 * request for a URI leads (it goes to the origin); the ones that come while it is out wait,
 * and once the leader lets them go (as soon as it knows whether anything will be stored) they
 * look the cache up again. Across proxies sharing a store, a leader that finds another node
 * holding the store's lock waits for it the same way, polling on the injected clock
 * (`waitShared`). No I/O of its own: a map of leaders, and the store's lock asked through a function.
 */
import type { Clock } from "../../core/clock.js";
import type { HeaderMap } from "../header-list.js";

/** How often a request waiting on another node's fetch asks whether its lock is still held, ms. */
export const SHARED_POLL_MS = 20;

/** What a request gets at the gate. */
export type Turn =
  /** Go to the origin; call `release()` once waiters may look again (more calls do nothing). */
  | { kind: "lead"; release(): void }
  /** Another request is fetching this URI: wait for `done`, then look the cache up again. */
  | { kind: "wait"; done: Promise<void> }
  /** Not a request that shares fetches: go alone (`release()` does nothing). */
  | { kind: "alone"; release(): void };

/** A turn at the origin (leading or alone): release it once waiters may look again. */
export type OriginTurn = Exclude<Turn, { kind: "wait" }>;

/** The turn of a request that shares nothing. */
export const ALONE: OriginTurn = { kind: "alone", release: () => undefined };

/** Does the request carry a body (Content-Length other than 0, or Transfer-Encoding)? */
export function hasRequestBody(h: HeaderMap): boolean {
  const cl = h["content-length"];
  return (cl !== undefined && cl !== "0") || h["transfer-encoding"] !== undefined;
}

/**
 * May this request share a fetch? A plain GET: not conditional, not ranged, no body (each of
 * those wants its own answer), and not one that already waited once (it fetches itself).
 *
 * @example
 * collapsible("GET", {}, false)               // true
 * collapsible("GET", { range: "bytes=0-9" }, false) // false
 */
export function collapsible(method: string, h: HeaderMap, alreadyWaited: boolean): boolean {
  if (alreadyWaited || method !== "GET") return false;
  if (h["if-none-match"] !== undefined || h["if-modified-since"] !== undefined || h.range !== undefined) return false;
  return !hasRequestBody(h);
}

/**
 * The gate. One per proxy.
 *
 * @example
 * const turn = gate.enter(href, collapsible(method, headers, false));
 * if (turn.kind === "wait") { await turn.done; return lookAgain(); }
 * try { await fetch(); } finally { if (turn.kind === "lead") turn.release(); }
 */
export class CollapsingGate {
  readonly #leaders = new Map<string, Promise<void>>();

  /** URIs with a leader out at the origin. */
  get size(): number {
    return this.#leaders.size;
  }

  /** Is a request for `key` out at the origin now? */
  leading(key: string): boolean {
    return this.#leaders.has(key);
  }

  /**
   * Another node holds the shared store's lock on this URI (it is fetching): wait until
   * `held()` says it is gone, asking every `SHARED_POLL_MS` of `clock` time, for at most
   * `maxMs` (the lock expires by then whatever its node does). Then look the cache up again.
   */
  async waitShared(held: () => Promise<boolean>, clock: Clock, maxMs: number): Promise<void> {
    const until = clock.monotonic() + maxMs;
    while (clock.monotonic() < until) {
      if (!(await held())) return;
      await new Promise<void>((resolve) => clock.setTimeout(resolve, SHARED_POLL_MS));
    }
  }

  /** Ask for a turn. `eligible` false (see `collapsible`) always goes alone. */
  enter(key: string, eligible: boolean): Turn {
    if (!eligible) return ALONE;
    const pending = this.#leaders.get(key);
    if (pending !== undefined) return { kind: "wait", done: pending };
    let open: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (open = resolve));
    this.#leaders.set(key, done);
    let released = false;
    return {
      kind: "lead",
      release: () => {
        if (released) return;
        released = true;
        if (this.#leaders.get(key) === done) this.#leaders.delete(key);
        open();
      },
    };
  }
}

/**
 * Containment of request paths under ROOT over an injected async fs, for the request → response
 * handler: symlinks are followed only while they stay inside ROOT. The pure half
 * (decodeRequestPath, joinUnderRoot, isInside, the realpath memo) is resolve.ts.
 */
import type { Clock } from "../../core/clock.js";
import { isInside, joinUnderRoot, RealpathMemo } from "./resolve.js";
import { errorCode, type FileStat, type StaticFs } from "./static-fs.js";

export type FsResolved =
  | { ok: true; path: string; st: FileStat }
  | { ok: false; status: 403 | 404; reason: string };

export interface FsRootResolverOptions {
  /** Follow symlinks that lead outside ROOT. @default false */
  followSymlinks?: boolean;
  /**
   * Reuse a resolution (found or not) for this long before stat()ing the path again, as nginx's
   * open_file_cache_valid does; a changed file shows after at most this long. 0 = stat on every
   * request, so a change shows at once. @default 0
   */
  revalidateMs?: number;
  /** Monotonic time for `revalidateMs`. Required when it is above 0. */
  clock?: Clock;
  /** Paths remembered (realpath answers, and resolutions under `revalidateMs`). @default 10000 */
  maxEntries?: number;
}

/**
 * Resolves candidates under a real (already canonical) root; a symlink that leads outside it
 * is 403 unless `followSymlinks`. realpath(3) lstat()s every component, so its answer is
 * remembered (`RealpathMemo`) and reused only while stat(candidate) reaches the same inode.
 *
 * @example
 * const r = await new FsRootResolver(nodeStaticFs, "/srv/www").resolve(["index.html"]);
 */
export class FsRootResolver {
  readonly followSymlinks: boolean;
  readonly #memo: RealpathMemo;
  readonly #revalidateMs: number;
  readonly #clock: Clock | undefined;
  readonly #maxEntries: number;
  readonly #recent = new Map<string, { at: number; result: Promise<FsResolved> }>();

  constructor(
    readonly fs: StaticFs,
    readonly realRoot: string,
    options: FsRootResolverOptions = {},
  ) {
    this.followSymlinks = options.followSymlinks ?? false;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#memo = new RealpathMemo(this.#maxEntries);
    this.#clock = options.clock;
    this.#revalidateMs = this.#clock === undefined ? 0 : Math.max(0, options.revalidateMs ?? 0);
  }

  /** Resolve checked segments (from `decodeRequestPath`). */
  resolve(segments: readonly string[]): Promise<FsResolved> {
    return this.resolvePath(joinUnderRoot(this.realRoot, segments));
  }

  /** Resolve a path under the root: a candidate from joinUnderRoot, or a sibling of a resolved one. */
  resolvePath(candidate: string): Promise<FsResolved> {
    const clock = this.#clock;
    if (this.#revalidateMs === 0 || clock === undefined) return this.#shared(candidate);
    const now = clock.monotonic();
    const hit = this.#recent.get(candidate);
    // Concurrent requests inside the window share one stat (the promise is what is kept).
    if (hit !== undefined && now - hit.at < this.#revalidateMs) return hit.result;
    if (this.#recent.size >= this.#maxEntries) this.#recent.clear();
    const result = this.#resolve(candidate);
    this.#recent.set(candidate, { at: now, result });
    return result;
  }

  /**
   * One stat for every request of this event-loop turn that names the same path. Requests the
   * engine parses in one poll phase were all received before the first of them issued the
   * stat, so its answer is as fresh for each as a stat of its own: a change made before a
   * request was sent is still seen by that request. The entry goes when the stat settles or
   * when the turn ends (setImmediate), whichever is first, so no later request shares it.
   */
  #shared(candidate: string): Promise<FsResolved> {
    const hit = this.#turn.get(candidate);
    if (hit !== undefined) return hit;
    const result = this.#resolve(candidate);
    if (this.#turn.size === 0) setImmediate(this.#endTurn);
    this.#turn.set(candidate, result);
    const settled = (): void => {
      if (this.#turn.get(candidate) === result) this.#turn.delete(candidate);
    };
    result.then(settled, settled);
    return result;
  }

  readonly #turn = new Map<string, Promise<FsResolved>>();
  readonly #endTurn = (): void => this.#turn.clear();

  async #resolve(candidate: string): Promise<FsResolved> {
    let st: FileStat;
    try {
      st = await this.fs.stat(candidate);
    } catch (err) {
      return refusal(err);
    }
    if (this.followSymlinks) return { ok: true, path: candidate, st };
    const known = this.#memo.get(candidate, st, st.ctimeMs);
    if (known !== undefined) return { ok: true, path: known, st };
    let real: string;
    try {
      real = await this.fs.realpath(candidate);
    } catch (err) {
      return refusal(err);
    }
    if (!isInside(this.realRoot, real)) {
      this.#memo.delete(candidate);
      return { ok: false, status: 403, reason: "symlink leads outside root" };
    }
    this.#memo.set(candidate, st, st.ctimeMs, real);
    return { ok: true, path: real, st };
  }
}

function refusal(err: unknown): { ok: false; status: 403 | 404; reason: string } {
  const code = errorCode(err);
  if (code === "EACCES" || code === "EPERM") return { ok: false, status: 403, reason: "permission denied" };
  return { ok: false, status: 404, reason: "not found" };
}

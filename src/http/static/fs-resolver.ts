/**
 * Containment of request paths under ROOT over an injected async fs: the async counterpart of
 * `RootResolver` in resolve.ts (same rules, same memo), for the request → response handler.
 * The pure half (decodeRequestPath, joinUnderRoot, isInside) is shared with it.
 */
import { isInside, joinUnderRoot, RealpathMemo } from "./resolve.js";
import { errorCode, type FileStat, type StaticFs } from "./static-fs.js";

export type FsResolved =
  | { ok: true; path: string; st: FileStat }
  | { ok: false; status: 403 | 404; reason: string };

/**
 * Resolves candidates under a real (already canonical) root; a symlink that leads outside it
 * is 403 unless `followSymlinks`. realpath(3) lstat()s every component, so its answer is
 * remembered (`RealpathMemo`) and reused only while stat(candidate) reaches the same inode.
 *
 * @example
 * const r = await new FsRootResolver(nodeStaticFs, "/srv/www", false).resolve(["index.html"]);
 */
export class FsRootResolver {
  readonly #memo: RealpathMemo;

  constructor(
    readonly fs: StaticFs,
    readonly realRoot: string,
    readonly followSymlinks: boolean,
    readonly maxEntries = 10_000,
  ) {
    this.#memo = new RealpathMemo(maxEntries);
  }

  /** Resolve checked segments (from `decodeRequestPath`). */
  resolve(segments: readonly string[]): Promise<FsResolved> {
    return this.resolvePath(joinUnderRoot(this.realRoot, segments));
  }

  /** Resolve a path under the root: a candidate from joinUnderRoot, or a sibling of a resolved one. */
  async resolvePath(candidate: string): Promise<FsResolved> {
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

/**
 * Containment of request paths under ROOT over an injected async fs: the async counterpart of
 * `RootResolver` in resolve.ts (same rules, same memo), for the request → response handler.
 * The pure half (decodeRequestPath, joinUnderRoot, isInside) is shared with it.
 */
import { isInside, joinUnderRoot } from "./resolve.js";
import { errorCode, type FileStat, type StaticFs } from "./static-fs.js";

export type FsResolved =
  | { ok: true; path: string; st: FileStat }
  | { ok: false; status: 403 | 404; reason: string };

interface RealEntry {
  dev: number;
  ino: number;
  mtimeMs: number;
  real: string;
}

/**
 * Resolves candidates under a real (already canonical) root; a symlink that leads outside it
 * is 403 unless `followSymlinks`. realpath(3) lstat()s every component, so its answer is
 * remembered per candidate and reused only while stat(candidate) reaches the same inode.
 *
 * @example
 * const r = await new FsRootResolver(nodeStaticFs, "/srv/www", false).resolve(["index.html"]);
 */
export class FsRootResolver {
  readonly #real = new Map<string, RealEntry>();

  constructor(
    readonly fs: StaticFs,
    readonly realRoot: string,
    readonly followSymlinks: boolean,
    readonly maxEntries = 10_000,
  ) {}

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
    const known = this.#real.get(candidate);
    if (known !== undefined && known.dev === st.dev && known.ino === st.ino && known.mtimeMs === st.mtimeMs) return { ok: true, path: known.real, st };
    let real: string;
    try {
      real = await this.fs.realpath(candidate);
    } catch (err) {
      return refusal(err);
    }
    if (!isInside(this.realRoot, real)) {
      this.#real.delete(candidate);
      return { ok: false, status: 403, reason: "symlink leads outside root" };
    }
    if (this.#real.size >= this.maxEntries) this.#real.clear();
    this.#real.set(candidate, { dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, real });
    return { ok: true, path: real, st };
  }
}

function refusal(err: unknown): { ok: false; status: 403 | 404; reason: string } {
  const code = errorCode(err);
  if (code === "EACCES" || code === "EPERM") return { ok: false, status: 403, reason: "permission denied" };
  return { ok: false, status: 404, reason: "not found" };
}

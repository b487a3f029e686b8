/**
 * Safe mapping from a request-target to a file under ROOT (RFC 9112 §3.2 request-target,
 * RFC 3986 §2.1 percent-encoding). The pure half (`decodeRequestPath`) turns the raw target
 * into checked segments; the I/O half (`resolveUnderRoot`) joins them to ROOT and uses
 * realpath to refuse symlinks that lead outside it.
 *
 * Attacks this refuses: `..` in any spelling (`%2e%2e`, `.%2e`), encoded slashes (`%2f`)
 * and backslashes (`%5c`, Windows separators), NUL bytes (`%00` truncation in C APIs),
 * overlong UTF-8 (`%c0%ae` = "." to a lax decoder), dotfiles (`.git`, `.env`) and symlinks
 * that point outside ROOT.
 */
import { sep } from "node:path";

/** Why a path was refused: 400 (malformed), 403 (forbidden), 404 (hidden). */
export type PathRefusal = { ok: false; status: 400 | 403 | 404; reason: string };

/** A checked request path. */
export interface RequestPath {
  ok: true;
  /** Decoded segments, none empty, none "." / "..", none containing "/" "\" or NUL. */
  segments: string[];
  /** The raw path as received (no query), for redirects and listings. */
  rawPath: string;
  /** The raw query including "?", or "". */
  query: string;
  /** True when the path ends with "/". */
  trailingSlash: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Printable ASCII without "%" or "\\": a segment that needs no decoding. */
const PLAIN = /^[\x21-\x24\x26-\x5b\x5d-\x7e]+$/;

/**
 * Decode and check a request-target. Absolute-form targets (`http://h/p`) are reduced to
 * their path. Never throws.
 *
 * @example
 * decodeRequestPath("/docs/a%20b.txt?x=1") // { ok: true, segments: ["docs", "a b.txt"], ... }
 * decodeRequestPath("/%2e%2e/etc/passwd")  // { ok: false, status: 403, ... }
 */
export function decodeRequestPath(target: string, options: { dotfiles?: boolean } = {}): RequestPath | PathRefusal {
  let t = target;
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(t);
  if (abs) t = t.slice(abs[0].length) || "/";
  if (!t.startsWith("/")) return { ok: false, status: 400, reason: "request-target must start with /" };
  const q = t.indexOf("?");
  const rawPath = q === -1 ? t : t.slice(0, q);
  const query = q === -1 ? "" : t.slice(q);
  if (rawPath.includes("#")) return { ok: false, status: 400, reason: "fragment in request-target" };
  const segments: string[] = [];
  for (const raw of rawPath.split("/")) {
    if (raw === "") continue; // "//x" and "/x/" are the same place; an empty segment is never absolute
    if (PLAIN.test(raw)) {
      // Fast path: nothing encoded, nothing to decode.
      if (raw === "." || raw === "..") return { ok: false, status: 403, reason: "dot segment in path" };
      if (raw.startsWith(".") && options.dotfiles !== true) return { ok: false, status: 404, reason: "hidden file" };
      segments.push(raw);
      continue;
    }
    const dec = percentDecode(raw);
    if (dec === undefined) return { ok: false, status: 400, reason: "bad percent-encoding" };
    let seg: string;
    try {
      seg = utf8.decode(dec);
    } catch {
      // Overlong and other invalid UTF-8: a lax decoder could turn %c0%ae into "."
      return { ok: false, status: 403, reason: "invalid UTF-8 in path" };
    }
    if (seg.includes("\0")) return { ok: false, status: 403, reason: "NUL byte in path" };
    if (seg.includes("/") || seg.includes("\\")) return { ok: false, status: 403, reason: "encoded separator in path" };
    if (seg === "." || seg === "..") return { ok: false, status: 403, reason: "dot segment in path" };
    if (seg.startsWith(".") && options.dotfiles !== true) return { ok: false, status: 404, reason: "hidden file" };
    segments.push(seg);
  }
  return { ok: true, segments, rawPath, query, trailingSlash: rawPath.endsWith("/") };
}

/** Percent-decode to bytes; undefined when a `%` is not followed by two hex digits. */
function percentDecode(s: string): Uint8Array | undefined {
  if (!s.includes("%")) return Buffer.from(s, "utf8");
  const out: number[] = [];
  const bytes = Buffer.from(s, "utf8");
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (b !== 0x25) {
      out.push(b);
      continue;
    }
    const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    out.push(parseInt(hex, 16));
    i += 2;
  }
  return Uint8Array.from(out);
}

/** Join checked segments to the (real) root. Pure. */
export function joinUnderRoot(realRoot: string, segments: readonly string[]): string {
  return segments.length === 0 ? realRoot : realRoot + (realRoot.endsWith(sep) ? "" : sep) + segments.join(sep);
}

/** True when `real` is `realRoot` or inside it. Pure. */
export function isInside(realRoot: string, real: string): boolean {
  if (real === realRoot) return true;
  const prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  return real.startsWith(prefix);
}

/** The identity a remembered realpath answer is checked against. */
export interface ReachedFile {
  dev: number;
  ino: number;
}

/**
 * realpath(3) answers per candidate path, trusted only while stat(candidate) reaches the same
 * file: swapping any component for a symlink that leads elsewhere changes the inode reached, and
 * `stamp` (ctime, or mtime where no ctime is known) catches a replacement in place. Shared by the
 * resolvers of fs-resolver.ts. Pure.
 */
export class RealpathMemo {
  readonly #real = new Map<string, { dev: number; ino: number; stamp: number; real: string }>();

  constructor(readonly maxEntries = 10_000) {}

  /** The remembered real path, if `st` still names the file it was computed for. */
  get(candidate: string, st: ReachedFile, stamp: number): string | undefined {
    const k = this.#real.get(candidate);
    return k !== undefined && k.dev === st.dev && k.ino === st.ino && k.stamp === stamp ? k.real : undefined;
  }

  set(candidate: string, st: ReachedFile, stamp: number, real: string): void {
    if (this.#real.size >= this.maxEntries) this.#real.clear();
    this.#real.set(candidate, { dev: st.dev, ino: st.ino, stamp, real });
  }

  delete(candidate: string): void {
    this.#real.delete(candidate);
  }
}

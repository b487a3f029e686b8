/**
 * The file system as the static handler sees it: a small async interface, so the handler never
 * blocks the event loop on a syscall and tests can hand it an in-memory tree. `nodeStaticFs`
 * is the real one over `node:fs/promises` (each call a round trip through libuv's pool).
 * Errors are rejections carrying a Node-style `code` (ENOENT, ENOTDIR, EACCES, ELOOP ...).
 */
import { readdir, realpath } from "node:fs/promises";
import { close as fdClose, fstat as fdStat, lstat as cbLstat, open as fdOpen, read as fdRead, stat as cbStat, type Stats } from "node:fs";

/** What a stat tells the handler: the kind, and the identity a cached copy is checked against. */
export interface FileStat {
  readonly kind: "file" | "directory" | "symlink" | "other";
  readonly size: number;
  readonly mtimeMs: number;
  /** Status change time: moves on rename and link changes, which mtime does not. */
  readonly ctimeMs: number;
  readonly ino: number;
  readonly dev: number;
}

/** The operations the static handler needs. Paths are absolute, `/`-separated. */
export interface StaticFs {
  /** stat(2): follows symlinks. */
  stat(path: string): Promise<FileStat>;
  /** lstat(2): a symlink is reported as one. */
  lstat(path: string): Promise<FileStat>;
  /** The canonical path with every symlink resolved (realpath(3)). */
  realpath(path: string): Promise<string>;
  /** Names in a directory (no "." or ".."). */
  readdir(path: string): Promise<string[]>;
  /** Open read-only; resolves to a file descriptor. */
  open(path: string): Promise<number>;
  /** fstat(2) of an open descriptor: the version of exactly the file that will be read. */
  fstat(fd: number): Promise<FileStat>;
  /** pread(2): up to `length` bytes at `position` into `buffer` from `offset`; resolves to the count (0 at EOF). */
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(fd: number): Promise<void>;
}

/** The Node error code of a rejection, or "". */
export function errorCode(err: unknown): string {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string" ? err.code : "";
}

function toFileStat(st: Stats): FileStat {
  const kind = st.isFile() ? "file" : st.isDirectory() ? "directory" : st.isSymbolicLink() ? "symlink" : "other";
  return { kind, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, dev: st.dev };
}

/**
 * Reads a whole open file (small files only: the caller checked the size).
 *
 * @example
 * const bytes = await readWhole(fs, fd, st.size);
 */
export async function readWhole(fs: StaticFs, fd: number, size: number): Promise<Uint8Array> {
  const buf = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = await fs.read(fd, buf, got, size - got, got);
    if (n === 0) break; // shrank since fstat: return what is there
    got += n;
  }
  return got === size ? buf : buf.subarray(0, got);
}

/**
 * The real file system. Descriptors are plain numbers (what the engine hands to sendfile), so
 * fstat/read/close use the callback API on the number rather than a FileHandle. stat and lstat
 * use the callback API too: fs/promises allocates a stats array and a promise of its own per
 * call, which costs the event loop more on the hot path than one callback (same syscall, same
 * single trip through libuv's pool).
 */
export const nodeStaticFs: StaticFs = {
  stat: (path) => new Promise((resolve, reject) => cbStat(path, (err, st) => (err ? reject(err) : resolve(toFileStat(st))))),
  lstat: (path) => new Promise((resolve, reject) => cbLstat(path, (err, st) => (err ? reject(err) : resolve(toFileStat(st))))),
  realpath: (path) => realpath(path),
  readdir: (path) => readdir(path),
  // Not fs/promises' open: a FileHandle closes its fd when garbage-collected, under the engine's feet.
  open: (path) => new Promise((resolve, reject) => fdOpen(path, "r", (err, fd) => (err ? reject(err) : resolve(fd)))),
  fstat: (fd) =>
    new Promise((resolve, reject) => fdStat(fd, (err, st) => (err ? reject(err) : resolve(toFileStat(st))))),
  read: (fd, buffer, offset, length, position) =>
    new Promise((resolve, reject) => fdRead(fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))),
  close: (fd) => new Promise((resolve, reject) => fdClose(fd, (err) => (err ? reject(err) : resolve()))),
};

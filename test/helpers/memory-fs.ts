/**
 * An in-memory file system implementing `StaticFs`, for handler tests without disk or sockets:
 * files (with inode numbers, sizes and mtimes the test controls), directories and symlinks
 * (absolute or relative, followed as the kernel does), and descriptors that keep the inode they
 * opened even when the path is replaced. Counts opens and open descriptors, to catch leaks.
 */
import type { FileStat, StaticFs } from "../../src/http/static/static-fs.js";

/** ctimeMs is a change counter here: it moves on every write, touch, rename and link. */
type Node =
  | { kind: "file"; ino: number; bytes: Uint8Array; mtimeMs: number; ctimeMs: number }
  | { kind: "directory"; ino: number; children: Map<string, Node>; mtimeMs: number; ctimeMs: number }
  | { kind: "symlink"; ino: number; target: string; mtimeMs: number; ctimeMs: number };

function fsError(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code });
}

function parts(path: string): string[] {
  return path.split("/").filter((s) => s !== "" && s !== ".");
}

export class MemoryFs implements StaticFs {
  readonly #root: Node = { kind: "directory", ino: 1, children: new Map(), mtimeMs: 0, ctimeMs: 0 };
  #changes = 1;
  #nextIno = 2;
  #nextFd = 100;
  readonly #fds = new Map<number, Node & { kind: "file" }>();
  /** Every path passed to open(), in order. */
  readonly opened: string[] = [];
  /** Calls per operation name. */
  readonly calls = new Map<string, number>();
  /** Paths (as given) that fail with EACCES on every operation. */
  readonly denied = new Set<string>();

  constructor(readonly defaultMtimeMs = Date.UTC(2025, 5, 1)) {}

  // ---- building the tree -------------------------------------------------------------

  /** Create or overwrite a file in place (same inode when it exists), creating parents. */
  writeFile(path: string, data: string | Uint8Array, mtimeMs = this.defaultMtimeMs): void {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    const { dir, name } = this.#parentOf(path, true);
    const old = dir.children.get(name);
    if (old !== undefined && old.kind === "file") {
      old.bytes = bytes;
      old.mtimeMs = mtimeMs;
      old.ctimeMs = this.#changes++;
      return;
    }
    dir.children.set(name, { kind: "file", ino: this.#nextIno++, bytes, mtimeMs, ctimeMs: this.#changes++ });
  }

  /** Replace a file by a new inode (as `mv new old` does), same or given content and mtime. */
  replaceFile(path: string, data?: string | Uint8Array, mtimeMs?: number): void {
    const { dir, name } = this.#parentOf(path, true);
    const old = dir.children.get(name);
    const bytes = data === undefined ? (old?.kind === "file" ? old.bytes : new Uint8Array()) : typeof data === "string" ? Buffer.from(data) : data;
    dir.children.set(name, { kind: "file", ino: this.#nextIno++, bytes, mtimeMs: mtimeMs ?? (old?.mtimeMs ?? this.defaultMtimeMs), ctimeMs: this.#changes++ });
  }

  /** Set a file's mtime (touch -d). */
  touch(path: string, mtimeMs: number): void {
    const n = this.#walk(path, true);
    n.mtimeMs = mtimeMs;
    n.ctimeMs = this.#changes++;
  }

  mkdir(path: string): void {
    let dir = this.#root;
    for (const p of parts(path)) {
      if (dir.kind !== "directory") throw fsError("ENOTDIR", path);
      let next = dir.children.get(p);
      if (next === undefined) {
        next = { kind: "directory", ino: this.#nextIno++, children: new Map(), mtimeMs: this.defaultMtimeMs, ctimeMs: this.#changes++ };
        dir.children.set(p, next);
      }
      dir = next;
    }
  }

  symlink(target: string, path: string): void {
    const { dir, name } = this.#parentOf(path, true);
    dir.children.set(name, { kind: "symlink", ino: this.#nextIno++, target, mtimeMs: this.defaultMtimeMs, ctimeMs: this.#changes++ });
  }

  /** Remove a file, symlink or directory (rm -r); open descriptors keep what they opened. */
  remove(path: string): void {
    const { dir, name } = this.#parentOf(path, false);
    if (!dir.children.delete(name)) throw fsError("ENOENT", path);
  }

  /** Descriptors open now. */
  get openFds(): number {
    return this.#fds.size;
  }

  // ---- StaticFs ----------------------------------------------------------------------

  async stat(path: string): Promise<FileStat> {
    this.#count("stat", path);
    return statOf(this.#walk(path, true));
  }

  async lstat(path: string): Promise<FileStat> {
    this.#count("lstat", path);
    return statOf(this.#walk(path, false));
  }

  async realpath(path: string): Promise<string> {
    this.#count("realpath", path);
    return this.#resolve(path, true, 0).real;
  }

  async readdir(path: string): Promise<string[]> {
    this.#count("readdir", path);
    const n = this.#walk(path, true);
    if (n.kind !== "directory") throw fsError("ENOTDIR", path);
    return [...n.children.keys()];
  }

  async open(path: string): Promise<number> {
    this.#count("open", path);
    this.opened.push(path);
    const n = this.#walk(path, true);
    if (n.kind === "directory") {
      // open(2) of a directory read-only succeeds on Linux; model it as a file-less fd the caller must reject.
      const fd = this.#nextFd++;
      this.#fds.set(fd, { kind: "file", ino: n.ino, bytes: new Uint8Array(), mtimeMs: n.mtimeMs, ctimeMs: n.ctimeMs });
      this.#dirFds.add(fd);
      return fd;
    }
    if (n.kind !== "file") throw fsError("EINVAL", path);
    const fd = this.#nextFd++;
    this.#fds.set(fd, n);
    return fd;
  }

  readonly #dirFds = new Set<number>();

  async fstat(fd: number): Promise<FileStat> {
    this.#count("fstat", String(fd));
    const n = this.#fds.get(fd);
    if (n === undefined) throw fsError("EBADF", String(fd));
    const st = statOf(n);
    return this.#dirFds.has(fd) ? { ...st, kind: "directory" } : st;
  }

  async read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    this.#count("read", String(fd));
    const n = this.#fds.get(fd);
    if (n === undefined) throw fsError("EBADF", String(fd));
    const chunk = n.bytes.subarray(position, Math.min(n.bytes.length, position + length));
    buffer.set(chunk, offset);
    return chunk.length;
  }

  async close(fd: number): Promise<void> {
    this.#count("close", String(fd));
    if (!this.#fds.delete(fd)) throw fsError("EBADF", String(fd));
    this.#dirFds.delete(fd);
  }

  /** The bytes an fd would read from `start`, `length` of them (what the engine would send). */
  async readFd(fd: number, start: number, length: number): Promise<Buffer> {
    const buf = new Uint8Array(length);
    const n = await this.read(fd, buf, 0, length, start);
    return Buffer.from(buf.subarray(0, n));
  }

  // ---- internals ---------------------------------------------------------------------

  #count(op: string, path: string): void {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
    if (this.denied.has(path)) throw fsError("EACCES", path);
  }

  #parentOf(path: string, create: boolean): { dir: Node & { kind: "directory" }; name: string } {
    const ps = parts(path);
    const name = ps.pop();
    if (name === undefined) throw fsError("EINVAL", path);
    if (create) this.mkdir(`/${ps.join("/")}`);
    const dir = this.#walk(`/${ps.join("/")}`, true);
    if (dir.kind !== "directory") throw fsError("ENOTDIR", path);
    return { dir, name };
  }

  #walk(path: string, followLast: boolean): Node {
    return this.#resolve(path, followLast, 0).node;
  }

  /** Walk component by component, expanding symlinks (at most 40, like Linux's ELOOP). */
  #resolve(path: string, followLast: boolean, depth: number): { node: Node; real: string } {
    if (depth > 40) throw fsError("ELOOP", path);
    if (!path.startsWith("/")) throw fsError("EINVAL", path);
    const queue = path.split("/").filter((s) => s !== "" && s !== ".");
    let node: Node = this.#root;
    const real: string[] = [];
    while (queue.length > 0) {
      const p = queue.shift() ?? "";
      if (p === "..") {
        real.pop();
        node = this.#walk(`/${real.join("/")}`, true);
        continue;
      }
      if (node.kind !== "directory") throw fsError("ENOTDIR", path);
      const next = node.children.get(p);
      if (next === undefined) throw fsError("ENOENT", path);
      if (next.kind === "symlink" && (queue.length > 0 || followLast)) {
        const base = next.target.startsWith("/") ? next.target : `/${[...real, next.target].join("/")}`;
        const r = this.#resolve(base, true, depth + 1);
        node = r.node;
        real.splice(0, real.length, ...parts(r.real));
        continue;
      }
      node = next;
      real.push(p);
    }
    return { node, real: `/${real.join("/")}` };
  }
}

function statOf(n: Node): FileStat {
  return { kind: n.kind, size: n.kind === "file" ? n.bytes.length : n.kind === "symlink" ? n.target.length : 4096, mtimeMs: n.mtimeMs, ctimeMs: n.ctimeMs, ino: n.ino, dev: 1 };
}

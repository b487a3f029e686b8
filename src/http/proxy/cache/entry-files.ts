/**
 * File-level helpers of the cache store: write an entry file in one go, read and check an
 * entry's head and footer at start-up, and verify its SHA-256 before first use.
 */
import { createHash, type Hash } from "node:crypto";
import { close, open as openFd, rename, unlink, write, writeFile, writev } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { decodeFooter, decodeHead, encodeFooter, FOOTER_LENGTH } from "./entry-codec.js";
import { entryFacts, type PolicyOptions, type StoredMeta } from "./policy.js";
import type { StoredEntry } from "./store.js";

/**
 * Write a file in one go (callback fs: cheaper on the event loop than FileHandle objects, which
 * matters because every stored miss does this).
 */
export function writeWhole(path: string, parts: Buffer[]): Promise<void> {
  const data = parts.length === 1 ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts);
  return new Promise((resolve, reject) => {
    writeFile(path, data, { flag: "wx" }, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Write `parts` to the new file `tmp` and rename it to `path` once complete, or remove it when
 * `keep()` says by then that the entry is no longer wanted (false: nothing stored). One callback
 * chain and one promise (open, writev, close, rename), with no copy of the parts: this is what
 * every stored small miss does in the background, so its cost on the event loop counts.
 */
export function writeEntryFile(tmp: string, path: string, parts: readonly Buffer[], keep: () => boolean): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => unlink(tmp, () => reject(err));
    openFd(tmp, "wx", (err, fd) => {
      if (err) return reject(err);
      const total = parts.reduce((n, b) => n + b.length, 0);
      const closed = (werr: Error | null): void =>
        close(fd, (cerr) => {
          const e = werr ?? cerr;
          if (e) return fail(e);
          if (!keep()) return unlink(tmp, () => resolve(false));
          rename(tmp, path, (rerr) => (rerr ? fail(rerr) : resolve(true)));
        });
      writev(fd, parts as Buffer[], 0, (werr, n) => {
        if (werr || n === total) return closed(werr);
        // A short write (rare on a regular file): the rest in one more write.
        const rest = Buffer.concat(parts as Buffer[], total).subarray(n);
        write(fd, rest, 0, rest.length, n, (e2, m) => closed(e2 ?? (m === rest.length ? null : new Error("short write"))));
      });
    });
  });
}

/**
 * Write `tmp` as a new entry file: `head`, then the body copied from `from` (hashing it), then
 * the footer. Used when a 304 changed the stored headers of a body too large for memory.
 */
export async function copyWithNewHead(from: FileHandle, start: number, length: number, head: Buffer, tmp: string): Promise<void> {
  const out = await open(tmp, "wx");
  try {
    const h = createHash("sha256").update(head.subarray(12));
    await out.write(head);
    const buf = Buffer.allocUnsafe(1 << 20);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await from.read(buf, 0, Math.min(buf.length, length - done), start + done);
      if (bytesRead === 0) throw new Error("short read");
      const chunk = buf.subarray(0, bytesRead);
      h.update(chunk);
      await out.write(chunk);
      done += bytesRead;
    }
    await out.write(encodeFooter(length, h.digest()));
  } finally {
    await out.close();
  }
}

/** Read and check a file's head and footer (size consistency); the hash is checked on first use. */
export async function readEntryHead(path: string, id: string, policy: PolicyOptions): Promise<{ e: StoredEntry; mtime: number } | undefined> {
  const fd = await open(path, "r");
  try {
    const st = await fd.stat();
    const first = Buffer.alloc(Math.min(st.size, 64 * 1024));
    await fd.read(first, 0, first.length, 0);
    let head = decodeHead(first);
    if (!head.ok && head.error.needed !== undefined && head.error.needed <= st.size && head.error.needed > first.length) {
      const more = Buffer.alloc(head.error.needed);
      await fd.read(more, 0, more.length, 0);
      head = decodeHead(more);
    }
    if (!head.ok) return undefined;
    const { headLength } = head.value;
    const bodyLength = st.size - headLength - FOOTER_LENGTH;
    if (bodyLength < 0) return undefined;
    const footBuf = Buffer.alloc(FOOTER_LENGTH);
    await fd.read(footBuf, 0, FOOTER_LENGTH, st.size - FOOTER_LENGTH);
    const foot = decodeFooter(footBuf);
    if (!foot.ok || foot.value.bodyLength !== bodyLength) return undefined;
    const meta: StoredMeta = { ...head.value.meta, bodyLength };
    const e: StoredEntry = { id, meta, facts: entryFacts(meta, policy), headLength, fileSize: st.size, body: undefined, verified: false };
    return { e, mtime: st.mtimeMs };
  } finally {
    await fd.close();
  }
}

/** Hash meta JSON ‖ body and compare with the footer; throws on mismatch. */
export async function verifyHash(fd: FileHandle, headLength: number, bodyLength: number): Promise<void> {
  const h = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = 12;
  const end = headLength + bodyLength;
  while (pos < end) {
    const { bytesRead } = await fd.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (bytesRead === 0) throw new Error("short read");
    h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  const foot = Buffer.alloc(FOOTER_LENGTH);
  await fd.read(foot, 0, FOOTER_LENGTH, end);
  const d = decodeFooter(foot);
  if (!d.ok || !d.value.sha256.equals(h.digest())) throw new Error("hash mismatch");
}

/**
 * Start checking a body that is about to be streamed from disk: a SHA-256 already fed with the
 * file's meta JSON, and the digest its footer promises. Feed the body chunks as they go out and
 * compare at the end; a file corrupted after its first verification is caught that way.
 */
export async function beginBodyCheck(fd: FileHandle, headLength: number, bodyLength: number): Promise<{ hash: Hash; expected: Buffer }> {
  const meta = Buffer.alloc(headLength - 12);
  await fd.read(meta, 0, meta.length, 12);
  const foot = Buffer.alloc(FOOTER_LENGTH);
  await fd.read(foot, 0, FOOTER_LENGTH, headLength + bodyLength);
  const d = decodeFooter(foot);
  if (!d.ok) throw new Error("bad footer");
  return { hash: createHash("sha256").update(meta), expected: d.value.sha256 };
}

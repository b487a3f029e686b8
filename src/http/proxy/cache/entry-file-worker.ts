/**
 * The worker thread of the disk store's small entry files (EntryFileWriter in entry-files.ts):
 * it writes each batch it is sent synchronously — open, write, close, rename — and answers with
 * one result per file, in order. Creating a file on ext4 costs the calling thread some 100 µs of
 * system time; here it is off the thread that relays the next miss.
 */
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import { writeEntryFileSync, type FileBatch, type FileResult } from "./entry-files.js";

// Background work: on Linux a thread has its own nice value (setpriority on pid 0 is this
// thread), and a low one keeps this thread, when woken, from preempting the event loop or the
// processes it talks to on a busy machine.
try {
  setPriority(19);
} catch {
  // not permitted: run at the process's priority
}

parentPort?.on("message", (batch: FileBatch) => {
  const data = Buffer.from(batch.data);
  const results: FileResult[] = batch.files.map((f) => {
    try {
      writeEntryFileSync(f.tmp, f.path, [data.subarray(f.offset, f.offset + f.length)]);
      return { ok: true };
    } catch (err) {
      return { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
  });
  parentPort?.postMessage(results);
});

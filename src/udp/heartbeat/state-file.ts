/**
 * `heartbeat serve --state FILE`: the monitor's state on disk, crash-safe. Each save writes a
 * temporary file in the same directory, fsyncs it, renames it over FILE and fsyncs the
 * directory, so FILE is always either the previous snapshot or the new one, whole — never a
 * torn write, even across SIGKILL or power loss. Saves are at most one every `everyMs`, and
 * only when something changed; `close()` saves once more.
 */
import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Clock, TimerHandle } from "../../core/clock.js";
import { fromSystemError, usageError } from "../../core/errors.js";
import type { HeartbeatMonitor, MonitorState } from "./monitor.js";
import { isValidFieldValue } from "./protocol.js";
import type { TrackerState } from "./tracker.js";

/**
 * Read a saved state; undefined when FILE does not exist yet. A file that is not a state is a
 * usage error (it is not overwritten).
 */
export async function loadMonitorState(path: string): Promise<MonitorState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fromSystemError(err, `--state ${path}`);
  }
  let st: unknown;
  try {
    st = JSON.parse(text);
  } catch {
    throw usageError(`--state ${path}: not a wirekit heartbeat state (bad JSON)`);
  }
  if (!isState(st)) throw usageError(`--state ${path}: not a wirekit heartbeat state (version 1)`);
  // A hand-edited or foreign file: keep only the entries that have the shape a saved one has.
  st.clients = st.clients.filter(isClientState);
  st.expected = st.expected.filter((e) => typeof e === "object" && e !== null && typeof e.id === "string" && isValidFieldValue(e.id) && num(e.deadlineMs) && num(e.remainingMs));
  return st;
}

const num = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v);

function isClientState(v: unknown): v is TrackerState {
  if (typeof v !== "object" || v === null) return false;
  const c = v as Record<string, unknown>;
  const counters = ["firstSeen", "lastSeen", "received", "lost", "reordered", "duplicates", "restarts", "highest", "highestTs"];
  return (
    typeof c.id === "string" &&
    isValidFieldValue(c.id) &&
    typeof c.address === "string" &&
    (c.status === "alive" || c.status === "suspect" || c.status === "dead") &&
    counters.every((k) => num(c[k])) &&
    Array.isArray(c.seen) &&
    typeof c.arrivals === "object" &&
    c.arrivals !== null
  );
}

function isState(v: unknown): v is MonitorState {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return o.version === 1 && typeof o.savedAt === "number" && Array.isArray(o.clients) && Array.isArray(o.expected) && typeof o.totals === "object" && o.totals !== null;
}

/** Write `text` to `path` atomically (temp file + fsync + rename + fsync of the directory). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(text, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const d = await open(dir, "r").catch(() => undefined);
  if (d !== undefined) {
    await d.sync().catch(() => undefined);
    await d.close();
  }
}

/**
 * Saves a monitor's state to `path` every `everyMs` while anything changed.
 *
 * @example
 * const saver = new MonitorStateSaver(monitor, "/var/lib/wirekit/hb.json", 5000, clock, (l) => console.error(l));
 * // ... at exit
 * await saver.close();
 */
export class MonitorStateSaver {
  readonly #monitor: HeartbeatMonitor;
  readonly #path: string;
  readonly #clock: Clock;
  readonly #onError: (line: string) => void;
  #timer: TimerHandle | undefined;
  #writing: Promise<void> = Promise.resolve();
  #lastKey = "";
  /** Saves written. */
  saves = 0;

  constructor(monitor: HeartbeatMonitor, path: string, everyMs: number, clock: Clock, onError: (line: string) => void) {
    this.#monitor = monitor;
    this.#path = path;
    this.#clock = clock;
    this.#onError = onError;
    const tick = (): void => {
      this.#timer = clock.setTimeout(() => {
        void this.save(false).finally(tick);
      }, everyMs);
      this.#timer.unref();
    };
    tick();
  }

  /** Save now (unless nothing changed and `force` is false); one write at a time. */
  save(force: boolean): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const t = this.#monitor.totals();
      // Heartbeats and refusals move a total, state changes the change counter; silence moves nothing worth saving.
      const key = `${t.heartbeats} ${t.refused} ${t.malformed} ${this.#monitor.changes}`;
      if (!force && key === this.#lastKey) return;
      try {
        await writeFileAtomic(this.#path, JSON.stringify(this.#monitor.exportState()));
        this.#lastKey = key;
        this.saves++;
      } catch (err) {
        this.#onError(`--state ${this.#path}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    return this.#writing;
  }

  /** Stop the timer and save a last time. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.save(true);
  }
}

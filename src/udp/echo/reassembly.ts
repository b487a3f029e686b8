/**
 * Putting split messages back together, as IP does with fragments (RFC 791 §3.2, "Reassembly"),
 * with the lessons of RFC 4963 and Linux's ipfrag: a timer per message, memory bounded against
 * floods of first parts that never complete, and garbage rejected instead of trusted.
 * Pure state: every call takes the monotonic time `now`; nothing here owns a timer.
 *
 * Bounds: each message at most `maxMessageBytes`; at most `maxPending` messages and
 * `maxPendingBytes` buffered in all, and `maxPendingPerSource` from one source. Only parts
 * that arrived take memory (a forged "part 1 of 65535" costs its own bytes, not 65535 slots).
 * When a bound is hit the oldest message is evicted and reported incomplete, as Linux drops
 * the oldest fragment queues: a flood can push out old messages, but never grow the heap.
 */
import type { Part } from "./protocol.js";

export interface ReassemblyOptions {
  /** Report a message incomplete when no part of it arrived for this long. @default 2000 */
  timeoutMs?: number;
  /** Largest message accepted, in bytes. @default 16 MiB */
  maxMessageBytes?: number;
  /** Messages being reassembled at once, from everyone. @default 256 */
  maxPending?: number;
  /** Bytes buffered at once, from everyone. @default 64 MiB */
  maxPendingBytes?: number;
  /** Messages being reassembled at once from one source. @default 16 */
  maxPendingPerSource?: number;
  /** Finished messages remembered, so late or duplicate parts are not taken for new messages. @default 1024 */
  remember?: number;
}

/** A message that will not be completed: timed out, or evicted to bound memory. */
export interface IncompleteMessage {
  source: string;
  id: string;
  count: number;
  total: number;
  /** How many parts arrived, and their bytes. */
  received: number;
  receivedBytes: number;
  /** Numbers of the parts that never arrived (1-based, ascending), at most the first 256. */
  missing: number[];
  /** How many parts never arrived (`missing` may be cut short). */
  missingCount: number;
  reason: "timeout" | "evicted";
  /** Monotonic ms of the first part. */
  firstAt: number;
}

export type ReassemblyOutcome =
  | { kind: "stored"; source: string; id: string; number: number; count: number; received: number }
  | { kind: "complete"; source: string; id: string; count: number; message: Buffer; firstAt: number }
  | { kind: "duplicate"; source: string; id: string; number: number }
  | { kind: "late"; source: string; id: string; number: number }
  | { kind: "rejected"; source: string; id: string; reason: string };

export interface ReassemblyTotals {
  parts: number;
  completed: number;
  incomplete: number;
  evicted: number;
  duplicates: number;
  rejected: number;
}

interface Pending {
  source: string;
  id: string;
  count: number;
  total: number;
  parts: Map<number, Buffer>;
  bytes: number;
  firstAt: number;
  lastAt: number;
}

const MiB = 1024 * 1024;

/**
 * Reassembles parts by (source, message ID).
 *
 * @example
 * const r = new Reassembler({ timeoutMs: 2000 });
 * const { outcome } = r.add("127.0.0.1:5000", part, clock.monotonic());
 * if (outcome.kind === "complete") console.log(outcome.message.length);
 * for (const m of r.expire(clock.monotonic())) console.log("missing", m.missing);
 */
export class Reassembler {
  readonly timeoutMs: number;
  readonly #maxMessageBytes: number;
  readonly #maxPending: number;
  readonly #maxPendingBytes: number;
  readonly #maxPerSource: number;
  readonly #remember: number;
  /** Insertion order = age order (first part), which eviction relies on. */
  readonly #pending = new Map<string, Pending>();
  readonly #perSource = new Map<string, number>();
  readonly #finished = new Map<string, "complete" | "incomplete">();
  #bytes = 0;
  readonly #totals: ReassemblyTotals = { parts: 0, completed: 0, incomplete: 0, evicted: 0, duplicates: 0, rejected: 0 };

  constructor(options: ReassemblyOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.#maxMessageBytes = options.maxMessageBytes ?? 16 * MiB;
    this.#maxPending = Math.max(1, options.maxPending ?? 256);
    this.#maxPendingBytes = Math.max(this.#maxMessageBytes, options.maxPendingBytes ?? 64 * MiB);
    this.#maxPerSource = Math.max(1, options.maxPendingPerSource ?? 16);
    this.#remember = Math.max(0, options.remember ?? 1024);
  }

  /** Add one decoded part from `source` ("addr:port"). `evicted` lists messages pushed out. */
  add(source: string, part: Part, now: number): { outcome: ReassemblyOutcome; evicted: IncompleteMessage[] } {
    this.#totals.parts++;
    const key = `${source}|${part.id}`;
    const evicted: IncompleteMessage[] = [];
    const done = this.#finished.get(key);
    if (done !== undefined) {
      if (done === "complete") this.#totals.duplicates++;
      return { outcome: { kind: done === "complete" ? "duplicate" : "late", source, id: part.id, number: part.number }, evicted };
    }
    const reject = (reason: string): { outcome: ReassemblyOutcome; evicted: IncompleteMessage[] } => {
      this.#totals.rejected++;
      return { outcome: { kind: "rejected", source, id: part.id, reason }, evicted };
    };
    if (part.total > this.#maxMessageBytes) return reject(`message of ${part.total} bytes exceeds the limit of ${this.#maxMessageBytes}`);
    let p = this.#pending.get(key);
    if (p === undefined) {
      while (this.#pending.size >= this.#maxPending) evicted.push(this.#evictOldest(undefined));
      if ((this.#perSource.get(source) ?? 0) >= this.#maxPerSource) evicted.push(this.#evictOldest(source));
      p = { source, id: part.id, count: part.count, total: part.total, parts: new Map(), bytes: 0, firstAt: now, lastAt: now };
      this.#pending.set(key, p);
      this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1);
    } else if (p.count !== part.count || p.total !== part.total) {
      // A part that disagrees with the first one about the message's shape is forged or
      // corrupt; keeping the first shape means one bad datagram cannot wipe the good parts.
      return reject(`part says ${part.count} parts / ${part.total} bytes, message has ${p.count} / ${p.total}`);
    }
    if (p.parts.has(part.number)) {
      this.#totals.duplicates++;
      return { outcome: { kind: "duplicate", source, id: part.id, number: part.number }, evicted };
    }
    while (this.#bytes + part.data.length > this.#maxPendingBytes && this.#pending.size > 1) {
      evicted.push(this.#evictOldest(undefined, key));
    }
    p.parts.set(part.number, part.data);
    p.bytes += part.data.length;
    this.#bytes += part.data.length;
    p.lastAt = now;
    if (p.parts.size < p.count) {
      return { outcome: { kind: "stored", source, id: part.id, number: part.number, count: p.count, received: p.parts.size }, evicted };
    }
    this.#remove(key, p, "complete");
    this.#totals.completed++;
    const chunks: Buffer[] = [];
    for (let n = 1; n <= p.count; n++) chunks.push(p.parts.get(n) ?? Buffer.alloc(0));
    return { outcome: { kind: "complete", source, id: p.id, count: p.count, message: Buffer.concat(chunks, p.total), firstAt: p.firstAt }, evicted };
  }

  /** Report (and forget) every message idle for `timeoutMs` or longer at `now`. */
  expire(now: number): IncompleteMessage[] {
    const out: IncompleteMessage[] = [];
    for (const [key, p] of this.#pending) {
      if (now - p.lastAt >= this.timeoutMs) {
        this.#remove(key, p, "incomplete");
        this.#totals.incomplete++;
        out.push(describe(p, "timeout"));
      }
    }
    return out;
  }

  /** Monotonic time at which the next message times out, or undefined when none is pending. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const p of this.#pending.values()) {
      const d = p.lastAt + this.timeoutMs;
      if (min === undefined || d < min) min = d;
    }
    return min;
  }

  /** Messages being reassembled. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Bytes held for messages being reassembled. */
  get pendingBytes(): number {
    return this.#bytes;
  }

  totals(): ReassemblyTotals {
    return { ...this.#totals };
  }

  #evictOldest(source: string | undefined, except?: string): IncompleteMessage {
    for (const [key, p] of this.#pending) {
      if (key === except || (source !== undefined && p.source !== source)) continue;
      this.#remove(key, p, "incomplete");
      this.#totals.evicted++;
      return describe(p, "evicted");
    }
    throw new Error("reassembly: nothing to evict"); // unreachable: callers check the counts
  }

  #remove(key: string, p: Pending, how: "complete" | "incomplete"): void {
    this.#pending.delete(key);
    this.#bytes -= p.bytes;
    const n = (this.#perSource.get(p.source) ?? 1) - 1;
    if (n <= 0) this.#perSource.delete(p.source);
    else this.#perSource.set(p.source, n);
    if (this.#remember > 0) {
      this.#finished.set(key, how);
      if (this.#finished.size > this.#remember) {
        const oldest = this.#finished.keys().next();
        if (!oldest.done) this.#finished.delete(oldest.value);
      }
    }
  }
}

/** Most missing part numbers listed in a report. */
export const MAX_MISSING_LISTED = 256;

function describe(p: Pending, reason: IncompleteMessage["reason"]): IncompleteMessage {
  // Walk the gaps between the parts that arrived (sorted), never all `count` numbers: a forged
  // "part 1 of 65535" must cost its own size, not 65535 steps, when it is evicted.
  const have = [...p.parts.keys()].sort((a, b) => a - b);
  const missing: number[] = [];
  let next = 1;
  for (const n of [...have, p.count + 1]) {
    for (let m = next; m < n && missing.length < MAX_MISSING_LISTED; m++) missing.push(m);
    next = n + 1;
    if (missing.length >= MAX_MISSING_LISTED) break;
  }
  return {
    source: p.source, id: p.id, count: p.count, total: p.total, received: p.parts.size, receivedBytes: p.bytes,
    missing, missingCount: p.count - p.parts.size, reason, firstAt: p.firstAt,
  };
}

/**
 * Part numbers as short ranges: [3, 4, 5, 9] → "3-5, 9". Long lists are cut after `max` ranges;
 * `total` is the full count when `numbers` is already a cut list.
 *
 * @example
 * formatPartRanges([1, 2, 3, 7, 9, 10]) // "1-3, 7, 9-10"
 */
export function formatPartRanges(numbers: readonly number[], max = 20, total = numbers.length): string {
  const ranges: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    const start = numbers[i] as number;
    let end = start;
    while (i + 1 < numbers.length && numbers[i + 1] === end + 1) end = numbers[++i] as number;
    ranges.push(start === end ? `${start}` : `${start}-${end}`);
    i++;
  }
  const cut = ranges.length > max || total > numbers.length;
  return cut ? `${ranges.slice(0, max).join(", ")}, ... (${total} in all)` : ranges.join(", ");
}

/**
 * The part numbers an incomplete-message verdict names ("... missing parts 3-5, 9"), read back
 * for the sender's diagram; at most `count` (the parts it sent), so a hostile verdict cannot make
 * it build a huge list. Empty when the text names none; a cut list ("..., ... (40 in all)")
 * gives the parts it does name.
 *
 * @example
 * missingPartsOf("incomplete message: 14 of 16 parts (70000 of 80000 bytes) arrived, missing parts 3, 9-10", 16) // [3, 9, 10]
 */
export function missingPartsOf(text: string, count: number): number[] {
  const m = /missing parts ([\d, -]+)/.exec(text);
  if (m === null) return [];
  const out = new Set<number>();
  for (const range of (m[1] ?? "").split(",")) {
    const r = /^\s*(\d{1,6})(?:-(\d{1,6}))?\s*$/.exec(range);
    if (r === null) continue;
    const a = Number(r[1]);
    const b = Math.min(r[2] === undefined ? a : Number(r[2]), count);
    for (let n = Math.max(a, 1); n <= b && out.size < count; n++) out.add(n);
  }
  return [...out];
}

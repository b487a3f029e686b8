/**
 * The monitor's clients: found by id, kept in last-arrival order. Built for the heartbeat hot
 * path at 100 000 clients, where a `Map<string, ClientTracker>` cost a fresh id string per
 * datagram (made from its bytes, then hashed) and a delete and re-add on every heartbeat to keep
 * the order:
 *
 * - every client has a slot (an index); per slot, typed arrays hold its neighbours in a doubly
 *   linked list (oldest → newest), so moving a client to the newest end is four integer writes;
 * - an open-addressing table (linear probing, backward-shift deletion, load ≤ 1/2) of
 *   (hash, slot) pairs side by side, so a probe reads one place; a datagram's id is looked up by
 *   its bytes (`findBytes`) and compared byte by byte with the tracked id, so a known client's id
 *   never becomes a string again;
 * - the hash is seeded per monitor, so ids that collide cannot be prepared in advance.
 */
import { createRandom } from "../../core/random.js";
import type { ClientTracker } from "./tracker.js";

/** The hash of the ids' bytes: FNV-1a from a seeded basis, then a murmur3 finalizer. */
function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Clients by id, in last-arrival order.
 *
 * @example
 * const table = new ClientTable();
 * const slot = table.add(tracker);          // newest
 * table.touch(slot);                        // heard again: newest
 * for (let s = table.oldest; s >= 0; s = table.newer(s)) visit(table.at(s));
 */
export class ClientTable {
  readonly #seed: number;
  #trackers: Array<ClientTracker | undefined> = [];
  // Older and newer neighbour of each slot (−1: none). A free slot's `#newer` is the next free one.
  #older: Int32Array = new Int32Array(16);
  #newer: Int32Array = new Int32Array(16);
  /** Open addressing, two numbers a place: the id's hash, and slot + 1 (0 = empty). */
  #index: Int32Array = new Int32Array(64);
  #mask = 31;
  #slots = 0;
  #free = -1;
  #oldest = -1;
  #newest = -1;
  #size = 0;

  /**
   * @param seed the hash's seed: drawn fresh when omitted, which a monitor always does (a seed
   *   that is known, e.g. a published --seed, lets anyone prepare ids that collide). Tests pass one.
   */
  constructor(seed: number = createRandom().seed) {
    this.#seed = finalize((seed | 0) ^ 0x9e3779b9);
  }

  get size(): number {
    return this.#size;
  }

  /** The slot heard from longest ago, −1 when empty. */
  get oldest(): number {
    return this.#oldest;
  }

  /** The slot after `slot` in arrival order (more recent), −1 after the newest. */
  newer(slot: number): number {
    return this.#newer[slot] as number;
  }

  /** The tracker in `slot` (a slot this table gave out and still holds). */
  at(slot: number): ClientTracker {
    return this.#trackers[slot] as ClientTracker;
  }

  #hashBytes(buf: Uint8Array, start: number, end: number): number {
    let h = this.#seed ^ (end - start);
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    return finalize(h);
  }

  #hashString(s: string): number {
    let h = this.#seed ^ s.length;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return finalize(h);
  }

  /** The slot of the client whose id is the bytes buf[start, end), or −1. */
  findBytes(buf: Uint8Array, start: number, end: number): number {
    const h = this.#hashBytes(buf, start, end);
    const len = end - start;
    const index = this.#index;
    const mask = this.#mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = index[2 * i + 1] as number;
      if (e === 0) return -1;
      if (index[2 * i] !== h) continue;
      const slot = e - 1;
      const id = (this.#trackers[slot] as ClientTracker).id;
      if (id.length !== len) continue;
      let j = 0;
      while (j < len && id.charCodeAt(j) === buf[start + j]) j++;
      if (j === len) return slot;
    }
  }

  /** The slot of the client `id`, or −1. */
  find(id: string): number {
    const h = this.#hashString(id);
    const index = this.#index;
    const mask = this.#mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = index[2 * i + 1] as number;
      if (e === 0) return -1;
      if (index[2 * i] === h && (this.#trackers[e - 1] as ClientTracker).id === id) return e - 1;
    }
  }

  /** The client `id`, or undefined. */
  get(id: string): ClientTracker | undefined {
    const slot = this.find(id);
    return slot < 0 ? undefined : this.#trackers[slot];
  }

  /** Add `c` (whose id is not in the table) as the newest; returns its slot. */
  add(c: ClientTracker): number {
    let slot = this.#free;
    if (slot >= 0) this.#free = this.#newer[slot] as number;
    else {
      slot = this.#slots++;
      if (slot >= this.#older.length) this.#growSlots();
    }
    this.#trackers[slot] = c;
    this.#older[slot] = this.#newest;
    this.#newer[slot] = -1;
    if (this.#newest >= 0) this.#newer[this.#newest] = slot;
    else this.#oldest = slot;
    this.#newest = slot;
    this.#size++;
    if (this.#size * 2 > this.#mask + 1) this.#rehash((this.#mask + 1) * 2);
    this.#place(slot, this.#hashString(c.id));
    return slot;
  }

  #place(slot: number, h: number): void {
    const index = this.#index;
    const mask = this.#mask;
    let i = h & mask;
    while (index[2 * i + 1] !== 0) i = (i + 1) & mask;
    index[2 * i] = h;
    index[2 * i + 1] = slot + 1;
  }

  #growSlots(): void {
    const n = this.#older.length * 2;
    const grow = (a: Int32Array): Int32Array => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.#older = grow(this.#older);
    this.#newer = grow(this.#newer);
  }

  #rehash(capacity: number): void {
    const old = this.#index;
    this.#index = new Int32Array(2 * capacity);
    this.#mask = capacity - 1;
    for (let i = 1; i < old.length; i += 2) if (old[i] !== 0) this.#place((old[i] as number) - 1, old[i - 1] as number);
  }

  /** Make `slot` the newest (its client was just heard). */
  touch(slot: number): void {
    if (slot === this.#newest) return;
    this.#unlink(slot);
    this.#older[slot] = this.#newest;
    this.#newer[slot] = -1;
    this.#newer[this.#newest] = slot;
    this.#newest = slot;
    if (this.#oldest < 0) this.#oldest = slot;
  }

  #unlink(slot: number): void {
    const o = this.#older[slot] as number;
    const n = this.#newer[slot] as number;
    if (o >= 0) this.#newer[o] = n;
    else this.#oldest = n;
    if (n >= 0) this.#older[n] = o;
    else this.#newest = o;
  }

  /** Remove the client in `slot`; the slot may be given out again. */
  delete(slot: number): void {
    this.#unlink(slot);
    const index = this.#index;
    const mask = this.#mask;
    let i = this.#hashString((this.#trackers[slot] as ClientTracker).id) & mask;
    while (index[2 * i + 1] !== slot + 1) i = (i + 1) & mask;
    // Backward-shift deletion: pull later entries of the probe run into the hole, so a lookup
    // still meets every entry before the first empty place (no tombstones to accumulate).
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const e = index[2 * j + 1] as number;
      if (e === 0) break;
      const h = index[2 * j] as number;
      const home = h & mask;
      // e may fill the hole at i unless its home lies cyclically in (i, j].
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!between) {
        index[2 * i] = h;
        index[2 * i + 1] = e;
        i = j;
      }
    }
    index[2 * i] = 0;
    index[2 * i + 1] = 0;
    this.#trackers[slot] = undefined;
    this.#newer[slot] = this.#free;
    this.#free = slot;
    this.#size--;
  }

  /** Every client, oldest first. */
  *values(): IterableIterator<ClientTracker> {
    for (let s = this.#oldest; s >= 0; s = this.#newer[s] as number) yield this.#trackers[s] as ClientTracker;
  }
}

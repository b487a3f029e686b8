/**
 * The heartbeat monitor: receives `<seq> <timestamp>` heartbeats over UDP from many clients,
 * answers `<seq> <time_diff>` (the lab's server), and reports lost, reordered and duplicate
 * heartbeats, restarts, suspect (phi accrual) and stopped clients. Impairments (core/impair.ts)
 * act on arriving heartbeats before the tracker sees them, so `--reorder`, `--duplicate` and
 * `--jitter` produce exactly what the monitor is built to find.
 *
 * Scale: one `ClientTracker` per client in a ClientTable (client-table.ts) kept in
 * least-recently-heard order (a heartbeat moves its client to the end of a linked list of slots)
 * and found by the bytes of its id, so the oldest silent client is evicted in O(1) when
 * `maxClients` is reached. Timeouts use ONE periodic sweep on the injected Clock, not a timer
 * per client. Malformed datagrams are counted and reported at most once a second.
 */
import { systemClock, type Clock, type TimerHandle } from "../../core/clock.js";
import { preciseWallAnchor } from "./wall-time.js";
import { formatHostPort } from "../../core/address.js";
import { TypedEmitter, toolChannel } from "../../core/events.js";
import { createImpairment } from "../../core/impair.js";
import { ImpairedSender, type ImpairedSenderCounts } from "../../core/impaired-sender.js";
import { createRandom } from "../../core/random.js";
import { normalizeAddress } from "../../core/udp-socket.js";
import { openDatagramPort, tapDatagramPort, type DatagramPort } from "../../core/datagram-port.js";
import { DEFAULT_MIN_STD_DEV_MS, zForPhi } from "./detector.js";
import type { ClientSnapshot, HeartbeatEvent, HeartbeatMonitorEvents, RefusalReason } from "./events.js";
import { decodedFieldEnd, decodedFieldStart, decodedMac, decodeHeartbeat, encodeHeartbeatReply, MAX_REPLY_BYTES, verifyHeartbeatMacBytes, writeHeartbeatReply, type Heartbeat } from "./protocol.js";
import { HMAC_KEY_STATE_WORDS, hmacSha256KeyState } from "../../core/hmac-sha256.js";
import { ClientTracker, flatCopy, type TrackerState } from "./tracker.js";
import { ClientTable } from "./client-table.js";
import type { MetricsRow } from "./metrics.js";
import { resolveMonitorOptions, type HeartbeatMonitorOptions, type HeartbeatMonitorTotals, type ResolvedMonitorOptions } from "./monitor-options.js";

export type { HeartbeatMonitorOptions, HeartbeatMonitorTotals } from "./monitor-options.js";

/** A monitor's saved state (`exportState`, `--state FILE`). */
export interface MonitorState {
  version: 1;
  /** Wall-clock ms when it was taken. */
  savedAt: number;
  totals: HeartbeatMonitorTotals;
  clients: TrackerState[];
  expected: Array<{ id: string; deadlineMs: number; remainingMs: number; neverSeen: boolean }>;
}

/**
 * A heartbeat monitor. Without a socket (`new HeartbeatMonitor(options)`), feed datagrams with
 * `ingest()`; `createHeartbeatMonitor()` binds one and does that for you.
 *
 * @example
 * const monitor = await createHeartbeatMonitor({ host: "127.0.0.1", port: 0, deadAfterMs: 3000 });
 * monitor.on("event", (e) => {
 *   if (e.kind === "lost") console.log(`lost seq ${e.from}-${e.to} from ${e.client}`);
 *   if (e.kind === "stopped") console.log(`${e.client} stopped`);
 * });
 * // ... later
 * console.log(monitor.clients());
 * await monitor.close();
 */
export class HeartbeatMonitor extends TypedEmitter<HeartbeatMonitorEvents> {
  readonly options: Readonly<ResolvedMonitorOptions>;
  readonly clock: Clock;
  readonly seed: number;
  address = "";
  port = 0;
  /**
   * Emit a "heartbeat" event for every heartbeat that arrives (when someone listens to `event`).
   * One per datagram: a listener that wants only the changes sets it to false.
   * @default true
   */
  heartbeatEvents = true;
  /** Undefined when nothing is impaired: datagrams go straight to the tracker. */
  readonly #path: ImpairedSender | undefined;
  // While a datagram passes the impairments synchronously, the reply ingest() returns.
  #inIngest = false;
  #syncReply: Buffer | undefined;
  readonly #clients: ClientTable;
  readonly #totals: HeartbeatMonitorTotals = {
    heartbeats: 0, clients: 0, lost: 0, reordered: 0, duplicates: 0, restarts: 0, malformed: 0, dropped: 0, forgotten: 0, evicted: 0, refused: 0, neverSeen: 0,
  };
  /** Expected clients not heard yet: id → deadline (monotonic ms) and whether it was reported. */
  readonly #expected = new Map<string, { deadline: number; deadlineMs: number; reported: boolean }>();
  /** Refusals per source address: when last reported (monotonic) and how many since. Bounded. */
  readonly #refusals = new Map<string, { at: number; suppressed: number }>();
  /** The shortest per-client deadline in use (the sweep's early exit depends on it). */
  #minDeadAfterMs: number;
  #socket: DatagramPort | undefined;
  #sweepTimer: TimerHandle | undefined;
  #closed = false;
  // Precise wall clock: the system clock has 1 ms resolution; anchor it once and add monotonic time.
  #anchorWall: number;
  #anchorMono: number;
  #malformedPending = 0;
  #malformedLast: { from: string; reason: string } = { from: "", reason: "" };
  #malformedReportedAt = -Infinity;
  readonly #zThreshold: number;
  #fromCache = { address: "", port: -1, text: "" };
  // The reply #accept() last asked for, and the buffer replies are written into (#onDatagram).
  #replySeq = 0;
  #replyDiffS = 0;
  readonly #replyBytes = Buffer.alloc(MAX_REPLY_BYTES);
  /** Views of #replyBytes by length. */
  readonly #replyViews: Buffer[] = [];

  constructor(options: HeartbeatMonitorOptions = {}) {
    super();
    this.options = resolveMonitorOptions(options);
    this.clock = options.clock ?? systemClock;
    const random = options.random ?? createRandom(options.seed);
    this.seed = random.seed;
    // The table's hash seed is its own, never --seed's (a published seed would make collisions preparable).
    this.#clients = new ClientTable();
    const model = createImpairment(this.options.impairment, random);
    this.#path = model === undefined ? undefined : new ImpairedSender(model, this.clock, (msg, port, address) => this.#deliver(msg, address, port), { holdLimitMs: options.holdLimitMs });
    this.#anchorMono = this.clock.monotonic();
    this.#anchorWall = preciseWallAnchor(this.clock, this.#anchorMono);
    this.#zThreshold = zForPhi(this.options.phiThreshold);
    this.#minDeadAfterMs = this.options.deadAfterMs;
    // The default sweep period follows the shortest deadline in use (a 50 ms client's 150 ms one too).
    this.#sweepExplicit = options.sweepIntervalMs !== undefined;
    this.#keys = options.keys;
    for (const e of options.expect ?? []) this.expect(e.id, e.deadlineMs);
  }

  readonly #keys: ReadonlyMap<string, string> | undefined;
  /**
   * Each tracked client's key by slot: KEY_UNKNOWN until looked up in `#keys`, then KEY_NONE or
   * KEY_READY, its HMAC key state (the two midstates, core/hmac-sha256.ts) prepared in
   * `#keyChunks`. A keyed heartbeat from a known client costs no lookup in a 100,000-entry Map,
   * and its MAC three SHA-256 compressions instead of five.
   */
  #keyKnown = new Uint8Array(0);
  /**
   * The key states, KEY_CHUNK_SLOTS slots to a chunk, each chunk made when a slot in it first
   * has a key: 64 bytes a slot that grow 16 KiB at a time. (One array grown by doubling held
   * room for 131,072 clients' states when 100,000 were tracked: 84 bytes a client, not 64.)
   */
  readonly #keyChunks: Int32Array[] = [];
  /** The key state of a heartbeat from a client not tracked yet. */
  readonly #oneKeyState = new Int32Array(HMAC_KEY_STATE_WORDS);
  readonly #sweepExplicit: boolean;

  /**
   * Expect client `id`: one not heard within `deadlineMs` from now (default the dead-after) is
   * reported never-seen, once. A client already tracked is not expected again.
   */
  expect(id: string, deadlineMs = this.options.deadAfterMs): void {
    if (this.#clients.find(id) >= 0 || this.#expected.has(id)) return;
    this.#expected.set(flatCopy(id), { deadline: this.clock.monotonic() + deadlineMs, deadlineMs, reported: false });
  }

  /** Expected clients not heard yet, and whether each is past its deadline (never-seen). */
  expected(): Array<{ id: string; deadlineMs: number; neverSeen: boolean }> {
    return [...this.#expected].map(([id, e]) => ({ id, deadlineMs: e.deadlineMs, neverSeen: e.reported }));
  }

  /** The silence after which `c` is stopped: its announced interval × beats, else the fallback. */
  #deadlineOf(c: ClientTracker): number {
    const { deadAfterMs, deadAfterBeats, maxDeadAfterMs } = this.options;
    const ms = c.announcedIntervalMs === undefined ? deadAfterMs : Math.min(maxDeadAfterMs, c.announcedIntervalMs * deadAfterBeats);
    if (ms < this.#minDeadAfterMs) this.#minDeadAfterMs = ms;
    return ms;
  }

  /**
   * Why a heartbeat must be refused under `keys`, or undefined to accept it. Checks the MAC
   * (constant-time), then the timestamp against `maxSkewMs`, then replay against the client's
   * sequence window.
   */
  #refusal(hb: Heartbeat, c: ClientTracker | undefined, slot: number, wall: number): [RefusalReason, string] | undefined {
    let states: Int32Array | undefined;
    let at = -1;
    if (hb.id !== undefined && c !== undefined) {
      // Found by its id's bytes: c.id is hb.id, and the slot's prepared key is its key.
      at = this.#keyStateOf(slot, hb.id);
      states = this.#keyChunks[slot >>> KEY_CHUNK_BITS]; // after #keyStateOf, which may have made it
    } else if (hb.id !== undefined) {
      const key = this.#keys?.get(hb.id);
      if (key !== undefined) {
        states = this.#oneKeyState;
        hmacSha256KeyState(key, states, (at = 0));
      }
    }
    if (at < 0 || states === undefined) return this.options.keysRequired ? ["unkeyed", hb.id === undefined ? "no id=" : "no key for this id"] : undefined;
    // decodeHeartbeat(msg, false) in #accept left the mac's bytes there (and no hb.mac string).
    const mac = decodedMac();
    if (mac === undefined || hb.signed === undefined) return ["no-mac", "no mac= field"];
    if (!verifyHeartbeatMacBytes(hb.signed, mac, states, at)) return ["bad-mac", "MAC does not match"];
    const skew = hb.timestamp * 1000 - wall;
    if (Math.abs(skew) > this.options.maxSkewMs) return ["skew", `timestamp ${(skew / 1000).toFixed(1)} s off`];
    const why = c?.replay(hb);
    return why === undefined ? undefined : ["replay", why];
  }

  /**
   * Where the key state of the client in `slot` (whose id is `id`) is in its chunk,
   * `#keyChunks[slot >>> KEY_CHUNK_BITS]`, or −1: it has no key.
   */
  #keyStateOf(slot: number, id: string): number {
    if (slot >= this.#keyKnown.length) {
      // Slots never outnumber maxClients (the table reuses freed ones): no room beyond it.
      const n = Math.max(slot + 1, Math.min(this.options.maxClients, Math.max(16, 2 * this.#keyKnown.length)));
      const known = new Uint8Array(n);
      known.set(this.#keyKnown);
      this.#keyKnown = known;
    }
    const at = (slot & (KEY_CHUNK_SLOTS - 1)) * HMAC_KEY_STATE_WORDS;
    let k = this.#keyKnown[slot];
    if (k === KEY_UNKNOWN) {
      const key = this.#keys?.get(id);
      if (key === undefined) k = KEY_NONE;
      else {
        const chunks = this.#keyChunks;
        const c = slot >>> KEY_CHUNK_BITS;
        while (chunks.length <= c) chunks.push(EMPTY_CHUNK);
        if (chunks[c] === EMPTY_CHUNK) chunks[c] = new Int32Array(KEY_CHUNK_SLOTS * HMAC_KEY_STATE_WORDS);
        hmacSha256KeyState(key, chunks[c] as Int32Array, at);
        k = KEY_READY;
      }
      this.#keyKnown[slot] = k;
    }
    return k === KEY_READY ? at : -1;
  }

  /** A slot given out again must not keep its earlier client's key. */
  #forgetKey(slot: number): void {
    if (slot < this.#keyKnown.length) this.#keyKnown[slot] = KEY_UNKNOWN;
  }

  /** Count a refused heartbeat; report it at most once a minute per source address. */
  #refuse(reason: RefusalReason, detail: string, hb: Heartbeat, address: string, from: string): void {
    this.#totals.refused++;
    const now = this.clock.monotonic();
    const r = this.#refusals.get(address);
    if (r !== undefined && now - r.at < 60_000) {
      r.suppressed++;
      return;
    }
    if (r === undefined && this.#refusals.size >= 4096) this.#refusals.clear();
    this.#refusals.set(address, { at: now, suppressed: 0 });
    this.#event({ kind: "refused", from, client: hb.id ?? null, reason, detail, suppressed: r?.suppressed ?? 0 });
  }

  /** Start the periodic sweep (and own `socket`, when given). Called by createHeartbeatMonitor. */
  start(socket?: DatagramPort): void {
    this.#socket = socket;
    this.address = socket?.address ?? "";
    this.port = socket?.port ?? 0;
    socket?.onMessage((msg, address, port) => this.#onDatagram(msg, address, port));
    this.#scheduleSweep();
  }

  /** How datagrams are read: "batch" (recvmmsg/sendmmsg), "dgram" (node:dgram), or "none" (fed by ingest()). */
  get transport(): "batch" | "dgram" | "none" {
    return this.#socket?.kind ?? "none";
  }

  #scheduleSweep(): void {
    if (this.#closed) return;
    this.#sweepTimer = this.clock.setTimeout(() => {
      this.sweep();
      this.#scheduleSweep();
    }, this.#sweepExplicit ? this.options.sweepIntervalMs : Math.min(this.options.sweepIntervalMs, Math.max(20, this.#minDeadAfterMs / 20)));
    this.#sweepTimer.unref();
  }

  /** Wall-clock ms with sub-millisecond resolution. */
  wallNow(): number {
    return this.#anchorWall + (this.clock.monotonic() - this.#anchorMono);
  }

  /** True when someone listens for `kind` (in-process or on diagnostics_channel). */
  #wants(kind: HeartbeatEvent["kind"]): boolean {
    return this.listenerCount("event") > 0 || toolChannel("heartbeat", kind).hasSubscribers;
  }

  /** Grows with every reported change (not with plain heartbeats): for savers that skip idle moments. */
  changes = 0;

  #event(e: HeartbeatEvent): void {
    if (e.kind !== "heartbeat") this.changes++;
    if (this.listenerCount("event") > 0) this.emit("event", e);
    if (e.kind !== "heartbeat") {
      const ch = toolChannel("heartbeat", e.kind);
      if (ch.hasSubscribers) ch.publish(e);
    }
  }

  #onDatagram(msg: Buffer, address: string, port: number): void {
    const socket = this.#socket;
    if (this.#path !== undefined || socket === undefined || !socket.sendCopies) {
      const reply = this.ingest(msg, address, port);
      if (reply !== undefined && socket !== undefined && !this.#closed) socket.send(reply, port, address);
      return;
    }
    // The port copies what it sends: the reply is written into one reused buffer, through a view
    // of its length made once, so a heartbeat costs no reply Buffer.
    if (!this.#accept(msg, address, port) || this.#closed) return;
    const n = writeHeartbeatReply(this.#replySeq, this.#replyDiffS, this.#replyBytes);
    socket.send(n < 0 ? encodeHeartbeatReply(this.#replySeq, this.#replyDiffS) : (this.#replyViews[n] ??= this.#replyBytes.subarray(0, n)), port, address);
  }

  /** The reply #accept() asked for, as a Buffer of its own. */
  #reply(): Buffer {
    return encodeHeartbeatReply(this.#replySeq, this.#replyDiffS);
  }

  /**
   * Process one datagram from `address`:`port`; returns the reply to send, if any. Never
   * throws on what the network sends.
   */
  ingest(msg: Uint8Array, address: string, port: number): Buffer | undefined {
    const path = this.#path;
    // Malformed datagrams are reported, never impaired: as before --loss became one of many,
    // only heartbeats draw from the seed, so the same seed drops the same heartbeats.
    if (path === undefined || !decodeHeartbeat(msg).ok) return this.#accept(msg, address, port) ? this.#reply() : undefined;
    this.#inIngest = true;
    this.#syncReply = undefined;
    try {
      const buf = Buffer.isBuffer(msg) ? msg : Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
      if (path.send(buf, port, address).drop !== undefined) this.#totals.dropped++;
      return this.#syncReply;
    } finally {
      this.#inIngest = false;
      this.#syncReply = undefined;
    }
  }

  /** A heartbeat out of the impairments: its first synchronous reply is ingest()'s, others go out now. */
  #deliver(msg: Buffer, address: string, port: number): void {
    if (!this.#accept(msg, address, port)) return;
    const reply = this.#reply();
    if (this.#inIngest && this.#syncReply === undefined) this.#syncReply = reply;
    else if (this.#socket !== undefined && !this.#closed) this.#socket.send(reply, port, address);
  }

  /** What the impairments did so far; undefined when none is set. */
  impairments(): ImpairedSenderCounts | undefined {
    return this.#path?.counts();
  }

  /** The counters its impairments can move (zeros included), for a totals line; undefined when none is set. */
  impairmentTotals(): Record<string, number> | undefined {
    return this.#path?.shownCounts();
  }

  /**
   * Take in one datagram; true when it is to be answered, with the reply's numbers left in
   * #replySeq and #replyDiffS.
   */
  #accept(msg: Uint8Array, address: string, port: number): boolean {
    const t = this.#totals;
    // No id= / run= strings yet: a known client is found by the id's bytes, and keeps its strings.
    const d = decodeHeartbeat(msg, false);
    if (!d.ok) {
      t.malformed++;
      this.#malformedPending++;
      this.#malformedLast = { from: formatHostPort(normalizeAddress(address), port), reason: d.error.reason };
      this.#flushMalformed(false);
      return false;
    }
    const hb = d.value;
    const mono = this.clock.monotonic();
    const wall = this.#anchorWall + (mono - this.#anchorMono);
    const delayMs = wall - hb.timestamp * 1000;
    const idStart = decodedFieldStart(0);
    const idEnd = decodedFieldEnd(0);
    const runStart = decodedFieldStart(1);
    const runEnd = decodedFieldEnd(1);
    let slot = idStart < 0 ? -1 : this.#clients.findBytes(msg, idStart, idEnd);
    let c = slot < 0 ? undefined : this.#clients.at(slot);
    let from: string;
    // Many ids often share one source (a relay, a test generator): skip re-formatting it. In a
    // fleet each client has its own source, mostly the one it had: keep the string it has.
    if (address === this.#fromCache.address && port === this.#fromCache.port) from = this.#fromCache.text;
    else if (c !== undefined && isHostPort(c.address, address, port)) from = c.address;
    else {
      // Flat, so that clients can share it (below) without keeping the pieces it was built from.
      this.#fromCache = { address, port, text: flatCopy(formatHostPort(normalizeAddress(address), port)) };
      from = this.#fromCache.text;
    }
    if (idStart < 0) {
      slot = this.#clients.find(from);
      c = slot < 0 ? undefined : this.#clients.at(slot);
    }
    if (idStart >= 0) hb.id = c === undefined ? latin1(msg, idStart, idEnd) : c.id;
    if (runStart >= 0) hb.run = c?.run !== undefined && sameBytes(c.run, msg, runStart, runEnd) ? c.run : latin1(msg, runStart, runEnd);
    const id = hb.id ?? from;
    if (this.#keys !== undefined) {
      const refused = this.#refusal(hb, c, slot, wall);
      if (refused !== undefined) {
        this.#refuse(refused[0], refused[1], hb, address, from);
        return false;
      }
    }
    if (c === undefined) {
      if (this.#clients.size >= this.options.maxClients) this.#evictOldest(mono);
      c = new ClientTracker(id, from, mono, wall);
      // The source's one (flat) string, shared from the start: while the source stays the same,
      // the check below finds the very same string at once instead of comparing text, and many
      // clients behind one relay hold one copy.
      c.address = from;
      slot = this.#clients.add(c);
      if (this.#keys !== undefined) this.#forgetKey(slot);
      this.#expected.delete(id);
    } else if (c.address !== from) {
      c.address = from;
    }
    const lostBefore = c.lost;
    const o = c.receive(hb, mono, delayMs, wall, this.options.phiOptions);
    if (o.kind !== "first" && o.kind !== "late" && o.kind !== "duplicate") {
      // Keep the table ordered by last arrival (what the client's silence is measured from): the
      // longest silent is evicted in O(1), and the sweep stops at the first recent client.
      this.#clients.touch(slot);
    }
    t.heartbeats++;
    t.lost += c.lost - lostBefore;
    switch (o.kind) {
      case "first":
        this.#event(hb.run === undefined ? { kind: "client-joined", client: id, address: from, seq: o.seq } : { kind: "client-joined", client: id, address: from, seq: o.seq, run: hb.run });
        break;
      case "next":
        if (o.lostFrom !== undefined && o.lostTo !== undefined && this.#wants("lost")) {
          this.#event({ kind: "lost", client: id, from: o.lostFrom, to: o.lostTo, count: o.lostTo - o.lostFrom + 1 });
        }
        break;
      case "late":
        t.reordered++;
        this.#event({ kind: "reordered", client: id, seq: o.seq, highest: o.highest });
        break;
      case "duplicate":
        t.duplicates++;
        this.#event({ kind: "duplicate", client: id, seq: o.seq });
        break;
      case "restart": {
        t.restarts++;
        const e: HeartbeatEvent = { kind: "restarted", client: id, seq: o.seq, previousSeq: o.previousSeq, reason: o.reason };
        if (o.run !== undefined) e.run = o.run;
        if (o.previousRun !== undefined) e.previousRun = o.previousRun;
        this.#event(e);
        break;
      }
    }
    if (o.resumed !== undefined) this.#event({ kind: "resumed", client: id, silentMs: o.resumed.silentMs, from: o.resumed.from });
    if (o.kind !== "late" && o.kind !== "duplicate") this.#takeReport(c, hb);
    if (o.kind !== "duplicate" && this.heartbeatEvents && this.listenerCount("event") > 0) this.#event({ kind: "heartbeat", client: id, address: from, seq: hb.seq, delayMs });
    this.#replySeq = hb.seq;
    this.#replyDiffS = delayMs / 1000;
    return this.options.reply;
  }

  /** The status fields of the newest heartbeat of `c`: failed / recovered, and its deadline. */
  #takeReport(c: ClientTracker, hb: Heartbeat): void {
    const change = c.report(hb);
    if (c.deadAfterMs === Infinity || hb.int !== undefined) c.deadAfterMs = this.#deadlineOf(c);
    if (change !== undefined) {
      this.#event({ kind: change, client: c.id, status: c.reportedStatus ?? "", message: c.reportedMessage ?? null, jobMs: c.jobMs ?? null });
    }
  }

  #evictOldest(mono: number): void {
    const slot = this.#clients.oldest;
    if (slot < 0) return;
    const c = this.#clients.at(slot);
    this.#clients.delete(slot);
    this.#totals.evicted++;
    this.#event({ kind: "evicted", client: c.id, silentMs: mono - c.lastArrival, maxClients: this.options.maxClients });
  }

  #flushMalformed(force: boolean): void {
    if (this.#malformedPending === 0) return;
    const now = this.clock.monotonic();
    if (!force && now - this.#malformedReportedAt < 1000) return;
    this.#malformedReportedAt = now;
    const count = this.#malformedPending;
    this.#malformedPending = 0;
    this.#event({ kind: "malformed", count, ...this.#malformedLast });
  }

  /**
   * One pass over every client: suspect / stopped transitions and forgetting. Runs every
   * `sweepIntervalMs` on the clock; public so tests can drive it.
   */
  sweep(): void {
    const mono = this.clock.monotonic();
    const { phiThreshold, phiOptions, forgetAfterMs } = this.options;
    const z = this.#zThreshold;
    // Nothing can happen to a client heard more recently than this: not forgotten, not dead, and
    // not suspect, since that needs a silence beyond mean + z·σ ≥ z·(the σ floor).
    const quiet = Math.min(this.#minDeadAfterMs, forgetAfterMs, z > 0 ? z * (phiOptions.minStdDevMs ?? DEFAULT_MIN_STD_DEV_MS) : 0);
    for (const [id, e] of this.#expected) {
      if (e.reported || mono < e.deadline) continue;
      e.reported = true;
      this.#totals.neverSeen++;
      this.#event({ kind: "never-seen", client: id, deadlineMs: e.deadlineMs });
    }
    const table = this.#clients;
    for (let slot = table.oldest, next = -1; slot >= 0; slot = next) {
      next = table.newer(slot);
      const c = table.at(slot);
      const silentMs = mono - c.lastArrival;
      if (silentMs < quiet) break; // the table is ordered by last arrival: the rest are more recent
      if (silentMs >= forgetAfterMs) {
        table.delete(slot);
        this.#totals.forgotten++;
        this.#event({ kind: "forgotten", client: c.id, silentMs });
        continue;
      }
      const change = c.check(mono, c.deadAfterMs, phiThreshold, phiOptions, z);
      if (change === undefined) continue;
      if (change.kind === "suspect") this.#event({ kind: "suspect", client: c.id, phi: change.phi, silentMs: change.silentMs });
      else this.#event({ kind: "stopped", client: c.id, silentMs: change.silentMs, lastSeq: change.lastSeq });
    }
    this.#flushMalformed(false);
    // Re-anchor the precise wall clock when the system clock was stepped (NTP).
    const drift = this.clock.now() - this.wallNow();
    if (Math.abs(drift) > 5) {
      this.#anchorMono = this.clock.monotonic();
      this.#anchorWall = this.clock.now() + (this.clock === systemClock ? 0.5 : 0);
    }
  }

  /** Snapshot of one client, or undefined. */
  client(id: string): ClientSnapshot | undefined {
    const c = this.#clients.get(id);
    return c === undefined ? undefined : this.#snapshot(c, this.clock.monotonic());
  }

  /** Snapshot of every tracked client, in the order they joined or were last heard. */
  clients(): ClientSnapshot[] {
    const mono = this.clock.monotonic();
    return [...this.#clients.values()].map((c) => this.#snapshot(c, mono));
  }

  /**
   * Every tracked client as a metrics row, in one synchronous pass (one moment's values), into
   * one reused row: a 100,000-client scrape builds no snapshot object per client.
   */
  forEachMetricsRow(visit: (row: MetricsRow) => void): void {
    const mono = this.clock.monotonic();
    const { phiOptions, deadAfterMs } = this.options;
    const row: MetricsRow = {
      id: "", status: "alive", failed: false, phi: 0, lastSeen: 0, received: 0, lost: 0, reordered: 0, duplicates: 0, restarts: 0, deadAfterMs, jobMs: null, reportedStatus: null, delayAvgMs: null,
    };
    const table = this.#clients;
    for (let slot = table.oldest; slot >= 0; slot = table.newer(slot)) {
      const c = table.at(slot);
      row.id = c.id;
      row.status = c.status;
      row.failed = c.failed;
      row.phi = c.phi(mono, phiOptions);
      row.lastSeen = c.lastSeen;
      row.received = c.received;
      row.lost = c.lost;
      row.reordered = c.reordered;
      row.duplicates = c.duplicates;
      row.restarts = c.restarts;
      row.deadAfterMs = c.deadAfterMs === Infinity ? deadAfterMs : c.deadAfterMs;
      row.jobMs = c.jobMs ?? null;
      row.reportedStatus = c.reportedStatus ?? null;
      row.delayAvgMs = c.delay.count === 0 ? null : c.delay.avg;
      visit(row);
    }
  }

  #snapshot(c: ClientTracker, mono: number): ClientSnapshot {
    const d = c.delay;
    const a = c.arrivals;
    return {
      id: c.id,
      address: c.address,
      status: c.status,
      phi: c.phi(mono, this.options.phiOptions),
      received: c.received,
      lost: c.lost,
      lossPercent: c.lossPercent,
      reordered: c.reordered,
      duplicates: c.duplicates,
      restarts: c.restarts,
      lastSeq: c.highest,
      run: c.run ?? null,
      firstSeen: c.firstSeen,
      lastSeen: c.lastSeen,
      delayMs: d.count === 0 ? null : { min: d.min, avg: d.avg, max: d.max, mdev: d.mdev },
      intervalMs: a.count === 0 ? null : { mean: a.mean, stdDev: Math.sqrt(a.variance), count: a.count },
      announcedIntervalMs: c.announcedIntervalMs ?? null,
      deadAfterMs: c.deadAfterMs === Infinity ? this.options.deadAfterMs : c.deadAfterMs,
      reportedStatus: c.reportedStatus ?? null,
      reportedMessage: c.reportedMessage ?? null,
      jobMs: c.jobMs ?? null,
      failed: c.failed,
    };
  }

  /**
   * What `--state` keeps: every client (counters, sequence window, status), the totals, and
   * the expected clients not heard yet. Plain JSON.
   */
  exportState(): MonitorState {
    const mono = this.clock.monotonic();
    return {
      version: 1,
      savedAt: this.wallNow(),
      totals: this.totals(),
      clients: [...this.#clients.values()].map((c) => c.toState()),
      expected: [...this.#expected].map(([id, e]) => ({ id, deadlineMs: e.deadlineMs, remainingMs: Math.max(0, e.deadline - mono), neverSeen: e.reported })),
    };
  }

  /**
   * Take in a state saved by `exportState()` (by an earlier run): its clients, counters and
   * expected list. The downtime counts as silence. Call before the first heartbeat.
   */
  importState(st: MonitorState): void {
    const mono = this.clock.monotonic();
    const wall = this.wallNow();
    const t = this.#totals;
    for (const k of Object.keys(t) as Array<keyof HeartbeatMonitorTotals>) if (k !== "clients" && typeof st.totals[k] === "number") t[k] += st.totals[k];
    // Oldest first: the table stays in last-arrival order.
    for (const s of [...st.clients].sort((a, b) => a.lastSeen - b.lastSeen)) {
      if (this.#clients.size >= this.options.maxClients) break;
      const c = ClientTracker.fromState(s, mono, wall);
      c.deadAfterMs = this.#deadlineOf(c);
      const old = this.#clients.find(c.id);
      if (old >= 0) this.#clients.delete(old);
      const slot = this.#clients.add(c);
      if (this.#keys !== undefined) this.#forgetKey(slot);
      this.#expected.delete(c.id);
    }
    const downMs = Math.max(0, wall - st.savedAt);
    for (const e of st.expected) {
      if (this.#clients.find(e.id) >= 0) continue;
      this.#expected.set(flatCopy(e.id), { deadline: mono + Math.max(0, e.remainingMs - downMs), deadlineMs: e.deadlineMs, reported: e.neverSeen });
    }
  }

  /** Number of clients tracked now. */
  get size(): number {
    return this.#clients.size;
  }

  totals(): HeartbeatMonitorTotals {
    return { ...this.#totals, clients: this.#clients.size };
  }

  /** Stop the sweep and close the socket; reports pending malformed counts first. */
  async close(): Promise<HeartbeatMonitorTotals> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#sweepTimer !== undefined) this.clock.clearTimeout(this.#sweepTimer);
      this.#path?.close();
      this.#flushMalformed(true);
      if (this.#socket !== undefined) await this.#socket.close();
    }
    return this.totals();
  }
}

/** What a monitor knows of a tracked client's key (HeartbeatMonitor #keyKnown). */
const KEY_UNKNOWN = 0;
const KEY_NONE = 1;
const KEY_READY = 2;
/** Slots to a chunk of key states (HeartbeatMonitor #keyChunks): 256, 16 KiB. */
const KEY_CHUNK_BITS = 8;
const KEY_CHUNK_SLOTS = 1 << KEY_CHUNK_BITS;
/** Stands for a chunk not made yet (no slot in it has had a key). */
const EMPTY_CHUNK = new Int32Array(0);

/**
 * Bind a UDP socket and start a heartbeat monitor on it.
 *
 * @example
 * const monitor = await createHeartbeatMonitor({ port: 12001, deadAfterMs: 3000, phiThreshold: 8 });
 * monitor.on("event", (e) => e.kind === "stopped" && console.log(e.client, "stopped"));
 */
export async function createHeartbeatMonitor(options: HeartbeatMonitorOptions = {}): Promise<HeartbeatMonitor> {
  const monitor = new HeartbeatMonitor(options);
  const socket = await openDatagramPort({ host: options.host ?? "0.0.0.0", port: options.port ?? 12001, recvBufferSize: 8 << 20, fast: options.batch });
  monitor.start(options.tap === undefined ? socket : tapDatagramPort(socket, options.tap));
  return monitor;
}

/** The latin1 string of buf[start, end). */
function latin1(buf: Uint8Array, start: number, end: number): string {
  return (Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)).toString("latin1", start, end);
}

/** True when `s` is exactly the bytes buf[start, end) (latin1). */
function sameBytes(s: string, buf: Uint8Array, start: number, end: number): boolean {
  if (s.length !== end - start) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/**
 * True when `text` is what formatHostPort(normalizeAddress(address), port) gives — `a.b.c.d:port`
 * or `[v6]:port` — checked without building it. `address` is one the socket reported.
 */
function isHostPort(text: string, address: string, port: number): boolean {
  const a0 = address.startsWith("::ffff:") && address.includes(".") ? 7 : 0;
  const v6 = address.includes(":", a0);
  const alen = address.length - a0;
  let digits = 1;
  for (let p = 10; p <= port; p *= 10) digits++;
  const at = v6 ? 1 : 0;
  if (text.length !== alen + (v6 ? 3 : 1) + digits) return false;
  if (v6 && (text.charCodeAt(0) !== 0x5b || text.charCodeAt(alen + 1) !== 0x5d)) return false;
  for (let i = 0; i < alen; i++) if (text.charCodeAt(at + i) !== address.charCodeAt(a0 + i)) return false;
  let i = text.length - 1;
  for (let v = port, k = 0; k < digits; k++, i--, v = Math.floor(v / 10)) if (text.charCodeAt(i) !== 0x30 + (v % 10)) return false;
  return text.charCodeAt(i) === 0x3a;
}
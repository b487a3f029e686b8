import { test } from "node:test";
import assert from "node:assert/strict";
import type { RemoteInfo } from "node:dgram";
import { FakeClock } from "../../../src/core/clock.js";
import { createRandom } from "../../../src/core/random.js";
import { encodeRequest, encodeTextReply, decodeReply, sameRequestId } from "../../../src/udp/echo/protocol.js";
import { requestWithBackoff, type DatagramPort, type RetransmitEvent } from "../../../src/udp/echo/retransmit.js";

const ID = "0123456789abcdef";
const SERVER = { address: "127.0.0.1", port: 12002 };

/** A socket that records sends (with the fake time) and lets the test deliver datagrams. */
class FakePort implements DatagramPort {
  readonly sent: Array<{ at: number; bytes: Buffer }> = [];
  #listeners = new Set<(msg: Buffer, rinfo: RemoteInfo) => void>();
  sendError: (NodeJS.ErrnoException & Error) | null = null;
  constructor(readonly clock: FakeClock) {}
  send(msg: Uint8Array, _port: number, _address: string, cb: (err: Error | null, bytes: number) => void): void {
    this.sent.push({ at: this.clock.monotonic(), bytes: Buffer.from(msg) });
    const err = this.sendError;
    queueMicrotask(() => cb(err, msg.length));
  }
  on(_e: "message", l: (msg: Buffer, rinfo: RemoteInfo) => void): this {
    this.#listeners.add(l);
    return this;
  }
  off(_e: "message", l: (msg: Buffer, rinfo: RemoteInfo) => void): this {
    this.#listeners.delete(l);
    return this;
  }
  deliver(msg: Buffer, from = SERVER): void {
    for (const l of [...this.#listeners]) l(msg, { address: from.address, port: from.port, family: "IPv4", size: msg.length });
  }
  get listening(): number {
    return this.#listeners.size;
  }
}

function setup(extra: { jitter?: boolean; seed?: number } = {}) {
  const clock = new FakeClock();
  const socket = new FakePort(clock);
  const events: Array<RetransmitEvent & { t: number }> = [];
  const result = requestWithBackoff({
    socket, server: SERVER, payload: encodeRequest(ID, "hi"), clock, initialMs: 100, maxMs: 2000,
    ...(extra.jitter ? { jitter: true, random: createRandom(extra.seed ?? 1) } : {}),
    check: (msg, from) => {
      if (from.address !== SERVER.address || from.port !== SERVER.port) return "not the server";
      return sameRequestId(decodeReply(msg).id, ID) || "wrong request id";
    },
    onEvent: (e) => events.push({ ...e, t: clock.monotonic() }),
  });
  return { clock, socket, events, result };
}

test("with no reply, the same request is sent at 0, 0.1, 0.3, 0.7, 1.5 s and the client gives up at 3.1 s", async () => {
  const { clock, socket, events, result } = setup();
  clock.advance(10_000);
  const r = await result;
  assert.deepEqual(socket.sent.map((s) => s.at), [0, 100, 300, 700, 1500]);
  assert.ok(socket.sent.every((s) => s.bytes.equals(encodeRequest(ID, "hi"))), "every copy carries the same id");
  assert.deepEqual(
    events.filter((e) => e.kind === "timeout").map((e) => [e.t, e.kind === "timeout" ? e.waitedMs : 0, e.kind === "timeout" ? e.nextTimeoutMs : 0]),
    [[100, 100, 200], [300, 200, 400], [700, 400, 800], [1500, 800, 1600], [3100, 1600, undefined]],
  );
  assert.deepEqual(r, { ok: false, reason: "gave-up", attempts: 5, elapsedMs: 3100 });
  assert.equal(socket.listening, 0, "the listener is removed");
  assert.equal(clock.pending, 0, "no timer is left behind");
});

test("a late reply to attempt 1 arriving during attempt 2 is accepted (same request id)", async () => {
  const { clock, socket, result } = setup();
  clock.advance(150); // attempt 1 timed out at 100; attempt 2 is waiting until 300
  assert.equal(socket.sent.length, 2);
  socket.deliver(encodeTextReply(ID, "I received from you a message of 2 bytes"));
  const r = await result;
  assert.ok(r.ok);
  assert.equal(r.attempts, 2);
  assert.equal(r.elapsedMs, 150);
  assert.equal(r.rttMs, 50); // since the last copy: Karn's ambiguity, reported as such
  clock.advance(10_000);
  assert.equal(socket.sent.length, 2, "nothing is sent after the reply");
});

test("datagrams from another address or with another id are ignored and the wait goes on", async () => {
  const { clock, socket, events, result } = setup();
  clock.advance(50);
  socket.deliver(encodeTextReply(ID, "I received from you a message of 2 bytes"), { address: "127.0.0.1", port: 45678 });
  socket.deliver(encodeTextReply("ffffffffffffffff", "I received from you a message of 2 bytes"));
  socket.deliver(Buffer.from("garbage"));
  clock.advance(10);
  socket.deliver(encodeTextReply(ID, "I received from you a message of 2 bytes"));
  const r = await result;
  assert.ok(r.ok);
  assert.equal(r.attempts, 1);
  assert.deepEqual(events.filter((e) => e.kind === "ignored").map((e) => (e.kind === "ignored" ? e.reason : "")), [
    "not the server", "wrong request id", "wrong request id",
  ]);
});

test("jitter changes the waits but not the number of attempts, and the same seed gives the same run", async () => {
  const runOnce = async (seed: number): Promise<number[]> => {
    const { clock, socket, result } = setup({ jitter: true, seed });
    clock.advance(100_000);
    const r = await result;
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 5);
    return socket.sent.map((s) => s.at);
  };
  const a = await runOnce(3);
  assert.deepEqual(a, await runOnce(3));
  assert.notDeepEqual(a, [0, 100, 300, 700, 1500]);
});

test("aborting stops the retries and says so", async () => {
  const clock = new FakeClock();
  const socket = new FakePort(clock);
  const ac = new AbortController();
  const p = requestWithBackoff({ socket, server: SERVER, payload: Buffer.from("x"), clock, check: () => true, signal: ac.signal });
  clock.advance(150);
  ac.abort();
  const r = await p;
  assert.deepEqual(r, { ok: false, reason: "aborted", attempts: 2, elapsedMs: 150 });
  assert.equal(clock.pending, 0);
});

test("EMSGSIZE ends the request at once: a datagram too big will never fit on a retry", async () => {
  const clock = new FakeClock();
  const socket = new FakePort(clock);
  socket.sendError = Object.assign(new Error("send EMSGSIZE"), { code: "EMSGSIZE" });
  const r = await requestWithBackoff({ socket, server: SERVER, payload: Buffer.from("x"), clock, check: () => true });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.reason, "send-failed");
    assert.equal(r.attempts, 1);
  }
});

test("other send errors count as a lost datagram and the retries continue", async () => {
  const clock = new FakeClock();
  const socket = new FakePort(clock);
  socket.sendError = Object.assign(new Error("send ENOBUFS"), { code: "ENOBUFS" });
  const events: RetransmitEvent[] = [];
  const p = requestWithBackoff({ socket, server: SERVER, payload: Buffer.from("x"), clock, initialMs: 10, maxMs: 20, check: () => true, onEvent: (e) => events.push(e) });
  await Promise.resolve();
  clock.advance(100);
  const r = await p;
  assert.equal(r.ok ? 0 : r.attempts, 2);
  assert.ok(events.some((e) => e.kind === "send-error"));
});

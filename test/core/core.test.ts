import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDuration, formatDuration } from "../../src/core/duration.js";
import { parseSize, formatSize } from "../../src/core/size.js";
import { parseHostPort, parsePort, resolveHost, formatHostPort, isLoopback } from "../../src/core/address.js";
import { createRandom } from "../../src/core/random.js";
import { FakeClock, sleep } from "../../src/core/clock.js";
import { WirekitError, fromSystemError, isWirekitError } from "../../src/core/errors.js";

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof WirekitError ? e.code : "not-wirekit";
  }
  return undefined;
};

test("parseDuration reads bare seconds and unit suffixes", () => {
  const rows: Array<[string, number]> = [["1", 1000], ["0.2", 200], [".5", 500], ["250ms", 250], ["1.5s", 1500], ["2m", 120000], ["1h", 3600000], [" 3S ", 3000]];
  for (const [text, ms] of rows) assert.equal(parseDuration(text), ms, text);
});

test("parseDuration rejects garbage with a usage error", () => {
  for (const bad of ["", "abc", "-1", "1x", "1.2.3", "ms"]) assert.equal(codeOf(() => parseDuration(bad)), "ERR_USAGE", bad);
});

test("formatDuration picks a readable unit", () => {
  assert.equal(formatDuration(250), "250 ms");
  assert.equal(formatDuration(12400), "12.4 s");
});

test("formatDuration keeps what the user wrote: -i 0.05 is 50 ms, 20 ms is not 0.0 s, 1.05 s is not 1.1 s", () => {
  const rows: Array<[string, string]> = [["0.05", "50 ms"], ["20ms", "20 ms"], ["0.0005", "0.5 ms"], ["1.05", "1.05 s"], ["1.5s", "1.5 s"], ["1", "1 s"], ["2m", "2 min"]];
  for (const [text, shown] of rows) assert.equal(formatDuration(parseDuration(text)), shown, text);
});

test("parseSize understands binary and decimal units", () => {
  assert.equal(parseSize("4096"), 4096);
  assert.equal(parseSize("64k"), 65536);
  assert.equal(parseSize("100MiB"), 100 * 1024 * 1024);
  assert.equal(parseSize("1GiB"), 2 ** 30);
  assert.equal(parseSize("1GB"), 1e9);
  assert.equal(codeOf(() => parseSize("1 parsec")), "ERR_USAGE");
  assert.equal(formatSize(1536), "1.5 KiB");
});

test("parsePort accepts 0-65535 and rejects the rest", () => {
  assert.equal(parsePort("0"), 0);
  assert.equal(parsePort("65535"), 65535);
  for (const bad of ["65536", "-1", "http", "", "1e3"]) assert.equal(codeOf(() => parsePort(bad)), "ERR_USAGE", bad);
  assert.equal(codeOf(() => parsePort("0", "port", false)), "ERR_USAGE");
});

test("parseHostPort splits host:port, [v6]:port and bare hosts", () => {
  assert.deepEqual(parseHostPort("mail.test:587"), { host: "mail.test", port: 587 });
  assert.deepEqual(parseHostPort("[::1]:2525"), { host: "::1", port: 2525 });
  assert.deepEqual(parseHostPort("::1", 25), { host: "::1", port: 25 });
  assert.deepEqual(parseHostPort("localhost", 25), { host: "localhost", port: 25 });
  assert.equal(codeOf(() => parseHostPort("localhost")), "ERR_USAGE");
  assert.equal(formatHostPort("::1", 80), "[::1]:80");
  assert.equal(formatHostPort("127.0.0.1", 80), "127.0.0.1:80");
  assert.ok(isLoopback("127.1.2.3") && isLoopback("::1") && isLoopback("::ffff:127.0.0.1") && !isLoopback("10.0.0.1"));
});

test("resolveHost returns numeric addresses as they are and resolves localhost", async () => {
  assert.deepEqual(await resolveHost("127.0.0.1"), { host: "127.0.0.1", address: "127.0.0.1", family: 4 });
  assert.deepEqual(await resolveHost("[::1]"), { host: "::1", address: "::1", family: 6 });
  const v4 = await resolveHost("localhost", 4);
  assert.equal(v4.address, "127.0.0.1");
});

test("resolveHost fails with ERR_RESOLVE for unknown names and family mismatches", async () => {
  await assert.rejects(resolveHost("no-such-host.invalid"), (e) => isWirekitError(e, "ERR_RESOLVE"));
  await assert.rejects(resolveHost("127.0.0.1", 6), (e) => isWirekitError(e, "ERR_RESOLVE"));
});

test("createRandom gives the same sequence for the same seed and differs across seeds", () => {
  const a = createRandom(42);
  const b = createRandom(42);
  const c = createRandom(43);
  const sa = Array.from({ length: 20 }, () => a.next());
  const sb = Array.from({ length: 20 }, () => b.next());
  const sc = Array.from({ length: 20 }, () => c.next());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  assert.ok(sa.every((x) => x >= 0 && x < 1));
  assert.equal(createRandom(7).bytes(5).length, 5);
});

test("createRandom's drops at 30% are close to 30% over many draws", () => {
  const r = createRandom(1);
  let dropped = 0;
  for (let i = 0; i < 100000; i++) if (r.next() < 0.3) dropped++;
  assert.ok(dropped > 29000 && dropped < 31000, String(dropped));
});

test("FakeClock fires timers in due order, including ones scheduled while advancing", () => {
  const clock = new FakeClock(0);
  const fired: Array<[string, number]> = [];
  clock.setTimeout(() => fired.push(["b", clock.monotonic()]), 200);
  clock.setTimeout(() => {
    fired.push(["a", clock.monotonic()]);
    clock.setTimeout(() => fired.push(["c", clock.monotonic()]), 50);
  }, 100);
  const cancelled = clock.setTimeout(() => fired.push(["x", clock.monotonic()]), 120);
  clock.clearTimeout(cancelled);
  clock.advance(300);
  assert.deepEqual(fired, [["a", 100], ["c", 150], ["b", 200]]);
  assert.equal(clock.monotonic(), 300);
  assert.equal(clock.now(), 300);
});

test("sleep on a FakeClock resolves when time is advanced and rejects when aborted", async () => {
  const clock = new FakeClock(0);
  const p = sleep(clock, 1000);
  clock.advance(1000);
  await p;
  const ac = new AbortController();
  const q = sleep(clock, 1000, ac.signal);
  ac.abort(new Error("stop"));
  await assert.rejects(q, /stop/);
});

test("fromSystemError maps errno codes to wirekit codes with one-line messages", () => {
  const mk = (code: string): Error => Object.assign(new Error(`x ${code}`), { code });
  assert.equal(fromSystemError(mk("EADDRINUSE"), "bind 127.0.0.1:1").code, "ERR_LOCAL");
  assert.equal(fromSystemError(mk("EADDRINUSE"), "bind 127.0.0.1:1").message, "bind 127.0.0.1:1: address already in use");
  assert.equal(fromSystemError(mk("ECONNREFUSED"), "connect").code, "ERR_CONNECT");
  assert.equal(fromSystemError(mk("ECONNREFUSED"), "connect").exitCode, 1);
  assert.equal(fromSystemError(mk("ENOTFOUND"), "connect").exitCode, 2);
});

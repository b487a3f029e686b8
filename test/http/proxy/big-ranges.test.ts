/**
 * Ranges of large entries (issue 13, "Ranges"; RFC 9111 §3.3, §3.4): a Range request for a
 * stored complete response whose body is not in memory (1 MiB, over the 256 KiB hot-layer
 * limit) is answered 206 from the store — single, suffix and multiple ranges, If-Range, 416 —
 * reading and checking only the blocks (disk) or chunks (Redis) it touches; a damaged body is
 * never served (the request goes to the origin, or the connection is cut). And 206 parts over
 * 256 KiB from the origin are stored as partial entries, combined with other parts, and served.
 * Against a test origin that answers ranges itself, forward and gateway mode, disk, memory and
 * Redis stores; the origin's request count says what came from the cache.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, open, readdir, rm, writeFile } from "node:fs/promises";
import { request, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { FakeClock } from "../../../src/core/clock.js";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { rangedRoute, startOrigin, type TestOrigin } from "./fixtures.js";
import { haveRedis, startRedis, type TestRedis } from "./redis-fixture.js";

const MiB = 1024 * 1024;

/** A body where every offset is recognisable: byte i is (i * 7 + (i >> 16)) & 0xff. */
function makeBody(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 16)) & 0xff;
  return b;
}

interface Got {
  status: number;
  headers: IncomingMessage["headers"];
  body: Buffer;
  /** False when the connection was cut before the body was complete. */
  complete: boolean;
}

/** One request to the proxy; a cut connection resolves with `complete: false` instead of failing. */
function ask(port: number, path: string, headers: OutgoingHttpHeaders): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers, agent: false });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const done = (complete: boolean): void => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete });
      };
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => done(res.complete));
      res.on("aborted", () => done(false));
      res.on("error", () => done(false));
      res.on("close", () => done(res.complete));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The parts of a multipart/byteranges body: each part's Content-Range and bytes. */
function multipart(r: Got): Array<{ range: string; bytes: Buffer }> {
  const m = /boundary=([^;\s]+)/.exec(String(r.headers["content-type"]));
  assert.ok(m, "multipart/byteranges with a boundary");
  const delim = Buffer.from(`--${m[1]}`);
  const out: Array<{ range: string; bytes: Buffer }> = [];
  let at = r.body.indexOf(delim);
  while (at >= 0) {
    const headEnd = r.body.indexOf("\r\n\r\n", at);
    const next = r.body.indexOf(delim, at + delim.length);
    if (headEnd < 0 || next < 0) break;
    const head = r.body.subarray(at, headEnd).toString("latin1");
    const range = /Content-Range: (.*)/i.exec(head)?.[1]?.trim() ?? "";
    out.push({ range, bytes: r.body.subarray(headEnd + 4, next - 2) });
    at = next;
  }
  return out;
}

const MODES = ["forward, disk store", "gateway (--reverse), disk store", "forward, Redis store", "forward, memory store"] as const;

for (const mode of MODES) {
  const redisMode = mode.includes("Redis");
  const diskMode = mode.includes("disk");
  describe(`large entries by ranges: ${mode}`, { skip: redisMode && !haveRedis() ? "redis-server is not installed" : false }, () => {
    let origin: TestOrigin;
    let proxy: ProxyServer;
    let redis: TestRedis | undefined;
    let raw: Redis | undefined;
    let dir: string;
    const clock = new FakeClock(Date.now(), 0);
    const date = (): string => new Date(clock.now()).toUTCString();
    const gateway = mode.startsWith("gateway");
    const BODY = makeBody(MiB);

    before(async () => {
      origin = await startOrigin();
      dir = await mkdtemp(join(tmpdir(), "wk-proxy-big-ranges-"));
      if (redisMode) {
        redis = await startRedis();
        raw = new Redis({ host: "127.0.0.1", port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
        await raw.connect();
      }
      const store = redis !== undefined ? { store: redis.url } : mode.includes("memory") ? { store: "memory" } : { cacheDir: dir };
      proxy = await createProxyServer({ port: 0, clock, ...store, ...(gateway ? { reverse: origin.base } : {}) });
    });
    after(async () => {
      await proxy.close();
      raw?.disconnect();
      await redis?.close();
      await origin.close();
      await rm(dir, { recursive: true, force: true });
    });

    const get = (path: string, headers: Record<string, string> = {}): Promise<Got> =>
      gateway ? ask(proxy.port, path, { Host: "site.test", ...headers }) : ask(proxy.port, `${origin.base}${path}`, headers);
    const cs = (r: Got): string => String(r.headers["cache-status"]);

    it("answers a 1 MiB stored response by ranges from the store: single, suffix, two ranges, across blocks, If-Range, 416", async () => {
      origin.route("/big", rangedRoute({ etag: '"b1"', body: BODY }, date));
      const whole = await get("/big");
      assert.equal(whole.status, 200);
      assert.ok(whole.body.equals(BODY));
      assert.equal(origin.count("/big"), 1);

      const one = await get("/big", { Range: "bytes=1000-1999" });
      assert.equal(one.status, 206);
      assert.equal(one.headers["content-range"], `bytes 1000-1999/${MiB}`);
      assert.equal(one.headers["content-length"], "1000");
      assert.ok(one.body.equals(BODY.subarray(1000, 2000)));
      assert.match(cs(one), /^wirekit; hit; ttl=\d+$/);

      const suffix = await get("/big", { Range: "bytes=-500" });
      assert.equal(suffix.status, 206);
      assert.equal(suffix.headers["content-range"], `bytes ${MiB - 500}-${MiB - 1}/${MiB}`);
      assert.ok(suffix.body.equals(BODY.subarray(MiB - 500)));

      const across = await get("/big", { Range: "bytes=65530-400000" });
      assert.equal(across.status, 206);
      assert.ok(across.body.equals(BODY.subarray(65530, 400001)), "a range across several 64 KiB blocks and 256 KiB chunks");

      const two = await get("/big", { Range: "bytes=0-99, 700000-700099" });
      assert.equal(two.status, 206);
      assert.match(String(two.headers["content-type"]), /^multipart\/byteranges; boundary=/);
      assert.equal(Number(two.headers["content-length"]), two.body.length);
      const parts = multipart(two);
      assert.deepEqual(parts.map((p) => p.range), [`bytes 0-99/${MiB}`, `bytes 700000-700099/${MiB}`]);
      assert.ok(parts[0]?.bytes.equals(BODY.subarray(0, 100)));
      assert.ok(parts[1]?.bytes.equals(BODY.subarray(700000, 700100)));

      const match = await get("/big", { Range: "bytes=10-19", "If-Range": '"b1"' });
      assert.equal(match.status, 206);
      assert.ok(match.body.equals(BODY.subarray(10, 20)));
      const mismatch = await get("/big", { Range: "bytes=10-19", "If-Range": '"other"' });
      assert.equal(mismatch.status, 200, "If-Range does not match: the whole response");
      assert.ok(mismatch.body.equals(BODY));
      assert.match(cs(mismatch), /hit/);

      const past = await get("/big", { Range: `bytes=${2 * MiB}-` });
      assert.equal(past.status, 416);
      assert.equal(past.headers["content-range"], `bytes */${MiB}`);
      assert.equal(origin.count("/big"), 1, "every answer above came from the cache");
    });

    it("stores a 600 KiB part from the origin, serves ranges inside it, forwards ranges outside, combines adjacent big parts and small ones", async () => {
      const body = makeBody(2 * MiB);
      origin.route("/parts", rangedRoute({ etag: '"p1"', body }, date));
      const K600 = 600 * 1024;
      const first = await get("/parts", { Range: `bytes=0-${K600 - 1}` });
      assert.equal(first.status, 206);
      assert.equal(first.body.length, K600);
      assert.ok(first.body.equals(body.subarray(0, K600)));
      assert.equal(origin.count("/parts"), 1);

      const inside = await get("/parts", { Range: "bytes=300000-300999" });
      assert.equal(inside.status, 206);
      assert.equal(inside.headers["content-range"], `bytes 300000-300999/${2 * MiB}`);
      assert.ok(inside.body.equals(body.subarray(300000, 301000)));
      assert.match(cs(inside), /hit/);
      assert.equal(origin.count("/parts"), 1, "inside the stored 600 KiB part: from the cache");

      const outside = await get("/parts", { Range: "bytes=1500000-1500099" });
      assert.ok(outside.body.equals(body.subarray(1500000, 1500100)));
      assert.match(cs(outside), /fwd=partial/);
      assert.equal(origin.count("/parts"), 2);

      // An adjacent big part: the stored parts become 0-1228799.
      const second = await get("/parts", { Range: `bytes=${K600}-${2 * K600 - 1}` });
      assert.ok(second.body.equals(body.subarray(K600, 2 * K600)));
      assert.equal(origin.count("/parts"), 3);
      const joined = await get("/parts", { Range: `bytes=${K600 - 1000}-${K600 + 1000}` });
      assert.equal(joined.status, 206);
      assert.ok(joined.body.equals(body.subarray(K600 - 1000, K600 + 1001)));
      assert.match(cs(joined), /hit/, "across the two parts, combined");
      assert.equal(origin.count("/parts"), 3);

      // A small part next to the combined big one joins it too.
      await get("/parts", { Range: `bytes=${2 * K600}-${2 * K600 + 99}` });
      assert.equal(origin.count("/parts"), 4);
      const multi = await get("/parts", { Range: `bytes=5-9, ${2 * K600 - 10}-${2 * K600 + 50}` });
      assert.equal(multi.status, 206);
      const ps = multipart(multi);
      assert.equal(ps.length, 2);
      assert.ok(ps[0]?.bytes.equals(body.subarray(5, 10)));
      assert.ok(ps[1]?.bytes.equals(body.subarray(2 * K600 - 10, 2 * K600 + 51)));
      assert.equal(origin.count("/parts"), 4, "both ranges inside the combined parts");
      // The 1500000-1500099 part was kept beside them.
      const kept = await get("/parts", { Range: "bytes=1500010-1500020" });
      assert.ok(kept.body.equals(body.subarray(1500010, 1500021)));
      assert.equal(origin.count("/parts"), 4);
    });

    it("a big part of another representation replaces the stored parts", async () => {
      const state = { etag: '"c1"', body: makeBody(MiB) };
      origin.route("/change", rangedRoute(state, date));
      await get("/change", { Range: "bytes=0-399999" });
      state.etag = '"c2"';
      state.body = Buffer.from(state.body.map((b) => b ^ 0xff));
      await get("/change", { Range: "bytes=400000-799999" });
      const r = await get("/change", { Range: "bytes=100-199" });
      assert.ok(r.body.equals(state.body.subarray(100, 200)), "c1's bytes are not served beside c2's");
      assert.match(cs(r), /fwd=partial/);
      const inside = await get("/change", { Range: "bytes=500000-500099" });
      assert.equal(inside.headers.etag, '"c2"');
      assert.ok(inside.body.equals(state.body.subarray(500000, 500100)));
      assert.match(cs(inside), /hit/);
    });

    if (diskMode || redisMode) {
      it("never serves a damaged body: a corrupt first block goes to the origin, a corrupt later one cuts the connection", async () => {
        const body = makeBody(MiB);
        origin.route("/damaged", rangedRoute({ etag: '"d1"', body }, date));
        assert.equal((await get("/damaged")).status, 200);
        const at = 300_000;
        await corrupt(at);
        const discarded = proxy.stats().discarded;

        // The first block the range touches is the damaged one: nothing was sent, so the origin answers.
        const r = await get("/damaged", { Range: `bytes=${at}-${at + 99}` });
        assert.equal(r.status, 206);
        assert.ok(r.body.equals(body.subarray(at, at + 100)));
        assert.match(cs(r), /fwd=uri-miss/);
        assert.equal(origin.count("/damaged"), 2, "refetched from the origin");
        assert.equal(proxy.stats().discarded, discarded + 1);

        // Again, with the damage after the first block: the head and good blocks went out, then the cut.
        assert.equal((await get("/damaged")).status, 200);
        assert.equal(origin.count("/damaged"), 3);
        await corrupt(at);
        const cut = await get("/damaged", { Range: `bytes=0-${at + 99}` });
        assert.equal(cut.status, 206);
        assert.match(cs(cut), /hit/);
        assert.equal(cut.complete, false, "the connection was cut");
        assert.ok(cut.body.length < at + 100 && cut.body.length > 0);
        assert.ok(cut.body.equals(body.subarray(0, cut.body.length)), "what came is the right bytes, up to the damaged block");
        // The damaged entry is gone: the next range is fetched.
        const after = await get("/damaged", { Range: "bytes=0-9" });
        assert.ok(after.body.equals(body.subarray(0, 10)));
        assert.match(cs(after), /fwd=uri-miss/);
      });
    }

    /** Flip one byte of the stored body of /damaged, at body offset `at` (once it has landed in the store). */
    async function corrupt(at: number): Promise<void> {
      if (raw !== undefined) {
        const r = raw;
        // The complete 1 MiB entry's head (its chunks are written first), not a part's stored before it.
        const heads = async (): Promise<string[]> => {
          const out: string[] = [];
          for (const hk of await r.keys("wirekit:h:*")) {
            const h = JSON.parse((await r.get(hk)) ?? "{}") as { len?: number; m?: { url?: string; parts?: unknown } };
            if (h.m?.url?.endsWith("/damaged") === true && h.len === MiB && h.m.parts === undefined) out.push(hk);
          }
          return out;
        };
        for (let i = 0; i < 500 && (await heads()).length === 0; i++) await new Promise((res) => setTimeout(res, 10));
        for (const hk of await heads()) {
          const head = JSON.parse((await raw.get(hk)) ?? "{}") as { v: string; len: number; m: { url: string } };
          if (!head.m.url.endsWith("/damaged")) continue;
          const id = hk.slice("wirekit:h:".length);
          const chunk = `wirekit:b:${id}:${head.v}:${Math.floor(at / (256 * 1024))}`;
          const off = at % (256 * 1024);
          const b = await raw.getrangeBuffer(chunk, off, off);
          await raw.setrange(chunk, off, Buffer.from([(b[0] ?? 0) ^ 0x55]));
          return;
        }
        throw new Error("no head for /damaged");
      }
      await proxy.flush(); // the entry file is renamed into place after the response
      for (const name of await readdir(dir)) {
        if (!name.endsWith(".wkc")) continue;
        const fd = await open(join(dir, name), "r+");
        try {
          const head = Buffer.alloc(12);
          await fd.read(head, 0, 12, 0);
          const meta = Buffer.alloc(head.readUInt32BE(8));
          await fd.read(meta, 0, meta.length, 12);
          if (!(JSON.parse(meta.toString()) as { url: string }).url.endsWith("/damaged")) continue;
          const pos = 12 + meta.length + at;
          const b = Buffer.alloc(1);
          await fd.read(b, 0, 1, pos);
          b[0] = (b[0] ?? 0) ^ 0x55;
          await fd.write(b, 0, 1, pos);
          return;
        } finally {
          await fd.close();
        }
      }
      throw new Error("no large entry file");
    }
  });
}

describe("large parts stay within --max-object-size", () => {
  it("a part whose combination would pass the limit is relayed, not stored, and the stored parts stay", async () => {
    const origin = await startOrigin();
    const dir = await mkdtemp(join(tmpdir(), "wk-proxy-big-parts-max-"));
    const clock = new FakeClock(Date.now(), 0);
    const proxy = await createProxyServer({ port: 0, clock, cacheDir: dir, maxObjectSize: MiB });
    try {
      const body = makeBody(2 * MiB);
      origin.route("/capped", rangedRoute({ etag: '"m"', body }, () => new Date(clock.now()).toUTCString()));
      const get = (range: string): Promise<Got> => ask(proxy.port, `${origin.base}/capped`, { Range: range });
      await get("bytes=0-699999");
      assert.match(String((await get("bytes=10-19")).headers["cache-status"]), /hit/);
      const next = await get("bytes=700000-1399999");
      assert.ok(next.body.equals(body.subarray(700000, 1400000)), "relayed whole");
      assert.equal(origin.count("/capped"), 2);
      const across = await get("bytes=699990-700009");
      assert.match(String(across.headers["cache-status"]), /fwd=partial/, "1.4 MB of parts would pass 1 MiB: not stored");
      const first = await get("bytes=600000-600009");
      assert.ok(first.body.equals(body.subarray(600000, 600010)));
      assert.match(String(first.headers["cache-status"]), /hit/, "the first part is still there");
      assert.equal(origin.count("/capped"), 3);
      const over = await get(`bytes=0-${MiB}`);
      assert.equal(over.body.length, MiB + 1);
      assert.match(String(over.headers["cache-status"]), /fwd=partial; fwd-status=206$/, "one part over the limit: relayed");
    } finally {
      await proxy.close();
      await origin.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a disk store reopened after a restart", () => {
  it("serves ranges of a 1 MiB entry it found, checking only the blocks they touch; a damaged block is refetched; a first-format file is discarded", async () => {
    const origin = await startOrigin();
    const dir = await mkdtemp(join(tmpdir(), "wk-proxy-big-ranges-restart-"));
    const clock = new FakeClock(Date.now(), 0);
    const body = makeBody(MiB);
    try {
      origin.route("/kept", rangedRoute({ etag: '"k"', body }, () => new Date(clock.now()).toUTCString()));
      const first = await createProxyServer({ port: 0, clock, cacheDir: dir });
      assert.equal((await ask(first.port, `${origin.base}/kept`, {})).status, 200);
      await first.close();
      // Damage block 5 (bytes 327680-393215) of the body while the proxy is down.
      const [name] = (await readdir(dir)).filter((n) => n.endsWith(".wkc"));
      assert.ok(name !== undefined);
      const fd = await open(join(dir, name), "r+");
      const head = Buffer.alloc(12);
      await fd.read(head, 0, 12, 0);
      await fd.write(Buffer.from([0]), 0, 1, 12 + head.readUInt32BE(8) + 5 * 65536 + 7);
      await fd.close();
      // And a file of the first format (one hash of the whole body, no block table) beside it.
      const meta = Buffer.from(JSON.stringify({ url: `${origin.base}/old`, status: 200, statusMessage: "OK", headers: [["Cache-Control", "max-age=600"]], requestTime: clock.now(), responseTime: clock.now(), varyNames: [], varyValues: [] }));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(meta.length);
      const foot = Buffer.alloc(48);
      foot.writeUInt32BE(3, 4);
      foot.write("WKCEND01", 40, "latin1");
      await writeFile(join(dir, "0123456789abcdef0123456789abcdef01234567.wkc"), Buffer.concat([Buffer.from("WKCACHE1"), len, meta, Buffer.from("old"), foot]));

      const second = await createProxyServer({ port: 0, clock, cacheDir: dir });
      try {
        assert.equal(second.stats().discarded, 1, "the first-format file");
        assert.ok(!(await readdir(dir)).includes("0123456789abcdef0123456789abcdef01234567.wkc"), "and removed");
        assert.equal(second.stats().entries, 1);
        const r = await ask(second.port, `${origin.base}/kept`, { Range: "bytes=100-199, 900000-900099" });
        assert.equal(r.status, 206);
        const parts = multipart(r);
        assert.ok(parts[0]?.bytes.equals(body.subarray(100, 200)));
        assert.ok(parts[1]?.bytes.equals(body.subarray(900000, 900100)));
        assert.match(String(r.headers["cache-status"]), /hit/, "blocks 0 and 13 are intact");
        assert.equal(origin.count("/kept"), 1);
        const bad = await ask(second.port, `${origin.base}/kept`, { Range: "bytes=330000-330099" });
        assert.equal(bad.status, 206);
        assert.ok(bad.body.equals(body.subarray(330000, 330100)));
        assert.match(String(bad.headers["cache-status"]), /fwd=uri-miss/, "block 5 fails its digest: fetched");
        assert.equal(origin.count("/kept"), 2);
        assert.equal(second.stats().discarded, 2);
      } finally {
        await second.close();
      }
    } finally {
      await origin.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

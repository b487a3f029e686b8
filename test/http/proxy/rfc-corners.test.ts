/**
 * The rarer corners of RFC 9111 (issue 13, "RFC behaviour still missing"), each against a test
 * origin whose fields the test controls, through the forward proxy on a fake clock: Age lists,
 * strict Expires dates, storable statuses, must-understand, qualified no-cache/private,
 * Set-Cookie, interim responses and Vary normalisation.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock } from "../../../src/core/clock.js";
import { parseHttpDate } from "../../../src/http/http-date.js";
import { ageOf } from "../../../src/http/proxy/cache/policy.js";
import { createProxyServer, type ProxyServer } from "../../../src/http/proxy/server.js";
import { startOrigin, viaProxy, type TestOrigin } from "./fixtures.js";

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const two = (n: number): string => String(n).padStart(2, "0");

/** The three HTTP-date forms of RFC 9110 §5.6.7 for `ms`, and malformed variants of the first. */
function dateForms(ms: number): { imf: string; rfc850: string; asctime: string; bad: Record<string, string> } {
  const d = new Date(ms);
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  const day = DAYS[d.getUTCDay()] as string;
  const mon = MONTHS[d.getUTCMonth()] as string;
  const imf = `${day.slice(0, 3)}, ${two(d.getUTCDate())} ${mon} ${d.getUTCFullYear()} ${time} GMT`;
  return {
    imf,
    rfc850: `${day}, ${two(d.getUTCDate())}-${mon}-${String(d.getUTCFullYear()).slice(2)} ${time} GMT`,
    asctime: `${day.slice(0, 3)} ${mon} ${String(d.getUTCDate()).padStart(2, " ")} ${time} ${d.getUTCFullYear()}`,
    bad: {
      "a zone other than GMT": imf.replace("GMT", "CET"),
      "a missing comma": imf.replace(",", ""),
      "doubled spaces": imf.replace(" ", "  "),
      "dashes in an IMF date": `${day.slice(0, 3)}, ${two(d.getUTCDate())}-${mon}-${d.getUTCFullYear()} ${time} GMT`,
      "a one-digit hour": imf.replace(` ${two(d.getUTCHours())}:`, ` ${d.getUTCHours() % 10}:`),
    },
  };
}

/** Poll `cond` (real time) until it holds; fails after 5 s. */
async function waitFor(cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("HTTP-date and Age parsing, pure", () => {
  it("accepts the three forms of one instant and nothing looser", () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37);
    const f = dateForms(t);
    assert.equal(parseHttpDate(f.imf), t);
    assert.equal(parseHttpDate(f.rfc850, Date.UTC(2026, 0, 1)), t);
    assert.equal(parseHttpDate(f.asctime), t);
    for (const [name, text] of Object.entries(f.bad)) assert.equal(parseHttpDate(text), undefined, name);
    assert.equal(parseHttpDate("Mon, 31 Feb 2026 00:00:00 GMT"), undefined, "a day that does not exist");
    assert.equal(parseHttpDate("0"), undefined);
  });
  it("gives the same answer for a date asked again (the last IMF-fixdate is remembered) and for the ones between", () => {
    const a = "Thu, 03 Dec 2026 19:00:00 GMT";
    const b = "Thu, 03 Dec 2026 19:00:01 GMT";
    for (let i = 0; i < 3; i++) {
      assert.equal(parseHttpDate(a), Date.UTC(2026, 11, 3, 19, 0, 0));
      assert.equal(parseHttpDate(` ${a} `), Date.UTC(2026, 11, 3, 19, 0, 0));
      assert.equal(parseHttpDate(b), Date.UTC(2026, 11, 3, 19, 0, 1));
      assert.equal(parseHttpDate("Mon, 31 Feb 2026 00:00:00 GMT"), undefined, "a day that does not exist, twice");
      assert.equal(parseHttpDate(""), undefined);
    }
    // The obsolete two-digit year still pivots on each caller's `now`, asked twice in a row.
    const rfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
    assert.equal(parseHttpDate(rfc850, Date.UTC(2026, 0, 1)), Date.UTC(1994, 10, 6, 8, 49, 37));
    assert.equal(parseHttpDate(rfc850, Date.UTC(2060, 0, 1)), Date.UTC(2094, 10, 6, 8, 49, 37));
  });
  it("takes the first member of a list-valued Age and ignores one that is not a non-negative integer", () => {
    assert.equal(ageOf([["Age", "7200, 0"]]), 7200);
    assert.equal(ageOf([["Age", "30"], ["Age", "0"]]), 30);
    assert.equal(ageOf([["Age", "-5"]]), 0);
    assert.equal(ageOf([["Age", "1.5"]]), 0);
    assert.equal(ageOf([["Age", "abc, 7"]]), 0);
  });
});

describe("proxy cache: RFC 9111 corners against a test origin", () => {
  let origin: TestOrigin;
  let proxy: ProxyServer;
  let dir: string;
  const clock = new FakeClock(Date.now(), 0);
  const date = (): string => new Date(clock.now()).toUTCString();

  before(async () => {
    origin = await startOrigin();
    dir = await mkdtemp(join(tmpdir(), "wk-proxy-rfc-"));
    proxy = await createProxyServer({ port: 0, cacheDir: dir, clock });
  });
  after(async () => {
    await proxy.close();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) => viaProxy(proxy.port, `${origin.base}${path}`, { headers });
  /** Fetch twice; true when the second came from the cache. */
  const reused = async (path: string, headers: Record<string, string> = {}): Promise<boolean> => {
    await get(path, headers);
    const before = origin.count(path);
    const second = await get(path, headers);
    return origin.count(path) === before && /hit/.test(String(second.headers["cache-status"]));
  };

  describe("Age (RFC 9111 §5.1)", () => {
    for (const [name, value] of [
      ["Age: 7200, 0", "7200, 0"],
      ["two Age lines, 7200 first", ["7200", "0"]],
    ] as const) {
      it(`uses the first member of ${name}: the response is already stale`, async () => {
        const path = `/age-list-${name.length}`;
        origin.route(path, (_req, res) => {
          res.setHeader("Age", value);
          res.writeHead(200, { "Cache-Control": "max-age=3600", Date: date() });
          res.end("aged");
        });
        assert.equal(await reused(path), false);
      });
    }
    for (const value of ["-5", "abc", "1.5"]) {
      it(`ignores Age: ${value}: the response is fresh for its max-age`, async () => {
        const path = `/age-bad-${encodeURIComponent(value)}`;
        origin.route(path, (_req, res) => {
          res.writeHead(200, { "Cache-Control": "max-age=60", Age: value, Date: date() });
          res.end("fresh");
        });
        await get(path);
        const second = await get(path);
        assert.match(String(second.headers["cache-status"]), /hit; ttl=(59|60)\b/);
      });
    }
  });

  describe("Expires (RFC 9111 §5.3, RFC 9110 §5.6.7)", () => {
    for (const form of ["imf", "rfc850", "asctime"] as const) {
      it(`accepts an Expires in ${form} form`, async () => {
        const path = `/expires-${form}`;
        origin.route(path, (_req, res) => {
          res.writeHead(200, { Date: date(), Expires: dateForms(clock.now() + 100_000)[form] });
          res.end("e");
        });
        assert.equal(await reused(path), true);
      });
    }
    for (const name of Object.keys(dateForms(0).bad)) {
      it(`takes an Expires with ${name} as already expired`, async () => {
        const path = `/expires-bad-${name.length}`;
        origin.route(path, (_req, res) => {
          res.writeHead(200, { Date: date(), Expires: dateForms(clock.now() + 100_000).bad[name] as string });
          res.end("e");
        });
        assert.equal(await reused(path), false);
      });
    }
  });

  describe("storable statuses (RFC 9111 §3, §4.2.2)", () => {
    for (const status of [299, 400, 499, 500, 503, 599]) {
      it(`stores and reuses a ${status} with explicit freshness`, async () => {
        const path = `/status-${status}`;
        origin.route(path, (_req, res) => {
          res.writeHead(status, { "Cache-Control": "max-age=60", Date: date() });
          res.end(`status ${status}`);
        });
        assert.equal(await reused(path), true);
        assert.equal((await get(path)).status, status);
      });
    }
    it("applies a heuristic to a 404 but not to a 299 without public, and to a 299 with public", async () => {
      const lm = new Date(clock.now() - 1_000_000).toUTCString();
      for (const [path, status, cc] of [
        ["/heur-404", 404, undefined],
        ["/heur-299", 299, undefined],
        ["/heur-299-public", 299, "public"],
      ] as const) {
        origin.route(path, (_req, res) => {
          res.writeHead(status, { Date: date(), "Last-Modified": lm, ...(cc === undefined ? {} : { "Cache-Control": cc }) });
          res.end("h");
        });
      }
      assert.equal(await reused("/heur-404"), true);
      assert.equal(await reused("/heur-299"), false);
      assert.equal(await reused("/heur-299-public"), true);
    });
    it("with must-understand, ignores no-store for a status it understands and stores no status it does not", async () => {
      for (const [path, status] of [
        ["/mu-200", 200],
        ["/mu-299", 299],
      ] as const) {
        origin.route(path, (_req, res) => {
          res.writeHead(status, { "Cache-Control": "max-age=60, must-understand, no-store", Date: date() });
          res.end("mu");
        });
      }
      assert.equal(await reused("/mu-200"), true);
      assert.equal(await reused("/mu-299"), false);
    });
  });

  describe("qualified no-cache and private (§5.2.2.4, §5.2.2.7), Set-Cookie", () => {
    it('reuses a response with no-cache="Set-Cookie, X-Foo" without those fields', async () => {
      origin.route("/qnc", (_req, res) => {
        res.writeHead(200, { "Cache-Control": 'max-age=60, no-cache="Set-Cookie, X-Foo"', "Set-Cookie": "s=1", "X-Foo": "secret", "X-Bar": "kept", Date: date() });
        res.end("q");
      });
      const first = await get("/qnc");
      assert.equal(first.headers["x-foo"], "secret", "the first answer comes from the origin whole");
      const second = await get("/qnc");
      assert.match(String(second.headers["cache-status"]), /hit/);
      assert.equal(second.headers["set-cookie"], undefined);
      assert.equal(second.headers["x-foo"], undefined);
      assert.equal(second.headers["x-bar"], "kept");
      assert.equal(origin.count("/qnc"), 1);
    });
    it('stores a response with private="X-Secret" and serves it without X-Secret; an unqualified private is never stored', async () => {
      origin.route("/qpriv", (_req, res) => {
        res.writeHead(200, { "Cache-Control": 'max-age=60, private="X-Secret"', "X-Secret": "mine", Date: date() });
        res.end("p");
      });
      await get("/qpriv");
      const second = await get("/qpriv");
      assert.match(String(second.headers["cache-status"]), /hit/);
      assert.equal(second.headers["x-secret"], undefined);
    });
    it("reuses a fresh response that sets a cookie, and answers a request carrying Cookie from a fresh entry", async () => {
      origin.route("/cookie", (_req, res) => {
        res.writeHead(200, { "Cache-Control": "max-age=60", "Set-Cookie": "theme=dark", Date: date() });
        res.end("c");
      });
      assert.equal(await reused("/cookie"), true);
      const withCookie = await get("/cookie", { Cookie: "theme=light" });
      assert.match(String(withCookie.headers["cache-status"]), /hit/);
      assert.equal(origin.count("/cookie"), 1);
    });
  });

  describe("stale-while-revalidate and stale-if-error (RFC 5861)", () => {
    it("serves a stale entry at once inside stale-while-revalidate, and one background fetch refreshes it", async () => {
      let n = 0;
      origin.route("/swr", (_req, res) => {
        n++;
        res.writeHead(200, { "Cache-Control": "max-age=1, stale-while-revalidate=30", Date: date() });
        res.end(`v${n}`);
      });
      assert.equal((await get("/swr")).body.toString(), "v1");
      clock.advance(5000);
      const stale = await get("/swr");
      assert.equal(stale.body.toString(), "v1", "the stale body, without waiting for the origin");
      assert.match(String(stale.headers["cache-status"]), /^wirekit; hit; fwd=stale; ttl=-\d+$/);
      await waitFor(() => origin.count("/swr") === 2);
      await waitFor(async () => (await get("/swr")).body.toString() === "v2");
      assert.match(String((await get("/swr")).headers["cache-status"]), /^wirekit; hit; ttl=\d+$/);
      clock.advance(5000);
      const burst = await Promise.all(Array.from({ length: 5 }, () => get("/swr")));
      // The refresh may land before the last of the five is looked up: those get the new entry.
      for (const r of burst) assert.match(String(r.headers["cache-status"]), /^wirekit; hit; /);
      assert.ok(burst.some((r) => /fwd=stale/.test(String(r.headers["cache-status"]))));
      await waitFor(() => origin.count("/swr") === 3);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(origin.count("/swr"), 3, "one background revalidation for five stale hits");
      clock.advance(60_000);
      const late = await get("/swr");
      assert.doesNotMatch(String(late.headers["cache-status"]), /hit/, "beyond the window the request waits for the origin");
      assert.equal(late.body.toString(), "v4");
    });

    it("answers an origin 5xx from the stale entry inside stale-if-error, and relays it beyond", async () => {
      let failing = false;
      for (const path of ["/sie", "/no-sie"]) {
        origin.route(path, (_req, res) => {
          if (failing) {
            res.writeHead(503, { "Content-Type": "text/plain" });
            res.end("down");
            return;
          }
          res.writeHead(200, { "Cache-Control": path === "/sie" ? "max-age=1, stale-if-error=60" : "max-age=1", Date: date() });
          res.end("good");
        });
        await get(path);
      }
      failing = true;
      clock.advance(10_000);
      const saved = await get("/sie");
      assert.equal(saved.status, 200);
      assert.equal(saved.body.toString(), "good");
      assert.match(String(saved.headers["cache-status"]), /hit; ttl=-\d+; detail="origin answered 503 \(stale-if-error\)"/);
      const plain = await get("/no-sie");
      assert.equal(plain.status, 503, "without stale-if-error the error goes through");
      clock.advance(120_000);
      const beyond = await get("/sie");
      assert.equal(beyond.status, 503);
    });
  });

  it("answers Range requests for a stored complete response from the cache: single, suffix, multiple, 416 and If-Range", async () => {
    const text = "0123456789abcdefghij";
    const lastModified = new Date(clock.now() - 3_600_000).toUTCString();
    origin.route("/ranged", (_req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=600", "Content-Type": "text/plain", ETag: '"r1"', "Last-Modified": lastModified, Date: date() });
      res.end(text);
    });
    assert.equal((await get("/ranged")).body.toString(), text);
    const one = await get("/ranged", { Range: "bytes=2-5" });
    assert.equal(one.status, 206);
    assert.equal(one.body.toString(), "2345");
    assert.equal(one.headers["content-range"], "bytes 2-5/20");
    assert.equal(one.headers["content-length"], "4");
    assert.match(String(one.headers["cache-status"]), /hit/);
    assert.equal((await get("/ranged", { Range: "bytes=-3" })).body.toString(), "hij");
    const multi = await get("/ranged", { Range: "bytes=0-1, 10-11" });
    assert.equal(multi.status, 206);
    const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(String(multi.headers["content-type"]))?.[1];
    assert.ok(boundary !== undefined, String(multi.headers["content-type"]));
    assert.equal(
      multi.body.toString(),
      `--${boundary}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/20\r\n\r\n01\r\n--${boundary}\r\nContent-Type: text/plain\r\nContent-Range: bytes 10-11/20\r\n\r\nab\r\n--${boundary}--\r\n`,
    );
    const none = await get("/ranged", { Range: "bytes=50-" });
    assert.equal(none.status, 416);
    assert.equal(none.headers["content-range"], "bytes */20");
    assert.equal((await get("/ranged", { Range: "bytes=0-0", "If-Range": '"r1"' })).status, 206);
    assert.equal((await get("/ranged", { Range: "bytes=0-0", "If-Range": lastModified })).status, 206);
    for (const other of ['"r2"', 'W/"r1"', new Date(clock.now()).toUTCString()]) {
      const full = await get("/ranged", { Range: "bytes=0-0", "If-Range": other });
      assert.equal(full.status, 200, `If-Range: ${other} does not match: the whole response`);
      assert.equal(full.body.toString(), text);
    }
    assert.equal(origin.count("/ranged"), 1, "every range came from the cache");
  });

  it("relays 103 Early Hints as they arrive, never stores or replays them, and caches the final response", async () => {
    origin.route("/hints", (_req, res) => {
      res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
      res.writeHead(200, { "Cache-Control": "max-age=60", Date: date() });
      res.end("hinted");
    });
    const fetchWithInterims = (): Promise<{ interims: Array<{ status: number; link: unknown }>; status: number; cacheStatus: string; body: string }> =>
      new Promise((resolve, reject) => {
        const interims: Array<{ status: number; link: unknown }> = [];
        const req = request({ host: "127.0.0.1", port: proxy.port, path: `${origin.base}/hints`, agent: false });
        req.on("information", (info) => interims.push({ status: info.statusCode, link: info.headers.link }));
        req.on("response", (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (d: string) => (body += d));
          res.on("end", () => resolve({ interims, status: res.statusCode ?? 0, cacheStatus: String(res.headers["cache-status"]), body }));
        });
        req.on("error", reject);
        req.end();
      });
    const first = await fetchWithInterims();
    assert.deepEqual(first.interims, [{ status: 103, link: "</style.css>; rel=preload; as=style" }]);
    assert.equal(first.body, "hinted");
    assert.match(first.cacheStatus, /stored/);
    const second = await fetchWithInterims();
    assert.deepEqual(second.interims, [], "a hit replays no interim response");
    assert.match(second.cacheStatus, /hit/);
    assert.equal(second.body, "hinted");
  });

  it("normalises Vary-named values: whitespace, case of caseless fields, order of Accept-Language members", async () => {
    origin.route("/vary-norm", (req, res) => {
      res.writeHead(200, { "Cache-Control": "max-age=60", Vary: "Accept-Language, X-Case", Date: date() });
      res.end(`for ${req.headers["accept-language"]}`);
    });
    await get("/vary-norm", { "Accept-Language": "fr, en;q=0.5", "X-Case": "A" });
    const same = await get("/vary-norm", { "Accept-Language": "EN; q=0.5,FR", "X-Case": "A" });
    assert.match(String(same.headers["cache-status"]), /hit/);
    const otherCase = await get("/vary-norm", { "Accept-Language": "fr, en;q=0.5", "X-Case": "a" });
    assert.doesNotMatch(String(otherCase.headers["cache-status"]), /hit/, "X-Case is not known to be caseless");
    assert.equal(origin.count("/vary-norm"), 2);
  });
});

it("an RFC 850 two-digit year follows the caller's clock, or pivots at 70 when none is given (no hidden clock)", () => {
  assert.equal(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), Date.UTC(1994, 10, 6, 8, 49, 37));
  assert.equal(parseHttpDate("Thursday, 06-Nov-25 08:49:37 GMT"), Date.UTC(2025, 10, 6, 8, 49, 37));
  // 2080 is more than 50 years after 2026: the past century; in 2060 it is not.
  assert.equal(parseHttpDate("Wednesday, 06-Nov-80 08:49:37 GMT", Date.UTC(2026, 0, 1)), Date.UTC(1980, 10, 6, 8, 49, 37));
  assert.equal(parseHttpDate("Wednesday, 06-Nov-80 08:49:37 GMT", Date.UTC(2060, 0, 1)), Date.UTC(2080, 10, 6, 8, 49, 37));
});

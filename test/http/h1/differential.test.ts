/**
 * Differential test of the request parser against llhttp (node:http's parser, strict mode):
 * a corpus of request-smuggling shapes and seeded mutations of valid requests. For each input
 * either both reject, or both accept the same method, target, fields, body and trailers. Where
 * they differ, ours must be the stricter one, and in a class listed in STRICTER with its reason;
 * accepting what llhttp rejects always fails.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { judgeAll, startOracle, type Oracle, type OracleVerdict } from "./llhttp-oracle.js";
import { ourVerdict, type OurVerdict } from "./our-verdict.js";
import { CORPUS, mutants } from "./smuggling-corpus.js";

/** Fixed so every run checks the same inputs; WIREKIT_DIFF_SEED explores others. */
const SEED = Number(process.env.WIREKIT_DIFF_SEED ?? 0x12c0ffee);
const MUTANTS = 3200;

type Reject = Extract<OurVerdict, { kind: "reject" }>;

/** A kind of input we refuse and llhttp takes, on purpose. */
interface StricterClass {
  name: string;
  why: string;
  matches(input: string, ours: Reject): boolean;
}

/** The head of an input as latin1, up to the end of the first empty line (or all of it). */
function headOf(input: string): string {
  const i = input.indexOf("\r\n\r\n");
  return i < 0 ? input : input.slice(0, i + 4);
}

function fieldValues(input: string, name: string): string[] {
  const out: string[] = [];
  for (const line of headOf(input).split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).toLowerCase() === name) out.push(line.slice(colon + 1).trim());
  }
  return out;
}

const STRICTER: readonly StricterClass[] = [
  {
    name: "bare LF as a line ending",
    why: "RFC 9112 §2.2 lets a recipient accept LF alone; a lone LF is where parsers split differently",
    matches: (input, ours) => ours.reason.startsWith("bare LF") && /(^|[^\r])\n/.test(input),
  },
  {
    name: "HTTP version other than 1.0 and 1.1",
    why: "llhttp takes HTTP/2.0 and 0.9 request lines over HTTP/1; we answer 505 (RFC 9110 §15.6.6)",
    matches: (input, ours) => ours.status === 505 && !/^(\r\n)*[^ ]+ [^ ]+ HTTP\/1\.[01]\r\n/.test(input),
  },
  {
    name: "method outside IMPLEMENTED_METHODS",
    why: "SSDP/GENA/Icecast methods llhttp knows are not HTTP server methods here: 501 (RFC 9110 §9.1)",
    matches: (_input, ours) => ours.status === 501 && ours.reason === "method not implemented",
  },
  {
    name: "Transfer-Encoding in an HTTP/1.0 request",
    why: "a 1.0 recipient cannot know chunked; RFC 9112 §6.1 says treat the framing as faulty (issue 20 item 8)",
    matches: (input, ours) => ours.status === 400 && / HTTP\/1\.0\r\n/.test(headOf(input)) && fieldValues(input, "transfer-encoding").length > 0,
  },
  {
    name: "transfer codings other than a lone chunked",
    why: "we implement no coding but chunked: 501 for gzip/deflate/unknown before it (RFC 9112 §6.1), 400 for odd lists",
    matches: (input, ours) =>
      (ours.status === 501 || ours.reason.includes("transfer coding") || ours.reason.includes("Transfer-Encoding")) &&
      fieldValues(input, "transfer-encoding").join(",").toLowerCase().replace(/[ \t]/g, "") !== "chunked",
  },
  {
    name: "Host value that is not uri-host[:port]",
    why: "RFC 9110 §7.2 / RFC 3986 §3.2.2: a Host with spaces, '/', '@' or junk is never a real authority",
    matches: (_input, ours) => ours.reason === "invalid Host value",
  },
  {
    name: "more than one Host field",
    why: "RFC 9112 §3.2 MUST 400; llhttp leaves it to the application",
    matches: (input, ours) => ours.reason === "more than one Host field" && fieldValues(input, "host").length > 1,
  },
  {
    name: "request-target form that does not fit the method",
    why: "RFC 9112 §3.2: '*' only for OPTIONS, authority-form only (and always) for CONNECT, absolute-form needs scheme://authority without userinfo",
    matches: (_input, ours) =>
      ours.reason === "asterisk-form is only for OPTIONS" ||
      ours.reason === "CONNECT needs authority-form host:port" ||
      ours.reason === "invalid authority in absolute-form" ||
      ours.reason === "absolute-form needs http:// or https://",
  },
  {
    name: "more than maxFields header fields",
    why: "431 at 100 fields; node:http only truncates its header list (maxHeadersCount)",
    matches: (_input, ours) => ours.status === 431 && ours.reason === "too many header fields",
  },
  {
    name: "chunk size with more than 15 hex digits",
    why: "leading zeros beyond 15 digits serve no sender and are a known parser-desync vector",
    matches: (_input, ours) => ours.where === "body" && ours.reason === "chunk size too long",
  },
  {
    name: "more than 4 empty lines before the request line",
    why: "RFC 9112 §2.2 asks to skip at least one; a stream of CRLFs is a slow attack, not a client",
    matches: (input, ours) => ours.reason.startsWith("too many empty lines") && input.startsWith("\r\n".repeat(5)),
  },
  {
    name: "bare CR before the request line",
    why: "llhttp skips a lone CR before the method; a CR not followed by LF is never a line end here",
    matches: (input, ours) => ours.reason === "bare CR" && /^(\r\n)*\r[^\n]/.test(input),
  },
  {
    name: "more than one SP between request-line parts",
    why: "RFC 9112 §3: exactly one SP; llhttp skips extra spaces, parsers that split on whitespace read another target",
    matches: (input, ours) => ours.status === 400 && / {2}/.test(input.split("\r\n").find((l) => l !== "") ?? ""),
  },
  {
    name: "request line without a version (an HTTP/0.9 simple request)",
    why: "llhttp still reads 'GET /x' as HTTP/0.9; RFC 9112 §3 has no such form, and it desyncs framing",
    matches: (input, ours) => ours.reason === "request line without HTTP version" && !/^(\r\n)*[^\r\n]* HTTP\/\d\.\d\r\n/.test(input),
  },
  {
    name: "HTAB as OWS in Content-Length or Transfer-Encoding",
    why: "llhttp takes a leading HTAB but keeps a trailing one in the value; we allow neither in framing fields",
    matches: (input, ours) => ours.reason === "HTAB in a framing field" && /(content-length|transfer-encoding):[^\r\n]*\t/i.test(headOf(input)),
  },
  {
    name: "CONNECT without Host",
    why: "RFC 9112 §3.2 requires Host in every 1.1 request; node:http skips its Host check for CONNECT",
    matches: (input, ours) => ours.reason === "missing Host field" && /^(\r\n)*CONNECT /.test(input),
  },
  {
    name: "request-target longer than maxTargetBytes",
    why: "414 at 8192 bytes (RFC 9112 §3); node:http only bounds the whole head",
    matches: (_input, ours) => ours.status === 414,
  },
  {
    name: "Content-Length or chunk size above Number.MAX_SAFE_INTEGER",
    why: "llhttp takes any uint64; a length we cannot count exactly in a double is refused, not rounded",
    matches: (_input, ours) => ours.reason === "invalid Content-Length" || ours.reason === "chunk size too large",
  },
  {
    name: "chunk extension with an empty name or value",
    why: "RFC 9112 §7.1.1: chunk-ext-name is a token and chunk-ext-val a token or quoted-string, never empty",
    matches: (input, ours) => ours.reason === "invalid chunk extension" && /;[;=\r]|=[\r;]/.test(input.slice(headOf(input).length)),
  },
  {
    name: "chunk extensions beyond maxChunkExtBytes",
    why: "4 KiB of ignored extension bytes per chunk is a resource attack (CVE-2023-39326 style), not a client",
    matches: (_input, ours) => ours.reason === "chunk extensions too large",
  },
  {
    name: "Host, Content-Length or Transfer-Encoding as a trailer",
    why: "RFC 9110 §6.5.1: framing and routing fields cannot arrive after the body starts",
    matches: (_input, ours) => ours.reason === "framing or routing field in trailer section",
  },
];

/** An input for a failure message, cut to a readable length. */
function show(input: Buffer): string {
  const s = JSON.stringify(input.toString("latin1"));
  return s.length > 300 ? `${s.slice(0, 300)}… (${input.length} bytes)` : s;
}

type Comparison = { ok: true; kind: string } | { ok: false; problem: string };

function compare(input: Buffer, ours: OurVerdict, theirs: OracleVerdict): Comparison {
  const theyReject = theirs.kind === "reject" || (theirs.kind === "request" && theirs.bodyError !== undefined);
  if (ours.kind === "reject") {
    if (theyReject) return { ok: true, kind: "both reject" };
    const cls = STRICTER.find((c) => c.matches(input.toString("latin1"), ours));
    return cls !== undefined ? { ok: true, kind: `stricter: ${cls.name}` } : { ok: false, problem: `unlisted stricter: we ${ours.status} "${ours.reason}" (${ours.where}), llhttp ${theirs.kind}` };
  }
  if (theyReject) {
    const code = theirs.kind === "reject" ? theirs.code : theirs.kind === "request" ? theirs.bodyError : "";
    return { ok: false, problem: `LAXER: we ${ours.kind}, llhttp rejects (${code})` };
  }
  if (ours.kind === "incomplete" || theirs.kind === "incomplete") {
    return ours.kind === theirs.kind ? { ok: true, kind: "both incomplete" } : { ok: false, problem: `we ${ours.kind}, llhttp ${theirs.kind === "request" ? "accepts" : theirs.kind}` };
  }
  if (theirs.kind !== "request") return { ok: false, problem: "unreachable" };
  const diffs: string[] = [];
  if (ours.method !== theirs.method) diffs.push(`method ${ours.method} vs ${theirs.method}`);
  if (ours.url !== theirs.url) diffs.push(`target ${ours.url} vs ${theirs.url}`);
  if (JSON.stringify(ours.headers) !== JSON.stringify(theirs.headers)) diffs.push(`headers ${JSON.stringify(ours.headers)} vs ${JSON.stringify(theirs.headers)}`);
  if (ours.connect !== theirs.connect) diffs.push("CONNECT handling");
  if (!ours.connect) {
    if (ours.complete !== theirs.complete) diffs.push(`complete ${ours.complete} vs ${theirs.complete}`);
    if (!ours.body.equals(theirs.body)) diffs.push(`body ${JSON.stringify(ours.body.toString("latin1"))} vs ${JSON.stringify(theirs.body.toString("latin1"))}`);
    if (JSON.stringify(ours.trailers) !== JSON.stringify(theirs.trailers)) diffs.push(`trailers ${JSON.stringify(ours.trailers)} vs ${JSON.stringify(theirs.trailers)}`);
  }
  if (diffs.length > 0) return { ok: false, problem: diffs.join("; ") };
  if (ours.next !== undefined) {
    // The next request starts where our framing says the first ended: llhttp must agree.
    const after = compare(input.subarray(ours.consumed), ours.next, theirs.next ?? { kind: "incomplete" });
    if (!after.ok) return { ok: false, problem: `after the first request: ${after.problem}` };
    if (after.kind !== "both incomplete") return { ok: true, kind: `both accept, then ${after.kind}` };
  }
  return { ok: true, kind: ours.complete ? "both accept" : "both accept head, body incomplete" };
}

describe("request parser against llhttp", () => {
  let oracle: Oracle;
  before(async () => {
    oracle = await startOracle();
  });
  after(() => oracle.close());

  it(`agrees with llhttp on the hand corpus and ${MUTANTS} seeded mutants, or is stricter in a listed way`, async (t) => {
    const inputs = [...CORPUS.map((s) => Buffer.from(s, "latin1")), ...mutants(SEED, MUTANTS)];
    const verdicts = await judgeAll(oracle, inputs, 32);
    const tally = new Map<string, number>();
    const problems: string[] = [];
    inputs.forEach((input, i) => {
      const c = compare(input, ourVerdict(input, 0, undefined, false, true), verdicts[i] as OracleVerdict);
      if (c.ok) tally.set(c.kind, (tally.get(c.kind) ?? 0) + 1);
      else problems.push(`${show(input)}\n    ${c.problem}`);
    });
    for (const [k, n] of [...tally].sort()) t.diagnostic(`${n}\t${k}`);
    t.diagnostic(`seed 0x${SEED.toString(16)}, ${inputs.length} inputs`);
    assert.equal(problems.length, 0, `${problems.length} differences:\n${problems.slice(0, 40).join("\n")}`);
    // The corpus must exercise both sides of most rules, not just one.
    assert.ok((tally.get("both accept") ?? 0) > 300);
    assert.ok((tally.get("both reject") ?? 0) > 300);
  });

  it("gives the same verdict fed one byte at a time as whole, for every input", () => {
    const inputs = [...CORPUS.map((s) => Buffer.from(s, "latin1")), ...mutants(SEED, 1000)];
    for (const input of inputs) {
      if (input.length > 2000) continue;
      const whole = ourVerdict(input);
      assert.deepEqual(ourVerdict(input, 1), whole, show(input));
      // Told what it saw before, the parser may leave an error in an unfinished line for later.
      const told = ourVerdict(input, 1, undefined, true);
      if (!(told.kind === "incomplete" && whole.kind === "reject" && input[input.length - 1] !== 0x0a)) {
        assert.deepEqual(told, whole, `with seen: ${show(input)}`);
      }
    }
  });
});

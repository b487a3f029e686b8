/** Our parser's verdict on one raw input, in the shape the differential test compares. */
import { ChunkedDecoder, parseRequestHead, type ParseLimits } from "../../../src/http/h1/parse.js";

export type OurVerdict =
  | { kind: "reject"; status: number; reason: string; where: "head" | "body" }
  | { kind: "incomplete" }
  | {
      kind: "request";
      method: string;
      url: string;
      headers: Array<[string, string]>;
      body: Buffer;
      trailers: Array<[string, string]>;
      complete: boolean;
      connect: boolean;
      /** Bytes of the whole request (head + body) when complete. */
      consumed: number;
      /** The connection stays open after this request. */
      keepAlive: boolean;
      /** With `next`: the verdict on the bytes after a complete, keep-alive request. */
      next?: OurVerdict;
    };

/**
 * Parses the first request of `input`: the head, then its body as framed. `step` feeds both
 * parsers that many bytes at a time (the head parser sees a growing prefix, and with `passSeen`
 * also how much of it it saw before, as a connection would call it).
 */
export function ourVerdict(input: Buffer, step = 0, limits?: ParseLimits, passSeen = false, next = false): OurVerdict {
  const v = firstVerdict(input, step, limits, passSeen);
  if (next && v.kind === "request" && v.complete && !v.connect && v.keepAlive) {
    return { ...v, next: firstVerdict(input.subarray(v.consumed), step, limits, passSeen) };
  }
  return v;
}

function firstVerdict(input: Buffer, step: number, limits: ParseLimits | undefined, passSeen: boolean): OurVerdict {
  let h = parseRequestHead(input, limits);
  if (step > 0) {
    let seen = 0;
    for (let n = Math.min(step, input.length); ; n = Math.min(n + step, input.length)) {
      h = parseRequestHead(input.subarray(0, n), limits, passSeen ? seen : 0);
      seen = n;
      if (h.kind !== "incomplete" || n === input.length) break;
    }
  }
  if (h.kind === "incomplete") return h;
  if (h.kind === "error") return { kind: "reject", status: h.status, reason: h.reason, where: "head" };
  const base = {
    kind: "request" as const,
    method: h.head.method,
    url: h.head.target,
    headers: h.head.headers,
    connect: h.head.method === "CONNECT",
    keepAlive: h.keepAlive,
  };
  const rest = input.subarray(h.consumed);
  if (base.connect) return { ...base, body: Buffer.alloc(0), trailers: [], complete: true, consumed: h.consumed };
  if (h.framing.kind === "none") return { ...base, body: Buffer.alloc(0), trailers: [], complete: true, consumed: h.consumed };
  if (h.framing.kind === "length") {
    const n = Math.min(h.framing.length, rest.length);
    const complete = n === h.framing.length;
    return { ...base, body: Buffer.from(rest.subarray(0, n)), trailers: [], complete, consumed: h.consumed + n };
  }
  const dec = new ChunkedDecoder(limits);
  const parts: Buffer[] = [];
  const s = step > 0 ? step : rest.length || 1;
  let used = 0;
  for (let off = 0; off < rest.length; off += s) {
    const piece = rest.subarray(off, Math.min(off + s, rest.length));
    const r = dec.push(piece);
    if (r.kind === "error") return { kind: "reject", status: 400, reason: r.reason, where: "body" };
    for (const d of r.data) parts.push(Buffer.from(d));
    used += r.consumed;
    if (r.done) {
      return { ...base, body: Buffer.concat(parts), trailers: r.trailers ?? [], complete: true, consumed: h.consumed + used };
    }
    if (r.consumed !== piece.length) throw new Error("decoder stopped early without being done");
  }
  return { ...base, body: Buffer.concat(parts), trailers: [], complete: false, consumed: h.consumed + used };
}

/**
 * Content coding negotiation, RFC 9110 §12.5.3 (Accept-Encoding with q-values) and which
 * media types are worth compressing. Pure.
 */

/** Codings this server produces, in order of preference. */
export type Coding = "br" | "gzip";

/** File suffix of a precompressed sibling for each coding. */
export const SIBLING_SUFFIX: Readonly<Record<Coding, string>> = { br: ".br", gzip: ".gz" };

/** Smallest body worth compressing on the fly (below it, headers cost more than we save). */
export const MIN_COMPRESS_SIZE = 1024;

/**
 * Parse Accept-Encoding into the codings we can use, best first (by q, then br before gzip).
 * `identity;q=0` is not honoured as a refusal: a plain file is always acceptable to us.
 *
 * @example
 * acceptedCodings("gzip, br;q=0.5") // ["gzip", "br"]
 * acceptedCodings("*")              // ["br", "gzip"]
 */
export function acceptedCodings(header: string | undefined): Coding[] {
  if (header === undefined || header.trim() === "") return [];
  const q = new Map<string, number>();
  for (const part of header.toLowerCase().split(",")) {
    const [name, ...params] = part.split(";").map((s) => s.trim());
    if (name === undefined || name === "") continue;
    let weight = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([0-9.]+)$/.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(name === "x-gzip" ? "gzip" : name, Number.isFinite(weight) ? weight : 0);
  }
  const star = q.get("*");
  const weightOf = (c: Coding): number => q.get(c) ?? star ?? 0;
  const pref: Coding[] = ["br", "gzip"];
  return pref.filter((c) => weightOf(c) > 0).sort((a, b) => weightOf(b) - weightOf(a) || pref.indexOf(a) - pref.indexOf(b));
}

/** True for media types that compress well (text, JSON, JS, SVG, XML, wasm...). */
export function isCompressible(contentType: string): boolean {
  const t = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return (
    t.startsWith("text/") ||
    t === "application/json" ||
    t === "application/javascript" ||
    t === "application/xml" ||
    t === "application/wasm" ||
    t === "image/svg+xml" ||
    t === "application/manifest+json" ||
    t.endsWith("+json") ||
    t.endsWith("+xml")
  );
}

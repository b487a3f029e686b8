/**
 * Directory listings and the small error pages, as HTML. Pure: entries in, HTML out. Every
 * name is HTML-escaped and every link percent-encoded, so a file called
 * `<script>alert(1)</script>` shows as text and still links to itself.
 */

/** One entry of a listing. */
export interface ListingEntry {
  name: string;
  isDirectory: boolean;
  /** The entry itself is a symlink (isDirectory, size and mtime are then its target's). @default false */
  isSymlink?: boolean;
  size: number;
  mtimeMs: number;
}

/** One entry of a JSON listing. */
export interface ListingJsonEntry {
  name: string;
  type: "file" | "directory" | "symlink";
  size: number;
  /** ISO 8601, UTC. */
  mtime: string;
}

function byKindThenName(a: ListingEntry, b: ListingEntry): number {
  return a.isDirectory !== b.isDirectory ? (a.isDirectory ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The listing as JSON (for clients whose Accept prefers application/json), in the order of
 * the HTML listing: directories first, then by name.
 *
 * @example
 * renderListingJson([{ name: "a.txt", isDirectory: false, size: 3, mtimeMs: 0 }])
 * // '[{"name":"a.txt","type":"file","size":3,"mtime":"1970-01-01T00:00:00.000Z"}]'
 */
export function renderListingJson(entries: readonly ListingEntry[]): string {
  const out: ListingJsonEntry[] = [...entries].sort(byKindThenName).map((e) => ({
    name: e.name,
    type: e.isSymlink === true ? "symlink" : e.isDirectory ? "directory" : "file",
    size: e.size,
    mtime: new Date(e.mtimeMs).toISOString(),
  }));
  return JSON.stringify(out);
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;"));
}

function human(size: number): string {
  if (size < 1024) return `${size}`;
  const units = ["K", "M", "G", "T"];
  let v = size / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[i]}`;
}

function date(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 16);
}

/**
 * Render a listing of `displayPath` (decoded, for the title). Directories first, then
 * files, each group sorted by name; hidden entries are expected to be filtered already.
 *
 * @example
 * renderListing("/docs/", [{ name: "a.txt", isDirectory: false, size: 3, mtimeMs: 0 }])
 */
export function renderListing(displayPath: string, entries: readonly ListingEntry[]): string {
  const sorted = [...entries].sort(byKindThenName);
  const rows = sorted.map((e) => {
    const href = encodeURIComponent(e.name) + (e.isDirectory ? "/" : "");
    const label = escapeHtml(e.name) + (e.isDirectory ? "/" : "");
    return `<tr><td><a href="${escapeHtml(href)}">${label}</a></td><td class="s">${e.isDirectory ? "-" : human(e.size)}</td><td>${date(e.mtimeMs)}</td></tr>`;
  });
  const up = displayPath === "/" ? "" : `<tr><td><a href="../">../</a></td><td class="s">-</td><td></td></tr>\n`;
  const title = escapeHtml(`Index of ${displayPath}`);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}td{padding:.15em 1.2em .15em 0}.s{text-align:right}</style>
</head><body><h1>${title}</h1>
<table>
<tr><th align="left">Name</th><th class="s">Size</th><th align="left">Modified (UTC)</th></tr>
${up}${rows.join("\n")}
</table></body></html>
`;
}

/** A small HTML page for an error status. */
export function renderErrorPage(status: number, reason: string, detail = ""): string {
  const t = escapeHtml(`${status} ${reason}`);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${t}</title></head>
<body><h1>${t}</h1>${detail === "" ? "" : `<p>${escapeHtml(detail)}</p>`}<hr><p>wirekit</p></body></html>
`;
}

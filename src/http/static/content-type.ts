/** Content-Type from a well-kept MIME table (npm mime-types), with `charset=utf-8` for text. */
import { basename } from "node:path";
import mime from "mime-types";

const byExtension = new Map<string, string>();

/**
 * The Content-Type for a file name, memoized per extension; unknown = application/octet-stream.
 *
 * @example
 * contentTypeOf("/srv/index.html") // "text/html; charset=utf-8"
 */
export function contentTypeOf(path: string): string {
  const name = basename(path);
  const dot = name.lastIndexOf(".");
  const ext = dot <= 0 ? "" : name.slice(dot + 1).toLowerCase();
  let t = byExtension.get(ext);
  if (t === undefined) {
    t = (ext !== "" && mime.contentType(ext)) || "application/octet-stream";
    if (byExtension.size < 1000) byExtension.set(ext, t);
  }
  return t;
}

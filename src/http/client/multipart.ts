/**
 * multipart/form-data (RFC 7578) for curl's `-F name=value` and `-F name=@file`: a pure
 * encoder from fields to body segments, files left as segments to stream. The boundary comes
 * from an injected Random, so tests get byte-stable output. Field names and file names are
 * quoted with `"`, CR and LF percent-encoded (RFC 7578 §4.2, as browsers do), so a name typed
 * by a user cannot add a header line to the part.
 */
import { basename } from "node:path";
import mime from "mime-types";
import type { Random } from "../../core/random.js";
import type { BodySegment, RequestBody } from "./body.js";

/** One form field. */
export type FormField =
  | { kind: "value"; name: string; value: string; contentType?: string }
  | { kind: "file"; name: string; path: string; filename?: string; contentType?: string };

/** A boundary of 16 random bytes in hex after dashes (70 characters at most, RFC 2046 §5.1.1). */
export function makeBoundary(random: Random): string {
  return `------------------------${random.bytes(12).toString("hex")}`;
}

const quote = (s: string): string => s.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");

/**
 * Encode fields as a multipart/form-data body.
 *
 * @example
 * encodeMultipart([{ kind: "value", name: "a", value: "1" }], "XYZ").contentType // "multipart/form-data; boundary=XYZ"
 */
export function encodeMultipart(fields: readonly FormField[], boundary: string): RequestBody {
  const segments: BodySegment[] = [];
  for (const f of fields) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quote(f.name)}"`;
    if (f.kind === "file") {
      const filename = f.filename ?? basename(f.path);
      const type = f.contentType ?? (mime.lookup(filename) || "application/octet-stream");
      head += `; filename="${quote(filename)}"\r\nContent-Type: ${type}`;
    } else if (f.contentType !== undefined) head += `\r\nContent-Type: ${f.contentType}`;
    segments.push({ kind: "bytes", data: Buffer.from(`${head}\r\n\r\n`, "utf8") });
    segments.push(f.kind === "file" ? { kind: "file", path: f.path, stripNewlines: false } : { kind: "bytes", data: Buffer.from(f.value, "utf8") });
    segments.push({ kind: "bytes", data: Buffer.from("\r\n") });
  }
  segments.push({ kind: "bytes", data: Buffer.from(`--${boundary}--\r\n`) });
  return { segments, contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * Parse one `-F` argument as curl does: `name=value`, `name=@path` (a file upload),
 * with `;type=T` and `;filename=F` after a file.
 * Returns undefined when there is no `=`.
 */
export function parseFormArg(text: string): FormField | undefined {
  const eq = text.indexOf("=");
  if (eq <= 0) return undefined;
  const name = text.slice(0, eq);
  const rest = text.slice(eq + 1);
  if (!rest.startsWith("@")) return { kind: "value", name, value: rest };
  const [path = "", ...params] = rest.slice(1).split(";");
  const field: FormField = { kind: "file", name, path };
  for (const p of params) {
    const m = /^\s*(type|filename)=(.*)$/.exec(p);
    if (m?.[1] === "type") field.contentType = m[2];
    else if (m?.[1] === "filename") field.filename = m[2];
  }
  return field;
}

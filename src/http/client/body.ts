/**
 * Request bodies as a list of segments: literal bytes, or a file read as a stream when the
 * request is sent (never whole into memory). curl's `-d @FILE` drops CR and LF from the file;
 * `--data-binary @FILE` sends it as it is. The length is known before sending, so the request
 * carries Content-Length (RFC 9112 §6.2) and works with servers that refuse chunked uploads.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { WirekitError, fromSystemError } from "../../core/errors.js";

/** One piece of a request body. */
export type BodySegment =
  | { kind: "bytes"; data: Buffer }
  | { kind: "file"; path: string; /** Drop CR and LF bytes (curl -d @FILE). */ stripNewlines: boolean };

/** A request body and the Content-Type it implies, if any. */
export interface RequestBody {
  segments: BodySegment[];
  contentType?: string;
}

const isNewline = (b: number): boolean => b === 0x0d || b === 0x0a;

function stripped(chunk: Buffer): Buffer {
  let n = 0;
  const out = Buffer.allocUnsafe(chunk.length);
  for (const b of chunk) if (!isNewline(b)) out[n++] = b;
  return out.subarray(0, n);
}

async function* readFileChunks(path: string, strip: boolean): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of createReadStream(path)) yield strip ? stripped(chunk as Buffer) : (chunk as Buffer);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EISDIR") throw new WirekitError("ERR_LOCAL", `cannot read '${path}': not a regular file`);
    throw fromSystemError(err, `read '${path}'`);
  }
}

/** The bytes of the body, one chunk at a time, files streamed. */
export async function* bodyChunks(segments: readonly BodySegment[]): AsyncGenerator<Buffer> {
  for (const s of segments) {
    if (s.kind === "bytes") {
      if (s.data.length > 0) yield s.data;
    } else yield* readFileChunks(s.path, s.stripNewlines);
  }
}

/** Total length in bytes; a file with newlines stripped is counted in one streaming pass. */
export async function bodyLength(segments: readonly BodySegment[]): Promise<number> {
  let total = 0;
  for (const s of segments) {
    if (s.kind === "bytes") total += s.data.length;
    else if (s.stripNewlines) for await (const c of readFileChunks(s.path, true)) total += c.length;
    else {
      try {
        const st = await stat(s.path);
        if (!st.isFile()) throw new WirekitError("ERR_LOCAL", `cannot read '${s.path}': not a regular file`);
        total += st.size;
      } catch (err) {
        throw fromSystemError(err, `read '${s.path}'`);
      }
    }
  }
  return total;
}

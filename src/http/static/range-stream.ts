/** The body of a multipart/byteranges response (RFC 9110 §14.6), streamed part by part from the file. */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { multipartPartHead, multipartTail, type ByteRange } from "./range.js";

/**
 * A stream of the parts, each read from disk only when the socket wants more.
 *
 * @example
 * pipeline(multipartStream("/srv/a.bin", "B", "text/plain", [{ start: 0, end: 9 }], 100), res, cb);
 */
export function multipartStream(file: string, boundary: string, type: string, ranges: readonly ByteRange[], size: number): Readable {
  async function* parts(): AsyncGenerator<Buffer> {
    for (const [i, r] of ranges.entries()) {
      yield Buffer.from(multipartPartHead(boundary, type, r, size, i === 0));
      for await (const chunk of createReadStream(file, { start: r.start, end: r.end })) yield chunk as Buffer;
    }
    yield Buffer.from(multipartTail(boundary));
  }
  return Readable.from(parts(), { objectMode: false });
}


/**
 * A pass-through that lets exactly the announced Content-Length through (RFC 9112 §6.3).
 * A file that grows while it is sent must not spill bytes past the announced length onto a
 * kept-alive connection (the extra bytes would be parsed as the next response: response
 * splitting); a file that shrank fails the stream, so the caller destroys the connection
 * instead of leaving the client waiting for bytes that never come.
 */
import { Transform } from "node:stream";

/**
 * @example
 * pipeline(createReadStream(file), exactLength(st.size), res, done);
 */
export function exactLength(length: number): Transform {
  let left = length;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left <= 0) return cb();
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= part.length;
      cb(null, part);
    },
    flush(cb) {
      cb(left > 0 ? new Error(`wirekit: body ended ${left} bytes short of its Content-Length`) : null);
    },
  });
}

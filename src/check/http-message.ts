/**
 * A lenient reading of the HTTP/1.x messages students' programs send and receive, plus the
 * strict verdicts on them: the check must be able to say *what* is wrong with a response
 * (bare LF line ends, no blank line, a body shorter than its Content-Length), which a strict
 * parser would only refuse. RFC 9112 §2-§6 for the syntax judged. Pure.
 */

/** A message split into its parts; `problems` lists every deviation from RFC 9112 found. */
export interface HttpMessage {
  /** The status line or request line. */
  startLine: string;
  headers: Array<[string, string]>;
  body: Buffer;
  /** The head ended with CRLF CRLF (or at least LF LF). */
  headComplete: boolean;
  problems: string[];
}

/** Split raw bytes into start line, headers and body; undefined when there is nothing at all. */
export function parseHttpMessage(raw: Buffer): HttpMessage | undefined {
  if (raw.length === 0) return undefined;
  const problems: string[] = [];
  let end = raw.indexOf("\r\n\r\n");
  let sepLen = 4;
  if (end === -1) {
    const lf = raw.indexOf("\n\n");
    if (lf !== -1) {
      end = lf;
      sepLen = 2;
      problems.push("lines end with a bare LF instead of CRLF");
    }
  }
  const headComplete = end !== -1;
  if (!headComplete) problems.push("no blank line (CRLF CRLF) after the header lines");
  const head = raw.subarray(0, headComplete ? end : raw.length).toString("latin1");
  const body = headComplete ? Buffer.from(raw.subarray(end + sepLen)) : Buffer.alloc(0);
  const lines = head.split(sepLen === 4 ? "\r\n" : "\n");
  const startLine = lines[0] ?? "";
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) {
      problems.push(`malformed header line '${line}'`);
      continue;
    }
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { startLine, headers, body, headComplete, problems };
}

/** The first value of a header, case-insensitively. */
export function headerValue(m: HttpMessage, name: string): string | undefined {
  const lower = name.toLowerCase();
  return m.headers.find(([k]) => k.toLowerCase() === lower)?.[1];
}

/** The status code of a response's status line ("HTTP/1.1 404 Not Found" -> 404). */
export function statusOf(m: HttpMessage | undefined): number | undefined {
  const s = m === undefined ? undefined : /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(m.startLine);
  return s === undefined || s === null ? undefined : Number(s[1]);
}

/** Problems of a response as a whole: a bad status line, and a body that disagrees with Content-Length. */
export function responseProblems(m: HttpMessage): string[] {
  const out = [...m.problems];
  if (statusOf(m) === undefined) out.unshift(`the status line '${m.startLine}' is not 'HTTP/1.x CODE REASON'`);
  const cl = headerValue(m, "content-length");
  if (cl !== undefined && (!/^\d+$/.test(cl) || Number(cl) !== m.body.length)) out.push(`Content-Length says ${cl} but ${m.body.length} body bytes came`);
  return out;
}

/** A short description of where two buffers first differ. */
export function firstDifference(got: Buffer, want: Buffer): string | undefined {
  if (got.equals(want)) return undefined;
  const n = Math.min(got.length, want.length);
  let i = 0;
  while (i < n && got[i] === want[i]) i++;
  if (i === got.length && got.length < want.length) return `${got.length} of ${want.length} bytes came, the rest is missing`;
  if (i === want.length) return `${got.length - want.length} bytes more than the ${want.length} of the file`;
  return `differs from the file at byte ${i} (${got.length} bytes came, the file has ${want.length})`;
}
